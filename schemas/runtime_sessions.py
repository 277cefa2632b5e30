"""A client-chosen AgentCore runtime session id, bound to the Oratio session it started.

AgentCore lets a client pick its own runtime session id (boto3 generates a UUID when none is given).
The first turn under such an id starts an Oratio session; later turns under the same id must continue
it on whichever replica or microVM serves them, and after a restart, so the pair is a record.
"""

from __future__ import annotations

from pydantic import Field

from schemas._base import Identifier, Record, UtcDatetime

RUNTIME_SESSION_ID_MAX = 256
"""AgentCore's longest runtime session id."""


class RuntimeSessionAlias(Record):
    """`runtime_id` (as the client sent it) continues `session_id` of `agent_id` until `expires_at`.

    First bind wins: two replicas racing on one fresh id agree on the first stored session.
    """

    tenant_id: Identifier
    agent_id: Identifier
    runtime_id: str = Field(min_length=1, max_length=RUNTIME_SESSION_ID_MAX)
    session_id: Identifier
    created_at: UtcDatetime
    expires_at: UtcDatetime
