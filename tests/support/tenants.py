"""A tenant with its admin, agents, API keys and tokens: the records almost every test starts from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from oratio.auth.tokens import JwtSettings, issue_token
from oratio.platform import Platform
from oratio.store.ports import EventCursor
from schemas import (
    Admin,
    Agent,
    AgentPlan,
    AgentSpec,
    AgentStatus,
    CreateAgent,
    DocumentContent,
    DocumentFormat,
    Event,
    MintKeyRequest,
    Principal,
    Scope,
    utcnow,
)
from tests.support.platforms import JWT_SECRET

SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."
PLAN = AgentPlan(
    persona="Ava, Acme's support agent",
    system_prompt="You are Ava, a friendly support agent for Acme. Answer briefly and politely.",
)


@dataclass(frozen=True)
class Tenancy:
    """A tenant with one full admin, and the principal its requests carry."""

    admin: Admin
    principal: Principal

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id


def new_tenancy(platform: Platform, name: str, email: str | None = None) -> Tenancy:
    """A new tenant `name` with one admin (`ops@<name>.example` unless `email`)."""
    tenant = platform.tenants.create_tenant(name)
    admin = platform.tenants.create_admin(tenant.tenant_id, email or f"ops@{name.lower()}.example", "Ops")
    principal = Principal(tenant_id=admin.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
    return Tenancy(admin=admin, principal=principal)


def new_principal(platform: Platform, name: str, email: str | None = None) -> Principal:
    """The admin principal of a new tenant `name`."""
    return new_tenancy(platform, name, email).principal


def narrow(tenancy: Tenancy, *scopes: Scope) -> Principal:
    """A principal of the same tenant holding only `scopes` (a service token, say)."""
    return Principal(tenant_id=tenancy.tenant_id, subject="svc_narrow", scopes=frozenset(scopes))


def doc(name: str, content: bytes) -> DocumentContent:
    return DocumentContent(name=name, format=DocumentFormat.MARKDOWN, content=content)


def create_agent(
    platform: Platform, tenancy: Tenancy, name: str = "Support", documents: tuple[DocumentContent, ...] = ()
) -> Agent:
    """An agent as `create_agent` leaves it: `creating`, nothing deployed."""
    request = CreateAgent(spec=AgentSpec(name=name, sop=SOP), documents=list(documents))
    return platform.agents.create(tenancy.principal, request)


def active_agent(platform: Platform, tenancy: Tenancy, name: str = "Support") -> Agent:
    """An agent moved to `active` without a deployed plan (for services that only look at the status)."""
    agent = create_agent(platform, tenancy, name)
    return platform.agents.transition(tenancy.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)


def new_agent(platform: Platform, tenancy: Tenancy, name: str, *, deploy: bool = True, plan: AgentPlan = PLAN) -> Agent:
    """An agent; deployed with `plan` (so active) unless `deploy` is False (then still `creating`)."""
    agent = create_agent(platform, tenancy, name)
    if deploy:
        agent = platform.agents.deploy(tenancy.tenant_id, agent.id, plan)
    return agent


def mint(platform: Platform, tenancy: Tenancy, agent: Agent, name: str = "web") -> tuple[str, str]:
    """A fresh key for `agent`: (secret, key id)."""
    minted = platform.keys.mint(tenancy.principal, MintKeyRequest(agent_id=agent.id, name=name))
    return minted.reveal(), minted.key.id


def token_for(platform: Platform, principal: Principal, *, expired: bool = False) -> str:
    """An admin JWT for `principal` (already expired, beyond the leeway, if asked)."""
    if not expired:
        admin = platform.tenants.get_admin(principal.tenant_id, principal.subject)
        return platform.access.token_for(admin)
    settings = platform.settings
    jwt = JwtSettings(secret=JWT_SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return issue_token(jwt, principal, ttl_seconds=60, now=utcnow() - timedelta(hours=2))


def events(platform: Platform, tenant_id: str) -> list[Event]:
    """The tenant's whole event log, oldest first, read page by page as a subscriber would."""
    log = platform.backends.events
    found: list[Event] = []
    cursor = EventCursor.start(log.shards)
    while page := log.read(tenant_id, after=cursor):
        found.extend(page)
        cursor = cursor.advanced(page)
    return found


def event_types(platform: Platform, tenant_id: str) -> list[str]:
    return [event.type.value for event in events(platform, tenant_id)]
