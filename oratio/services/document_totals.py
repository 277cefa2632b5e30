"""The document limits of an agent and a tenant, checked against counters instead of by counting.

With 10,000 documents per agent, counting an agent's documents on every upload would read them all
(a scan per upload, quadratic for a bulk upload). Each agent and each tenant has a `DocumentTotals`
record instead (documents, bytes), changed in the same transaction as the document it counts: an
upload reads two small records, checks the limits and writes them back with the document, or
nothing is written (a concurrent upload moved a counter: read again and retry).

Deletion lowers the counters after the document is gone; a crash in between leaves a counter high,
so the limits err on the strict side and never let more in than they state. A counter that does
not exist yet (an agent or tenant from before the counters) is computed once from the documents.
"""

from __future__ import annotations

from dataclasses import dataclass

from oratio.errors import Conflict, InvalidInput
from oratio.services._common import Backends, all_items
from oratio.store.ports import Insert, Replace, Write
from oratio.store.tables import DOCUMENT_TOTALS, DOCUMENTS
from schemas import TENANT_SCOPE, DocumentTotals, Limits

ATTEMPTS = 20
"""Writes retried when a concurrent upload of the same tenant moved a counter first."""


@dataclass(frozen=True)
class DocumentLimits:
    documents_per_agent: int = Limits.DOCUMENTS_PER_AGENT_MAX
    bytes_per_agent: int = 5 * 1024**3
    bytes_per_tenant: int = 20 * 1024**3


class DocumentTotalsBook:
    def __init__(self, backends: Backends, limits: DocumentLimits) -> None:
        self._b = backends
        self._limits = limits

    @property
    def limits(self) -> DocumentLimits:
        return self._limits

    def writes(self, tenant_id: str, agent_id: str, documents: int, size_delta: int) -> list[Write]:
        """The counter writes for adding `documents` documents and `size_delta` bytes to the agent.

        Raises InvalidInput when that would pass a limit (checked only for growth: a replacement by
        a smaller version or a deletion is always allowed).
        """
        agent = self._current(tenant_id, agent_id)
        tenant = self._current(tenant_id, TENANT_SCOPE)
        limits = self._limits
        if documents > 0 and agent.documents + documents > limits.documents_per_agent:
            raise InvalidInput(
                f"an agent can have at most {limits.documents_per_agent} documents; delete some first",
                field="documents",
            )
        if size_delta > 0 and agent.bytes + size_delta > limits.bytes_per_agent:
            raise InvalidInput(
                f"an agent's documents can take at most {limits.bytes_per_agent} bytes"
                f" ({agent.bytes} are stored); delete some first",
                field="content",
            )
        if size_delta > 0 and tenant.bytes + size_delta > limits.bytes_per_tenant:
            raise InvalidInput(
                f"a tenant's documents can take at most {limits.bytes_per_tenant} bytes"
                f" ({tenant.bytes} are stored); delete some first",
                field="content",
            )
        return [_changed(agent, documents, size_delta), _changed(tenant, documents, size_delta)]

    def release(self, tenant_id: str, agent_id: str, documents: int, size: int) -> None:
        """Lower the counters after documents were deleted (retried against concurrent uploads)."""
        for _ in range(ATTEMPTS):
            try:
                self._b.store.transact(self.writes(tenant_id, agent_id, -documents, -size))
                return
            except Conflict:
                continue
        raise Conflict("the document counters are being changed by others; try again")

    def forget_agent(self, tenant_id: str, agent_id: str) -> None:
        """After an agent's documents are all deleted: its counter goes, the tenant's loses what it held."""
        agent = self._b.store.get(DOCUMENT_TOTALS, tenant_id, agent_id)
        if agent is None:
            return
        for _ in range(ATTEMPTS):
            tenant = self._current(tenant_id, TENANT_SCOPE)
            try:
                self._b.store.transact([_changed(tenant, -agent.documents, -agent.bytes)])
                break
            except Conflict:
                continue
        self._b.store.delete(DOCUMENT_TOTALS, tenant_id, agent_id)

    def _current(self, tenant_id: str, scope: str) -> DocumentTotals:
        stored = self._b.store.get(DOCUMENT_TOTALS, tenant_id, scope)
        if stored is not None:
            return stored
        # First use: count once what is already stored (version 0: written with an Insert).
        if scope == TENANT_SCOPE:
            existing = all_items(self._b.store, DOCUMENTS, tenant_id)
        else:
            existing = all_items(self._b.store, DOCUMENTS, f"{tenant_id}#{scope}", index="by_agent")
        return DocumentTotals(
            tenant_id=tenant_id, scope=scope, documents=len(existing), bytes=sum(d.size_bytes for d in existing)
        )


def _changed(totals: DocumentTotals, documents: int, size_delta: int) -> Write:
    updated = totals.model_copy(
        update={
            "documents": max(0, totals.documents + documents),
            "bytes": max(0, totals.bytes + size_delta),
        }
    )
    return Insert(DOCUMENT_TOTALS, updated) if totals.version == 0 else Replace(DOCUMENT_TOTALS, updated)


__all__ = ["DocumentLimits", "DocumentTotalsBook"]
