"""Fixtures for the dashboard: a real SQLite platform with two tenants, served by `create_app` under uvicorn.

Acme has an active agent with an API key; its scripted model hands off when the customer asks for
a person, ends the session on goodbye and echoes everything else. Globex is the other tenant, whose
data must never show through Acme's token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from strands.models import Model

from oratio.auth.tokens import JwtSettings, issue_token
from oratio.models import CallTool, ScriptedModel, when_user_says
from oratio.platform import Platform
from oratio_app.web import create_app
from schemas import Agent, Principal, utcnow
from tests.agentcore_apps.conftest import (
    JWT_SECRET,
    Served,
    Tenancy,
    echo,
    mint,
    new_agent,
    new_tenancy,
    open_test_platform,
    serving_built,
)

HANDOFF_REASON = "the customer asked for a person"


def handoff_agent(spec: str) -> Model:
    """Hands off on 'human'/'person', ends on goodbye, echoes the rest."""
    return ScriptedModel(
        rules=[
            when_user_says("human", "person", then=CallTool("request_handoff", {"reason": HANDOFF_REASON})),
            when_user_says("bye", "goodbye", then=CallTool("end_session")),
            echo,
        ]
    )


def token_for(platform: Platform, principal: Principal, *, expired: bool = False) -> str:
    """An admin JWT for `principal` (already expired, beyond the leeway, if asked)."""
    if not expired:
        admin = platform.tenants.get_admin(principal.tenant_id, principal.subject)
        return platform.access.token_for(admin)
    settings = platform.settings
    jwt = JwtSettings(secret=JWT_SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return issue_token(jwt, principal, ttl_seconds=60, now=utcnow() - timedelta(hours=2))


@dataclass(frozen=True)
class Dash:
    platform: Platform
    acme: Tenancy
    globex: Tenancy
    agent: Agent
    globex_agent: Agent
    secret: str
    globex_secret: str
    token: str
    globex_token: str

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with open_test_platform(tmp_path, model_factory=handoff_agent) as opened:
        yield opened


@pytest.fixture
def dash(platform: Platform) -> Dash:
    acme = new_tenancy(platform, "Acme")
    globex = new_tenancy(platform, "Globex")
    agent = new_agent(platform, acme, "Support")
    globex_agent = new_agent(platform, globex, "Helpdesk")
    secret, _ = mint(platform, acme, agent)
    globex_secret, _ = mint(platform, globex, globex_agent)
    return Dash(
        platform,
        acme,
        globex,
        agent,
        globex_agent,
        secret,
        globex_secret,
        token_for(platform, acme.principal),
        token_for(platform, globex.principal),
    )


@pytest.fixture
def served(platform: Platform) -> Iterator[Served]:
    """`oratio serve`'s app (dashboard, API, runtime, MCP) over the test platform, on a real socket."""
    with serving_built(lambda port: create_app(platform, host="127.0.0.1", port=port)) as running:
        yield running


@pytest.fixture
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=10.0) as client:
        yield client


def say(http: httpx.Client, dash: Dash, message: str, session_id: str | None = None) -> dict[str, object]:
    """One customer turn through the runtime HTTP API, as a customer app would send it."""
    body: dict[str, object] = {"message": message}
    if session_id is not None:
        body["session_id"] = session_id
    response = http.post(f"/runtime/agents/{dash.agent.id}/invocations", json=body, headers={"X-Api-Key": dash.secret})
    assert response.status_code == 200, response.text
    reply: dict[str, object] = response.json()
    return reply
