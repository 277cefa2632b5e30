"""Conversations end to end: HTTP in, the real engine and Strands agent loop (zero-latency ScriptedModel), HTTP out.

Covers the JSON reply, SSE streaming (deltas join up to the final reply), session continuity through
AgentCore's session header in both its forms and through the body, key accounting, a key revoked
mid-conversation, and the refusals that need the engine: agents not taking conversations, ended
sessions, and sessions of another agent or tenant.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import httpx

from agentcore_apps.app import create_runtime_app
from agentcore_apps.contract import SESSION_HEADER
from oratio.models import Fail, Hang, Prompt, Say, ScriptedModel, Step
from oratio.platform import Platform
from oratio.runtime import APOLOGY
from schemas import Principal, SessionStatus
from tests.agentcore_apps.test_refusals import assert_error
from tests.support.platforms import open_test_platform
from tests.support.serving import Served, serving
from tests.support.tenants import mint, new_agent, new_tenancy
from tests.support.worlds import World

REPLY_KEYS = {"session_id", "runtime_session_id", "reply", "sources", "handoff", "ended", "status", "paused"}
CLIENT_RUNTIME_ID = "3f2b8c1e-9d4a-4e7b-8a61-0c5d2e9f7b13"  # what boto3 generates when none is given


def say(
    http: httpx.Client, world: World, message: str, *, key: str | None = None, path: str = "/invocations", **extra: Any
) -> httpx.Response:
    headers: dict[str, str] = extra.pop("headers", {})
    body = {"agent_id": world.agent.id, "message": message, **extra}
    return http.post(path, json=body, headers={"X-Api-Key": key or world.secret, **headers})


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        if block.strip():
            assert block.startswith("data: "), block
            events.append(json.loads(block.removeprefix("data: ")))
    return events


def test_a_turn_answers_json_and_stores_both_sides(http: httpx.Client, platform: Platform, world: World) -> None:
    response = say(http, world, "hello there", customer={"name": "Dana"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == REPLY_KEYS
    assert body["reply"] == "You said: hello there. Anything else?"
    assert body["status"] == "active" and body["ended"] is False and body["handoff"] is False
    assert body["sources"] == []
    assert body["runtime_session_id"] == "oratio-" + body["session_id"]
    assert len(body["runtime_session_id"]) >= 33
    assert response.headers[SESSION_HEADER] == body["runtime_session_id"]
    transcript = platform.sessions.get(world.acme.principal, body["session_id"])
    assert [t.text for t in transcript.turns] == ["hello there", body["reply"]]
    assert transcript.session.customer == {"name": "Dana"}
    assert transcript.session.agent_id == world.agent.id


def test_the_agent_may_be_named_by_the_path(http: httpx.Client, world: World) -> None:
    response = http.post(
        f"/agents/{world.agent.id}/invocations", json={"message": "hi"}, headers={"X-Api-Key": world.secret}
    )
    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "You said: hi. Anything else?"


def test_a_streamed_turn_sends_deltas_then_the_final_reply(http: httpx.Client, world: World) -> None:
    events = sse_events(say(http, world, "where is my parcel", stream=True))
    deltas = [e for e in events if e["type"] == "delta"]
    final = events[-1]
    assert final["type"] == "final" and set(final) == REPLY_KEYS | {"type"}
    assert len(deltas) > 1, "the reply should arrive in several pieces"
    assert [e["type"] for e in events] == ["delta"] * len(deltas) + ["final"]
    assert "".join(e["text"] for e in deltas) == final["reply"] == "You said: where is my parcel. Anything else?"


def test_accept_event_stream_asks_for_a_stream_and_the_body_can_overrule_it(http: httpx.Client, world: World) -> None:
    streamed = say(http, world, "one", headers={"Accept": "text/event-stream"})
    assert sse_events(streamed)[-1]["reply"] == "You said: one. Anything else?"
    assert streamed.headers["cache-control"] == "no-store"
    plain = say(http, world, "two", stream=False, headers={"Accept": "text/event-stream"})
    assert plain.headers["content-type"] == "application/json"
    both = say(http, world, "three", headers={"Accept": "application/json, text/event-stream"})
    assert both.headers["content-type"] == "application/json"  # JSON wins a tie


def test_a_client_chosen_agentcore_session_id_carries_the_conversation(
    http: httpx.Client, platform: Platform, world: World
) -> None:
    headers = {SESSION_HEADER: CLIENT_RUNTIME_ID}
    first = say(http, world, "my order is 1234", headers=headers)
    second = say(http, world, "any news?", headers=headers, stream=True)
    assert first.status_code == 200, first.text
    assert first.headers[SESSION_HEADER] == CLIENT_RUNTIME_ID  # echoed as sent
    assert second.headers[SESSION_HEADER] == CLIENT_RUNTIME_ID
    session_id = first.json()["session_id"]
    assert sse_events(second)[-1]["session_id"] == session_id
    third = say(http, world, "thanks", headers=headers)
    assert third.json()["session_id"] == session_id
    turns = platform.sessions.get(world.acme.principal, session_id).turns
    assert [t.text for t in turns][::2] == ["my order is 1234", "any news?", "thanks"]


def test_the_oratio_form_of_the_session_id_needs_no_memory(platform: Platform, world: World) -> None:
    """A new process (a new app, empty bindings) continues a session from its `oratio-...` runtime id."""
    with serving(create_runtime_app(platform)) as one, httpx.Client(base_url=one.base_url) as http:
        first = say(http, world, "hello")
    runtime_id = first.json()["runtime_session_id"]
    with serving(create_runtime_app(platform)) as two, httpx.Client(base_url=two.base_url) as http:
        again = say(http, world, "still there?", headers={SESSION_HEADER: runtime_id})
        by_body = say(http, world, "and now?", session_id=first.json()["session_id"])
    assert again.status_code == 200, again.text
    assert again.json()["session_id"] == by_body.json()["session_id"] == first.json()["session_id"]
    assert again.headers[SESSION_HEADER] == runtime_id


def test_a_client_chosen_id_continues_its_session_on_another_replica(platform: Platform, world: World) -> None:
    """Two runtime apps (replicas, or a restart) over one store: the id's binding is stored, not in memory."""
    headers = {SESSION_HEADER: CLIENT_RUNTIME_ID}
    with serving(create_runtime_app(platform)) as one, httpx.Client(base_url=one.base_url) as http:
        first = say(http, world, "my order is 1234", headers=headers)
    with serving(create_runtime_app(platform)) as two, httpx.Client(base_url=two.base_url) as http:
        again = say(http, world, "any news?", headers=headers)
        streamed = say(http, world, "thanks", headers=headers, stream=True)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json()["session_id"] == first.json()["session_id"]
    assert sse_events(streamed)[-1]["session_id"] == first.json()["session_id"]
    assert again.headers[SESSION_HEADER] == CLIENT_RUNTIME_ID


def test_without_any_session_id_every_turn_starts_a_session(http: httpx.Client, world: World) -> None:
    assert say(http, world, "a").json()["session_id"] != say(http, world, "b").json()["session_id"]


def test_each_turn_counts_against_the_key(http: httpx.Client, platform: Platform, world: World) -> None:
    for message in ("one", "two", "three"):
        assert say(http, world, message).status_code == 200
    keys = platform.keys.list(world.acme.principal, agent_id=world.agent.id).items
    (key,) = keys
    assert key.id == world.key_id
    assert key.usage_count == 3
    assert key.last_used_at is not None


def test_a_key_revoked_mid_conversation_stops_it(http: httpx.Client, platform: Platform, world: World) -> None:
    first = say(http, world, "hello")
    assert first.status_code == 200
    platform.keys.revoke(world.acme.principal, world.key_id)
    response = say(http, world, "still me", session_id=first.json()["session_id"])
    assert_error(response, 401, "unauthenticated")
    assert "www-authenticate" in response.headers


def test_goodbye_ends_the_session_and_a_further_turn_is_409(http: httpx.Client, world: World) -> None:
    session_id = say(http, world, "hello").json()["session_id"]
    bye = say(http, world, "ok bye", session_id=session_id)
    assert bye.json()["ended"] is True
    assert bye.json()["status"] == SessionStatus.COMPLETED.value
    assert bye.json()["reply"] == "Thank you for contacting us. Goodbye!"
    assert_error(say(http, world, "wait", session_id=session_id), 409, "invalid_state", "has ended")
    streamed = say(http, world, "wait", session_id=session_id, stream=True)
    assert_error(streamed, 409, "invalid_state", "has ended")  # a status, not an event inside a 200 stream


def test_a_paused_agent_is_409_and_a_resumed_one_answers(http: httpx.Client, platform: Platform, world: World) -> None:
    platform.agents.pause(world.acme.principal, world.agent.id)
    assert_error(say(http, world, "hi"), 409, "invalid_state", "paused")
    assert_error(say(http, world, "hi", stream=True), 409, "invalid_state", "paused")
    platform.agents.resume(world.acme.principal, world.agent.id)
    assert say(http, world, "hi").status_code == 200


def test_an_agent_still_being_created_is_409(http: httpx.Client, platform: Platform, world: World) -> None:
    secret, _ = mint(platform, world.acme, world.creating_agent)
    response = http.post(
        "/invocations", json={"agent_id": world.creating_agent.id, "message": "hi"}, headers={"X-Api-Key": secret}
    )
    assert_error(response, 409, "invalid_state", "creating")


def test_sessions_of_another_agent_or_tenant_are_unknown(http: httpx.Client, world: World) -> None:
    sales = http.post(
        "/invocations",
        json={"agent_id": world.other_agent.id, "message": "hi"},
        headers={"X-Api-Key": world.other_secret},
    ).json()["session_id"]
    globex = http.post(
        "/invocations",
        json={"agent_id": world.globex_agent.id, "message": "hi"},
        headers={"X-Api-Key": world.globex_secret},
    ).json()["session_id"]
    for foreign in (sales, globex):
        assert_error(say(http, world, "hi", session_id=foreign), 404, "not_found", foreign)
        header = {SESSION_HEADER: f"oratio-{foreign}"}
        assert_error(say(http, world, "hi", headers=header), 404, "not_found", foreign)


def test_a_client_runtime_id_is_bound_per_agent(http: httpx.Client, world: World) -> None:
    """The same client-chosen runtime id used with two agents makes two sessions, never a shared one."""
    headers = {"X-Api-Key": world.other_secret, SESSION_HEADER: CLIENT_RUNTIME_ID}
    mine = say(http, world, "hi", headers={SESSION_HEADER: CLIENT_RUNTIME_ID}).json()["session_id"]
    theirs = http.post("/invocations", json={"agent_id": world.other_agent.id, "message": "hi"}, headers=headers)
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["session_id"] != mine


def test_concurrent_sessions_do_not_mix(served: Served, world: World) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=30.0) as client:

            async def converse(n: int) -> None:
                runtime_id = f"concurrent-session-{n:04d}-" + "x" * 20
                for step in range(3):
                    response = await client.post(
                        "/invocations",
                        json={"agent_id": world.agent.id, "message": f"s{n} t{step}", "stream": step == 1},
                        headers={"X-Api-Key": world.secret, SESSION_HEADER: runtime_id},
                    )
                    assert response.status_code == 200, response.text
                    reply = sse_events(response)[-1] if step == 1 else response.json()
                    assert reply["reply"] == f"You said: s{n} t{step}. Anything else?"

            await asyncio.gather(*(converse(n) for n in range(10)))

    asyncio.run(run())


def test_a_failure_after_the_stream_began_is_an_error_event(tmp_path: Path) -> None:
    """The session is ended by someone else while the agent speaks: storing the reply is refused, and the
    stream, already 200, says so in its last event with the status a plain request would have had."""
    seen: dict[str, Any] = {}

    def end_then_speak(prompt: Prompt) -> Step:
        platform: Platform = seen["platform"]
        principal: Principal = seen["principal"]
        (live,) = platform.sessions.list_live(principal).items
        platform.sessions.end(live.tenant_id, live.id, "closed by an admin")
        return Say("Let me check that for you.")

    with open_test_platform(tmp_path, models=lambda spec: ScriptedModel(rules=[end_then_speak])) as platform:
        acme = new_tenancy(platform, "Acme")
        seen.update(platform=platform, principal=acme.principal)
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
        with serving(create_runtime_app(platform)) as served, httpx.Client(base_url=served.base_url) as http:
            response = http.post(
                "/invocations",
                json={"agent_id": agent.id, "message": "hi", "stream": True},
                headers={"X-Api-Key": secret},
            )
    events = sse_events(response)
    assert [e["type"] for e in events][-1] == "error"
    assert events[-1]["status"] == 409 and events[-1]["error"] == "invalid_state"
    assert "ended" in events[-1]["message"]


def test_a_failing_model_is_an_apology_not_a_500(tmp_path: Path) -> None:
    failing = ScriptedModel(rules=[lambda prompt: Fail(RuntimeError("provider down"), text="Let me ")])
    with open_test_platform(tmp_path, models=lambda spec: failing) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
        with serving(create_runtime_app(platform)) as served, httpx.Client(base_url=served.base_url) as http:
            body = {"agent_id": agent.id, "message": "hi"}
            plain = http.post("/invocations", json=body, headers={"X-Api-Key": secret})
            streamed = http.post("/invocations", json={**body, "stream": True}, headers={"X-Api-Key": secret})
    assert plain.status_code == 200, plain.text
    assert APOLOGY in plain.json()["reply"]
    final = sse_events(streamed)[-1]
    assert final["type"] == "final" and APOLOGY in final["reply"]


TURN_TIMEOUT_S = 5


def test_ping_answers_while_a_turn_is_stuck_in_the_model(tmp_path: Path) -> None:
    """A turn waiting on its model never stalls the health check (turns await the model on the serving
    loop, test_serving_loop.py, and a wait yields that loop); the turn itself ends with an apology at
    the engine's turn timeout, not as a hung request."""
    in_model = threading.Event()

    def hang(prompt: Prompt) -> Step:
        in_model.set()
        return Hang(text="Let me see")

    factory = lambda spec: ScriptedModel(rules=[hang])  # noqa: E731
    with open_test_platform(tmp_path, models=factory, turn_timeout_seconds=TURN_TIMEOUT_S) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
        with (
            serving(create_runtime_app(platform)) as served,
            httpx.Client(base_url=served.base_url, timeout=TURN_TIMEOUT_S + 10) as http,
        ):
            outcome: dict[str, httpx.Response] = {}
            body = {"agent_id": agent.id, "message": "hi"}
            turn = threading.Thread(
                target=lambda: outcome.update(r=http.post("/invocations", json=body, headers={"X-Api-Key": secret}))
            )
            turn.start()
            assert in_model.wait(timeout=10), "the model was never called"
            assert http.get("/ping", timeout=10.0).json()["status"] in ("Healthy", "HealthyBusy")
            assert "r" not in outcome, "the ping waited for the stuck turn"  # how fast it answers: bench/ping_busy.py
            turn.join(timeout=TURN_TIMEOUT_S + 15)
            assert not turn.is_alive()
    reply = outcome["r"]
    assert reply.status_code == 200, reply.text
    assert APOLOGY in reply.json()["reply"]
