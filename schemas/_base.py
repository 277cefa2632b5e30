"""Shared building blocks for every schema: strict base model, limits, id and time types.

Limits live here, next to the fields they bound, so that every door (MCP, HTTP, WebSocket, CLI)
rejects the same oversize input with the same message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


class Limits:
    """Hard limits on user input. Changing one is a schema change, so they are constants."""

    NAME_MAX = 64
    DESCRIPTION_MAX = 2_000
    SOP_MAX = 100_000
    CONDITION_MAX = 500
    CONDITIONS_MAX = 20
    DOCUMENTS_PER_AGENT_MAX = 10_000
    DOCUMENTS_PER_REQUEST_MAX = 200  # documents given inline with one create_agent request (upload the rest)
    DOCUMENT_BYTES_MAX = 25 * 1024 * 1024
    TURN_TEXT_MAX = 8_000
    METADATA_KEYS_MAX = 32
    METADATA_KEY_MAX = 64
    METADATA_VALUE_MAX = 1_000
    NOTIFICATION_TEXT_MAX = 4_000
    EVENT_DATA_KEYS_MAX = 64
    PAGE_SIZE_MAX = 200


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp in Oratio is UTC."""
    return datetime.now(UTC)


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone (UTC)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-10:00: past datetime's range once in UTC (not a ValueError)
        raise ValueError("timestamp out of range (years 1 to 9999 in UTC)") from None


UtcDatetime = Annotated[datetime, AfterValidator(_require_aware)]

Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=Limits.NAME_MAX,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.\-']*$",
    ),
]
"""A human-chosen name: letters, digits, space, `_ . - '`; starts with a letter or digit."""

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
"""An email address, lower-cased. Deliverability is the mail server's business, not the schema's."""

Identifier = Annotated[str, StringConstraints(min_length=3, max_length=64, pattern=r"^[a-z]{2,4}_[0-9a-z]{1,58}$")]
"""A platform id such as `agt_01jd...`: a short type prefix, an underscore, lowercase base32."""

MetadataKey = Annotated[
    str, StringConstraints(min_length=1, max_length=Limits.METADATA_KEY_MAX, pattern=r"^[^\x00-\x1f\x7f]+$")
]
"""A customer-details field name: 1 to 64 characters, no control characters (it is shown to admins)."""

MetadataValue = Annotated[str, StringConstraints(max_length=Limits.METADATA_VALUE_MAX)]

Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=Limits.METADATA_KEYS_MAX)]
"""Details a caller attaches (a customer's name, account): every size is bounded, keys included."""

StoredMetadata = Annotated[dict[str, MetadataValue], Field(max_length=Limits.METADATA_KEYS_MAX)]
"""Metadata as records hold it. Key length is checked where details come in (`Metadata`), not on
load, so a session stored before the key limit existed still reads."""


class Model(BaseModel):
    """Base for all schemas: unknown fields are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


STORE_CONTEXT: dict[str, bool] = {"store": True}
"""The serialization context every record store dumps records with (`model_dump_json(context=...)`).

A record may hold fields that are the platform's own bookkeeping (a session's turn lock names a
serving process and a turn token); they are written to the store, yet left out of every other dump
(`Session`'s serializer), so no door can show them by forgetting to remove them."""


def for_store(context: object) -> bool:
    """True when a dump is the store's own (`STORE_CONTEXT`): internal fields are kept."""
    return isinstance(context, dict) and context.get("store") is True


class Record(Model):
    """A stored record. `version` is bumped by the store on every write (optimistic concurrency)."""

    tenant_id: Identifier
    version: int = Field(default=0, ge=0)
