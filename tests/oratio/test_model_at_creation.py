"""Creating or re-modelling an agent checks its model first: one that cannot run here fails at once,
with the reason, and nothing is stored (issue 15, item 16)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from oratio.config import Settings
from oratio.errors import ModelUnavailable
from oratio.models.check import importable
from oratio.platform import Platform, open_platform
from schemas import AgentSpec, AgentUpdate, CreateAgent, Principal, Scope
from tests.support.platforms import open_test_platform

SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """On SQLite only, on the wall clock (not the services' family of this package)."""
    assert not importable("openai"), "these tests need a machine without the openai SDK"
    with open_test_platform(tmp_path, model="scripted", models_allowed="scripted,gpt=openai:gpt-4o-mini") as opened:
        yield opened


@pytest.fixture
def principal(platform: Platform) -> Principal:
    tenant = platform.tenants.create_tenant("Acme")
    return Principal(tenant_id=tenant.tenant_id, subject="ops", scopes=frozenset({Scope.ADMIN}))


def test_creating_an_agent_on_a_model_whose_sdk_is_missing_fails_at_once(
    platform: Platform, principal: Principal
) -> None:
    with pytest.raises(ModelUnavailable, match="needs the OpenAI SDK"):
        platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP, model="gpt")))
    assert platform.agents.list(principal).items == []


def test_switching_an_agent_to_a_model_that_cannot_run_fails_and_changes_nothing(
    platform: Platform, principal: Principal
) -> None:
    agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP, model="scripted")))
    with pytest.raises(ModelUnavailable, match="needs the OpenAI SDK"):
        platform.agents.update(principal, agent.id, AgentUpdate(model="gpt"))
    assert platform.agents.get(principal, agent.id).spec.model == "scripted"


def test_an_agent_on_the_platform_model_fails_at_once_when_that_model_cannot_run(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret=SecretStr("x" * 40), embeddings=False, model="ollama:qwen")
    assert not importable("ollama"), "this test needs a machine without the ollama SDK"
    with open_platform(settings) as platform:
        tenant = platform.tenants.create_tenant("Acme")
        principal = Principal(tenant_id=tenant.tenant_id, subject="ops", scopes=frozenset({Scope.ADMIN}))
        with pytest.raises(ModelUnavailable, match="needs the Ollama SDK"):
            platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP)))
        assert platform.agents.list(principal).items == []
