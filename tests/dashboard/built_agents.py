"""What the agent page's tests share: a platform with the offline AgentCreator, two tenants whose agents it
built (so each has a reviewed, tested, deployed plan, version 1), and waiting for a background build.

The fixtures a test module of them imports (and lists in its `__all__`, as test_browser's `browser` and `page`
are): `platform_settings`, `platform_models` and `platform` give the offline AgentCreator's platform, `built`
the two tenants, `acme` the HTTP client with Acme's admin token, and `person` Pat of Acme signed in. A module
that needs other settings defines its own `platform_settings` instead of importing this one.

The conversation model is the platform's own `scripted` one (as MCP's plan tests use), not the dashboard
tests' handoff agent: the AgentCreator's test conversations must pass on it before a version deploys.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

from creator_agent.models import attach_creator
from oratio.auth.principals import local_operator
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from schemas import Agent, AgentSpec, AgentStatus, CreateAgent, CreationRecord
from schemas.signin import LinkPurpose
from tests.support.serving import Served
from tests.support.signin import signed_in
from tests.support.tenants import Tenancy, mint, new_tenancy, token_for

SOP = """# Desk SOP
## Steps
1. Greet the customer.
2. Answer from the knowledge base.
## Rules
- Always be polite.
## Escalation
- Hand off to a human when the customer asks for a manager.
"""
PASSWORD = "correct horse battery staple"
BUILD_WAIT_S = 60.0
SETTINGS = {"model": "scripted", "password_memory_kib": 8 * 1024}
"""`platform_settings` of the agent page's tests: the offline model, and a cheap argon2 cost for sign-in."""


@dataclass(frozen=True)
class Built:
    platform: Platform
    acme: Tenancy
    globex: Tenancy
    agent: Agent
    globex_agent: Agent
    token: str
    globex_token: str
    key_id: str
    globex_key_id: str

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def build_agent(platform: Platform, tenancy: Tenancy, name: str) -> Agent:
    """An agent the AgentCreator built from `SOP`: active, version 1."""
    spec = AgentSpec(name=name, sop=SOP, handoff={"enabled": True, "conditions": ["the customer asks for a manager"]})
    created = platform.agents.create(tenancy.principal, CreateAgent(spec=spec))
    assert platform.builder is not None
    # On a thread of its own: a test with a browser already runs playwright's event loop on this one.
    builder = platform.builder

    def build() -> CreationRecord:
        return anyio.run(builder.create, tenancy.tenant_id, created.id)

    with ThreadPoolExecutor(1) as pool:
        record = pool.submit(build).result(BUILD_WAIT_S)
    assert record.succeeded, record.failure
    agent = platform.agents.get(tenancy.principal, created.id)
    assert (agent.status, agent.artifact_version) == (AgentStatus.ACTIVE, 1)
    return agent


def new_built(platform: Platform) -> Built:
    acme = new_tenancy(platform, "Acme")
    globex = new_tenancy(platform, "Globex")
    agent = build_agent(platform, acme, "Desk")
    globex_agent = build_agent(platform, globex, "Helpdesk")
    _, key_id = mint(platform, acme, agent)
    _, globex_key_id = mint(platform, globex, globex_agent)
    return Built(
        platform,
        acme,
        globex,
        agent,
        globex_agent,
        token_for(platform, acme.principal),
        token_for(platform, globex.principal),
        key_id,
        globex_key_id,
    )


def with_password(platform: Platform, tenancy: Tenancy, email: str) -> None:
    """Give `email`, a new admin of the tenant, a password (as following an invitation does)."""
    made = platform.signin.invite(local_operator(tenancy.tenant_id), email, "Pat", "http://x")
    platform.signin.accept(made.link.rsplit("=", 1)[1], PASSWORD, LinkPurpose.INVITE)


def wait_for_builds(agent_id: str) -> None:
    """Wait (bounded) for the agent's background builds, which run on threads named after it."""
    for thread in threading.enumerate():
        if thread.name == f"build-{agent_id}":
            thread.join(BUILD_WAIT_S)
            assert not thread.is_alive(), f"the build of {agent_id} did not finish in {BUILD_WAIT_S} s"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return dict(SETTINGS)


@pytest.fixture
def platform_models() -> ModelFactory | None:
    return None  # the platform's own scripted model, which the AgentCreator's test conversations pass on


@pytest.fixture
def platform(platform: Platform) -> Platform:
    return attach_creator(platform)


@pytest.fixture
def built(platform: Platform) -> Built:
    return new_built(platform)


@pytest.fixture
def acme(http: httpx.Client, built: Built) -> httpx.Client:
    http.headers.update(built.bearer())
    return http


@pytest.fixture
def person(served: Served, built: Built) -> Iterator[tuple[httpx.Client, str]]:
    """Pat of Acme, signed in with a password: (a cookie client, its CSRF token)."""
    with_password(built.platform, built.acme, "pat@acme.example")
    client, csrf = signed_in(served.base_url, "pat@acme.example")
    try:
        yield client, csrf
    finally:
        client.close()
