"""Searching an agent's knowledge base: what the agent's knowledge tool and admins' test searches call."""

from __future__ import annotations

from oratio.errors import InvalidInput
from oratio.knowledge.ports import KnowledgeBase, KnowledgeHit
from oratio.services._common import Backends, authorize, require
from oratio.store.tables import AGENTS
from schemas import Principal, Scope

QUERY_MAX = 1_000
K_MAX = 50


class KnowledgeService:
    def __init__(self, backends: Backends, knowledge: KnowledgeBase) -> None:
        self._b = backends
        self._kb = knowledge

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
        return self._kb.search(tenant_id, agent_id, query, k)
