"""PlanService.restore: an older version comes back whole, as stored, as an edit of the serving one; refused
(nothing runs) for the serving version, a stale base, an agent that is not active, a read-only token and
another tenant's agent. The AgentCreator then reviews, tests and deploys it (tests/dashboard)."""

from __future__ import annotations

import pytest

from oratio.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound
from oratio.platform import Platform
from schemas import Agent, AgentPlan, Scope
from tests.oratio.test_service_plans import PLAN, deploy
from tests.support.tenants import Tenancy, create_agent, narrow

NOTE = "Orders API: send {{secret:ORDERS_TOKEN}} as the bearer token"
"""A secret reference, which every view shows as [redacted]: a restore must bring back the stored text."""


def versions(platform: Platform, acme: Tenancy) -> Agent:
    """v1 with a note, v2 without it, v3 the same plan as v2."""
    agent = create_agent(platform, acme)
    agent = deploy(platform, acme, agent, PLAN.model_copy(update={"internal_notes": [NOTE], "greeting": "Hi"}))
    agent = deploy(platform, acme, agent, PLAN)
    return deploy(platform, acme, agent, PLAN)


def test_an_older_version_comes_back_as_stored_not_as_shown(platform: Platform, acme: Tenancy) -> None:
    agent = versions(platform, acme)
    assert "[redacted]" in platform.plans.view(acme.principal, agent.id, 1).internal_notes[0]

    edit = platform.plans.restore(acme.principal, agent.id, 1, base_version=3)

    assert (edit.base_version, edit.agent.id) == (3, agent.id)
    assert edit.plan == AgentPlan.model_validate(PLAN.model_copy(update={"internal_notes": [NOTE], "greeting": "Hi"}))
    assert edit.changed == ["greeting", "internal_notes"]
    assert platform.plans.restore(acme.principal, agent.id, 1, None).base_version == 3  # no base: the serving one


def test_a_restore_that_cannot_apply_is_refused_before_anything_runs(
    platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    agent = versions(platform, acme)
    restore = platform.plans.restore
    with pytest.raises(InvalidInput, match="serving now"):
        restore(acme.principal, agent.id, 3, None)
    with pytest.raises(InvalidInput, match="same plan"):
        restore(acme.principal, agent.id, 2, None)
    with pytest.raises(Conflict, match="version 3 serves now"):
        restore(acme.principal, agent.id, 1, base_version=2)
    with pytest.raises(NotFound):
        restore(acme.principal, agent.id, 9, None)
    with pytest.raises(NotFound):
        restore(globex.principal, agent.id, 1, None)
    with pytest.raises(Forbidden):
        restore(narrow(acme, Scope.AGENTS_READ), agent.id, 1, None)
    platform.agents.pause(acme.principal, agent.id)
    with pytest.raises(InvalidState, match="paused"):
        restore(acme.principal, agent.id, 1, None)
