"""One scale-out test's tenant, agent and key (each test has its own, on the shared cluster)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import Agent
from tests.support.tenants import Tenancy


@dataclass(frozen=True)
class World:
    tenancy: Tenancy
    agent: Agent
    key: str

    @property
    def tenant_id(self) -> str:
        return self.tenancy.tenant_id
