"""`oratio demo --example NAME`: finding an example, the service its tools call, and the conversation it plays.

An example folder holds data only (agent.json, sop.md, knowledge/, and optionally tools.json and
demo.json). An example whose tools call a service of its own is registered in `EXAMPLE_SERVICES`;
the demo serves that app on 127.0.0.1 on a free port for the whole run, points the tools' URLs at
it (tools.json names `SERVICE_ORIGIN`), and lets the platform's outbound calls reach that one host:
tools follow the same address policy as webhooks, which refuses loopback unless the operator
allow-lists it (`ORATIO_WEBHOOK_ALLOWED_HOSTS`). Nothing else is relaxed.

demo.json: `{"conversation": ["customer message", ...]}`, the text conversation the demo plays
(the default example's is `cli.DEMO_CONVERSATION`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from oratio.config import Settings
    from oratio.platform import Platform
    from schemas import CreateAgent, Principal, ToolCallRecord

SERVICE_HOST = "127.0.0.1"
SERVICE_PORT = 8799
SERVICE_ORIGIN = f"http://{SERVICE_HOST}:{SERVICE_PORT}"
"""The origin an example's tools.json names for its service. The demo serves there when the port is free
(so the agent it stores keeps working with `python -m oratio_app.orders_service` later), else on a free
port, which it then writes into the tools' URLs."""


def _orders_desk() -> ASGIApp:
    from oratio_app.orders_service import OrderBook, orders_app

    return orders_app(OrderBook.sample())


EXAMPLE_SERVICES: dict[str, Callable[[], ASGIApp]] = {"orders_desk": _orders_desk}
"""Example folder name -> the app its tools call (built fresh for each run)."""


def resolve_example(given: Path, examples: Path) -> Path:
    """`given` if it is a folder, else the bundled example of that name (`--example orders_desk`)."""
    if not given.is_dir() and given.name == str(given) and (examples / given.name).is_dir():
        return examples / given.name
    return given


def _read_json(path: Path) -> Any:
    from oratio.errors import InvalidInput

    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InvalidInput(f"example {path.parent}: cannot read {path.name}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"example {path.parent}: {path.name} is not JSON ({str(exc)[:120]})") from None


def read_tools(directory: Path) -> list[Any] | None:
    """tools.json (a list of tool definitions, checked by `AgentSpec`), or None when the example has none."""
    path = directory / "tools.json"
    if not path.exists():
        return None
    tools = _read_json(path)
    return tools if isinstance(tools, list) else [tools]  # anything but a list is refused by the spec's check


def conversation(directory: Path, default: tuple[str, ...]) -> tuple[str, ...]:
    """The customer messages demo.json lists (`{"conversation": [...]}`), or `default` without one."""
    from oratio.errors import InvalidInput

    path = directory / "demo.json"
    if not path.exists():
        return default
    found = _read_json(path)
    messages = found.get("conversation") if isinstance(found, dict) else None
    if not isinstance(messages, list) or not messages or not all(isinstance(m, str) and m.strip() for m in messages):
        raise InvalidInput(f'example {directory}: demo.json needs "conversation": a list of customer messages')
    return tuple(messages)


@contextmanager
def example_service(
    directory: Path, request: CreateAgent, settings: Settings
) -> Iterator[tuple[CreateAgent, Settings, str | None]]:
    """Serve the example's service (if it has one) for the run; yield the request and settings pointing at it.

    The third value is the service's base URL (None without a service).
    """
    build = EXAMPLE_SERVICES.get(directory.name)
    if build is None:
        yield request, settings, None
        return
    app = build()
    with _serving(app) as port:
        origin = f"http://{SERVICE_HOST}:{port}"
        tools = [_retarget(tool, origin) for tool in request.spec.tools]
        spec = request.spec.model_copy(update={"tools": tools})
        hosts = ",".join(part for part in (settings.webhook_allowed_hosts, SERVICE_HOST) if part)
        yield (
            request.model_copy(update={"spec": spec}),
            settings.model_copy(update={"webhook_allowed_hosts": hosts}),
            origin,
        )


@contextmanager
def _serving(app: ASGIApp) -> Iterator[int]:
    from oratio.loopback import serving_on_loopback

    with ExitStack() as stack:
        try:
            port = stack.enter_context(serving_on_loopback(lambda _: app, port=SERVICE_PORT))
        except OSError:  # the usual port is taken (another demo, another program): any free one
            port = stack.enter_context(serving_on_loopback(lambda _: app))
        yield port


def _retarget(tool: Any, origin: str) -> Any:
    url = getattr(tool, "url", None)
    if getattr(tool, "kind", None) == "http" and isinstance(url, str) and url.startswith(SERVICE_ORIGIN + "/"):
        return tool.model_copy(update={"url": origin + url[len(SERVICE_ORIGIN) :]})
    return tool


def clip(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters; a cut one ends in "…" so a reader knows there was more."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026"


def describe_call(call: ToolCallRecord) -> str:
    """One transcript line for a tool call: name, arguments (as recorded: redacted), status, time."""
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    status = call.status.value + (", confirmed by the customer" if call.confirmed else "")
    if call.status.value == "awaiting_confirmation":
        status += ": nothing ran yet"
    took = f" in {call.duration_ms:.0f} ms" if call.duration_ms is not None and call.status.value == "ok" else ""
    quiet = call.status.value in ("ok", "awaiting_confirmation")
    summary = f" - {clip(call.summary, 160)}" if call.summary and not quiet else ""
    return f"tool {call.name} {arguments[:120]} -> {status}{took}{summary}"


def play_text(platform: Platform, principal: Principal, agent_id: str, messages: tuple[str, ...]) -> str | None:
    """The text conversation, each turn printed with the tool calls the agent made in it."""
    from schemas import Channel, Role

    session_id: str | None = None
    for message in messages:
        result = platform.engine.turn(principal.tenant_id, agent_id, session_id, message, Channel.TEXT)
        session_id = result.session_id
        print(f"        customer: {message}")
        turns = platform.sessions.get(principal, session_id).turns
        last = turns[-1] if turns and turns[-1].role is Role.AGENT else None
        for call in last.tool_calls if last is not None else []:
            print(f"                  {describe_call(call)}")
        print(f"        agent:    {clip(result.reply, 240)}")
        if result.sources:
            cited = ", ".join(f"{s.document_name} ({s.location or 'top'})" for s in result.sources[:2])
            print(f"                  sources: {cited}")
        if result.handoff:
            print("                  -> handed off to a human (session status: handoff_requested)")
    return session_id


__all__ = [
    "EXAMPLE_SERVICES",
    "SERVICE_ORIGIN",
    "conversation",
    "describe_call",
    "example_service",
    "play_text",
    "read_tools",
    "resolve_example",
]
