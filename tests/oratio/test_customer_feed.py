"""What a customer's channel may see of its session (`CustomerFeed`): decided once, read by cursor."""

from __future__ import annotations

import pytest

from oratio.errors import InvalidInput, NotFound
from oratio.platform import Platform
from oratio.services.customer_feed import FEED_PAGE
from schemas import Channel, Role
from tests.support.tenants import Tenancy, active_agent


def test_only_agent_human_and_hand_over_notices_are_visible(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "hello")
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.AGENT, "Hi!")
    platform.handoff.take_over(acme.principal, session.id)
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "a person?")
    platform.handoff.say(acme.principal, session.id, "Yes, Sam here.")
    platform.handoff.return_to_agent(acme.principal, session.id)
    platform.handoff.take_over(acme.principal, session.id)
    platform.handoff.close_session(acme.principal, session.id)

    page = platform.feed.page(acme.tenant_id, agent.id, session.id, 0)

    assert [(i.seq, i.role, i.text) for i in page.items] == [
        (2, "agent", "Hi!"),
        (3, "notice", "A person from the team has joined the conversation."),
        (5, "human", "Yes, Sam here."),
        (6, "notice", "You are back with the assistant."),
        (7, "notice", "A person from the team has joined the conversation."),
        (8, "notice", "This conversation has been closed."),
    ]
    assert acme.principal.subject not in page.model_dump_json()
    assert (page.cursor, page.ended, page.with_person) == (8, True, False)


def test_the_cursor_moves_past_turns_the_customer_does_not_see(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    for n in range(FEED_PAGE + 5):
        platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, f"message {n}")

    first = platform.feed.page(acme.tenant_id, agent.id, session.id, 0)
    second = platform.feed.page(acme.tenant_id, agent.id, session.id, first.cursor)
    at_end = platform.feed.page(acme.tenant_id, agent.id, session.id, second.cursor)

    assert (first.items, first.cursor) == ([], FEED_PAGE)
    assert (second.items, second.cursor) == ([], FEED_PAGE + 5)
    assert (at_end.items, at_end.cursor) == ([], FEED_PAGE + 5)
    with pytest.raises(InvalidInput, match="past this session's last turn"):  # never given out: refused, not followed
        platform.feed.page(acme.tenant_id, agent.id, session.id, 10_000)


def test_another_agents_or_tenants_session_is_not_found(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    agent = active_agent(platform, acme)
    other = active_agent(platform, acme, "Sales")
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)

    with pytest.raises(NotFound):
        platform.feed.page(acme.tenant_id, other.id, session.id, 0)
    with pytest.raises(NotFound):
        platform.feed.page(globex.tenant_id, agent.id, session.id, 0)
