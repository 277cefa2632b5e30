"""The opaque cursor a client holds: round trips, old plain-number cursors, and foreign tokens refused."""

from __future__ import annotations

import pytest

from oratio.errors import InvalidInput
from oratio.store.ports import EventCursor
from schemas import Event, EventType


def at(shard: int, seq: int) -> Event:
    return Event(tenant_id="ten_aaaa", type=EventType.SESSION_TURN, subject="ses_x", seq=seq, shard=shard)


def test_a_token_round_trips_and_says_nothing_plain() -> None:
    cursor = EventCursor((3, 0, 17, 2))
    token = cursor.token()
    assert not token.isdigit() and "17" not in token
    assert EventCursor.parse(token, 4) == cursor


def test_a_one_shard_cursor_is_the_old_number() -> None:
    assert EventCursor((42,)).token() == "42"
    assert EventCursor.parse("42", 1) == EventCursor((42,))


@pytest.mark.parametrize("old", [7, "7"])
def test_an_old_number_is_a_position_in_shard_zero(old: int | str) -> None:
    assert EventCursor.parse(old, 3) == EventCursor((7, 0, 0))


@pytest.mark.parametrize("token", ["", "-1", "v1.", "v1.!!!", "v1.MS4y", "abc", "v1." + "A" * 5000, "1e3", "٣"])
def test_a_token_this_log_did_not_issue_asks_to_subscribe_again(token: str) -> None:
    with pytest.raises(InvalidInput, match="subscribe again") as raised:
        EventCursor.parse(token, 4)
    assert raised.value.http_status == 422


def test_a_token_of_another_shard_count_is_refused() -> None:
    with pytest.raises(InvalidInput):
        EventCursor.parse(EventCursor((1, 2)).token(), 4)


def test_advancing_keeps_each_shards_furthest_position() -> None:
    cursor = EventCursor.start(3).advanced([at(2, 1), at(0, 1), at(2, 2)])
    assert cursor == EventCursor((1, 0, 2))
    assert cursor.has_seen(at(2, 2)) and not cursor.has_seen(at(1, 1))
    assert cursor.covers(EventCursor((1, 0, 1))) and not cursor.covers(EventCursor((0, 1, 0)))
    assert cursor.furthest(EventCursor((0, 5, 0))) == EventCursor((1, 5, 2))
