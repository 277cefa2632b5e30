"""The progress view's state from the agent, its newest creation record and whether a build owns it: an open
record under a live owner is `building` whatever the status (deploy makes the agent active a moment before the
record closes; a page that stopped polling at `live` then would never see the deploy stage pass)."""

from __future__ import annotations

import pytest

from dashboard.agent_admin import _state
from schemas import Agent, AgentSpec, AgentStatus, CreationRecord
from tests.dashboard.agent_admin_support import SOP

AGENT = Agent(tenant_id="ten_a", id="agt_a", spec=AgentSpec(name="Desk", sop=SOP))
OPEN = CreationRecord(tenant_id="ten_a", agent_id="agt_a", version=1)
CLOSED = OPEN.model_copy(update={"succeeded": True})


@pytest.mark.parametrize(
    ("status", "record", "building", "state"),
    [
        (AgentStatus.ACTIVE, OPEN, True, "building"),
        (AgentStatus.ACTIVE, CLOSED, False, "live"),
        (AgentStatus.ACTIVE, OPEN, False, "live"),  # the building process died; its agent serves
        (AgentStatus.CREATING, None, True, "building"),
        (AgentStatus.CREATING, None, False, "waiting"),
        (AgentStatus.FAILED, CLOSED.model_copy(update={"succeeded": False}), False, "failed"),
        (AgentStatus.PAUSED, CLOSED, False, "paused"),
    ],
)
def test_state(status: AgentStatus, record: CreationRecord | None, building: bool, state: str) -> None:
    assert _state(AGENT.model_copy(update={"status": status}), record, building) == state
