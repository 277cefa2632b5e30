"""Client-chosen AgentCore runtime session ids, stored: first bind wins, 8 hours, swept (SQLite and DynamoDB)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

from oratio.platform import Platform
from oratio.services.runtime_sessions import ALIAS_TTL, RuntimeSessionAliases
from oratio.store.ports import RecordStore
from oratio.store.tables import RUNTIME_SESSIONS
from tests.support.platforms import FakeClock

RUNTIME_ID = "b1946ac9-2f64-4f0e-9a1c-5e8f1c4b7d21"


def test_the_first_binding_wins_and_another_replica_reads_it(platform: Platform) -> None:
    aliases = platform.runtime_sessions
    assert aliases.get("ten_a", "agt_a", RUNTIME_ID) is None
    assert aliases.bind("ten_a", "agt_a", RUNTIME_ID, "ses_first") == "ses_first"
    assert aliases.bind("ten_a", "agt_a", RUNTIME_ID, "ses_second") == "ses_first"  # a racer gets the winner
    other_replica = RuntimeSessionAliases(platform.backends)
    assert other_replica.get("ten_a", "agt_a", RUNTIME_ID) == "ses_first"


def test_bindings_are_per_tenant_and_agent(platform: Platform) -> None:
    aliases = platform.runtime_sessions
    aliases.bind("ten_a", "agt_a", RUNTIME_ID, "ses_one")
    assert aliases.get("ten_b", "agt_a", RUNTIME_ID) is None  # another tenant choosing the same id
    assert aliases.get("ten_a", "agt_b", RUNTIME_ID) is None
    assert aliases.bind("ten_b", "agt_a", RUNTIME_ID, "ses_two") == "ses_two"


def test_racing_first_turns_agree_on_one_session(platform: Platform) -> None:
    aliases = platform.runtime_sessions
    start = threading.Barrier(4)
    won: list[str] = []

    def bind(session_id: str) -> None:
        start.wait(timeout=10)
        won.append(aliases.bind("ten_a", "agt_a", RUNTIME_ID, session_id))

    threads = [threading.Thread(target=bind, args=(f"ses_racer{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 4 and len(set(won)) == 1
    assert aliases.get("ten_a", "agt_a", RUNTIME_ID) == won[0]


def test_an_expired_binding_is_forgotten_rebound_and_swept(platform: Platform, clock: FakeClock) -> None:
    aliases = platform.runtime_sessions
    aliases.bind("ten_a", "agt_a", RUNTIME_ID, "ses_old")
    aliases.bind("ten_a", "agt_a", "another-client-chosen-id-0000000000", "ses_other")
    clock.advance(ALIAS_TTL + timedelta(seconds=1))
    assert aliases.get("ten_a", "agt_a", RUNTIME_ID) is None  # AgentCore ended it: the id is free
    assert aliases.bind("ten_a", "agt_a", RUNTIME_ID, "ses_new") == "ses_new"
    assert aliases.sweep() == 1  # only the expired one; the rebound one lives on
    assert platform.backends.store.get(RUNTIME_SESSIONS, "ten_a", f"agt_a#{RUNTIME_ID}") is not None
    platform.sweep_sessions()  # the session sweeper sweeps them too
    clock.advance(ALIAS_TTL + timedelta(seconds=1))
    platform.sweep_sessions()
    assert platform.backends.store.get(RUNTIME_SESSIONS, "ten_a", f"agt_a#{RUNTIME_ID}") is None


class RebindsBeforeDelete:
    """The platform's real store, with another replica's rebind run at the one moment a timed race could hit:
    after the sweep read the expired binding, just before its delete. Every call goes to the store underneath."""

    def __init__(self, inner: RecordStore, rebind: Callable[[], object]) -> None:
        self._inner = inner
        self._rebind: Callable[[], object] | None = rebind

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name not in ("delete", "delete_unchanged"):
            return found

        def deleting(*args: Any, **kwargs: Any) -> Any:
            rebind, self._rebind = self._rebind, None
            if rebind is not None:
                rebind()
            return found(*args, **kwargs)

        return deleting


def test_a_binding_rebound_between_the_sweeps_read_and_its_delete_is_kept(platform: Platform, clock: FakeClock) -> None:
    aliases = platform.runtime_sessions
    aliases.bind("ten_a", "agt_a", RUNTIME_ID, "ses_old")
    clock.advance(ALIAS_TTL + timedelta(seconds=1))
    other_replica = RuntimeSessionAliases(platform.backends)
    rebinding = RebindsBeforeDelete(
        platform.backends.store, lambda: other_replica.bind("ten_a", "agt_a", RUNTIME_ID, "ses_new")
    )
    sweeper = RuntimeSessionAliases(replace(platform.backends, store=cast(RecordStore, rebinding)))

    assert sweeper.sweep() == 0  # what it read as expired was rebound before its delete: nothing to delete
    assert aliases.get("ten_a", "agt_a", RUNTIME_ID) == "ses_new"  # the conversation goes on in its session
