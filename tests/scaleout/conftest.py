"""One cluster of three `oratio serve` replicas for the whole directory (starting it is most of the cost).

Every test gets its own tenant, agent and key (`world`), so tests share processes, never records. The
kill -9 test restarts the replica it killed before it returns, so the cluster is whole for the next.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from schemas import Agent
from tests.support.replicas import Cluster, cluster
from tests.support.tenants import Tenancy, mint, new_agent, new_tenancy

MODEL = "scripted?delay=0.02"
"""The demo agent, a little slow (20 ms between streamed chunks), so concurrent turns really overlap."""


@pytest.fixture(scope="package")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("replicas"), ORATIO_MODEL=MODEL) as running:
        yield running


@dataclass(frozen=True)
class World:
    tenancy: Tenancy
    agent: Agent
    key: str

    @property
    def tenant_id(self) -> str:
        return self.tenancy.tenant_id


_tenants = itertools.count(1)


@pytest.fixture
def world(replicas: Cluster) -> World:
    platform = replicas.platform
    tenancy = new_tenancy(platform, f"Tenant{next(_tenants)}")
    agent = new_agent(platform, tenancy, "Desk")
    key, _ = mint(platform, tenancy, agent)
    return World(tenancy, agent, key)
