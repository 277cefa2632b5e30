"""`Session.failed_turns`: the count repeated_failures handoff rules read, kept with the agent's turn."""

from __future__ import annotations

from oratio.platform import Platform
from schemas import Channel, Role
from tests.support.tenants import Tenancy, active_agent


def test_an_agent_turn_stores_the_count_and_a_turn_without_one_leaves_it(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)

    session, _ = platform.sessions.append_next(session, 1, Role.CUSTOMER, "Warranty?")
    session, _ = platform.sessions.append_next(session, 2, Role.AGENT, "I don't know.", failed_turns=1)
    session, _ = platform.sessions.append_next(session, 3, Role.CUSTOMER, "Really?")

    assert session.failed_turns == 1
    assert platform.sessions.get(acme.principal, session.id).session.failed_turns == 1


def test_the_count_survives_an_append_from_a_stale_copy(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    stale = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    platform.sessions.append_next(stale, 1, Role.CUSTOMER, "Warranty?")  # moves the session on

    # Seq 1 is taken and the copy is stale: the fallback path appends afresh and still stores the count.
    updated, turn = platform.sessions.append_next(stale, 1, Role.AGENT, "I don't know.", failed_turns=2)

    assert turn.seq == 2
    assert updated.failed_turns == 2
    assert platform.sessions.get(acme.principal, stale.id).session.failed_turns == 2
