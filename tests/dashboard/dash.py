"""What the dashboard tests share: two tenants as their admins see them, and a customer turn."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from oratio.platform import Platform
from schemas import Agent
from tests.support.models import HANDOFF_REASON
from tests.support.tenants import Tenancy, mint, new_agent, new_tenancy, token_for

__all__ = ["HANDOFF_REASON", "Dash", "new_dash", "say", "token_for"]


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


def new_dash(platform: Platform) -> Dash:
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


def say(http: httpx.Client, dash: Dash, message: str, session_id: str | None = None) -> dict[str, object]:
    """One customer turn through the runtime HTTP API, as a customer app would send it."""
    body: dict[str, object] = {"message": message}
    if session_id is not None:
        body["session_id"] = session_id
    response = http.post(f"/runtime/agents/{dash.agent.id}/invocations", json=body, headers={"X-Api-Key": dash.secret})
    assert response.status_code == 200, response.text
    reply: dict[str, object] = response.json()
    return reply
