"""The conversation engine's world: one tenant, an agent deployed with a knowledge document and a
handoff rule, a scripted model the test writes, and the real handoff service with a record of its calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oratio.actions import ActionRunner
from oratio.models import ScriptedModel
from oratio.platform import Platform
from oratio.runtime import ConversationEngine, HandoffRequester, ModelFactory
from schemas import (
    Agent,
    AgentPlan,
    AgentSpec,
    CreateAgent,
    Document,
    DocumentContent,
    DocumentFormat,
    Event,
    HandoffRule,
    Principal,
)
from tests.support.tenants import events, new_principal

SOP = "Answer from the knowledge base; hand legal threats to a person."
REFUNDS = b"# Refunds\n\nRefunds are possible within 30 days of purchase with a receipt."
PLAN = AgentPlan(
    persona="Acme's support assistant",
    system_prompt="You are Acme's support assistant. Answer only from the knowledge base.",
    handoff_rules=[
        HandoffRule(
            id="legal",
            description="Legal threats go to a person",
            kind="keywords",
            patterns=["lawyer", "legal action"],
        )
    ],
)


@dataclass
class RecordingHandoffs:
    """The real handoff service, keeping a list of what it was asked (a recorder, not a stand-in)."""

    inner: HandoffRequester
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def request(self, tenant_id: str, session_id: str, reason: str) -> None:
        self.calls.append((tenant_id, session_id, reason))
        self.inner.request(tenant_id, session_id, reason)


@dataclass
class EngineWorld:
    """One tenant with a deployed agent, a scripted model, and engines over the platform."""

    platform: Platform
    principal: Principal
    agent: Agent
    document: Document
    model: ScriptedModel
    handoffs: RecordingHandoffs

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id

    def engine(self, **settings: Any) -> ConversationEngine:
        """A fresh engine (as after a restart) whose every model is `self.model`."""
        return engine_over(self.platform, lambda spec: self.model, self.handoffs, **settings)

    def events(self) -> list[Event]:
        return events(self.platform, self.tenant_id)


def engine_over(
    platform: Platform,
    models: ModelFactory,
    handoffs: HandoffRequester | None = None,
    *,
    actions: ActionRunner | None = None,
    **settings: object,
) -> ConversationEngine:
    """An engine over the platform's services, as `build_services` makes one, with the given models
    (and `actions`, the runner of the agents' own tools).

    The settings name a model (`scripted`) because the engine asks its factory for the configured one.
    """
    return ConversationEngine(
        agents=platform.agents,
        sessions=platform.sessions,
        knowledge=platform.knowledge,
        backends=platform.backends,
        settings=platform.settings.model_copy(update={"model": "scripted", **settings}),
        handoffs=handoffs or platform.handoff,
        model_factory=models,
        actions=actions,
        validator=platform.engine.validator,
    )


def deployed_agent(platform: Platform, principal: Principal, name: str = "Support", plan: AgentPlan = PLAN) -> Agent:
    """An agent with the refunds document, deployed with `plan`."""
    content = DocumentContent(name="refunds.md", format=DocumentFormat.MARKDOWN, content=REFUNDS)
    agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name=name, sop=SOP), documents=[content]))
    return platform.agents.deploy(principal.tenant_id, agent.id, plan)


def new_engine_world(platform: Platform) -> EngineWorld:
    principal = new_principal(platform, "Acme")
    agent = deployed_agent(platform, principal)
    [document] = platform.documents.list(principal, agent.id).items
    return EngineWorld(
        platform=platform,
        principal=principal,
        agent=agent,
        document=document,
        model=ScriptedModel(),
        handoffs=RecordingHandoffs(platform.handoff),
    )
