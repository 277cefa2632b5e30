"""Leases: which serving processes are alive, on SQLite and on DynamoDB (moto_server), with a hand-moved clock."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from oratio.platform import Platform
from oratio.services.leases import LeaseService
from oratio.services.sessions import SessionService
from oratio.store.tables import LEASES
from schemas import Channel, Lease, Role, SessionStatus
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, active_agent

TTL_S = 30.0


def _other_process(platform: Platform) -> LeaseService:
    """Another serving process on the same store (same host, its own owner id)."""
    return LeaseService(platform.backends, TTL_S)


def test_a_held_lease_is_alive_until_it_expires_and_renewal_extends_it(platform: Platform, clock: FakeClock) -> None:
    other = _other_process(platform)
    other.acquire()
    assert platform.leases.is_alive(other.owner_id)

    clock.advance(timedelta(seconds=TTL_S - 1))
    other.renew()
    clock.advance(timedelta(seconds=TTL_S - 1))
    assert platform.leases.is_alive(other.owner_id)  # renewed a TTL ahead

    clock.advance(timedelta(seconds=2))
    assert not platform.leases.is_alive(other.owner_id)
    assert not platform.leases.is_alive(None)  # work no process claimed
    assert not platform.leases.is_alive("own_neverseen")


def test_a_released_lease_is_gone_at_once(platform: Platform) -> None:
    other = _other_process(platform)
    other.acquire()
    other.release()
    assert not platform.leases.is_alive(other.owner_id)
    assert platform.leases.others_alive() == []


def test_recovery_leaves_live_owners_sessions_alone_and_ends_dead_owners(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    agent = active_agent(platform, acme)
    platform.leases.acquire()
    live, dead = _other_process(platform), _other_process(platform)
    live.acquire()
    dead.acquire()
    ours = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    theirs = SessionService(platform.backends, owner=lambda: live.owner_id).start(
        acme.tenant_id, agent.id, Channel.VOICE
    )
    orphan = SessionService(platform.backends, owner=lambda: dead.owner_id).start(
        acme.tenant_id, agent.id, Channel.TEXT
    )
    assert (ours.owner, theirs.owner) == (platform.leases.owner_id, live.owner_id)

    clock.advance(timedelta(seconds=TTL_S + 1))
    platform.leases.renew()
    live.renew()  # `dead` stopped renewing: killed -9

    assert platform.sessions.interrupt_orphans(platform.leases.liveness()) == 1
    assert platform.leases.forget_expired() == [dead.owner_id]

    status = {s: platform.sessions.get(acme.principal, s).session.status for s in (ours.id, theirs.id, orphan.id)}
    assert status == {
        ours.id: SessionStatus.ACTIVE,
        theirs.id: SessionStatus.ACTIVE,
        orphan.id: SessionStatus.INTERRUPTED,
    }
    assert [lease.owner_id for lease in platform.leases.others_alive()] == [live.owner_id]


def test_a_process_presumed_dead_takes_a_new_lease_on_its_next_beat(platform: Platform, clock: FakeClock) -> None:
    slow = _other_process(platform)
    slow.acquire()
    clock.advance(timedelta(seconds=TTL_S + 1))
    platform.leases.acquire()
    assert platform.leases.forget_expired() == [slow.owner_id]

    slow.renew()

    assert platform.leases.is_alive(slow.owner_id)


def test_a_lease_of_a_dead_pid_on_this_host_is_not_alive_before_it_expires(platform: Platform) -> None:
    """A restart after kill -9 on the same machine recovers at once, not one TTL later."""
    probe = subprocess.Popen([sys.executable, "-c", "pass"])
    probe.wait()
    host = platform.leases.acquire().host
    now = platform.backends.clock()
    ghost = Lease(
        owner_id="own_ghost",
        pid=probe.pid,
        host=host,
        started_at=now,
        expires_at=now + timedelta(seconds=TTL_S),
    )
    platform.backends.store.insert(LEASES, ghost)
    elsewhere = ghost.model_copy(update={"owner_id": "own_elsewhere", "host": "another-host"})
    platform.backends.store.insert(LEASES, elsewhere)

    assert not platform.leases.is_alive("own_ghost")
    assert platform.leases.is_alive("own_elsewhere")  # another host: only its expiry counts


def test_the_heartbeat_recovery_leaves_sessions_no_leased_process_started(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    """A stateless runtime on a shared store holds no lease: only a start-up recovers its sessions."""
    agent = active_agent(platform, acme)
    unowned = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)  # no lease held yet
    assert unowned.owner is None

    assert platform.sessions.interrupt_orphans(platform.leases.is_alive, unowned=False) == 0
    assert platform.sessions.interrupt_orphans(platform.leases.is_alive) == 1


def test_liveness_reads_the_leases_once_yet_sees_a_process_that_started_after(platform: Platform) -> None:
    platform.leases.acquire()
    alive = platform.leases.liveness()
    newcomer = _other_process(platform)
    newcomer.acquire()

    assert alive(platform.leases.owner_id) and alive(newcomer.owner_id)
    assert not alive(None) and not alive("own_neverseen")


def test_recovery_leaves_a_dead_owners_session_that_a_live_replica_took_over_meanwhile(
    platform: Platform, acme: Tenancy
) -> None:
    """Recovery reads a session owned by a dead process; before it writes, a live replica's next turn of that
    session makes the live replica its owner (`append_next(take=...)`). The write must not end it."""
    agent = active_agent(platform, acme)
    dead, live = _other_process(platform), _other_process(platform)
    live.acquire()
    orphan = SessionService(platform.backends, owner=lambda: dead.owner_id).start(
        acme.tenant_id, agent.id, Channel.TEXT
    )
    replica = SessionService(platform.backends, owner=lambda: live.owner_id)
    lock = replica.new_turn_lock(60.0)

    def dead_but_taken_over(owner: str | None) -> bool:
        if owner == dead.owner_id:  # between recovery's read and its write, the live replica runs a turn
            current = replica.record(acme.tenant_id, orphan.id)
            replica.append_next(current, 1, Role.CUSTOMER, "still there?", take=lock)
            return False
        return live.is_alive(owner)

    assert platform.sessions.interrupt_orphans(dead_but_taken_over) == 0

    session = platform.sessions.record(acme.tenant_id, orphan.id)
    assert (session.status, session.owner) == (SessionStatus.ACTIVE, live.owner_id)
