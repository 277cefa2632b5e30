"""The model that writes an agent's brief and analysis is the one the agent runs on, capped in tokens;
offline (no model, the scripted one) there is none and the extractive/rule-based parts stand."""

from __future__ import annotations

import pytest
from strands.models import Model

from oratio.config import Settings
from oratio.models import ScriptedModel
from oratio.models.gate import ModelGate
from oratio.platform import Platform
from oratio.services.agent_models import WRITER_MAX_TOKENS, agent_models, capped_spec, writer_name
from schemas import AgentPlan
from tests.support.tenants import Tenancy, new_agent

PLAN = AgentPlan(persona="Ava", system_prompt="You are Ava, a support agent for Acme.")


@pytest.mark.parametrize(
    ("spec", "capped"),
    [
        ("llamacpp", f"llamacpp?max_tokens={WRITER_MAX_TOKENS}"),
        ("bedrock?region=eu-west-1&max_tokens=500", "bedrock?region=eu-west-1&max_tokens=500"),
        ("anthropic:claude-x?max_tokens=90000", f"anthropic:claude-x?max_tokens={WRITER_MAX_TOKENS}"),
    ],
)
def test_the_writer_never_generates_more_than_its_cap(spec: str, capped: str) -> None:
    assert capped_spec(spec) == capped


def test_the_writer_is_named_without_options() -> None:
    assert writer_name("ollama:qwen2.5:7b?base_url=http://10.0.0.5:11434") == "ollama:qwen2.5:7b"


def built(
    platform: Platform, acme: Tenancy, settings: Settings, plan: AgentPlan = PLAN, name: str = "Support"
) -> list[str]:
    agent = new_agent(platform, acme, name, plan=plan)
    specs: list[str] = []

    def build(spec: str) -> Model:
        specs.append(spec)
        return ScriptedModel()

    found = agent_models(platform.agents.artifact, ModelGate(settings), build)(acme.tenant_id, agent.id)
    if found is not None:
        found.build()
        specs.insert(0, found.name)
    return specs


def test_the_agents_own_model_writes(platform: Platform, acme: Tenancy) -> None:
    settings = platform.settings.model_copy(update={"model": "bedrock", "models_allowed": "big=anthropic:claude-x"})

    assert built(platform, acme, settings) == ["bedrock", f"bedrock?max_tokens={WRITER_MAX_TOKENS}"]
    assert built(platform, acme, settings, PLAN.model_copy(update={"model": "big"}), "Big") == [
        "anthropic:claude-x",
        f"anthropic:claude-x?max_tokens={WRITER_MAX_TOKENS}",
    ]


@pytest.mark.parametrize("model", [None, "scripted", "scripted?delay=0.1"])
def test_offline_nothing_writes(platform: Platform, acme: Tenancy, model: str | None) -> None:
    assert built(platform, acme, platform.settings.model_copy(update={"model": model})) == []
