"""Periodic duties run once across replicas: two platforms on one store (SQLite file; DynamoDB on moto_server).

The second platform is another replica (`tests.support.peers`): its own store client, its own lease
owner id. The clock is the test's, so "the holder stopped renewing a TTL ago" is a hand-moved clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from oratio.platform import Platform
from oratio.services.duties import Duty, DutySweeper
from schemas import Channel, SessionStatus
from tests.support.peers import peer_platform
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, active_agent

TTL_S = 30.0
WAIT_S = 20.0


@pytest.fixture
def peer(platform: Platform, tmp_path: Path) -> Iterator[Platform]:
    with peer_platform(platform, tmp_path) as opened:
        yield opened


class Runs:
    """Counts a job's runs and lets the test wait for the next one (with a bound), never sleeping."""

    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait_for(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.count >= count, timeout=WAIT_S), f"{count} runs never came"


def test_only_one_replica_runs_a_duty_while_its_holder_renews_it(platform: Platform, peer: Platform) -> None:
    ours, theirs = platform.leases.duty("sweep", TTL_S), peer.leases.duty("sweep", TTL_S)
    ran: list[str] = []
    for _ in range(3):  # each round, both replicas' sweepers tick
        ours.guard(lambda: ran.append("ours"))()
        theirs.guard(lambda: ran.append("theirs"))()
    assert ran == ["ours"] * 3
    assert ours.holder_now() == platform.leases.owner_id == theirs.holder_now()


def test_another_replica_takes_over_within_the_ttl_after_the_holder_stops_renewing(
    platform: Platform, peer: Platform, clock: FakeClock
) -> None:
    ours, theirs = platform.leases.duty("sweep", TTL_S), peer.leases.duty("sweep", TTL_S)
    assert ours.claim()
    clock.advance(timedelta(seconds=TTL_S - 1))  # the holder hangs (or was killed -9): no renewal
    assert not theirs.claim()
    clock.advance(timedelta(seconds=1))  # one TTL after the holder's last run
    assert theirs.claim()
    assert not ours.claim()  # the old holder, back, now skips: it never runs beside the new one
    assert theirs.holder_now() == peer.leases.owner_id


def test_a_released_duty_is_taken_at_the_next_tick_not_a_ttl_later(platform: Platform, peer: Platform) -> None:
    ours, theirs = platform.leases.duty("sweep", TTL_S), peer.leases.duty("sweep", TTL_S)
    assert ours.claim()
    theirs.release()  # not the holder: releases nothing
    assert not theirs.claim()
    ours.release()
    assert theirs.claim()


def test_the_race_for_a_free_duty_has_one_winner(platform: Platform, peer: Platform) -> None:
    # Three holders on the first replica's store client, one on the peer's: all want the free duty at once.
    duties = [Duty(platform.backends, "sweep", f"own_{i}", TTL_S) for i in range(3)] + [
        peer.leases.duty("sweep", TTL_S)
    ]
    barrier = threading.Barrier(len(duties))
    won: list[bool] = [False] * len(duties)

    def race(i: int) -> None:
        barrier.wait()
        won[i] = duties[i].claim()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(duties))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert sum(won) == 1


def test_the_serve_sweeps_run_in_one_replica_and_move_when_it_stops(platform: Platform, peer: Platform) -> None:
    """The duty sweepers `oratio serve` starts, on threads: one replica runs them, the other waits its turn."""
    ours_runs, theirs_runs = Runs(), Runs()
    ours = DutySweeper(platform.leases.duty("session_sweep", TTL_S), ours_runs, 0.01)
    ours.start()
    ours_runs.wait_for(1)
    theirs = DutySweeper(peer.leases.duty("session_sweep", TTL_S), theirs_runs, 0.01)
    theirs.start()
    try:
        ours_runs.wait_for(ours_runs.count + 5)  # the peer ticked several times meanwhile
        assert theirs_runs.count == 0
        ours.stop()  # a clean stop releases the duty
        theirs_runs.wait_for(1)
    finally:
        ours.stop()
        theirs.stop()


def test_the_platform_sweep_ends_an_idle_session_from_one_replica_only(
    platform: Platform, peer: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    clock.advance(timedelta(seconds=platform.settings.session_idle_seconds + 1))
    ours, theirs = (
        {s.duty.name: s for s in replica.duty_sweepers()}["session_sweep"].duty for replica in (platform, peer)
    )
    ended: list[int] = []

    def sweep(replica: Platform) -> Callable[[], None]:
        return lambda: ended.append(replica.session_timeouts.expire_idle())

    ours.guard(sweep(platform))()
    theirs.guard(sweep(peer))()
    assert ended == [1]  # the peer skipped the sweep: not even a read of the sessions
    assert platform.sessions.get(acme.principal, session.id).session.status is SessionStatus.COMPLETED


def test_serve_wires_a_duty_for_each_periodic_job(platform: Platform) -> None:
    names = [sweeper.duty.name for sweeper in platform.duty_sweepers()]
    assert names == ["session_sweep", "handoff_escalation", "stats_backfill"]
    assert all(
        s.duty.ttl > timedelta(seconds=platform.settings.session_sweep_seconds) for s in platform.duty_sweepers()
    )


def test_a_duty_whose_holder_process_is_dead_is_taken_over_at_once(
    platform: Platform, peer: Platform, clock: FakeClock
) -> None:
    """A killed holder's lease says it is dead (expired here) long before its duty's TTL runs out: recovery and
    the sweeps move within the lease time of a crash, not a duty TTL later."""
    platform.leases.acquire()
    peer.leases.acquire()
    ours, theirs = platform.leases.duty("recovery", 10 * TTL_S), peer.leases.duty("recovery", 10 * TTL_S)
    assert ours.claim()
    assert not theirs.claim()  # the holder's lease is live: it keeps its duty
    clock.advance(platform.leases.ttl + timedelta(seconds=1))  # the holder was killed: no lease renewal
    peer.leases.renew()
    assert theirs.claim()
    assert theirs.holder_now() == peer.leases.owner_id
