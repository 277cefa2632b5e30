"""Fixtures for the conversation engine: a real SQLite platform, a deployed agent with a knowledge
document, a scripted model, and the platform's real handoff service with a record of its calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import SecretStr

from oratio.config import Settings
from oratio.models import ScriptedModel
from oratio.platform import Platform, open_platform
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
    Scope,
)

JWT_SECRET = SecretStr("x" * 40)
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


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def settings_for(data_dir: Path, **fields: object) -> Settings:
    return Settings.model_validate({"data_dir": data_dir, "jwt_secret": JWT_SECRET, "embeddings": False, **fields})


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with open_platform(settings_for(tmp_path)) as opened:
        yield opened


@dataclass
class RecordingHandoffs:
    """The real handoff service, keeping a list of what it was asked (a recorder, not a stand-in)."""

    inner: HandoffRequester
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def request(self, tenant_id: str, session_id: str, reason: str) -> None:
        self.calls.append((tenant_id, session_id, reason))
        self.inner.request(tenant_id, session_id, reason)


@dataclass
class World:
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

    def engine(self, **settings: object) -> ConversationEngine:
        """A fresh engine (as after a restart) whose every model is `self.model`."""
        return engine_over(self.platform, lambda spec: self.model, self.handoffs, **settings)

    def events(self) -> list[Event]:
        return tenant_events(self.platform, self.tenant_id)


def engine_over(
    platform: Platform, models: ModelFactory, handoffs: HandoffRequester | None = None, **settings: object
) -> ConversationEngine:
    """An engine over the platform's services, as `build_services` makes one, with the given models.

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
    )


def tenant_events(platform: Platform, tenant_id: str) -> list[Event]:
    found: list[Event] = []
    while page := platform.backends.events.read(tenant_id, after=found[-1].seq if found else 0):
        found.extend(page)
    return found


def new_principal(platform: Platform, name: str) -> Principal:
    tenant = platform.tenants.create_tenant(name)
    admin = platform.tenants.create_admin(tenant.tenant_id, "owner@example.com", "Owner")
    return Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))


def deployed_agent(platform: Platform, principal: Principal, name: str = "Support", plan: AgentPlan = PLAN) -> Agent:
    content = DocumentContent(name="refunds.md", format=DocumentFormat.MARKDOWN, content=REFUNDS)
    agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name=name, sop=SOP), documents=[content]))
    return platform.agents.deploy(principal.tenant_id, agent.id, plan)


@pytest.fixture
def world(platform: Platform) -> World:
    principal = new_principal(platform, "Acme")
    agent = deployed_agent(platform, principal)
    [document] = platform.documents.list(principal, agent.id).items
    return World(
        platform=platform,
        principal=principal,
        agent=agent,
        document=document,
        model=ScriptedModel(),
        handoffs=RecordingHandoffs(platform.handoff),
    )
