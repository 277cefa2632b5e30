"""A creation cut off by kill -9 ends `failed` with a reason at the next start, and can be retried
(issue 15, item 8); a creation a live process owns is never touched.

The writer builds an agent with a thinking model that hangs, acknowledges once the first stage
runs, and is killed there: the agent is left `creating` with an owner record naming a dead process.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from creator_agent.models import attach_creator
from mcp_server import OperatorPrincipal, build_server
from oratio.config import Settings
from oratio.platform import Platform, open_platform
from oratio.services.creation_owner import (
    INTERRUPTED,
    MODEL_NOW,
    NO_MODEL_CONFIGURED,
    WAITING_FOR_MODEL,
    CreationOwners,
    note_model_now_configured,
    recover_interrupted_creations,
)
from schemas import Agent, AgentSpec, AgentStatus, CreateAgent, Principal, Scope
from tests.crash import acknowledged_then_killed
from tests.support.mcp import call_as, call_error
from tests.support.platforms import test_settings

pytestmark = pytest.mark.anyio

SOP = """# Desk SOP
## Steps
1. Greet the customer.
2. Answer from the knowledge base.
## Rules
- Always be polite.
"""

WRITER = f"""
import sys
import anyio
from pydantic import SecretStr
from creator_agent.pipeline import AgentCreator
from oratio.config import Settings
from oratio.models import Hang, ScriptedModel
from oratio.platform import open_platform
from schemas import AgentSpec, CreateAgent, Principal, Scope

settings = Settings(data_dir=sys.argv[1], jwt_secret=SecretStr("x" * 40), embeddings=False, model="scripted")
with open_platform(settings) as platform:
    tenant = platform.tenants.create_tenant("Acme")
    principal = Principal(tenant_id=tenant.tenant_id, subject="ops", scopes=frozenset({{Scope.ADMIN}}))
    agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Desk", sop={SOP!r})))

    async def progress(done: int, total: int, message: str) -> None:
        if message.startswith("parse_sop: running"):
            print(tenant.tenant_id, agent.id, flush=True)

    creator = AgentCreator(platform, lambda: ScriptedModel([Hang()]))
    anyio.run(creator.create, tenant.tenant_id, agent.id, progress)
"""


def settings_for(data_dir: Path, **fields: object) -> Settings:
    return test_settings(data_dir, **{"model": "scripted", **fields})


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


@pytest.fixture
def platform(platform: Platform) -> Platform:
    """The root platform, with the AgentCreator attached."""
    return attach_creator(platform)


def operator(platform: Platform, tenant_id: str) -> Principal:
    return Principal(tenant_id=tenant_id, subject="ops", scopes=frozenset({Scope.ADMIN}))


async def test_a_creation_killed_mid_way_ends_failed_at_start_and_a_retry_makes_it_active(tmp_path: Path) -> None:
    [line] = acknowledged_then_killed(WRITER, 1, args=[str(tmp_path)], env=os.environ)
    tenant_id, agent_id = line.split()
    with open_platform(settings_for(tmp_path)) as opened:
        platform = attach_creator(opened)
        principal = operator(platform, tenant_id)
        assert platform.agents.get(principal, agent_id).status is AgentStatus.CREATING

        assert recover_interrupted_creations(platform.backends, platform.agents) == 1
        failed = platform.agents.get(principal, agent_id)
        assert (failed.status, failed.status_reason) == (AgentStatus.FAILED, INTERRUPTED)
        assert recover_interrupted_creations(platform.backends, platform.agents) == 0

        async with Client(build_server(platform, OperatorPrincipal(principal))) as client:
            retried = await call_as(client, "retry_creation", {"agent_id": agent_id}, Agent)
            again = await call_error(client, "retry_creation", {"agent_id": agent_id})
    assert (retried.status, retried.artifact_version, retried.status_reason) == (AgentStatus.ACTIVE, 1, None)
    assert "only a failed agent is retried" in again


def test_a_creation_owned_by_a_live_process_is_never_touched(platform: Platform) -> None:
    tenant = platform.tenants.create_tenant("Acme")
    principal = operator(platform, tenant.tenant_id)
    agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP)))
    CreationOwners(platform.backends).claim(tenant.tenant_id, agent.id)  # this process: alive
    later = replace(platform.backends, clock=lambda: agent.updated_at + timedelta(days=1))

    assert recover_interrupted_creations(later, platform.agents) == 0
    assert platform.agents.get(principal, agent.id).status is AgentStatus.CREATING


def test_an_unowned_creation_is_failed_only_once_past_the_grace(platform: Platform) -> None:
    tenant = platform.tenants.create_tenant("Acme")
    principal = operator(platform, tenant.tenant_id)
    agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP)))
    soon = replace(platform.backends, clock=lambda: agent.updated_at + timedelta(seconds=5))
    later = replace(platform.backends, clock=lambda: agent.updated_at + timedelta(hours=1))

    assert recover_interrupted_creations(soon, platform.agents) == 0
    assert recover_interrupted_creations(later, platform.agents) == 1
    assert platform.agents.get(principal, agent.id).status is AgentStatus.FAILED


async def test_a_creation_waiting_for_a_model_says_so_and_is_left_waiting(tmp_path: Path) -> None:
    with open_platform(settings_for(tmp_path, model=None)) as opened:
        platform = attach_creator(opened)
        tenant = platform.tenants.create_tenant("Acme")
        principal = operator(platform, tenant.tenant_id)
        async with Client(build_server(platform, OperatorPrincipal(principal))) as client:
            agent = await call_as(client, "create_agent", {"spec": {"name": "Desk", "sop": SOP}}, Agent)
        later = replace(platform.backends, clock=lambda: agent.updated_at + timedelta(days=1))
        recovered = recover_interrupted_creations(later, platform.agents)
        after = platform.agents.get(principal, agent.id)
    assert agent.status is AgentStatus.CREATING
    assert agent.status_reason is not None and agent.status_reason.startswith(WAITING_FOR_MODEL)
    assert "ORATIO_MODEL" in agent.status_reason
    assert (recovered, after.status) == (0, AgentStatus.CREATING)


async def test_a_restart_with_a_model_tells_agents_stored_without_one_to_start_their_build(tmp_path: Path) -> None:
    """Their reason said "set ORATIO_MODEL, restart, and start its build again"; after a restart with a model it
    says the model is there. An agent waiting for a sampling client's answer is not one of them."""
    with open_platform(settings_for(tmp_path, model=None)) as opened:
        platform = attach_creator(opened)
        tenant = platform.tenants.create_tenant("Acme")
        principal = operator(platform, tenant.tenant_id)
        async with Client(build_server(platform, OperatorPrincipal(principal))) as client:
            stored = await call_as(client, "create_agent", {"spec": {"name": "Desk", "sop": SOP}}, Agent)
        sampling = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Sampled", sop=SOP)))
        platform.agents.note(tenant.tenant_id, sampling.id, WAITING_FOR_MODEL + "the client's answer to question 2")

        assert note_model_now_configured(platform.backends, platform.agents) == 1
        assert note_model_now_configured(platform.backends, platform.agents) == 0  # once
        told = platform.agents.get(principal, stored.id)
        left = platform.agents.get(principal, sampling.id)
    assert stored.status_reason is not None and NO_MODEL_CONFIGURED in stored.status_reason
    assert (told.status, told.status_reason) == (AgentStatus.CREATING, MODEL_NOW)
    assert left.status_reason == WAITING_FOR_MODEL + "the client's answer to question 2"
