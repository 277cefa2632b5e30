"""GET /api/v1/stats with 10k analysed sessions in the store, against the old per-request computation.

The new report reads the range's daily totals (`stat_days`, folded in by the post-call analysis); the old
one (`dashboard/stats.py` `collect`, what /api/v1/stats served before) reads the last 24 hours' newest
500 sessions, each with its transcript and analysis, and the notifications, on every request. Both are
served the same way in the same run: an HTTP GET through the dashboard's API routes (Starlette
TestClient, in process, embedded SQLite), with the same admin token.

The store is filled directly (sessions, turns, analyses in batches of transactions) and the daily totals
are folded from the same records with the analysis's own `fold`, so loading 10k sessions takes seconds
rather than the sweep's minutes; the read path measured is the production one.

    .venv/bin/python -m bench.chart_figures [--sessions 10000] [--days 7] [--requests 40]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from bench.stats import percentile
from dashboard import stats as old_stats
from dashboard.api import api_routes
from dashboard.credentials import request_principal
from oratio.analysis import analyse
from oratio.analysis.daily import fold
from oratio.config import Settings
from oratio.ids import new_id
from oratio.platform import Platform, open_platform
from oratio.store.ports import Insert, Write
from oratio.store.tables import ANALYSES, SESSIONS, STAT_DAYS, TURNS
from schemas import Channel, Role, Session, SessionStatus, Turn, utcnow
from schemas.stats import ALL_AGENTS, StatDay
from schemas.tools import ToolCallRecord, ToolCallStatus
from tests.support.tenants import new_agent, new_tenancy, token_for

BATCH = 20
API = "/api/v1/stats"
STATUSES = [ToolCallStatus.OK, ToolCallStatus.OK, ToolCallStatus.ERROR, ToolCallStatus.TIMEOUT]


def fill(platform: Platform, tenant_id: str, agent_ids: list[str], sessions: int, days: int) -> None:
    """`sessions` ended, analysed sessions spread over the last `days` days, with their daily totals."""
    rng = random.Random(7)
    now = utcnow()
    totals: dict[tuple[str, str], StatDay] = {}
    writes: list[Write] = []

    def flush() -> None:
        if writes:
            platform.backends.store.transact(writes)
            writes.clear()

    # Oldest first: ids are time-ordered, and the old computation's scan relies on ids following start times.
    starts = sorted(now - timedelta(seconds=rng.uniform(60, days * 86400 - 60)) for _ in range(sessions))
    for started in starts:
        agent_id = rng.choice(agent_ids)
        handed = rng.random() < 0.15
        channel = Channel.VOICE if rng.random() < 0.3 else Channel.TEXT
        session = Session(
            tenant_id=tenant_id,
            id=new_id("session"),
            agent_id=agent_id,
            channel=channel,
            status=SessionStatus.COMPLETED,
            started_at=started,
            last_activity_at=started + timedelta(seconds=50),
            ended_at=started + timedelta(seconds=60),
            end_reason="ended by the agent",
            message_count=4,
            handoff_reason=rng.choice(["asked for a person", "legal threat", "refund over $100"]) if handed else None,
            analysed=True,
        )
        turns: list[Turn] = []
        at = started
        for seq in range(1, 5):
            role = Role.CUSTOMER if seq % 2 else Role.AGENT
            wait = rng.uniform(300, 2500)
            at += timedelta(milliseconds=wait if role is Role.AGENT else 5000)
            calls = (
                [
                    ToolCallRecord(
                        id="c1", name="lookup_order", status=rng.choice(list(ToolCallStatus)[:3]), started_at=at
                    )
                ]
                if role is Role.AGENT and rng.random() < 0.2
                else []
            )
            latency = wait if channel is Channel.VOICE and role is Role.AGENT else None
            turns.append(
                Turn(
                    tenant_id=tenant_id,
                    session_id=session.id,
                    seq=seq,
                    role=role,
                    text="Where is my order?" if role is Role.CUSTOMER else "It ships today.",
                    tool_calls=calls,
                    started_at=at,
                    latency_ms=latency,
                )
            )
        analysis = analyse(session, turns, None, now, [])
        for scope in (ALL_AGENTS, agent_id):
            key = (scope, started.date().isoformat())
            day = totals.get(key) or StatDay(tenant_id=tenant_id, scope=scope, day=started.date())
            totals[key] = fold(day, session, turns, analysis)
        writes.extend([Insert(SESSIONS, session), Insert(ANALYSES, analysis), *(Insert(TURNS, t) for t in turns)])
        if len(writes) >= BATCH:
            flush()
    flush()
    for day in totals.values():
        platform.backends.store.insert(STAT_DAYS, day)


def timed(client: TestClient, path: str, headers: dict[str, str], requests: int) -> list[float]:
    took: list[float] = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        took.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return took


def row(label: str, took: list[float]) -> str:
    return f"{label:<44} p50 {percentile(took, 50):8.1f} ms   p95 {percentile(took, 95):8.1f} ms   n={len(took)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        open_platform(
            Settings(data_dir=Path(tmp), jwt_secret=SecretStr("b" * 40), admin_rate_per_minute=1e6, admin_burst=10_000)
        ) as platform,
    ):
        acme = new_tenancy(platform, "Bench")
        agents = [new_agent(platform, acme, name).id for name in ("Support", "Sales", "Billing")]
        began = time.perf_counter()
        fill(platform, acme.tenant_id, agents, args.sessions, args.days)
        print(f"filled {args.sessions} sessions over {args.days} days in {time.perf_counter() - began:.1f} s")

        async def baseline(request: Request) -> Response:
            principal = await request_principal(platform, request, None)
            figures = old_stats.collect(platform, principal, utcnow())
            return JSONResponse(figures.model_dump(mode="json"))

        app = Starlette(routes=[*api_routes(platform), Route("/baseline", baseline)])
        headers = {"Authorization": f"Bearer {token_for(platform, acme.principal)}"}
        today = utcnow().date()
        cases: list[tuple[str, str, int]] = [
            ("old stats.collect (24 h, newest 500 + transcripts)", "/baseline", max(5, args.requests // 4)),
            ("new /api/v1/stats?range=today", "/api/v1/stats?range=today", args.requests),
            ("new /api/v1/stats?range=7d", "/api/v1/stats?range=7d", args.requests),
            ("new /api/v1/stats?range=30d", "/api/v1/stats?range=30d", args.requests),
            (
                "new /api/v1/stats?range=30d&agent_id=...",
                f"{API}?range=30d&agent_id={agents[0]}",
                args.requests,
            ),
            (
                "new /api/v1/stats since..until (92 days)",
                f"{API}?since={today - timedelta(days=91)}&until={today}",
                args.requests,
            ),
        ]
        with TestClient(app) as client:
            results: dict[str, list[float]] = {}
            for label, path, n in cases:
                timed(client, path, headers, 2)  # warm: imports, first query plans
                results[label] = timed(client, path, headers, n)
                print(row(label, results[label]))
            week = client.get("/api/v1/stats?range=7d", headers=headers).json()
            old = client.get("/baseline", headers=headers).json()
        base = percentile(results[cases[0][0]], 50)
        print(f"speed-up at p50, 7d vs old 24 h: {base / percentile(results[cases[2][0]], 50):.0f}x")
        print(
            f"7d report: {week['conversations']} conversations, {week['reads']} store reads; "
            f"old 24 h figures: {old['sessions']} sessions (truncated={old['truncated']})"
        )


if __name__ == "__main__":
    main()
