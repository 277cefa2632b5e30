"""SessionService: starting, durable ordered turns, status changes, admin queries, crash recovery."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import cast

import pytest

from oratio.errors import InvalidInput, InvalidState, NotFound
from oratio.ids import new_id
from oratio.platform import Platform
from oratio.services.sessions import SessionService
from oratio.store.ports import RecordStore
from schemas import (
    AgentStatus,
    Channel,
    Role,
    Session,
    SessionFilter,
    SessionStatus,
    Source,
)
from tests.support.counting import Counting
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, active_agent, create_agent, events, new_tenancy

THREADS = 4
TURNS_PER_THREAD = 8
JOIN_TIMEOUT_S = 60.0


def test_start_needs_an_active_agent(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    with pytest.raises(InvalidState, match="creating"):
        platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    platform.agents.transition(acme.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    platform.agents.pause(acme.principal, agent.id)
    with pytest.raises(InvalidState, match="paused"):
        platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    with pytest.raises(NotFound):
        platform.sessions.start(acme.tenant_id, new_id("agent"), Channel.TEXT)
    assert platform.sessions.list_live(acme.principal).items == []


def test_start_stores_an_active_session(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = active_agent(platform, acme)

    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.VOICE, {"phone": "+3312345678"})

    assert (session.agent_id, session.channel, session.status) == (
        agent.id,
        Channel.VOICE,
        SessionStatus.ACTIVE,
    )
    assert (session.started_at, session.last_activity_at, session.ended_at) == (clock(), clock(), None)
    assert (session.message_count, session.customer) == (0, {"phone": "+3312345678"})
    assert platform.sessions.get(acme.principal, session.id).session == session
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == (
        "session.started",
        session.id,
        {"agent_id": agent.id, "channel": "voice"},
    )


def test_turns_get_seqs_in_order_and_are_persisted(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    source = Source(document_id=new_id("document"), document_name="refunds.md", location="p. 2", snippet="30 days")
    script = [
        (Role.CUSTOMER, "Can I get a refund?"),
        (Role.AGENT, "Yes, within 30 days."),
        (Role.CUSTOMER, "Thanks!"),
    ]

    appended = []
    for role, text in script:
        clock.advance(timedelta(seconds=5))
        sources = [source] if role is Role.AGENT else []
        appended.append(platform.sessions.append_turn(acme.tenant_id, session.id, role, text, sources))

    assert [t.seq for t in appended] == [1, 2, 3]
    transcript = platform.sessions.get(acme.principal, session.id)
    assert transcript.turns == appended
    assert [(t.role, t.text) for t in transcript.turns] == script
    assert transcript.turns[1].sources == [source]
    assert (transcript.session.message_count, transcript.session.last_activity_at) == (3, clock())
    turn_events = [e for e in events(platform, acme.tenant_id) if e.type.value == "session.turn"]
    assert [(e.subject, e.data["seq"], e.data["role"], e.data["text"]) for e in turn_events] == [
        (session.id, 1, "customer", "Can I get a refund?"),
        (session.id, 2, "agent", "Yes, within 30 days."),
        (session.id, 3, "customer", "Thanks!"),
    ]
    assert turn_events[1].data["sources"] == [source.model_dump(mode="json")]


def test_concurrent_turns_get_unique_contiguous_seqs(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    start = threading.Barrier(THREADS, timeout=JOIN_TIMEOUT_S)
    seqs: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(TURNS_PER_THREAD):
                turn = platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, f"w{n} t{i}")
                with lock:
                    seqs.append(turn.seq)
        except BaseException as exc:  # reported by the main thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a writer did not finish in time"
    assert errors == []

    total = THREADS * TURNS_PER_THREAD
    assert sorted(seqs) == list(range(1, total + 1))
    transcript = platform.sessions.get(acme.principal, session.id)
    assert [t.seq for t in transcript.turns] == list(range(1, total + 1))
    assert sorted(t.text for t in transcript.turns) == sorted(
        f"w{n} t{i}" for n in range(THREADS) for i in range(TURNS_PER_THREAD)
    )
    for n in range(THREADS):  # each writer's turns are in the order it wrote them
        mine = [t.text for t in transcript.turns if t.text.startswith(f"w{n} ")]
        assert mine == [f"w{n} t{i}" for i in range(TURNS_PER_THREAD)]
    assert transcript.session.message_count == total


def test_append_next_from_stale_copies_keeps_unique_contiguous_seqs(platform: Platform, acme: Tenancy) -> None:
    """Writers that append without re-reading (as the runtime does) and race each other: every turn is
    stored once, in each writer's order, with the counters and one event per turn."""
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    start = threading.Barrier(THREADS, timeout=JOIN_TIMEOUT_S)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        held, seq = session, 1  # each starts from the same, soon stale, copy
        try:
            start.wait()
            for i in range(TURNS_PER_THREAD):
                held, turn = platform.sessions.append_next(held, seq, Role.CUSTOMER, f"w{n} t{i}")
                seq = turn.seq + 1
        except BaseException as exc:  # reported by the main thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a writer did not finish in time"
    assert errors == []

    total = THREADS * TURNS_PER_THREAD
    transcript = platform.sessions.get(acme.principal, session.id)
    assert [t.seq for t in transcript.turns] == list(range(1, total + 1))
    for n in range(THREADS):
        mine = [t.text for t in transcript.turns if t.text.startswith(f"w{n} ")]
        assert mine == [f"w{n} t{i}" for i in range(TURNS_PER_THREAD)]
    assert transcript.session.message_count == total
    turn_events = [e for e in events(platform, acme.tenant_id) if e.type.value == "session.turn"]
    assert sorted(e.data["seq"] for e in turn_events) == list(range(1, total + 1))
    # The runtime's read of the same session: the newest turns only, oldest first.
    assert [t.seq for t in platform.sessions.recent_turns(acme.tenant_id, session.id, 5)] == list(
        range(total - 4, total + 1)
    )


def test_handoff_then_end(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    started = clock()

    handoff = platform.sessions.set_status(
        acme.tenant_id, session.id, SessionStatus.HANDOFF_REQUESTED, "customer asked for a human"
    )
    assert (handoff.status, handoff.ended_at, handoff.end_reason) == (
        SessionStatus.HANDOFF_REQUESTED,
        None,
        None,
    )
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.SYSTEM, "A person will join shortly.")

    ended_at = clock.advance(timedelta(minutes=2))
    ended = platform.sessions.end(acme.tenant_id, session.id, "resolved by a human")

    assert (ended.status, ended.ended_at, ended.end_reason) == (
        SessionStatus.COMPLETED,
        ended_at,
        "resolved by a human",
    )
    assert ended.duration_seconds == (ended_at - started).total_seconds() == 120.0
    assert platform.sessions.get(acme.principal, session.id).session == ended
    statuses = [
        (e.data["status"], e.data["reason"])
        for e in events(platform, acme.tenant_id)
        if e.type.value == "session.status"
    ]
    assert statuses == [
        ("handoff_requested", "customer asked for a human"),
        ("completed", "resolved by a human"),
    ]


def test_an_ended_session_takes_no_more_turns_or_changes(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "bye")
    ended = platform.sessions.end(acme.tenant_id, session.id)

    with pytest.raises(InvalidState, match="ended"):
        platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "wait")
    with pytest.raises(InvalidState):
        platform.sessions.set_status(acme.tenant_id, session.id, SessionStatus.ACTIVE)
    with pytest.raises(InvalidState):
        platform.sessions.end(acme.tenant_id, session.id)

    transcript = platform.sessions.get(acme.principal, session.id)
    assert transcript.session == ended
    assert [t.text for t in transcript.turns] == ["bye"]


def _page_all(platform: Platform, tenancy: Tenancy, query: SessionFilter) -> list[str]:
    """Every id a filter yields, following cursors; bounded so a cursor that never ends fails."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        page = platform.sessions.list(tenancy.principal, query.model_copy(update={"cursor": cursor}))
        assert len(page.items) <= query.limit
        seen.extend(s.id for s in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return seen
    pytest.fail("the cursor never reached the end")


class TestListing:
    """Five sessions an hour apart: two agents, both channels, one ended, one in handoff."""

    @pytest.fixture
    def sessions(self, platform: Platform, acme: Tenancy, clock: FakeClock) -> list[Session]:
        support = active_agent(platform, acme, "Support")
        sales = active_agent(platform, acme, "Sales")
        plan = [
            (support, Channel.TEXT),
            (support, Channel.VOICE),
            (sales, Channel.TEXT),
            (support, Channel.TEXT),
            (sales, Channel.VOICE),
        ]
        started = []
        for agent, channel in plan:
            clock.advance(timedelta(hours=1))
            started.append(platform.sessions.start(acme.tenant_id, agent.id, channel))
        platform.sessions.end(acme.tenant_id, started[1].id)
        platform.sessions.set_status(acme.tenant_id, started[2].id, SessionStatus.HANDOFF_REQUESTED)
        return started

    def _ids(self, platform: Platform, acme: Tenancy, **filters: object) -> list[str]:
        return [s.id for s in platform.sessions.list(acme.principal, SessionFilter.model_validate(filters)).items]

    def test_newest_first(self, platform: Platform, acme: Tenancy, sessions: list[Session]) -> None:
        assert self._ids(platform, acme) == [s.id for s in reversed(sessions)]

    def test_filters(self, platform: Platform, acme: Tenancy, sessions: list[Session]) -> None:
        s0, s1, s2, s3, s4 = (s.id for s in sessions)
        support = sessions[0].agent_id
        assert self._ids(platform, acme, agent_id=support) == [s3, s1, s0]
        assert self._ids(platform, acme, status=SessionStatus.COMPLETED) == [s1]
        assert self._ids(platform, acme, status=SessionStatus.ACTIVE) == [s4, s3, s0]
        assert self._ids(platform, acme, channel=Channel.VOICE) == [s4, s1]
        assert self._ids(platform, acme, agent_id=support, channel=Channel.TEXT) == [s3, s0]
        assert self._ids(platform, acme, agent_id=support, status=SessionStatus.ACTIVE) == [s3, s0]
        assert self._ids(platform, acme, agent_id=new_id("agent")) == []

    def test_time_range_is_inclusive(self, platform: Platform, acme: Tenancy, sessions: list[Session]) -> None:
        s0, s1, s2, s3, s4 = (s.id for s in sessions)
        second, fourth = sessions[1].started_at, sessions[3].started_at
        support = sessions[0].agent_id
        assert self._ids(platform, acme, started_after=second, started_before=fourth) == [s3, s2, s1]
        assert self._ids(platform, acme, started_after=fourth) == [s4, s3]
        assert self._ids(platform, acme, started_before=second) == [s1, s0]
        assert self._ids(platform, acme, agent_id=support, started_after=second) == [s3, s1]
        assert self._ids(platform, acme, status=SessionStatus.ACTIVE, started_before=fourth) == [s3, s0]
        with pytest.raises(InvalidInput, match="started_after"):
            self._ids(platform, acme, started_after=fourth, started_before=second)

    @pytest.mark.parametrize("limit", [1, 2, 3])
    def test_cursor_pages_cover_everything_once(
        self, platform: Platform, acme: Tenancy, sessions: list[Session], limit: int
    ) -> None:
        newest_first = [s.id for s in reversed(sessions)]
        support = sessions[0].agent_id
        assert _page_all(platform, acme, SessionFilter(limit=limit)) == newest_first
        assert _page_all(platform, acme, SessionFilter(limit=limit, agent_id=support)) == [
            sessions[3].id,
            sessions[1].id,
            sessions[0].id,
        ]
        assert _page_all(platform, acme, SessionFilter(limit=limit, channel=Channel.TEXT)) == [
            sessions[3].id,
            sessions[2].id,
            sessions[0].id,
        ]

    def test_list_live_shows_active_sessions_only(
        self, platform: Platform, acme: Tenancy, sessions: list[Session]
    ) -> None:
        live = platform.sessions.list_live(acme.principal).items
        assert [s.id for s in live] == [sessions[4].id, sessions[3].id, sessions[0].id]
        assert {s.status for s in live} == {SessionStatus.ACTIVE}
        first = platform.sessions.list_live(acme.principal, limit=2)
        assert [s.id for s in first.items] == [sessions[4].id, sessions[3].id]
        assert first.next_cursor is not None
        rest = platform.sessions.list_live(acme.principal, limit=2, cursor=first.next_cursor)
        assert [s.id for s in rest.items] == [sessions[0].id]


def test_interrupt_orphans_marks_active_sessions_of_every_tenant(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    globex = new_tenancy(platform, "Globex")
    mine = active_agent(platform, acme)
    theirs = active_agent(platform, globex)
    orphans = [
        platform.sessions.start(acme.tenant_id, mine.id, Channel.TEXT),
        platform.sessions.start(acme.tenant_id, mine.id, Channel.VOICE),
        platform.sessions.start(globex.tenant_id, theirs.id, Channel.TEXT),
    ]
    finished = platform.sessions.start(acme.tenant_id, mine.id, Channel.TEXT)
    platform.sessions.end(acme.tenant_id, finished.id, "done")
    restarted_at = clock.advance(timedelta(minutes=1))

    assert platform.sessions.interrupt_orphans() == 3

    for tenancy, session in ((acme, orphans[0]), (acme, orphans[1]), (globex, orphans[2])):
        after = platform.sessions.get(tenancy.principal, session.id).session
        assert (after.status, after.end_reason, after.ended_at) == (
            SessionStatus.INTERRUPTED,
            "platform restarted",
            restarted_at,
        )
    assert platform.sessions.get(acme.principal, finished.id).session.end_reason == "done"
    assert platform.sessions.list_live(acme.principal).items == []
    assert platform.sessions.list_live(globex.principal).items == []
    assert platform.sessions.interrupt_orphans() == 0


LIVE_CARDS = 5


def test_the_live_list_with_turns_costs_two_listings_and_one_query_per_session(
    platform: Platform, acme: Tenancy
) -> None:
    """The Live tab's one request: a bounded number of queries (the store's calls counted), not a re-read of
    every session beside its turns."""
    agent = active_agent(platform, acme)
    listed: list[str] = []
    for _ in range(LIVE_CARDS):
        session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
        for seq, role in [(1, Role.CUSTOMER), (2, Role.AGENT), (3, Role.CUSTOMER)]:
            session, _ = platform.sessions.append_next(session, seq, role, f"message {seq}")
        listed.append(session.id)
    handed = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    platform.sessions.set_status(acme.tenant_id, handed.id, SessionStatus.HANDOFF_REQUESTED, "asked for a person")
    tally: Counter[str] = Counter()
    store = cast(RecordStore, Counting("store", platform.backends.store, tally))
    counted = SessionService(replace(platform.backends, store=store))

    live = counted.live(acme.principal, limit=50, turns=2)

    assert [read.session.id for read in live][0] == handed.id  # waiting for a person first
    assert sorted(read.session.id for read in live[1:]) == sorted(listed)
    assert all([(t.seq, t.text) for t in read.turns] == [(2, "message 2"), (3, "message 3")] for read in live[1:])
    assert (tally["store.query"], tally["store.get"]) == (2 + LIVE_CARDS + 1, 0)
    plain = counted.live(acme.principal, limit=50)
    assert [read.turns for read in plain] == [[]] * (LIVE_CARDS + 1)
