"""The wire contract on its own: key headers, session-id mapping and the in-memory session bindings."""

from __future__ import annotations

import pytest

from agentcore_apps.app import wants_stream
from agentcore_apps.contract import (
    AGENTCORE_API_KEY_HEADER,
    RUNTIME_SESSION_MIN,
    SESSION_HEADER,
    SessionBindings,
    api_key_from,
    check_runtime_session_id,
    parse_invocation,
    resolve_session,
    runtime_session_id,
    session_from_runtime_id,
)
from oratio.errors import InvalidInput, Unauthenticated
from oratio.ids import new_id

KEY = "ora_sk_" + "k" * 43


def test_an_oratio_session_id_maps_to_an_agentcore_one_and_back() -> None:
    session_id = new_id("session")
    runtime_id = runtime_session_id(session_id)
    assert len(runtime_id) >= RUNTIME_SESSION_MIN
    assert check_runtime_session_id(runtime_id) == runtime_id
    assert session_from_runtime_id(runtime_id) == session_id


@pytest.mark.parametrize(
    "value",
    ["a3f1c2d4-0000-4000-8000-123456789abc", "oratio-agt_01jd5k0000000000000000000000", "oratio-ses_BAD" + "x" * 30],
)
def test_other_runtime_ids_name_no_session_by_themselves(value: str) -> None:
    assert session_from_runtime_id(value) is None


def test_agentcore_length_rules_are_enforced() -> None:
    for bad in ("x" * 32, "x" * 257, "tab\tinside" + "x" * 30):
        with pytest.raises(InvalidInput) as caught:
            check_runtime_session_id(bad)
        assert caught.value.field == SESSION_HEADER
    assert check_runtime_session_id("x" * 33) == "x" * 33


@pytest.mark.parametrize(
    "headers",
    [
        {"x-api-key": KEY},
        {"x-api-key": f"  {KEY} "},
        {AGENTCORE_API_KEY_HEADER.lower(): KEY},
        {"authorization": f"Bearer {KEY}"},
        {"authorization": f"bearer {KEY}"},
    ],
)
def test_the_key_is_read_from_any_supported_header(headers: dict[str, str]) -> None:
    assert api_key_from(headers) == KEY


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer eyJ.a.b"}, {"authorization": KEY}, {"x-api-key": " "}]
)
def test_no_usable_key_is_unauthenticated(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated):
        api_key_from(headers)


def test_the_path_agent_is_used_when_the_body_names_none() -> None:
    agent_id = new_id("agent")
    invocation, chosen = parse_invocation({"message": "hello"}, agent_id)
    assert chosen == agent_id
    assert invocation.stream is None and invocation.session_id is None


def test_session_bindings_remember_forget_and_stay_bounded() -> None:
    now = [0.0]
    bindings = SessionBindings(max_entries=2, ttl_seconds=100, clock=lambda: now[0])
    bindings.bind("ten_a", "agt_a", "r1" * 20, "ses_1")
    bindings.bind("ten_a", "agt_a", "r2" * 20, "ses_2")
    assert bindings.get("ten_a", "agt_a", "r1" * 20) == "ses_1"  # r1 is now the most recent
    assert bindings.get("ten_b", "agt_a", "r1" * 20) is None  # per tenant
    bindings.bind("ten_a", "agt_a", "r3" * 20, "ses_3")  # evicts r2, the least recently used
    assert len(bindings) == 2
    assert bindings.get("ten_a", "agt_a", "r2" * 20) is None
    now[0] = 150.0
    assert bindings.get("ten_a", "agt_a", "r1" * 20) is None  # expired
    assert bindings.get("ten_a", "agt_a", "r3" * 20) is None


def test_resolve_session_prefers_agreement_and_refuses_contradiction() -> None:
    bindings = SessionBindings()
    client_id = "c" * 36
    first, second = new_id("session"), new_id("session")
    assert resolve_session(bindings, "ten_a", "agt_a", None, None) is None
    assert resolve_session(bindings, "ten_a", "agt_a", client_id, None) is None
    assert resolve_session(bindings, "ten_a", "agt_a", runtime_session_id(first), None) == first
    assert resolve_session(bindings, "ten_a", "agt_a", None, first) == first
    bindings.bind("ten_a", "agt_a", client_id, first)
    assert resolve_session(bindings, "ten_a", "agt_a", client_id, None) == first
    assert resolve_session(bindings, "ten_a", "agt_a", client_id, first) == first
    with pytest.raises(InvalidInput):
        resolve_session(bindings, "ten_a", "agt_a", client_id, second)


@pytest.mark.parametrize(
    ("accept", "stream"),
    [
        (None, False),
        ("*/*", False),
        ("text/event-stream", True),
        ("Text/Event-Stream; charset=utf-8", True),
        ("application/json, text/event-stream", False),
        ("application/json", False),
    ],
)
def test_the_accept_header_chooses_sse_only_without_json(accept: str | None, stream: bool) -> None:
    assert wants_stream(accept) is stream
