"""Creation records, progress events and ownership of a build: the AgentCreator's only way to data.

The creator (a door) decides what a build does; this service decides where its traces live, so the
key layout of creation records, the progress event and the cleanup of a failed version are written
once, in the core, beside the rest of the agent's storage rules (docs/architecture.md).
"""

from __future__ import annotations

import logging

from oratio.services._common import Backends
from oratio.services.agents import artifact_key
from oratio.services.creation_owner import CreationOwners
from oratio.store.tables import AGENTS
from schemas import CreationRecord, EventType

logger = logging.getLogger("oratio.creation")

__all__ = ["CreationService", "record_key"]


def record_key(tenant_id: str, agent_id: str, version: int) -> str:
    """Where the record of one creation run (one agent version) lives in blob storage."""
    return f"{_records_prefix(tenant_id, agent_id)}v{version}.json"


def _records_prefix(tenant_id: str, agent_id: str) -> str:
    return f"{tenant_id}/agents/{agent_id}/creations/"


class CreationService:
    """Writes and reads what a creation run leaves behind; `owners` says which process is building."""

    def __init__(self, backends: Backends) -> None:
        self._b = backends
        self.owners = CreationOwners(backends)

    def record(self, record: CreationRecord) -> None:
        """Store (or replace) the record of one run, keyed by its tenant, agent and version."""
        self._b.blobs.put(
            record_key(record.tenant_id, record.agent_id, record.version),
            record.model_dump_json().encode(),
            content_type="application/json",
        )

    def load(self, tenant_id: str, agent_id: str, version: int) -> CreationRecord:
        """The record of one run; `NotFound` when that version was never built."""
        return CreationRecord.model_validate_json(self._b.blobs.get(record_key(tenant_id, agent_id, version)))

    def records(self, tenant_id: str, agent_id: str) -> list[CreationRecord]:
        """Every creation run of the agent, oldest first."""
        found = [
            CreationRecord.model_validate_json(self._b.blobs.get(blob.key))
            for blob in self._b.blobs.list(_records_prefix(tenant_id, agent_id))
        ]
        return sorted(found, key=lambda record: record.version)

    def latest(self, tenant_id: str, agent_id: str) -> CreationRecord | None:
        """The record of the agent's newest creation run (the one in progress, while a build runs), or None.

        One blob read however many versions the agent has: a progress view polls this every second."""
        prefix = _records_prefix(tenant_id, agent_id)
        versions: list[tuple[int, str]] = []
        for blob in self._b.blobs.list(prefix):
            name = blob.key[len(prefix) :]
            if name.startswith("v") and name.endswith(".json") and name[1:-5].isdigit():
                versions.append((int(name[1:-5]), blob.key))
        if not versions:
            return None
        return CreationRecord.model_validate_json(self._b.blobs.get(max(versions)[1]))

    def progress(self, tenant_id: str, agent_id: str, *, stage: str, status: str, detail: str = "") -> None:
        """Announce a stage's progress on the tenant's event log (dashboards and MCP listens follow it)."""
        self._b.emit(tenant_id, EventType.AGENT_PROGRESS, agent_id, stage=stage, status=status, detail=detail)

    def discard_version(self, tenant_id: str, agent_id: str, version: int) -> int:
        """Delete whatever a failed build stored for `version` (e.g. a plan written before deploy failed),
        so nothing half-built stays reachable; returns how many objects went.

        A version the agent record has reached (the serving one or an older one) is never discarded: it was
        deployed, by this build's competitor in another process if not by this build, and every deployed
        version stays readable (`PlanService`, diffs). Only a version past the serving one is a failed build's.
        """
        agent = self._b.store.get(AGENTS, tenant_id, agent_id)
        if agent is not None and agent.artifact_version is not None and version <= agent.artifact_version:
            logger.warning(
                "tenant=%s agent=%s version=%d | not discarded: it is deployed (serving %d)",
                tenant_id,
                agent_id,
                version,
                agent.artifact_version,
            )
            return 0
        prefix = artifact_key(tenant_id, agent_id, version).rsplit("/", 1)[0] + "/"
        gone = 0
        for blob in self._b.blobs.list(prefix):
            self._b.blobs.delete(blob.key)
            gone += 1
        return gone
