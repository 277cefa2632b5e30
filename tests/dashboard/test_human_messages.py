"""The live card's compose box API: `POST /api/v1/sessions/{id}/messages` as the person who took the session over.

The same service as MCP's `send_human_message` (`HandoffService.say`); refusals are JSON 4xx, never
a 500; the message reaches the customer's text channel (the runtime's receive) and the transcript
marks who spoke.
"""

from __future__ import annotations

import httpx
import pytest

from schemas import Role
from tests.dashboard.dash import Dash, say


def _messages(session_id: str) -> str:
    return f"/api/v1/sessions/{session_id}/messages"


def test_a_person_speaks_and_the_customer_receives_it(http: httpx.Client, dash: Dash) -> None:
    session_id = str(say(http, dash, "Where is my order?")["session_id"])
    headers = dash.bearer()
    assert http.post(f"/api/v1/sessions/{session_id}/handoff/take-over", headers=headers).status_code == 200

    sent = http.post(_messages(session_id), json={"text": "Hi, Sam here. Let me look."}, headers=headers)
    received = http.post(
        f"/runtime/agents/{dash.agent.id}/invocations",
        json={"action": "receive", "session_id": session_id, "after": 3, "wait_seconds": 0},
        headers={"X-Api-Key": dash.secret},
    )

    assert sent.status_code == 201, sent.text
    turn = sent.json()
    assert (turn["role"], turn["text"], turn["author"], turn["seq"]) == (
        "human",
        "Hi, Sam here. Let me look.",
        dash.acme.principal.subject,
        4,
    )
    transcript = http.get(f"/api/v1/sessions/{session_id}", headers=headers).json()["turns"]
    assert transcript[-1] == turn
    assert [(t.role, t.author) for t in dash.platform.sessions.get(dash.acme.principal, session_id).turns][-1] == (
        Role.HUMAN,
        dash.acme.principal.subject,
    )
    assert received.status_code == 200, received.text
    assert [(i["role"], i["text"]) for i in received.json()["items"]] == [("human", "Hi, Sam here. Let me look.")]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"text": ""}, 422, "invalid_input"),
        ({"text": "   "}, 422, "invalid_input"),
        ({"text": "x" * 8001}, 422, "invalid_input"),
        ({"text": "hi", "author": "someone else"}, 422, "invalid_input"),
        ({"message": "hi"}, 422, "invalid_input"),
        ([1, 2], 422, "invalid_input"),
    ],
)
def test_bad_bodies_are_refused(http: httpx.Client, dash: Dash, body: object, status: int, error: str) -> None:
    session_id = str(say(http, dash, "hello")["session_id"])
    http.post(f"/api/v1/sessions/{session_id}/handoff/take-over", headers=dash.bearer())

    refused = http.post(_messages(session_id), json=body, headers=dash.bearer())

    assert (refused.status_code, refused.json()["error"]) == (status, error)


def test_refusals_of_state_access_and_size(http: httpx.Client, dash: Dash) -> None:
    session_id = str(say(http, dash, "hello")["session_id"])
    url = _messages(session_id)

    not_taken = http.post(url, json={"text": "hi"}, headers=dash.bearer())
    no_token = http.post(url, json={"text": "hi"})
    foreign = http.post(url, json={"text": "hi"}, headers=dash.bearer(dash.globex_token))
    not_json = http.post(url, content=b"{nope", headers={**dash.bearer(), "Content-Type": "application/json"})
    huge = http.post(url, content=b'{"text": "' + b"x" * 20_000 + b'"}', headers=dash.bearer())
    bad_id = http.post(_messages("not an id!"), json={"text": "hi"}, headers=dash.bearer())

    assert (not_taken.status_code, not_taken.json()["error"]) == (409, "invalid_state")
    assert "take the session over" in not_taken.json()["message"]
    assert no_token.status_code == 401
    assert (foreign.status_code, foreign.json()["error"]) == (404, "not_found")
    assert (not_json.status_code, not_json.json()["error"]) == (422, "invalid_input")
    assert huge.status_code == 413
    assert bad_id.status_code in (404, 422)
    assert [t.role for t in dash.platform.sessions.get(dash.acme.principal, session_id).turns] == [
        Role.CUSTOMER,
        Role.AGENT,
    ]
