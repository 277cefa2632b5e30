"""The stats backfill: sessions analysed before the chart totals existed are folded in, once each.

Runs on SQLite and on DynamoDB (moto_server). "Old" sessions are made as an upgraded deployment has them:
analysed, then their day totals removed and the `folded` marker cleared (the analysis stored neither).
"Marker-less" ones were folded by the code that did not write the marker: totals kept, marker cleared.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from oratio.platform import Platform
from oratio.services import stats_backfill
from oratio.services.stats_backfill import StatsBackfill
from oratio.store.tables import SESSIONS, STAT_DAYS
from oratio_app.cli import main
from schemas import Session
from schemas.stats import ALL_AGENTS, StatsQuery, StatsRange
from tests.oratio.test_service_stats import text_chat
from tests.support.platforms import JWT_SECRET, FakeClock
from tests.support.tenants import Tenancy, new_agent

TODAY = "2030-01-01"


@pytest.fixture(params=["sqlite", "aws"])
def platform_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def ended(platform: Platform, tenancy: Tenancy, agent_id: str, clock: FakeClock) -> Session:
    session = text_chat(platform, tenancy, agent_id, clock, 100)
    platform.sessions.end(tenancy.tenant_id, session.id, "done")
    return session


def unmark(platform: Platform, tenancy: Tenancy, *sessions: Session) -> None:
    """Clear the `folded` marker, as on a record stored before it existed."""
    for session in sessions:
        stored = platform.backends.store.get(SESSIONS, tenancy.tenant_id, session.id)
        assert stored is not None and stored.analysed and stored.folded is True
        platform.backends.store.replace(SESSIONS, stored.model_copy(update={"folded": None}))


def drop_totals(platform: Platform, tenancy: Tenancy, agent_id: str) -> None:
    """Remove today's totals: the sessions analysed so far were never folded (the table did not exist)."""
    for scope in (ALL_AGENTS, agent_id):
        platform.backends.store.delete(STAT_DAYS, f"{tenancy.tenant_id}#{scope}", TODAY)


def conversations(platform: Platform, tenancy: Tenancy, agent_id: str | None = None) -> int:
    return platform.stats.report(tenancy.principal, StatsQuery(range=StatsRange.TODAY, agent_id=agent_id)).conversations


def upgraded(platform: Platform, acme: Tenancy, globex: Tenancy, clock: FakeClock) -> str:
    """acme: 3 old sessions, 2 marker-less folded ones, 1 marked; globex: 2 old. Returns acme's agent id."""
    agent = new_agent(platform, acme, "Support")
    theirs = new_agent(platform, globex, "Theirs")
    old = [ended(platform, acme, agent.id, clock) for _ in range(3)]
    their_old = [ended(platform, globex, theirs.id, clock) for _ in range(2)]
    assert platform.analyses.run_pending() == 5
    drop_totals(platform, acme, agent.id)
    drop_totals(platform, globex, theirs.id)
    unmark(platform, acme, *old)
    unmark(platform, globex, *their_old)
    clock.advance(timedelta(minutes=5))  # the fold began: analysed later than every old session
    markerless = [ended(platform, acme, agent.id, clock) for _ in range(2)]
    assert platform.analyses.run_pending() == 2
    unmark(platform, acme, *markerless)
    ended(platform, acme, agent.id, clock)
    assert platform.analyses.run_pending() == 1  # this code path writes the marker
    assert (conversations(platform, acme), conversations(platform, globex)) == (3, 0)
    return agent.id


def test_the_backfill_folds_old_sessions_once_per_tenant(
    platform: Platform, acme: Tenancy, globex: Tenancy, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_id = upgraded(platform, acme, globex, clock)
    monkeypatch.setattr(stats_backfill, "CHUNK", 2)  # commits of old only, old and marker-less, marker-less only

    progress = StatsBackfill(platform.backends, batch=2).run_all()  # small steps: several runs, one result

    assert (progress.folded, progress.marked) == (5, 7)  # 3 + 2 old folded; the 2 marker-less only marked
    assert conversations(platform, acme) == 6 and conversations(platform, acme, agent_id) == 6
    assert conversations(platform, globex) == 2
    sessions = platform.backends.store.query(SESSIONS, acme.tenant_id, limit=100).items
    assert all(s.folded is True for s in sessions)

    again = StatsBackfill(platform.backends).run_all()

    assert (again.folded, again.marked) == (0, 0)
    assert (conversations(platform, acme), conversations(platform, globex)) == (6, 2)


class _RacingBackfill(StatsBackfill):
    """Lets the analysis of another session of the same day commit after the backfill read the day's totals
    and before it reads the day's sessions: the worst moment (the count and the marks then disagree)."""

    def __init__(self, platform: Platform, race: Session) -> None:
        super().__init__(platform.backends)
        self._platform = platform
        self._race: Session | None = race

    def _day_sessions(self, tenant_id: str, agent_id: str, day: date) -> list[Session]:
        if self._race is not None:
            race, self._race = self._race, None
            assert self._platform.analyses.analyse_session(race.tenant_id, race.id)
        return super()._day_sessions(tenant_id, agent_id, day)


def test_a_session_analysed_during_the_backfill_counts_once(
    platform: Platform, acme: Tenancy, globex: Tenancy, clock: FakeClock
) -> None:
    agent_id = upgraded(platform, acme, globex, clock)
    late = ended(platform, acme, agent_id, clock)  # ended, not analysed yet: analysed mid-backfill

    backfill = _RacingBackfill(platform, late)
    progress = backfill.run_all()

    assert backfill._race is None  # the race ran
    assert progress.folded == 5
    assert conversations(platform, acme) == 7 and conversations(platform, acme, agent_id) == 7
    assert conversations(platform, globex) == 2
    assert StatsBackfill(platform.backends).run_all().folded == 0
    assert platform.analyses.run_pending() == 0
    assert conversations(platform, acme) == 7


def test_the_backfill_is_a_duty_of_serve(platform: Platform, acme: Tenancy, globex: Tenancy, clock: FakeClock) -> None:
    upgraded(platform, acme, globex, clock)
    sweeper = next(s for s in platform.duty_sweepers() if s.duty.name == "stats_backfill")

    sweeper.run_once()  # one bounded batch per tick; a few sessions here, so one tick does them all

    assert (conversations(platform, acme), conversations(platform, globex)) == (6, 2)
    sweeper.run_once()  # done: nothing more
    assert (conversations(platform, acme), conversations(platform, globex)) == (6, 2)


@pytest.mark.parametrize("platform_backend", ["sqlite"])
def test_oratio_admin_backfill_stats(
    platform: Platform,
    acme: Tenancy,
    globex: Tenancy,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upgraded(platform, acme, globex, clock)
    for name in list(os.environ):
        if name.startswith("ORATIO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ORATIO_JWT_SECRET", JWT_SECRET)

    assert main(["admin", "backfill-stats", "--data-dir", str(tmp_path)]) == 0

    assert "5 sessions folded" in capsys.readouterr().out
    assert (conversations(platform, acme), conversations(platform, globex)) == (6, 2)
    assert main(["admin", "backfill-stats", "--data-dir", str(tmp_path)]) == 0
    assert "0 sessions folded" in capsys.readouterr().out
