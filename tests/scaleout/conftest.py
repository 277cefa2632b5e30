"""One cluster of three `oratio serve` replicas for the whole directory (starting it is most of the cost).

Every test gets its own tenant, agent and key (`world`), so tests share processes, never records. The
kill -9 test restarts the replica it killed before it returns, so the cluster is whole for the next.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.scaleout.world import World
from tests.support.replicas import Cluster, cluster
from tests.support.tenants import mint, new_agent, new_tenancy

MODEL = "scripted?delay=0.02"
"""The demo agent, a little slow (20 ms between streamed chunks), so concurrent turns really overlap."""
VOICE = "scripted"
"""Voice calls through the real cascade over model-free engines (energy VAD, scripted STT, tone TTS)."""


@pytest.fixture(scope="package")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("replicas"), ORATIO_MODEL=MODEL, ORATIO_VOICE_BACKEND=VOICE) as running:
        yield running


_tenants = itertools.count(1)


@pytest.fixture
def world(replicas: Cluster) -> World:
    platform = replicas.platform
    tenancy = new_tenancy(platform, f"Tenant{next(_tenants)}")
    agent = new_agent(platform, tenancy, "Desk")
    key, _ = mint(platform, tenancy, agent)
    return World(tenancy, agent, key)
