"""Chart figures from daily totals: folded in by the post-call analysis, read per range in a few reads.

Runs on SQLite and on DynamoDB (moto_server): the `stat_days` table and its range query are the store's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from oratio.analysis.daily import bucket, bucket_value, percentile
from oratio.errors import InvalidInput, NotFound
from oratio.platform import Platform
from oratio.store.tables import STAT_DAYS, TURNS
from schemas import Channel, Role, Session
from schemas.stats import ALL_AGENTS, MAP_KEYS_MAX, OTHER, StatsQuery, StatsRange
from schemas.tools import ToolCallRecord, ToolCallStatus
from tests.support.platforms import START, FakeClock
from tests.support.tenants import Tenancy, new_agent

TODAY = START.date()


def text_chat(platform: Platform, tenancy: Tenancy, agent_id: str, clock: FakeClock, *waits_ms: int) -> Session:
    """A text session: per wait, a customer turn then the agent's reply `wait` ms later."""
    session = platform.sessions.start(tenancy.tenant_id, agent_id, Channel.TEXT)
    for wait in waits_ms:
        platform.sessions.append_turn(tenancy.tenant_id, session.id, Role.CUSTOMER, "hello")
        clock.advance(timedelta(milliseconds=wait))
        platform.sessions.append_turn(tenancy.tenant_id, session.id, Role.AGENT, "hi")
    return session


def voice_turn(
    platform: Platform, tenancy: Tenancy, session: Session, latency_ms: float, calls: tuple[ToolCallRecord, ...] = ()
) -> None:
    """An agent turn of a voice call with its recorded end-of-speech-to-audio latency."""
    platform.sessions.append_turn(tenancy.tenant_id, session.id, Role.CUSTOMER, "hello")
    turn = platform.sessions.append_turn(tenancy.tenant_id, session.id, Role.AGENT, "hi", tool_calls=calls)
    platform.backends.store.replace(TURNS, turn.model_copy(update={"latency_ms": latency_ms}))


def call(status: ToolCallStatus, name: str = "lookup_order") -> ToolCallRecord:
    return ToolCallRecord(id=f"c_{status.value}", name=name, status=status)


def test_a_range_reads_the_analysed_sessions_per_day_and_agent(
    platform: Platform, acme: Tenancy, globex: Tenancy, clock: FakeClock
) -> None:
    support = new_agent(platform, acme, "Support")
    sales = new_agent(platform, acme, "Sales")
    resolved = text_chat(platform, acme, support.id, clock, 1000, 3000)
    platform.sessions.end(acme.tenant_id, resolved.id, "ended by the agent")
    handed = text_chat(platform, acme, support.id, clock, 2000)
    platform.handoff.request(acme.tenant_id, handed.id, "asked for a person")
    platform.sessions.end(acme.tenant_id, handed.id, "closed by a human")
    voice = platform.sessions.start(acme.tenant_id, sales.id, Channel.VOICE)
    voice_turn(platform, acme, voice, 700, (call(ToolCallStatus.OK), call(ToolCallStatus.TIMEOUT)))
    voice_turn(platform, acme, voice, 900, (call(ToolCallStatus.AWAITING_CONFIRMATION, "cancel"),))
    platform.sessions.end(acme.tenant_id, voice.id, "the caller hung up")
    live = text_chat(platform, acme, support.id, clock, 500)  # not ended: not in the figures yet
    theirs = new_agent(platform, globex, "Theirs")
    platform.sessions.end(globex.tenant_id, text_chat(platform, globex, theirs.id, clock, 10).id, "done")
    assert platform.analyses.run_pending() == 4

    week = platform.stats.report(acme.principal, StatsQuery(range=StatsRange.WEEK))

    assert (week.since, week.until) == (TODAY - timedelta(days=6), TODAY) and len(week.days) == 7
    assert week.conversations == 3 and week.days[-1].conversations == 3
    assert week.outcomes == {"resolved": 2, "handed_off": 1}
    assert (week.resolution_rate, week.handoff_rate) == (round(2 / 3, 4), round(1 / 3, 4))
    assert [(c.name, c.count) for c in week.top_handoff_reasons] == [("asked for a person", 1)]
    text, spoken = week.latency
    assert (text.channel, text.turns, spoken.channel, spoken.turns) == ("text", 3, "voice", 2)
    assert text.p50_ms == bucket_value(bucket(2000)) and text.p95_ms == bucket_value(bucket(3000))
    assert spoken.p50_ms == bucket_value(bucket(700)) and spoken.p95_ms == bucket_value(bucket(900))
    assert (week.tool_calls, week.tool_failures) == (2, 1)  # the held write is a step of the gate, not a call
    assert [(c.name, c.count) for c in week.top_failing_tools] == [("lookup_order", 1)]
    assert week.has_agents and week.has_sessions
    assert week.reads <= 3  # one query for the range, two one-item reads for the empty state

    one = platform.stats.report(acme.principal, StatsQuery(range=StatsRange.TODAY, agent_id=sales.id))
    assert (one.conversations, one.latency[0].turns, one.latency[1].turns) == (1, 0, 2)
    other = platform.stats.report(globex.principal, StatsQuery(range=StatsRange.TODAY))
    assert (other.conversations, other.tool_calls) == (1, 0)
    with pytest.raises(NotFound):
        platform.stats.report(globex.principal, StatsQuery(agent_id=support.id))  # another tenant's agent
    assert live.id  # still live, and counted nowhere


def test_sessions_count_on_the_day_they_started(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = new_agent(platform, acme, "Support")
    first = text_chat(platform, acme, agent.id, clock, 100)
    clock.advance(timedelta(days=1))
    platform.sessions.end(acme.tenant_id, first.id, "done")
    second = text_chat(platform, acme, agent.id, clock, 100)
    platform.sessions.end(acme.tenant_id, second.id, "done")
    assert platform.analyses.run_pending() == 2

    both = platform.stats.report(acme.principal, StatsQuery(since=TODAY, until=TODAY + timedelta(days=1)))

    assert [d.conversations for d in both.days] == [1, 1]
    assert platform.stats.report(acme.principal, StatsQuery(since=TODAY, until=TODAY)).conversations == 1


def test_empty_states_say_whether_there_is_an_agent_and_a_session(platform: Platform, acme: Tenancy) -> None:
    nothing = platform.stats.report(acme.principal, StatsQuery())
    assert (nothing.has_agents, nothing.has_sessions, nothing.conversations) == (False, False, 0)
    assert nothing.resolution_rate is None and all(lat.p50_ms is None for lat in nothing.latency)
    agent = new_agent(platform, acme, "Support")
    assert platform.stats.report(acme.principal, StatsQuery()).has_agents
    platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    live_only = platform.stats.report(acme.principal, StatsQuery(agent_id=agent.id))
    assert (live_only.has_sessions, live_only.conversations) == (True, 0)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (StatsQuery(range=StatsRange.WEEK, since=TODAY), "range"),
        (StatsQuery(until=TODAY), "since"),
        (StatsQuery(since=TODAY, until=TODAY - timedelta(days=1)), "until"),
        (StatsQuery(since=TODAY - timedelta(days=92), until=TODAY), "since"),
    ],
)
def test_bad_ranges_are_refused(platform: Platform, acme: Tenancy, query: StatsQuery, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        platform.stats.report(acme.principal, query)
    assert refused.value.field == field


def test_a_days_maps_stay_bounded(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = new_agent(platform, acme, "Support")
    for i in range(MAP_KEYS_MAX + 3):
        session = text_chat(platform, acme, agent.id, clock, 10)
        platform.handoff.request(acme.tenant_id, session.id, f"reason number {i}")
        platform.sessions.end(acme.tenant_id, session.id, "closed by a human")
    assert platform.analyses.run_pending() == MAP_KEYS_MAX + 3

    day = platform.backends.store.get(STAT_DAYS, f"{acme.tenant_id}#{ALL_AGENTS}", TODAY.isoformat())
    assert day is not None and len(day.handoff_reasons) == MAP_KEYS_MAX
    assert day.handoff_reasons[OTHER] == 4 and day.handoffs == MAP_KEYS_MAX + 3
    report = platform.stats.report(acme.principal, StatsQuery(range=StatsRange.TODAY))
    assert len(report.top_handoff_reasons) == 6 and report.top_handoff_reasons[-1].name == OTHER


def test_percentiles_of_a_histogram_are_within_four_percent() -> None:
    values = [float(v) for v in range(1, 2001)]
    hist: dict[str, int] = {}
    for v in values:
        hist[str(bucket(v))] = hist.get(str(bucket(v)), 0) + 1
    for q, exact in ((0.5, 1000.0), (0.95, 1900.0)):
        found = percentile(hist, q)
        assert found is not None and abs(found - exact) / exact < 0.045
    assert percentile({}, 0.5) is None
