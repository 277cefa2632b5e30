"""Every way into Oratio, as operations a property test runs for either tenant against either's records.

A `Door` lists `Operation`s. An operation acts as one tenant (the actor) on a target drawn from its
own records or, when the step says `cross`, from the other tenant's, and checks isolation on the
spot: the other tenant's ids read exactly like unknown ones (HTTP 404 / MCP `not_found:`), and
nothing the actor gets back carries anything of the other tenant's. It records what it created in
the actor's `Ledger`, so later steps can aim at it.

Adding a door (the voice bridge's `WS /voice/{agent_id}`, the dashboard's `WS /ws/dashboard`) is one
class with a `name` and an `operations()` list, added to the list `test_tenant_isolation` runs.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import httpx
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent, TextResourceContents

from tests.reliability.ledger import Ledger, assert_nothing_of, unknown_id
from tests.reliability.world import Side

CALL_TIMEOUT_S = 20.0
_names = itertools.count(1)


@dataclass
class Step:
    """One drawn action: who acts, whose records it aims at, and the values it draws from."""

    actor: Side
    other: Side
    mine: Ledger
    theirs: Ledger
    cross: bool
    pick: int
    text: str

    def key(self) -> str:
        """One of the actor's keys (revoked ones too); the protected first key one time in four, so the
        key-holding doors keep serving however many keys the run has minted and revoked."""
        if self.pick % 4 == 0:
            return self.actor.key_id
        return self.mine.pick("key", self.pick) or self.actor.key_id

    def target(self, kind: str, *, deletable: bool = False) -> tuple[str, bool]:
        """An id to aim at and whether the actor owns it (False: the other tenant's, or nobody's)."""
        if self.cross:
            found = self.theirs.pick(kind, self.pick)
            return (found or unknown_id(kind)), False
        found = self.mine.pick(kind, self.pick, deletable=deletable)
        return (found, True) if found is not None else (unknown_id(kind), False)


@dataclass(frozen=True)
class Operation:
    door: str
    name: str
    run: Callable[[Step], Awaitable[str]]
    """Performs the call, checks it, and says how it went: `served`, `refused` (the actor's own
    record, in a state that refuses), or `unknown` (the other tenant's record, or nobody's)."""

    def __repr__(self) -> str:  # what hypothesis prints for a failing sequence
        return f"{self.door}.{self.name}"


class Door(Protocol):
    name: str

    def operations(self) -> Sequence[Operation]:
        """Everything this door lets a tenant do, each checking isolation as it goes."""
        ...


# -- MCP --------------------------------------------------------------------------------------------


def tool_error(result: CallToolResult) -> str | None:
    """The error text of a failed call (always text, never structured), or None if it succeeded."""
    if not result.is_error:
        return None
    assert result.structured_content is None
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    assert texts and texts[0].strip(), f"a tool error without text: {result.content}"
    return texts[0]


@dataclass(frozen=True)
class ToolCall:
    """One MCP tool aimed at a record of `kind` (None: the tenant's own collection)."""

    tool: str
    kind: str | None
    arguments: Callable[[str, Step], dict[str, Any]]
    recorded: Callable[[Step, str, dict[str, Any]], None] | None = None
    deletes: bool = False
    """Deletes or revokes its target: it never aims at the tenant's protected records."""


def _agent(ident: str, step: Step) -> dict[str, Any]:
    return {"agent_id": ident}


def _created_agent(step: Step, target: str, out: dict[str, Any]) -> None:
    step.mine.add("agent", out["id"])


def _uploaded(step: Step, target: str, out: dict[str, Any]) -> None:
    step.mine.add("document", out["id"], parent=out["agent_id"])


def _minted(step: Step, target: str, out: dict[str, Any]) -> None:
    step.mine.add_key(out["key"]["id"], out["secret"], out["key"]["agent_id"])


def _chatted(step: Step, target: str, out: dict[str, Any]) -> None:
    step.mine.add("session", out["session_id"])


def _revoked(step: Step, target: str, out: dict[str, Any]) -> None:
    step.mine.revoked.add(target)


def _deleted(step: Step, target: str, out: dict[str, Any]) -> None:
    step.mine.remove(target)


def _listed_notifications(step: Step, target: str, out: dict[str, Any]) -> None:
    for note in out["notifications"]:
        step.mine.add("notification", note["id"])
        if note.get("session_id"):
            step.mine.add("session", note["session_id"])


def _listed_sessions(step: Step, target: str, out: dict[str, Any]) -> None:
    for session in out["sessions"]:
        step.mine.add("session", session["id"])


def _chat_arguments(ident: str, step: Step) -> dict[str, Any]:
    arguments: dict[str, Any] = {"agent_id": ident, "message": step.text}
    session = step.mine.pick("session", step.pick) if step.pick % 2 else None
    if session is not None:
        arguments["session_id"] = session
    return arguments


TOOL_CALLS: tuple[ToolCall, ...] = (
    ToolCall(
        "create_agent",
        None,
        lambda _, s: {"spec": {"name": f"Agent {next(_names)}", "sop": "Answer questions about our opening hours."}},
        _created_agent,
    ),
    ToolCall("get_agent", "agent", _agent),
    ToolCall("list_agents", None, lambda _, s: {"limit": 200}),
    ToolCall("update_agent", "agent", lambda i, s: {"agent_id": i, "change": {"description": s.text[:100]}}),
    ToolCall("retry_creation", "agent", _agent),
    ToolCall("pause_agent", "agent", _agent),
    ToolCall("resume_agent", "agent", _agent),
    ToolCall("get_creation_records", "agent", _agent),
    ToolCall("get_agent_plan", "agent", _agent),
    ToolCall("diff_agent_plan", "agent", lambda i, s: {"agent_id": i, "from_version": 1}),
    ToolCall(
        "edit_agent_plan",
        "agent",
        lambda i, s: {"agent_id": i, "changes": {"closing_message": f"Goodbye {s.pick}"}, "base_version": 1},
    ),
    ToolCall("delete_agent", "agent", _agent, _deleted, deletes=True),
    ToolCall(
        "upload_document",
        "agent",
        lambda i, s: {
            "agent_id": i,
            "document": {"name": f"note{s.pick % 3}.md", "format": "markdown", "text": f"# Note\n\n{s.text}\n"},
        },
        _uploaded,
    ),
    ToolCall("list_documents", "agent", _agent),
    ToolCall("get_document", "document", lambda i, s: {"document_id": i}),
    ToolCall("reingest_document", "document", lambda i, s: {"document_id": i}),
    ToolCall("delete_document", "document", lambda i, s: {"document_id": i}, _deleted, deletes=True),
    ToolCall("search_knowledge", "agent", lambda i, s: {"agent_id": i, "query": "refund receipt"}),
    ToolCall("mint_api_key", "agent", lambda i, s: {"agent_id": i, "name": "app"}, _minted),
    ToolCall("list_api_keys", None, lambda _, s: {"limit": 200}),
    ToolCall("revoke_api_key", "key", lambda i, s: {"key_id": i}, _revoked, deletes=True),
    ToolCall("list_sessions", None, lambda _, s: {"limit": 200}, _listed_sessions),
    ToolCall("list_live_sessions", None, lambda _, s: {"limit": 200}, _listed_sessions),
    ToolCall("get_session", "session", lambda i, s: {"session_id": i}),
    ToolCall("list_notifications", None, lambda _, s: {"limit": 200}, _listed_notifications),
    ToolCall("mark_notification_read", "notification", lambda i, s: {"notification_id": i}),
    ToolCall("acknowledge_handoff", "notification", lambda i, s: {"notification_id": i}),
    ToolCall("take_over_session", "session", lambda i, s: {"session_id": i}),
    ToolCall("send_human_message", "session", lambda i, s: {"session_id": i, "text": "A person here."}),
    ToolCall("return_session_to_agent", "session", lambda i, s: {"session_id": i}),
    ToolCall("close_session", "session", lambda i, s: {"session_id": i}),
    ToolCall("chat_with_agent", "agent", _chat_arguments, _chatted),
)


RESOURCES: tuple[tuple[str | None, str], ...] = (
    ("agent", "oratio://agents/{}"),
    ("session", "oratio://sessions/{}"),
    ("session", "oratio://sessions/{}/events"),
    (None, "oratio://agents"),
    (None, "oratio://sessions/live"),
    (None, "oratio://notifications"),
)


class McpDoor:
    """The MCP tools and resources, through one client per tenant (in memory, or over HTTP with the admin's JWT)."""

    def __init__(self, name: str, clients: Mapping[str, Client]) -> None:
        self.name = name
        self._clients = clients

    def operations(self) -> Sequence[Operation]:
        tools = [Operation(self.name, call.tool, self._runner(call)) for call in TOOL_CALLS]
        reads = [Operation(self.name, f"read {uri}", self._reader(kind, uri)) for kind, uri in RESOURCES]
        return tools + reads

    def _reader(self, kind: str | None, template: str) -> Callable[[Step], Awaitable[str]]:
        async def run(step: Step) -> str:
            target, owned = step.target(kind) if kind is not None else ("", True)
            uri = template.format(target)
            where = f"{self.name} read {uri} as {step.actor.name}"
            if owned and kind is not None:
                await self._mirror_read(step, uri, target)
            try:
                with anyio.fail_after(CALL_TIMEOUT_S):
                    result = await self._clients[step.actor.tenant_id].read_resource(uri)
            except MCPError as exc:
                message = exc.error.message
                assert_nothing_of(step.theirs, message, where, asked=target)
                if not owned:
                    assert message.startswith("not_found: "), f"{where}: {message}"
                    return "unknown"
                assert not message.startswith("not_found: "), f"{where}: the actor's own record read as unknown"
                return "refused"
            assert owned, f"{where}: the other tenant's record answered"
            contents = [json.loads(c.text) for c in result.contents if isinstance(c, TextResourceContents)]
            assert contents, f"{where}: no JSON content"
            assert_nothing_of(step.theirs, contents, where)
            return "served"

        return run

    async def _mirror_call(self, step: Step, tool: str, arguments: dict[str, Any], target: str) -> None:
        """The same call, word for word, by the other tenant: the actor's record must read as unknown.

        Run before the actor's own call, on every step that aims at one of the actor's records, so a
        leak that needs the record to have been touched (a cache, a stale index) is caught at once.
        """
        with anyio.fail_after(CALL_TIMEOUT_S):
            result = await self._clients[step.other.tenant_id].call_tool(tool, arguments)
        error = tool_error(result)
        where = f"{self.name} {tool}({target}) as {step.other.name}, the same call the owner makes"
        assert error is not None, f"{where}: the other tenant's record answered: {result.structured_content}"
        assert error.startswith(f"Error executing tool {tool}: not_found: "), f"{where}: {error}"
        assert_nothing_of(step.mine, error, where, asked=target)

    async def _mirror_read(self, step: Step, uri: str, target: str) -> None:
        where = f"{self.name} read {uri} as {step.other.name}, the owner's read"
        try:
            with anyio.fail_after(CALL_TIMEOUT_S):
                result = await self._clients[step.other.tenant_id].read_resource(uri)
        except MCPError as exc:
            assert exc.error.message.startswith("not_found: "), f"{where}: {exc.error.message}"
            assert_nothing_of(step.mine, exc.error.message, where, asked=target)
            return
        raise AssertionError(f"{where}: the other tenant's record answered: {result.contents}")

    def _runner(self, call: ToolCall) -> Callable[[Step], Awaitable[str]]:
        async def run(step: Step) -> str:
            if call.kind is None:
                target, owned = "", True
            else:
                target, owned = step.target(call.kind, deletable=call.deletes)
            arguments = call.arguments(target, step)
            if owned and call.kind is not None:
                await self._mirror_call(step, call.tool, arguments, target)
            with anyio.fail_after(CALL_TIMEOUT_S):
                result = await self._clients[step.actor.tenant_id].call_tool(call.tool, arguments)
            error = tool_error(result)
            where = f"{self.name} {call.tool}({target}) as {step.actor.name}"
            if not owned:
                assert error is not None, f"{where}: the other tenant's record answered: {result.structured_content}"
                assert error.startswith(f"Error executing tool {call.tool}: not_found: "), f"{where}: {error}"
                assert_nothing_of(step.theirs, error, where, asked=target)
                return "unknown"
            if error is not None:
                # The actor's own record may refuse (paused, already revoked...), but never as unknown.
                assert ": not_found: " not in error, f"{where}: the actor's own record read as unknown: {error}"
                assert_nothing_of(step.theirs, error, where)
                return "refused"
            out = result.structured_content
            assert out is not None, f"{where}: no structured result"
            assert_nothing_of(step.theirs, out, where)
            if call.recorded is not None:
                call.recorded(step, target, out)
            return "served"

        return run


# -- HTTP: the agent runtime (AgentCore contract) and the admin API -----------------------------------


class RuntimeDoor:
    """`POST /runtime/agents/{agent_id}/invocations` with an API key, as a customer app calls it."""

    name = "runtime"

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def operations(self) -> Sequence[Operation]:
        return [Operation(self.name, "invoke", self._invoke), Operation(self.name, "invoke_stream", self._stream)]

    def _request(self, step: Step) -> tuple[str, dict[str, Any], dict[str, str], int, str]:
        """(path, body, headers, expected status, the foreign id asked for) for a turn drawn from the step."""
        key_id = step.key()
        secret, key_agent = step.mine.secrets[key_id], step.mine.key_agent[key_id]
        body: dict[str, Any] = {"message": step.text}
        if key_id in step.mine.revoked or key_agent in step.mine.gone:
            expected = 401
            agent_id = key_agent
        elif step.cross and step.pick % 2 == 0:
            agent_id, expected = step.other.agent.id, 404  # my key on their agent
        elif step.cross:
            agent_id, expected = key_agent, 404  # my agent, their session
            body["session_id"] = step.theirs.pick("session", step.pick) or unknown_id("session")
        else:
            agent_id, expected = key_agent, 200
            session = step.mine.pick_customer_session(key_agent, step.pick) if step.pick % 3 else None
            if session is not None:
                body["session_id"] = session
        asked = step.other.agent.id if agent_id == step.other.agent.id else body.get("session_id", "")
        return f"/runtime/agents/{agent_id}/invocations", body, {"X-Api-Key": secret}, expected, asked

    async def _invoke(self, step: Step) -> str:
        path, body, headers, expected, asked = self._request(step)
        with anyio.fail_after(CALL_TIMEOUT_S):
            response = await self._http.post(path, json=body, headers=headers)
        return self._check(step, path, expected, asked, response.status_code, response.json())

    async def _stream(self, step: Step) -> str:
        path, body, headers, expected, asked = self._request(step)
        headers["Accept"] = "text/event-stream"
        with anyio.fail_after(CALL_TIMEOUT_S):
            response = await self._http.post(path, json=body, headers=headers)
        if response.status_code != 200:
            return self._check(step, path, expected, asked, response.status_code, response.json())
        events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
        assert events and events[-1]["type"] in ("final", "error"), response.text[:500]
        final = events[-1]
        status = 200 if final["type"] == "final" else int(final["status"])
        return self._check(
            step, path, expected, asked, status, final if status != 200 else {**final, "deltas": events[:-1]}
        )

    def _check(self, step: Step, path: str, expected: int, asked: str, status: int, body: dict[str, Any]) -> str:
        where = f"runtime POST {path} as {step.actor.name}"
        assert status < 500, f"{where}: {status} {body}"
        assert_nothing_of(step.theirs, body, where, asked=asked)
        if expected == 200:
            # My key, my agent: served, or refused for a state of mine (paused agent, ended session).
            assert status in (200, 409), f"{where}: {status} {body}"
        elif status == 409 and expected == 404 and asked.startswith("ses_"):
            # My agent refuses (paused, still creating) before any session is looked up: that says
            # nothing about the other tenant's session, and is about my agent only.
            assert body["error"] == "invalid_state" and asked not in body["message"], body
        else:
            assert status == expected, f"{where}: expected {expected}, got {status} {body}"
            assert body["error"] == {401: "unauthenticated", 404: "not_found"}[expected], body
        if status == 200:
            step.mine.add_customer_session(body["session_id"], path.split("/")[3])
            return "served"
        return "unknown" if status == 404 else "refused"


class AdminHttpDoor:
    """`GET /api/v1/me` with the admin's JWT: the token names its own tenant, nobody else's."""

    name = "admin-http"

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def operations(self) -> Sequence[Operation]:
        return [Operation(self.name, "me", self._me)]

    async def _me(self, step: Step) -> str:
        with anyio.fail_after(CALL_TIMEOUT_S):
            response = await self._http.get("/api/v1/me", headers={"Authorization": f"Bearer {step.actor.token}"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["tenant"]["id"] == step.actor.tenant_id
        assert_nothing_of(step.theirs, body, "admin-http /api/v1/me")
        return "served"
