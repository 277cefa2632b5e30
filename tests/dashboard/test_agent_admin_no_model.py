"""With no model on the server nobody can build: the page is told so (`can_build`), an agent created there is
stored with the reason it waits, and starting its build says the same instead of failing silently."""

from __future__ import annotations

import httpx
import pytest

from oratio.runtime import ModelFactory
from tests.dashboard.agent_admin_support import SOP
from tests.dashboard.dash import Dash


@pytest.fixture
def platform_models() -> ModelFactory | None:
    return None  # no ORATIO_MODEL, no AgentCreator attached


def test_an_agent_created_without_a_model_waits_with_the_reason(http: httpx.Client, dash: Dash) -> None:
    options = http.get("/api/v1/agent-options", headers=dash.bearer()).json()
    assert options["can_build"] is False and options["platform_model"] is False
    created = http.post(
        "/api/v1/agents", json={"name": "Desk", "sop": SOP, "channels": ["text"]}, headers=dash.bearer()
    )
    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["status"] == "creating" and "set ORATIO_MODEL" in agent["status_reason"]
    assert "ORATIO_MODEL=scripted to try offline" in agent["status_reason"]  # what a new user can do at once
    progress = http.get(f"/api/v1/agents/{agent['id']}/creation", headers=dash.bearer()).json()
    assert progress["state"] == "waiting" and "waiting for a model" in progress["agent"]["status_reason"]
    again = http.post(f"/api/v1/agents/{agent['id']}/creation", headers=dash.bearer())
    assert again.status_code == 202 and again.json()["state"] == "waiting"
