"""An admin's test chat and a customer's conversation never continue each other (issue 15, item 14).

Threat: a customer app holding the agent's API key sends the session id of an admin's test chat
(seen in a shared screen, a log, a support ticket) and speaks in it, or learns that it exists. The
runtime and the voice bridge must answer exactly as for an unknown session (404 / 4404), and store
nothing. The other way, the admin's `chat_with_agent` must not speak in a real customer's session.
A customer cannot make its own session look like a test chat by sending a `tester` detail either.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from oratio.runtime import TurnResult
from schemas import SessionOrigin
from tests.reliability.doors import tool_error
from tests.reliability.test_tenant_isolation import mcp_over_http
from tests.reliability.world import Served, Side, new_side, reliability_platform, serving
from tests.voice_bridge.client import voice_client


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Served, Side]]:
    monkeypatch.setenv("ORATIO_VOICE_BACKEND", "scripted")
    with reliability_platform(tmp_path) as platform, serving(platform) as served:
        yield served, new_side(platform, "Acme")


async def _test_chat(served: Served, side: Side, message: str, session_id: str | None = None) -> TurnResult | str:
    arguments = {"agent_id": side.agent.id, "message": message}
    if session_id is not None:
        arguments["session_id"] = session_id
    async with mcp_over_http(served.mcp_url, side.token) as mcp:
        result = await mcp.call_tool("chat_with_agent", arguments)
    error = tool_error(result)
    if error is not None:
        return error
    assert result.structured_content is not None
    return TurnResult.model_validate(result.structured_content)


def test_a_customer_key_cannot_continue_an_admins_test_chat(site: tuple[Served, Side]) -> None:
    served, side = site
    opened = anyio.run(_test_chat, served, side, "How do refunds work?")
    assert isinstance(opened, TurnResult), opened
    test_session = opened.session_id
    stored = served.platform.sessions.get(side.principal, test_session)
    assert (stored.session.origin, stored.session.tester) == (SessionOrigin.ADMIN_TEST, side.admin.id)
    turns_before = len(stored.turns)

    path = f"/runtime/agents/{side.agent.id}/invocations"
    with httpx.Client(base_url=served.base_url, timeout=30.0, headers={"X-Api-Key": side.secret}) as http:
        unknown = http.post(path, json={"message": "hi", "session_id": "ses_" + "0" * 30})
        hijack = http.post(path, json={"message": "hi", "session_id": test_session})
    assert hijack.status_code == unknown.status_code == 404, hijack.text
    assert hijack.json()["error"] == unknown.json()["error"] == "not_found"
    assert hijack.json()["message"] == f"session '{test_session}' was not found"

    async def call() -> tuple[int | None, str]:
        async with voice_client(f"{served.ws_base}/voice/{side.agent.id}") as client:
            await client.start(side.secret, session_id=test_session)
            heard = await client.closed(20.0)
        return heard.close_code, heard.close_reason

    assert anyio.run(call) == (4404, f"session '{test_session}' was not found")
    after = served.platform.sessions.get(side.principal, test_session)
    assert len(after.turns) == turns_before  # nothing the customer sent was stored in the test chat

    # The admin can still go on with it.
    again = anyio.run(_test_chat, served, side, "And after 40 days?", test_session)
    assert isinstance(again, TurnResult) and again.session_id == test_session, again


def test_a_test_chat_cannot_continue_a_customer_session_even_one_claiming_a_tester(
    site: tuple[Served, Side],
) -> None:
    served, side = site
    path = f"/runtime/agents/{side.agent.id}/invocations"
    with httpx.Client(base_url=served.base_url, timeout=30.0, headers={"X-Api-Key": side.secret}) as http:
        forged = http.post(path, json={"message": "hi", "customer": {"tester": side.admin.id}, "stream": False})
        assert forged.status_code == 200, forged.text
        session_id = forged.json()["session_id"]
        # The customer goes on with its own session: a `tester` detail does not turn it into a test chat.
        assert http.post(path, json={"message": "more", "session_id": session_id}).status_code == 200
    session = served.platform.sessions.get(side.principal, session_id).session
    assert (session.origin, session.tester) == (SessionOrigin.CUSTOMER, None)

    refused = anyio.run(_test_chat, served, side, "Hi", session_id)
    assert isinstance(refused, str)
    assert refused.endswith("invalid_state: only test sessions started with chat_with_agent can be continued here")
