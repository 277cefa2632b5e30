"""The AgentCreator served under the AgentCore contract: auth by admin JWT, tenant from the token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from creator_agent.app import create_creator_app
from creator_agent.models import creator_models
from creator_agent.pipeline import AgentCreator
from oratio.platform import Platform
from oratio_app.cli import EXAMPLES, load_example
from schemas import AgentStatus, Principal, Scope


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


def _setup(platform: Platform, name: str) -> tuple[str, str]:
    tenant = platform.tenants.create_tenant(name)
    admin = platform.tenants.create_admin(tenant.tenant_id, f"ops@{name.lower()}.example", "Ops")
    owner = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))
    agent = platform.agents.create(owner, load_example(EXAMPLES / "acme_support"))
    return platform.access.token_for(admin), agent.id


def test_a_build_request_deploys_the_agent_and_returns_its_record(platform: Platform) -> None:
    token, agent_id = _setup(platform, "Acme")
    app = create_creator_app(platform, AgentCreator(platform, creator_models(platform.settings)))
    with TestClient(app) as client:
        response = client.post(
            "/invocations", json={"agent_id": agent_id}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200
    record = response.json()
    assert record["succeeded"] is True and record["version"] == 1
    owner = platform.access.admin_principal(token)
    assert platform.agents.get(owner, agent_id).status is AgentStatus.ACTIVE


def test_streaming_sends_progress_then_the_record(platform: Platform) -> None:
    token, agent_id = _setup(platform, "Acme")
    app = create_creator_app(platform, AgentCreator(platform, creator_models(platform.settings)))
    with TestClient(app) as client:
        response = client.post(
            "/invocations", json={"agent_id": agent_id, "stream": True}, headers={"Authorization": f"Bearer {token}"}
        )
    events = [json.loads(line[len("data: ") :]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events][-1] == "record"
    assert any(e["type"] == "progress" and e["message"].startswith("deploy: passed") for e in events)


def test_refusals_are_clear_4xx(platform: Platform) -> None:
    token, agent_id = _setup(platform, "Acme")
    other_token, _ = _setup(platform, "Globex")
    app = create_creator_app(platform, AgentCreator(platform, creator_models(platform.settings)))
    with TestClient(app) as client:
        assert client.post("/invocations", json={"agent_id": agent_id}).status_code == 401
        bad = client.post("/invocations", json={"nope": 1}, headers={"Authorization": f"Bearer {token}"})
        assert bad.status_code == 422
        foreign = client.post(
            "/invocations", json={"agent_id": agent_id}, headers={"Authorization": f"Bearer {other_token}"}
        )
        assert foreign.status_code == 404
    owner = platform.access.admin_principal(token)
    assert platform.agents.get(owner, agent_id).status is AgentStatus.CREATING  # nothing was built
