"""`python -m oratio_app serve-door mcp|runtime|voice|creator`: one door alone, as AgentCore or a container runs it.

`oratio serve` stays the way to run everything in one process locally; this entry point runs one door
on its own (it replaces the four near-identical `python -m <door>` modules):

    python -m oratio_app serve-door mcp --host 0.0.0.0 --port 8000 --agentcore    # AgentCore MCP runtime
    python -m oratio_app serve-door runtime                # customer agents: /invocations, /ping on 8080
    python -m oratio_app serve-door creator --agentcore    # the AgentCreator under the AgentCore contract
    python -m oratio_app serve-door voice                  # the voice bridge: WS /voice/{agent_id} on 8765

Configuration is the platform's own (`ORATIO_*`); each door's bind address defaults from its own
`ORATIO_<DOOR>_HOST` / `ORATIO_<DOOR>_PORT`. A bad configuration exits with status 2 and one line
(`oratio <door>: ...`). Each door's modules are imported only when that door is served, so the
AgentCore package (which ships no voice bridge) and `oratio --help` never load the others.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a door is served: `oratio --help` and `oratio mcp` load this module too
    from starlette.types import ASGIApp

    from oratio.platform import Platform

MCP_PORT = 8000
AGENTCORE_PORT = 8080
VOICE_PORT = 8765


@dataclass(frozen=True)
class Door:
    """How to serve one door alone: its bind defaults and how to build its ASGI app over a platform."""

    env: str
    """`ORATIO_<env>_HOST` / `ORATIO_<env>_PORT` override the defaults."""
    port: int
    build: Callable[[Platform, argparse.Namespace], ASGIApp]
    container_host: bool = False
    """Inside a container the default host is 0.0.0.0 (AgentCore's proxy must reach the port)."""


def _mcp_app(platform: Platform, args: argparse.Namespace) -> ASGIApp:
    from creator_agent.models import attach_creator
    from mcp_server.http import create_mcp_http_app, default_public_url

    platform = attach_creator(platform)
    public_url = platform.settings.public_url or default_public_url(args.host, args.port)
    return create_mcp_http_app(platform, public_url=public_url, host=args.host, port=args.port)


def _runtime_app(platform: Platform, args: argparse.Namespace) -> ASGIApp:
    from agentcore_apps.app import create_runtime_app

    return create_runtime_app(platform)


def _creator_app(platform: Platform, args: argparse.Namespace) -> ASGIApp:
    from creator_agent.app import create_creator_app
    from creator_agent.models import creator_models
    from creator_agent.pipeline import AgentCreator

    # The platform's one MCP client discovers an agent's MCP tools (the runner that later calls them).
    creator = AgentCreator(platform, creator_models(platform.settings), discovery=platform.mcp)
    return create_creator_app(platform, creator)


def _voice_app(platform: Platform, args: argparse.Namespace) -> ASGIApp:
    from voice_bridge.app import create_standalone_app

    app = create_standalone_app(platform, settings=args.voice)
    print(
        f"voice bridge: ws://{args.host}:{args.port}/voice/<agent id>, page http://{args.host}:{args.port}/voice/client"
    )
    return app


DOORS: dict[str, Door] = {
    "mcp": Door("MCP", MCP_PORT, _mcp_app),
    "runtime": Door("RUNTIME", AGENTCORE_PORT, _runtime_app, container_host=True),
    "creator": Door("CREATOR", AGENTCORE_PORT, _creator_app),
    "voice": Door("VOICE", VOICE_PORT, _voice_app),
}


def _default_host(door: Door) -> str:
    """`ORATIO_<DOOR>_HOST`; else all interfaces in a container for the runtime, loopback elsewhere."""
    if os.environ.get(f"ORATIO_{door.env}_HOST"):
        return os.environ[f"ORATIO_{door.env}_HOST"]
    in_container = os.path.exists("/.dockerenv") or bool(os.environ.get("DOCKER_CONTAINER"))
    return "0.0.0.0" if door.container_host and in_container else "127.0.0.1"  # noqa: S104 - containers expose it


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """`oratio serve-door <door>` (also `python -m oratio_app serve-door <door>`)."""
    parser = commands.add_parser("serve-door", help="serve one door alone (AgentCore runtimes, the voice container)")
    parser.add_argument("door", choices=sorted(DOORS), help="which door")
    parser.add_argument("--host", default=None, help="bind address (default: ORATIO_<DOOR>_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: ORATIO_<DOOR>_PORT or the door's own)")
    parser.add_argument(
        "--agentcore", action="store_true", help="behind AgentCore: take the admin token from its custom header"
    )
    parser.set_defaults(door_run=serve_door)


def serve_door(args: argparse.Namespace) -> int:
    """Serve `args.door` alone with uvicorn until stopped; 2 and one line on a bad configuration."""
    door = DOORS[args.door]
    args.host = args.host or _default_host(door)
    args.port = args.port or int(os.environ.get(f"ORATIO_{door.env}_PORT", door.port))
    import uvicorn

    from oratio.agentcore_ingress import AgentCoreIngress
    from oratio.config import load_settings
    from oratio.errors import OratioError
    from oratio.platform import open_platform
    from oratio_app.logs import configure_logging

    configure_logging(logging.INFO, "%(asctime)s %(levelname)s %(name)s %(message)s")
    options: dict[str, int | bool] = {}
    try:
        settings = load_settings()
        if args.door == "voice":
            from voice_bridge.settings import load_voice_settings

            args.voice = load_voice_settings()
            options["ws_max_size"] = args.voice.websocket_message_limit()  # not uvicorn's 16 MiB a message
            options["ws_per_message_deflate"] = args.voice.websocket_compression  # audio hardly compresses
        with open_platform(settings) as platform:
            app = door.build(platform, args)
            served = AgentCoreIngress(app, args.host, args.port) if args.agentcore else app
            uvicorn.run(served, host=args.host, port=args.port, log_level="warning", **options)  # type: ignore[arg-type]
    except OratioError as exc:
        print(f"oratio {args.door}: {exc.message}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`serve-door` alone (the AgentCore launchers call this): `main(["mcp", "--host", "0.0.0.0", ...])`."""
    parser = argparse.ArgumentParser(prog="python -m oratio_app", description="Serve one Oratio door")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve-door", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.door_run(args)
    return code
