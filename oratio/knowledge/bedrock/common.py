"""What the Bedrock knowledge adapter's two halves share: its configuration, the cached ids, and AWS error mapping.

AWS failures become BackendUnavailable carrying the error code only (AWS messages can name ARNs and
request details the caller has no use for; credentials are never part of either). A
ValidationException means this adapter sent a bad request: it is re-raised as is, except the one
Bedrock sends for "a sync is already running" (Bedrock runs one sync at a time per data source). That
is reported as BackendUnavailable: the files are already in place, so a retry (which starts a new
sync) is safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter, ValidationError

from oratio.errors import BackendUnavailable, InvalidInput
from schemas._base import Identifier

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent.type_defs import StorageConfigurationTypeDef, VectorIngestionConfigurationTypeDef

_SYNC_RUNNING = re.compile(r"ongoing|running|in progress", re.IGNORECASE)
_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)

StorageFor = Callable[[str, str], "StorageConfigurationTypeDef"]
"""(tenant_id, agent_id) -> the `storageConfiguration` of that agent's knowledge base."""


@dataclass(frozen=True)
class BedrockKnowledgeConfig:
    """Where the documents go and how each agent's knowledge base is made."""

    bucket: str
    role_arn: str  # the role Bedrock assumes: read the bucket, invoke the embedding model, write the vectors
    embedding_model_arn: str
    storage: StorageConfigurationTypeDef | StorageFor
    prefix: str = "knowledge/"
    vector_ingestion: VectorIngestionConfigurationTypeDef | None = None  # chunking, parsing; None: Bedrock's
    active_timeout_s: float = 300.0  # how long the first ingest waits for a new knowledge base to be ACTIVE
    poll_interval_s: float = 2.0
    miss_ttl_s: float = 30.0  # how long "this agent has no knowledge base" is believed


@dataclass(frozen=True)
class Target:
    """An agent's knowledge base id and, once looked up, its data source id."""

    knowledge_base_id: str
    data_source_id: str | None  # None: not looked up yet


def error_code(exc: ClientError) -> str:
    """The AWS error code alone: AWS messages can name ARNs and request details."""
    return str(exc.response.get("Error", {}).get("Code", "unknown error"))


def sync_refused(exc: ClientError) -> bool:
    """Bedrock refuses a second sync while one runs: ConflictException, or a ValidationException saying so."""
    if exc.operation_name != "StartIngestionJob":
        return False
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return code == "ConflictException" or (code == "ValidationException" and bool(_SYNC_RUNNING.search(message)))


@contextmanager
def backend(action: str, *, passthrough: frozenset[str] = frozenset()) -> Iterator[None]:
    """AWS failures -> BackendUnavailable; ValidationException (our bug) and `passthrough` codes as they are."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if sync_refused(exc):
            raise BackendUnavailable(
                "the agent's knowledge base is already syncing other changes; retry in a minute"
            ) from exc
        if code == "ValidationException" or code in passthrough:
            raise
        raise BackendUnavailable(f"the knowledge base could not {action} ({code}); retry shortly") from exc
    except BotoCoreError as exc:  # endpoint down, timeouts, connection resets
        raise BackendUnavailable(f"the knowledge base did not answer while trying to {action}; retry shortly") from exc


def check_ids(*ids: str) -> None:
    """Ids become S3 key segments and names: only platform ids are let through."""
    for value in ids:
        try:
            _IDENTIFIER.validate_python(value)
        except ValidationError:
            raise InvalidInput(f"{value[:80]!r} is not a valid id") from None


__all__ = ["BedrockKnowledgeConfig", "StorageFor", "Target", "backend", "check_ids", "error_code"]
