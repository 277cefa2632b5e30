"""`oratio` command line: set up a tenant, mint admin tokens, serve HTTP or MCP over stdio, run the demo.

Every command goes through the service layer via `open_platform`, exactly like the network doors.
The CLI is part of the composition root (`oratio_app`): it attaches the AgentCreator to the platform
and starts the doors; neither the core nor a door imports it.

Start-up is import time, and `oratio mcp` is spawned by Claude Desktop and IDEs on every start, so
this module imports only the parser's needs: each command imports its doors (and through them
Strands, boto3, the voice stack) when it runs. `bench/cli_startup.py` times it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from oratio_app.doors import add_parser as add_door_parser

if TYPE_CHECKING:
    from oratio.platform import Platform
    from schemas import CreateAgent

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FORMATS = {".md": "markdown", ".txt": "text", ".pdf": "pdf", ".html": "html"}
"""Knowledge file suffixes and their `schemas.DocumentFormat` values."""


def _init(platform: Platform, args: argparse.Namespace) -> int:
    from oratio.operator import operator_file, remember_operator

    tenant = platform.tenants.create_tenant(args.tenant)
    admin = platform.tenants.create_admin(tenant.tenant_id, args.email, args.name)
    if not operator_file(platform).exists():
        remember_operator(platform, admin)  # `oratio serve` then prints this admin's token, not a new tenant's
    token = platform.access.token_for(admin)
    print(f"tenant   {tenant.tenant_id}  ({tenant.name})")
    print(f"admin    {admin.id}  ({admin.email})")
    print(f"token    {token}")
    print("Keep the token secret; mint another with: oratio admin token --tenant ... --admin ...")
    return 0


def _admin_token(platform: Platform, args: argparse.Namespace) -> int:
    admin = platform.tenants.get_admin(args.tenant, args.admin)
    print(platform.access.token_for(admin, ttl_seconds=args.ttl))
    return 0


def _serve(platform: Platform, args: argparse.Namespace) -> int:
    import uvicorn

    from creator_agent.models import attach_creator
    from oratio.operator import ensure_operator_admin
    from oratio_app.web import create_app

    platform = attach_creator(platform)
    # This process is the embedded platform: whatever a previous run left active was cut off.
    interrupted = platform.sessions.interrupt_orphans()
    resumed = platform.ingestion.resume_unready()
    if interrupted or resumed:
        print(
            f"after restart: {interrupted} session(s) marked interrupted, {resumed} document(s) re-ingested", flush=True
        )
    operator = ensure_operator_admin(platform)
    base = f"http://{args.host}:{args.port}"
    print(f"Oratio listening on {base}", flush=True)
    print(f"  dashboard               {base}/dashboard", flush=True)
    print(f"  MCP (streamable HTTP)   {base}/mcp", flush=True)
    print(f"  agent runtime (text)    {base}/runtime/agents/<agent_id>/invocations", flush=True)
    print(
        f"  voice (WebSocket)       ws://{args.host}:{args.port}/voice/<agent_id>  (page: {base}/voice/client)",
        flush=True,
    )
    print(f"  health                  {base}/healthz", flush=True)
    admin = operator.admin
    if operator.created:
        print(f"First start: created tenant {admin.tenant_id} with admin {admin.email}.", flush=True)
    print(f"Admin token ({admin.tenant_id}): {platform.access.token_for(admin)}", flush=True)
    app = create_app(platform, host=args.host, port=args.port)
    sweeper = platform.session_timeouts.sweeper(platform.settings.session_sweep_seconds)
    sweeper.start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        sweeper.stop()
    return 0


def _mcp(platform: Platform, args: argparse.Namespace) -> int:
    """MCP over stdio for a local client; stdout is the protocol channel, so nothing else is printed."""
    from mcp_server.stdio import operator_principal, serve_stdio
    from oratio.errors import InvalidInput
    from oratio_app.creator import attach_creator_on_first_use

    if not args.tenant:
        raise InvalidInput("oratio mcp needs --tenant ten_... (or ORATIO_MCP_TENANT); `oratio init` prints one")
    principal = operator_principal(platform, args.tenant, args.admin)
    platform = attach_creator_on_first_use(platform)  # the creator (and Strands) load with the first build
    logging.getLogger("oratio.cli").info("MCP over stdio for tenant %s as %s", principal.tenant_id, principal.subject)
    try:
        serve_stdio(platform, principal)
    except KeyboardInterrupt:
        pass
    return 0


def load_example(directory: Path) -> CreateAgent:
    """An example agent folder: agent.json (spec fields), sop.md, knowledge/* documents."""
    from schemas import AgentSpec, CreateAgent, DocumentContent, DocumentFormat

    fields = json.loads((directory / "agent.json").read_text())
    spec = AgentSpec.model_validate({**fields, "sop": (directory / "sop.md").read_text()})
    documents = [
        DocumentContent(name=path.name, format=DocumentFormat(FORMATS[path.suffix]), content=path.read_bytes())
        for path in sorted((directory / "knowledge").iterdir())
        if path.suffix in FORMATS
    ]
    return CreateAgent(spec=spec, documents=documents)


DEMO_CONVERSATION = (
    "What is your refund policy for long outages?",
    "There are sparks coming out of the router!",
)
DEMO_VOICE_QUESTION = "What is your refund policy for a long outage?"
STEPS = 7


def _step(number: int, text: str) -> None:
    print(f"[{number}/{STEPS}] {text}", flush=True)


def _demo(platform: Platform, args: argparse.Namespace) -> int:
    import anyio

    from creator_agent.models import creator_models
    from creator_agent.pipeline import AgentCreator
    from schemas import MintKeyRequest, Principal

    tenant = platform.tenants.create_tenant("Demo Org")
    admin = platform.tenants.create_admin(tenant.tenant_id, "admin@demo.example", "Demo Admin")
    principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
    request = load_example(args.example)
    _step(1, f"tenant {tenant.tenant_id} with admin {admin.email}; model: {platform.settings.model}")
    agent = platform.agents.create(principal, request)
    _step(2, f"agent '{agent.name}' ({agent.id}) stored from {args.example.name}/sop.md; knowledge base:")
    for document in platform.documents.list(principal, agent.id).items:
        outcome = f"{document.chunk_count} chunks" if document.status.value == "ready" else document.status_reason
        print(f"        {document.name:<24} {document.status.value:<8} {outcome}")

    async def progress(done: int, total: int, message: str) -> None:
        print(f"        [{done}/{total}] {message[:110]}", flush=True)

    _step(3, "AgentCreator: parse SOP -> draft plan -> review (x2) -> generate agent.py -> test -> deploy")
    creator = AgentCreator(platform, creator_models(platform.settings))
    record = anyio.run(creator.create, tenant.tenant_id, agent.id, progress)
    if not record.succeeded:
        print(f"oratio: the agent could not be built: {record.failure}", file=sys.stderr)
        return 1
    print(f"        {len(record.tests)} test conversations passed; {record.model_calls} model calls")
    minted = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="demo key"))
    _step(4, f"API key {minted.key.prefix}... minted for the agent (the secret is shown once, to the caller)")
    _step(5, "a customer writes (text):")
    session_id = _demo_text(platform, tenant.tenant_id, agent.id)
    _step(6, "a customer calls (voice: synthesized speech -> VAD -> Whisper -> the agent -> TTS, over the WebSocket):")
    _demo_voice(platform, agent.id, minted.reveal())
    _step(7, "what the admin sees:")
    for note in platform.notifications.list(principal).items[:3]:
        print(f"        notification [{note.priority.value}] {note.title}")
    print(f"        text transcript: session {session_id} (MCP get_session, or the dashboard's History)")
    print()
    print("Run `oratio serve`, then open http://127.0.0.1:8000/dashboard with the admin token below; talk by")
    print(f"voice at http://127.0.0.1:8000/voice/client, by text at /runtime/agents/{agent.id}/invocations.")
    print(f"Admin token for this tenant: {platform.access.token_for(admin)}")
    return 0


def _demo_text(platform: Platform, tenant_id: str, agent_id: str) -> str | None:
    from schemas import Channel

    session_id: str | None = None
    for message in DEMO_CONVERSATION:
        result = platform.engine.turn(tenant_id, agent_id, session_id, message, Channel.TEXT)
        session_id = result.session_id
        print(f"        customer: {message}")
        print(f"        agent:    {' '.join(result.reply.split())[:160]}")
        if result.sources:
            cited = ", ".join(f"{s.document_name} ({s.location or 'top'})" for s in result.sources[:2])
            print(f"                  sources: {cited}")
        if result.handoff:
            print("                  -> handed off to a human (session status: handoff_requested)")
    return session_id


def _demo_voice(platform: Platform, agent_id: str, api_key: str) -> None:
    import anyio

    from oratio.errors import ConfigError
    from voice_bridge.demo import call, customer_voice, served_bridge, speak
    from voice_bridge.speech import load_local_speech

    try:
        speech = load_local_speech()
    except ConfigError as exc:
        print(f"        skipped: {exc.message}")
        return
    audio = speak(customer_voice(speech), DEMO_VOICE_QUESTION)
    with served_bridge(platform, speech) as url:
        report = anyio.run(call, url, agent_id, api_key, audio)
    print(f"        customer (heard by Whisper): {' '.join(report.customer_said) or '(nothing)'}")
    for said in report.agent_said:
        print(f"        agent (spoken): {' '.join(said.split())[:140]}")
    print(
        f"        first reply audio {report.first_audio_after_s:.1f} s after the customer's audio ended"
        f" (incl. 1 s of trailing quiet); {report.agent_audio_s:.1f} s of it heard before hanging up"
    )
    print(f"        voice session {report.session_id} ended: {report.close}; recording saved as WAV in blob storage")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oratio", description="Create, deploy and run voice and text AI agents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the platform does")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create a tenant and its first admin; print an admin token")
    init.add_argument("--tenant", default="My Org", help="organisation name")
    init.add_argument("--email", default="admin@example.com", help="first admin's email")
    init.add_argument("--name", default="Admin", help="first admin's name")
    init.set_defaults(run=_init)

    admin = commands.add_parser("admin", help="admin accounts").add_subparsers(dest="admin_command", required=True)
    token = admin.add_parser("token", help="print a new admin token")
    token.add_argument("--tenant", required=True, help="tenant id (ten_...)")
    token.add_argument("--admin", required=True, help="admin id (adm_...)")
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.set_defaults(run=_admin_token)

    serve = commands.add_parser("serve", help="serve Oratio over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    mcp = commands.add_parser("mcp", help="serve MCP over stdio (for Claude Desktop, Claude Code, IDEs)")
    mcp.add_argument(
        "--tenant", default=os.environ.get("ORATIO_MCP_TENANT"), help="tenant id (ten_...); env ORATIO_MCP_TENANT"
    )
    mcp.add_argument(
        "--admin", default=os.environ.get("ORATIO_MCP_ADMIN"), help="act as this admin (adm_...); env ORATIO_MCP_ADMIN"
    )
    mcp.set_defaults(run=_mcp)

    demo = commands.add_parser("demo", help="create the example agent from its SOP and documents")
    demo.add_argument("--example", type=Path, default=EXAMPLES / "acme_support", help="example agent folder")
    demo.set_defaults(run=_demo)
    _add_deploy_parser(commands)  # `oratio deploy aws --plan|--apply`: needs no local platform
    add_door_parser(commands)  # `oratio serve-door mcp|runtime|voice|creator`: one door alone
    return parser


def _add_deploy_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`oratio deploy ...`, whose module (boto3, the template) is imported only when the command runs."""
    deploy = commands.add_parser("deploy", help="deploy Oratio to a cloud account", add_help=False)
    deploy.add_argument("deploy_argv", nargs=argparse.REMAINDER)
    deploy.set_defaults(deploy_run=_deploy)


def _deploy(args: argparse.Namespace) -> int:
    from deploy.cli import add_parser

    parser = argparse.ArgumentParser(prog="oratio")
    add_parser(parser.add_subparsers(dest="command", required=True))
    deploy_args = parser.parse_args(["deploy", *args.deploy_argv])
    code: int = deploy_args.deploy_run(deploy_args)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    from oratio.errors import OratioError

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s %(message)s"
    )
    try:
        if args.command in ("deploy", "serve-door"):
            ran: int = args.deploy_run(args) if args.command == "deploy" else args.door_run(args)
            return ran
        from oratio.config import load_settings
        from oratio.platform import open_platform

        settings = load_settings()
        if args.command in ("demo", "serve"):
            # ORATIO_MODEL > AWS credentials > a local GGUF > (demo only) the offline scripted model; said in one line.
            from oratio.models.choice import choose_model

            choice = choose_model(settings, fallback="scripted" if args.command == "demo" else None)
            print(choice.line(), file=sys.stderr, flush=True)
            settings = choice.apply(settings)
        with open_platform(settings) as platform:
            code: int = args.run(platform, args)
            return code
    except OratioError as exc:
        print(f"oratio: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
