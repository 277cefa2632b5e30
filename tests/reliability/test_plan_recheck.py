"""The plan recheck window (`ORATIO_PLAN_RECHECK_SECONDS`, oratio/services/plan_cache.py).

A turn reads the agent record every time; the plan that record names is served from memory while
its stored bytes were hashed and matched less than the window ago. What must hold: bytes changed in
storage are never served and are refused (agent `failed`) at the next recheck; a new deploy or a
pause made by another process applies at the very next turn; within the window no blob is read.
Each `AgentService` here stands for one process: they share the stores, not their memory.
"""

from __future__ import annotations

from collections import Counter
from typing import cast

import pytest

from oratio.blobs.ports import BlobStore
from oratio.config import load_settings
from oratio.errors import ArtifactRejected, InvalidState
from oratio.models.gate import ModelGate
from oratio.platform import Platform
from oratio.services import AgentService, Backends
from oratio.services.agents import artifact_key
from oratio.services.plan_cache import PlanCache
from schemas import AgentStatus
from tests.support.counting import Counting
from tests.support.tenants import PLAN
from tests.support.worlds import World

WINDOW_S = 60.0


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def process(platform: Platform, clock: Clock, blobs: BlobStore | None = None) -> AgentService:
    """Another process's AgentService over the same stores, with its own plan cache."""
    b = platform.backends
    backends = Backends(store=b.store, events=b.events, blobs=blobs or b.blobs, clock=b.clock)
    plans = PlanCache(recheck_seconds=WINDOW_S, monotonic=clock)
    return AgentService(backends, platform.documents, platform.keys, ModelGate(platform.settings), plans=plans)


def change_a_byte(platform: Platform, world: World) -> None:
    key = artifact_key(world.acme.tenant_id, world.agent.id, 1)
    raw = platform.backends.blobs.get(key)
    platform.backends.blobs.put(key, raw.replace(b"Ava", b"Eva", 1), content_type="application/json")


def test_changed_bytes_are_never_served_and_are_refused_at_the_next_recheck(platform: Platform, world: World) -> None:
    clock = Clock()
    runtime = process(platform, clock)
    _, served = runtime.artifact(world.acme.tenant_id, world.agent.id)
    assert served.plan == PLAN
    change_a_byte(platform, world)
    clock.now += WINDOW_S - 1
    _, still = runtime.artifact(world.acme.tenant_id, world.agent.id)
    assert still.plan == PLAN and "Eva" not in still.plan.persona  # the reviewed plan, from memory
    clock.now += 1
    with pytest.raises(ArtifactRejected, match="integrity"):
        runtime.artifact(world.acme.tenant_id, world.agent.id)
    failed = platform.agents.get(world.acme.principal, world.agent.id)
    assert failed.status is AgentStatus.FAILED and failed.status_reason is not None and "sha256" in failed.status_reason
    with pytest.raises(InvalidState):  # and from then on, for every process
        runtime.artifact(world.acme.tenant_id, world.agent.id)


def test_a_new_deploy_elsewhere_serves_at_the_next_turn(platform: Platform, world: World) -> None:
    runtime = process(platform, Clock())
    assert runtime.artifact(world.acme.tenant_id, world.agent.id)[1].version == 1
    platform.agents.transition(world.acme.tenant_id, world.agent.id, AgentStatus.CREATING, reason="rebuilding")
    platform.agents.deploy(world.acme.tenant_id, world.agent.id, PLAN.model_copy(update={"persona": "Zed of Acme"}))
    agent, artifact = runtime.artifact(world.acme.tenant_id, world.agent.id)
    assert (agent.artifact_version, artifact.version, artifact.plan.persona) == (2, 2, "Zed of Acme")


def test_a_pause_elsewhere_applies_at_the_next_turn(platform: Platform, world: World) -> None:
    runtime = process(platform, Clock())
    runtime.artifact(world.acme.tenant_id, world.agent.id)
    platform.agents.transition(world.acme.tenant_id, world.agent.id, AgentStatus.PAUSED, reason="paused by an admin")
    with pytest.raises(InvalidState, match="paused"):
        runtime.artifact(world.acme.tenant_id, world.agent.id)


def test_within_the_window_a_turn_reads_the_agent_record_and_no_blob(platform: Platform, world: World) -> None:
    tally: Counter[str] = Counter()
    clock = Clock()
    runtime = process(platform, clock, blobs=cast("BlobStore", Counting("blobs", platform.backends.blobs, tally)))
    for _ in range(5):
        runtime.artifact(world.acme.tenant_id, world.agent.id)
    assert tally["blobs.get"] == 1  # the first load; the next four were fresh
    clock.now += WINDOW_S
    runtime.artifact(world.acme.tenant_id, world.agent.id)
    assert tally["blobs.get"] == 2  # rechecked once the window passed


def test_the_window_is_five_seconds_unless_configured() -> None:
    assert load_settings({}).plan_recheck_seconds == 5.0
    assert load_settings({"ORATIO_PLAN_RECHECK_SECONDS": "0"}).plan_recheck_seconds == 0


def test_an_admin_reading_the_serving_plan_rechecks_it_at_once(platform: Platform, world: World) -> None:
    """`recheck=True` (MCP get_agent_plan, simulations of the serving version) reads and hashes the bytes now."""
    runtime = process(platform, Clock())
    runtime.artifact(world.acme.tenant_id, world.agent.id)
    change_a_byte(platform, world)
    with pytest.raises(ArtifactRejected, match="integrity"):
        runtime.artifact(world.acme.tenant_id, world.agent.id, recheck=True)
