"""Seeding the dashboard paint bench's store in bulk: records written through the store, 25 to a transaction.

Why not the services: one service call per turn (start, two turns, a handoff, the end; each its own commit, an
event and, later, the post-call analysis) took 461 s for 10k sessions on a busy 2-core machine, so the bench
was run once a day. Here each ended session is built as the services leave it once its analysis has run (the
session `completed` and analysed, its two turns, its `rules` analysis from `oratio.analysis.rules.analyse`,
every tenth handed off with a handoff notification) and the day's chart totals are folded in memory with
`oratio.analysis.daily.fold`, the function the analysis uses, then written once. Only the tenant, its agents,
keys, the signed-in person and the LIVE sessions still open go through the services (they are few, and the
live ones need their events): the Live tab shows what the services wrote.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from oratio.analysis.daily import fold
from oratio.analysis.rules import analyse
from oratio.ids import new_id
from oratio.platform import Platform
from oratio.store.ports import TRANSACT_MAX, Insert, Write
from oratio.store.tables import ANALYSES, NOTIFICATIONS, SESSIONS, STAT_DAYS, TURNS
from schemas import Channel, Notification, NotificationType, Role, Session, SessionStatus, Turn
from schemas.stats import ALL_AGENTS, StatDay
from tests.support.oauth import person
from tests.support.tenants import mint, new_agent, new_tenancy

LIVE = 20
"""Sessions left open (the Live tab's cards); two of them wait for a person."""
EMAIL = "bench@acme.example"
HANDOFF_REASON = "the customer asked for a person"


def seed(platform: Platform, sessions: int) -> float:
    """`sessions` sessions for one tenant (LIVE of them still open); seconds it took."""
    started = time.perf_counter()
    acme = new_tenancy(platform, "Acme")
    agent = new_agent(platform, acme, "Support")
    for name in ("Billing", "Returns"):
        new_agent(platform, acme, name)
    mint(platform, acme, agent)
    mint(platform, acme, agent, "kiosk")
    person(platform, acme, EMAIL)
    ended = max(0, sessions - LIVE)
    days: dict[tuple[str, Any], StatDay] = {}
    for batch in _batches(_ended(platform, acme.tenant_id, agent.id, ended, days)):
        platform.backends.store.transact(batch)
    for batch in _batches([Insert(STAT_DAYS, day) for day in days.values()]):
        platform.backends.store.transact(batch)
    for i in range(ended, sessions):  # the live ones: through the services, with their events
        session = platform.sessions.start(acme.tenant_id, agent.id, _channel(i))
        platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, f"Where is my order {i}?")
        platform.sessions.append_turn(acme.tenant_id, session.id, Role.AGENT, f"Order {i} ships tomorrow.")
        if i % 10 == 0:
            platform.handoff.request(acme.tenant_id, session.id, HANDOFF_REASON)
    return time.perf_counter() - started


def _channel(i: int) -> Channel:
    return Channel.VOICE if i % 5 == 0 else Channel.TEXT


def _ended(
    platform: Platform, tenant_id: str, agent_id: str, count: int, days: dict[tuple[str, Any], StatDay]
) -> Iterator[Write]:
    """The writes of `count` ended, analysed sessions, started over the last hour (oldest first); folds each
    into `days` (its day's totals for the tenant and the agent) as the post-call analysis does."""
    now = platform.now()
    for i in range(count):
        at = now - timedelta(seconds=3600 * (count - i) / max(count, 1))
        session_id = new_id("session")
        handed = i % 10 == 0
        turns = [
            Turn(tenant_id=tenant_id, session_id=session_id, seq=1, role=Role.CUSTOMER,
                 text=f"Where is my order {i}?", started_at=at, ended_at=at),
            Turn(tenant_id=tenant_id, session_id=session_id, seq=2, role=Role.AGENT,
                 text=f"Order {i} ships tomorrow.", started_at=at + timedelta(milliseconds=400),
                 ended_at=at + timedelta(milliseconds=900)),
        ]  # fmt: skip
        session = Session(
            tenant_id=tenant_id,
            id=session_id,
            agent_id=agent_id,
            channel=_channel(i),
            status=SessionStatus.COMPLETED,
            started_at=at,
            last_activity_at=at + timedelta(seconds=20),
            ended_at=at + timedelta(seconds=20),
            end_reason="ended by the agent",
            message_count=2,
            handoff_reason=HANDOFF_REASON if handed else None,
            analysed=True,
        )
        analysis = analyse(session, turns, None, now)
        yield Insert(SESSIONS, session)
        yield from (Insert(TURNS, turn) for turn in turns)
        yield Insert(ANALYSES, analysis)
        if handed:
            yield Insert(NOTIFICATIONS, _handoff_note(tenant_id, agent_id, session_id, at))
        for scope in (ALL_AGENTS, agent_id):
            key = (scope, at.date())
            day = days.get(key) or StatDay(tenant_id=tenant_id, scope=scope, day=at.date())
            days[key] = fold(day, session, turns, analysis)


def _handoff_note(tenant_id: str, agent_id: str, session_id: str, at: Any) -> Notification:
    return Notification(
        tenant_id=tenant_id,
        id=new_id("notification"),
        type=NotificationType.HANDOFF,
        title="Handoff requested",
        body=HANDOFF_REASON,
        agent_id=agent_id,
        session_id=session_id,
        created_at=at,
    )


def _batches(writes: Iterator[Write] | Sequence[Write]) -> Iterator[list[Write]]:
    """`writes` in transactions of at most TRANSACT_MAX (a session's writes may straddle two: harmless here)."""
    batch: list[Write] = []
    for write in writes:
        batch.append(write)
        if len(batch) == TRANSACT_MAX:
            yield batch
            batch = []
    if batch:
        yield batch
