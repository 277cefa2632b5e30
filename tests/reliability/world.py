"""Two tenants on one real platform, served for real: the ground the reliability tests stand on.

Each tenant has an admin (principal and JWT), an active agent deployed with a plan, an API key for
it, and a knowledge document. The platform is the embedded one (SQLite, local blobs, BM25), its
conversation engine runs the offline `scripted` model (the demo's rule-following agent: "a person"
hands off, "bye" ends), and `oratio_app.web.create_app` serves every HTTP door on a real uvicorn.
Rate limits are lifted: the tests fire hundreds of calls per second on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oratio.models import demo_model
from oratio.platform import Platform
from oratio_app.web import create_app
from schemas import (
    Admin,
    Agent,
    AgentPlan,
    AgentSpec,
    CreateAgent,
    DocumentContent,
    DocumentFormat,
    MintKeyRequest,
    Principal,
)
from tests.net import uvicorn_in_thread
from tests.support.platforms import JWT_SECRET, open_test_platform

SOP = "Greet the customer, answer from the knowledge base, and hand off when they ask for a person."
PLAN = AgentPlan(
    persona="Ava, a support agent",
    system_prompt="You are Ava, a friendly support agent. Answer briefly from the knowledge base.",
)
FAQ = b"# Refunds\n\nRefunds are possible within 30 days of purchase with a receipt.\n"
__all__ = ["JWT_SECRET", "Served", "Side", "new_side", "reliability_platform", "serving"]

UNLIMITED: dict[str, Any] = {
    "key_rate_per_minute": 1_000_000,
    "key_burst": 1_000_000,
    "admin_rate_per_minute": 1_000_000,
    "admin_burst": 1_000_000,
}


@dataclass(frozen=True)
class Side:
    """One tenant as the tests see it: who its admin is, and what its customer app holds."""

    name: str
    admin: Admin
    principal: Principal
    token: str
    agent: Agent
    secret: str
    key_id: str

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id


@dataclass(frozen=True)
class Served:
    platform: Platform
    base_url: str
    port: int

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@contextmanager
def reliability_platform(data_dir: Path, **settings: Any) -> Iterator[Platform]:
    """The embedded platform with the demo's scripted agent and no rate limits."""
    with open_test_platform(data_dir, models=lambda spec: demo_model(), **{**UNLIMITED, **settings}) as opened:
        yield opened


def new_side(platform: Platform, name: str) -> Side:
    tenant = platform.tenants.create_tenant(name)
    admin = platform.tenants.create_admin(tenant.tenant_id, f"ops@{name.lower()}.example", "Ops")
    principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
    faq = DocumentContent(name="faq.md", format=DocumentFormat.MARKDOWN, content=FAQ)
    created = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Support", sop=SOP), documents=[faq]))
    agent = platform.agents.deploy(tenant.tenant_id, created.id, PLAN)
    minted = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="widget"))
    return Side(
        name=name,
        admin=admin,
        principal=principal,
        token=platform.access.token_for(admin),
        agent=agent,
        secret=minted.reveal(),
        key_id=minted.key.id,
    )


@contextmanager
def serving(platform: Platform) -> Iterator[Served]:
    """`create_app(platform)` (health, /api/v1, /runtime, /mcp) under a real uvicorn on 127.0.0.1."""
    with uvicorn_in_thread(lambda port: create_app(platform, host="127.0.0.1", port=port)) as port:
        yield Served(platform=platform, base_url=f"http://127.0.0.1:{port}", port=port)
