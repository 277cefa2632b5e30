"""Searching an agent's knowledge base: what the agent's knowledge tool and admins' test searches call.

Both see the same hits: those at or over the relevance floor (`ORATIO_KNOWLEDGE_FLOOR`), so an agent
asked about something its documents do not cover gets no passage, says it does not know, and cites
nothing, instead of quoting the least bad noise; and an admin testing a question sees what the agent
would. The floor is given only where a hit's score means relevance (the local index with embeddings,
`oratio.knowledge.fusion`); BM25-only and Bedrock scores rank hits but say nothing absolute, so there
every hit is kept.
"""

from __future__ import annotations

import logging

from oratio.errors import InvalidInput
from oratio.knowledge.ports import KnowledgeBase, KnowledgeHit
from oratio.services._common import Backends, authorize, require
from oratio.store.tables import AGENTS
from schemas import Principal, Scope

logger = logging.getLogger("oratio.knowledge")

QUERY_MAX = 1_000
K_MAX = 50


class KnowledgeService:
    def __init__(self, backends: Backends, knowledge: KnowledgeBase, *, relevance_floor: float = 0.0) -> None:
        if not 0.0 <= relevance_floor <= 1.0:
            raise ValueError("relevance_floor must be between 0 and 1")
        self._b = backends
        self._kb = knowledge
        self._floor = relevance_floor

    @property
    def relevance_floor(self) -> float:
        """The score under which a hit is left out; 0.0: every hit is kept."""
        return self._floor

    def search(self, principal: Principal, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """Admin path: test what an agent would find for a question."""
        tenant_id = authorize(principal, Scope.AGENTS_READ)
        require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        return self.search_for_agent(tenant_id, agent_id, query, k)

    def search_for_agent(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """Runtime path: the agent's own tool, for a tenant and agent the caller already checked."""
        query = query.strip()
        if not query:
            raise InvalidInput("the search query is empty", field="query")
        if len(query) > QUERY_MAX:
            raise InvalidInput(f"the search query is over {QUERY_MAX} characters", field="query")
        if not 1 <= k <= K_MAX:
            raise InvalidInput(f"k must be between 1 and {K_MAX}", field="k")
        hits = self._kb.search(tenant_id, agent_id, query, k)
        if self._floor <= 0.0:
            return hits  # no floor (a cosine, and so a fused score, may be below 0)
        kept = [hit for hit in hits if hit.score >= self._floor]
        if len(kept) < len(hits):
            logger.debug(
                "tenant=%s agent=%s floor=%.2f dropped=%d kept=%d | hits under the relevance floor",
                tenant_id,
                agent_id,
                self._floor,
                len(hits) - len(kept),
                len(kept),
            )
        return kept
