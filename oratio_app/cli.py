"""`oratio` command line: set up a tenant, mint admin tokens, serve HTTP or MCP over stdio, run the demo.

Every command goes through the service layer via `open_platform`, exactly like the network doors.
The CLI is part of the composition root (`oratio_app`): it attaches the AgentCreator to the platform
and starts the doors; neither the core nor a door imports it.

Start-up is import time, and `oratio mcp` is spawned by Claude Desktop and IDEs on every start, so
this module imports no door at module level: each command imports its doors (and through them
Strands, boto3, the voice stack) when it runs. `bench/cli_startup.py` times it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from oratio_app.doors import add_parser as add_door_parser
from oratio_app.example_demo import clip, conversation, example_service, play_text, read_tools, resolve_example

if TYPE_CHECKING:  # the CLI imports the platform when a command runs, so `oratio --help` stays instant
    from oratio.config import Settings
    from oratio.platform import Platform
    from schemas import Agent, CreateAgent, Principal

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FORMATS = {".md": "markdown", ".txt": "text", ".pdf": "pdf", ".html": "html"}
"""Knowledge file suffixes and their `schemas.DocumentFormat` values."""


def _init(platform: Platform, args: argparse.Namespace) -> int:
    from oratio.operator import operator_file, recorded_operator, remember_operator

    existing = recorded_operator(platform)
    if existing is not None:
        # Run twice: say what is there (and give a fresh token for it) rather than make a second tenant.
        tenant_name = platform.tenants.tenant_name(existing.tenant_id)
        print(f"Already set up in {platform.settings.data_dir}:")
        print(f"tenant   {existing.tenant_id}  ({tenant_name})")
        print(f"admin    {existing.id}  ({existing.email})")
        print(f"token    {platform.access.token_for(existing)}")
        print(
            "Nothing was created. List tenants with `oratio tenants`, their admins with `oratio admins --tenant ...`."
        )
        return 0
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
    # A --ttl outside 1..ORATIO_JWT_MAX_TTL_SECONDS, or a disabled admin, is one line and exit 2.
    print(platform.access.issue_admin_token(args.tenant, args.admin, ttl_seconds=args.ttl))
    return 0


def _admin_access(platform: Platform, args: argparse.Namespace) -> int:
    """`oratio admin disable|enable|revoke`: the operator acts as the tenant's admin authority."""
    from oratio.auth.principals import CLI_SUBJECT, local_operator
    from oratio.errors import NotFound

    tenants = platform.tenants
    if not tenants.tenant_exists(args.tenant):
        raise NotFound(f"tenant '{args.tenant}' was not found in {platform.settings.data_dir}")
    operator = local_operator(args.tenant, CLI_SUBJECT)
    if args.admin_command == "revoke":
        admin = tenants.revoke_admin_tokens(operator, args.admin)
        print(f"admin {admin.id}: tokens issued before {admin.tokens_valid_after} are refused")
    else:
        admin = tenants.set_admin_disabled(operator, args.admin, args.admin_command == "disable")
        print(f"admin {admin.id}: {'disabled' if admin.disabled else 'enabled'}")
    return 0


DEFAULT_DASHBOARD_ORIGIN = "http://127.0.0.1:8000"
"""Where `oratio serve` listens by default: an invitation link's origin when ORATIO_PUBLIC_URL is not set."""


def _admin_invite(platform: Platform, args: argparse.Namespace) -> int:
    """`oratio admin invite EMAIL --tenant ...`: a single-use link to set a password, by the outbox email.

    Without email configured (ORATIO_EMAIL) the operator gets the link printed instead, to pass on.
    An email that already has a password gets a password reset link.
    """
    from oratio.auth.principals import CLI_SUBJECT, local_operator
    from oratio.errors import NotFound

    if not platform.tenants.tenant_exists(args.tenant):
        raise NotFound(f"tenant '{args.tenant}' was not found in {platform.settings.data_dir}")
    base = platform.settings.public_url or DEFAULT_DASHBOARD_ORIGIN
    name = args.name or args.email.split("@")[0][:100] or "Admin"
    made = platform.signin.invite(local_operator(args.tenant, CLI_SUBJECT), args.email, name, base)
    if made.emailed:
        # The outbox sends it now; closing the platform waits for the send (a failure is retried at the next start).
        print(f"admin {made.admin.id} ({made.admin.email}): a single-use sign-in link was emailed")
    else:
        print(f"admin {made.admin.id} ({made.admin.email}): no email is configured (ORATIO_EMAIL); send them this")
        print(f"single-use link yourself: {made.link}")
    if platform.settings.public_url is None:
        # This command cannot know where `oratio serve` listens: a serve on another port gets a dead link.
        print(
            f"note: ORATIO_PUBLIC_URL is not set, so the link assumes the dashboard at {DEFAULT_DASHBOARD_ORIGIN}; "
            "if `oratio serve` listens elsewhere, open the link's /dashboard#invite=... part at that address "
            "(or set ORATIO_PUBLIC_URL to the URL people reach it at)"
        )
    return 0


def _admin_backfill_stats(platform: Platform, args: argparse.Namespace) -> int:
    """`oratio admin backfill-stats`: fold sessions analysed before the chart totals existed (once each)."""
    from oratio.services.stats_backfill import StatsBackfill

    progress = StatsBackfill(platform.backends).run_all()
    print(f"stats backfill: {progress.folded} sessions folded into the charts, {progress.marked} marked")
    return 0


def _tenants(platform: Platform, args: argparse.Namespace) -> int:
    """Every tenant, so an operator can find the ids `admins`, `admin token` and `mcp` take."""
    from oratio.operator import recorded_operator

    operator = recorded_operator(platform)
    tenants = platform.tenants.list_all()
    if not tenants:
        print(f"no tenants in {platform.settings.data_dir}; `oratio init` or `oratio serve` creates one")
    for tenant in tenants:
        mark = "  (operator)" if operator is not None and operator.tenant_id == tenant.tenant_id else ""
        print(f"{tenant.tenant_id}  {tenant.created_at:%Y-%m-%d}  {tenant.name}{mark}")
    return 0


def _admins(platform: Platform, args: argparse.Namespace) -> int:
    for admin in platform.tenants.admins_of(args.tenant):
        print(f"{admin.id}  {admin.email}  {admin.name}")
    print(f"mint a token: oratio admin token --tenant {args.tenant} --admin adm_...")
    return 0


def _serve(platform: Platform, args: argparse.Namespace) -> int:
    """Start-up, one step a line: lease, recovery, operator, URLs (the socket is already bound), serve."""
    import uvicorn

    from creator_agent.models import attach_creator
    from oratio.operator import ensure_operator_admin
    from oratio.services.creation_owner import note_model_now_configured, recover_interrupted_creations
    from oratio_app.web import create_app
    from voice_bridge.settings import load_voice_settings

    listener: socket.socket = args.listener
    platform = attach_creator(platform)
    recovered = _recover(platform)  # the lease is held already (see `holding_lease`)
    recover_interrupted_creations(platform.backends, platform.agents)  # builds a dead process left: failed
    if platform.builder is not None and platform.builder.has_model:
        waiting = note_model_now_configured(platform.backends, platform.agents)
        if waiting:
            print(f"{waiting} agent(s) stored without a model can be built now: Start the build", flush=True)
    unready = platform.ingestion.unready()  # re-ingested in the background once the server runs
    if recovered or unready:
        print(
            f"after restart: {recovered} session(s) marked interrupted, "
            f"{len(unready)} document(s) to re-ingest in the background",
            flush=True,
        )
    operator = ensure_operator_admin(platform)
    _print_urls(args.host, args.port)
    admin = operator.admin
    if operator.created:
        print(f"First start: created tenant {admin.tenant_id} with admin {admin.email}.", flush=True)
    print(f"Admin token ({admin.tenant_id}): {platform.access.token_for(admin)}", flush=True)
    _print_other_tenants(platform, admin.tenant_id)
    app = create_app(platform, host=args.host, port=args.port, resume=unready)
    # The session sweep and the escalation check, each run by one replica at a time (a duty lease).
    sweepers = platform.duty_sweepers()
    for sweeper in sweepers:
        sweeper.start()
    platform.outbox.start()  # delivers what an earlier run left in the outbox; closed with the platform
    try:
        voice = load_voice_settings()
        ws_max_size = voice.websocket_message_limit()  # not uvicorn's 16 MiB per voice message
        deflate = voice.websocket_compression  # off by default: PCM audio hardly compresses (voice_bridge.settings)
        config = uvicorn.Config(app, log_level="warning", ws_max_size=ws_max_size, ws_per_message_deflate=deflate)
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        for sweeper in sweepers:
            sweeper.stop()
    return 0


LEASED = frozenset({"serve", "demo", "mcp"})
"""Commands that start sessions, so hold a lease: recovery elsewhere leaves their live sessions alone."""


@contextmanager
def holding_lease(platform: Platform, command: str) -> Iterator[None]:
    """This process's lease, renewed by a heartbeat; `serve` also recovers dead processes' sessions on it.

    `serve` says in one line when another live process already serves the data dir.
    """
    if command not in LEASED:
        yield
        return
    others = platform.leases.others_alive()
    platform.leases.acquire()
    if command == "serve" and others:
        other = others[0]
        print(
            f"another Oratio process already serves {platform.settings.data_dir}: pid {other.pid} on {other.host}"
            f" ({other.owner_id}); its live sessions are left to it",
            flush=True,
        )
    # Recovery of dead processes' sessions runs in one replica at a time: a duty held for one lease TTL.
    recovery = platform.leases.duty("recovery", platform.leases.ttl.total_seconds())
    heartbeat = platform.leases.heartbeat(
        recovery.guard(_announced_recovery(platform)) if command == "serve" else (lambda: None)
    )
    heartbeat.start()
    try:
        yield
    finally:
        heartbeat.stop()
        if command == "serve":
            recovery.release()
        platform.leases.release()


def _recover(platform: Platform, *, unowned: bool = True) -> int:
    """Interrupt active sessions whose serving process is gone (no live lease), then forget its lease.

    At start also sessions no leased process owns (a previous Oratio's); on the heartbeat only those of
    a process that held a lease and died, so a stateless runtime's sessions on a shared store are left alone.
    """
    count = platform.sessions.interrupt_orphans(platform.leases.liveness(), unowned=unowned)
    platform.leases.forget_expired()
    return count


def _announced_recovery(platform: Platform) -> Callable[[], None]:
    """The heartbeat's recovery: a process that died while this one runs has its sessions ended, said in a line."""

    def recover() -> None:
        count = _recover(platform, unowned=False)
        if count:
            print(f"recovered: {count} session(s) of a stopped Oratio process marked interrupted", flush=True)

    return recover


def _print_urls(host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    print(f"Oratio listening on {base}", flush=True)
    print(f"  dashboard               {base}/dashboard", flush=True)
    print(f"  MCP (streamable HTTP)   {base}/mcp", flush=True)
    print(f"  agent runtime (text)    {base}/runtime/agents/<agent_id>/invocations", flush=True)
    print(f"  voice (WebSocket)       ws://{host}:{port}/voice/<agent_id>  (page: {base}/voice/client)", flush=True)
    print(f"  health                  {base}/healthz", flush=True)


def _print_other_tenants(platform: Platform, operator_tenant: str) -> None:
    others = [t for t in platform.tenants.list_all() if t.tenant_id != operator_tenant]
    if others:
        names = ", ".join(f"{t.tenant_id} ({t.name})" for t in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        print(f"Other tenants: {names}{more}; a token: oratio admins --tenant ..., then oratio admin token", flush=True)


def bind_listener(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says where Oratio listens (a taken port is one line)."""
    from oratio.errors import ConfigError

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _mcp(platform: Platform, args: argparse.Namespace) -> int:
    """MCP over stdio for a local client; stdout is the protocol channel, so nothing else is printed."""
    from mcp_server.stdio import operator_principal, serve_stdio
    from oratio_app.creator import attach_creator_on_first_use

    principal = operator_principal(platform, args.tenant, args.admin)
    platform = attach_creator_on_first_use(platform)  # the creator (and Strands) load with the first build
    logging.getLogger("oratio.cli").info("MCP over stdio for tenant %s as %s", principal.tenant_id, principal.subject)
    try:
        serve_stdio(platform, principal)
    except KeyboardInterrupt:
        pass
    return 0


def _check_mcp_args(args: argparse.Namespace) -> None:
    from mcp_server.stdio import operator_of
    from oratio.errors import InvalidInput

    if not args.tenant:
        raise InvalidInput("oratio mcp needs --tenant ten_... (or ORATIO_MCP_TENANT); `oratio init` prints one")
    operator_of(args.tenant)


def load_example(directory: Path) -> CreateAgent:
    """An example agent folder: agent.json (spec fields), sop.md, knowledge/* documents, tools.json (optional).

    Whatever is wrong with the folder is an InvalidInput naming it, so the CLI says it in one line.
    """
    from pydantic import ValidationError

    from oratio.errors import InvalidInput
    from schemas import AgentSpec, CreateAgent, DocumentContent, DocumentFormat

    try:
        fields = json.loads((directory / "agent.json").read_text())
        tools = read_tools(directory)
        fields = fields if tools is None else {**fields, "tools": tools}
        spec = AgentSpec.model_validate({**fields, "sop": (directory / "sop.md").read_text()})
        knowledge = directory / "knowledge"
        paths = sorted(knowledge.iterdir()) if knowledge.is_dir() else []
        documents = [
            DocumentContent(name=path.name, format=DocumentFormat(FORMATS[path.suffix]), content=path.read_bytes())
            for path in paths
            if path.suffix in FORMATS
        ]
        return CreateAgent(spec=spec, documents=documents)
    except OSError as exc:
        raise InvalidInput(f"example {directory}: cannot read {exc.filename}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"example {directory}: a JSON file is not JSON ({exc.msg}, line {exc.lineno})") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "agent"
        raise InvalidInput(f"example {directory}: {where}: {first['msg']}") from None


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

    from oratio.auth.principals import admin_as_principal
    from oratio.operator import ensure_operator_admin
    from schemas import MintKeyRequest

    # The operator's tenant: the one `oratio serve` prints a token for, so the demo agent is there.
    operator = ensure_operator_admin(platform)
    admin = operator.admin
    principal = admin_as_principal(admin)
    request: CreateAgent = args.request  # loaded (and checked) before the platform opened
    made = "created" if operator.created else "the one `oratio serve` shows"
    _step(1, f"tenant {admin.tenant_id} ({made}) with admin {admin.email}; model: {platform.settings.model}")
    agent = _create_demo_agent(platform, principal, request)
    _step(2, f"agent '{agent.name}' ({agent.id}) stored from {args.example.name}/sop.md; knowledge base:")
    # Documents are indexed in the background: show their outcome, not `ingesting`.
    platform.documents.wait_settled(principal, agent.id, platform.settings.creation_documents_wait_seconds)
    for document in platform.documents.list(principal, agent.id).items:
        outcome = f"{document.chunk_count} chunks" if document.status.value == "ready" else document.status_reason
        print(f"        {document.name:<24} {document.status.value:<8} {outcome}")

    async def progress(done: int, total: int, message: str) -> None:
        print(f"        [{done}/{total}] {message[:110]}", flush=True)

    _step(3, "AgentCreator: parse SOP -> draft plan -> review (x2) -> simulate conversations -> deploy")
    from creator_agent.models import creator_models
    from creator_agent.pipeline import AgentCreator

    creator = AgentCreator(platform, creator_models(platform.settings), discovery=platform.mcp)
    record = anyio.run(creator.create, admin.tenant_id, agent.id, progress)
    if not record.succeeded:
        print(f"oratio: the agent could not be built: {record.failure}", file=sys.stderr)
        return 1
    passed = sum(test.passed for test in record.tests)
    print(f"        {passed} of {len(record.tests)} simulated scenarios passed; {record.model_calls} model calls")
    minted = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="demo key"))
    api_key = minted.reveal()
    _step(4, f"API key for the agent (shown once, keep it): {api_key}")
    _step(5, "a customer writes (text):")
    messages: tuple[str, ...] = args.conversation  # read (and checked) before the platform opened
    session_id = play_text(platform, principal, agent.id, messages)
    _step(6, "a customer calls (voice: synthesized speech -> VAD -> Whisper -> the agent -> TTS, over the WebSocket):")
    if agent.spec.agent_type.value == "text":
        print("        skipped: this example is a text agent")
    else:
        _demo_voice(platform, agent.id, api_key)
    _step(7, "what the admin sees:")
    for note in platform.notifications.list(principal).items[:3]:
        print(f"        notification [{note.priority.value}] {note.title}")
    print(f"        text transcript: session {session_id} (MCP get_session, or the dashboard's History)")
    base = _public_base(platform.settings, args.host, args.port)
    print()
    serve = serve_command(args.host, args.port, args.model_source, oratio_program(sys.argv[0], shutil.which("oratio")))
    print(f"Run `{serve}`, then open {base}/dashboard with the admin token")
    print(f"below; talk by voice at {base}/voice/client, or by text:")
    print(f"  {_curl(base, agent.id, api_key, messages[0])}")
    print(f"Admin token for tenant {admin.tenant_id}: {platform.access.token_for(admin)}")
    return 0


def serve_command(host: str, port: int, model_source: str, program: str = "oratio") -> str:
    """The `oratio serve` the demo suggests next. When the demo fell back to the scripted model, `serve` (which
    never falls back) would have none, and agents made in the dashboard would only be stored: keep the model."""
    model = "ORATIO_MODEL=scripted " if model_source == "fallback" else ""
    return f"{model}{program} serve --host {host} --port {port}"


def oratio_program(argv0: str, on_path: str | None) -> str:
    """How to run this `oratio` again: `oratio` when it is on PATH, else the path it was started by
    (`./scripts/demo` runs `.venv/bin/oratio`, which is not on PATH until the venv is activated)."""
    if on_path is not None or Path(argv0).name != "oratio":
        return "oratio"
    return argv0


def _create_demo_agent(platform: Platform, principal: Principal, request: CreateAgent) -> Agent:
    """Store the example agent; a rerun in the same tenant gets "<name> 2", "<name> 3", ... (names are unique)."""
    from oratio.errors import Conflict, InvalidInput

    name = request.spec.name
    for attempt in range(1, 100):
        spec = request.spec if attempt == 1 else request.spec.model_copy(update={"name": f"{name} {attempt}"})
        try:
            return platform.agents.create(principal, request.model_copy(update={"spec": spec}))
        except Conflict:
            continue
    raise InvalidInput(f"the tenant already has 99 agents named '{name} N'; remove some first")


def _public_base(settings: Settings, host: str, port: int) -> str:
    return (settings.public_url or f"http://{host}:{port}").rstrip("/")


def _curl(base: str, agent_id: str, api_key: str, message: str) -> str:
    body = json.dumps({"message": message})
    return (
        f"curl -s {base}/runtime/agents/{agent_id}/invocations -H 'X-Api-Key: {api_key}'"
        f" -H 'Content-Type: application/json' -d '{body}'"
    )


def _demo_voice(platform: Platform, agent_id: str, api_key: str) -> None:
    import anyio

    from oratio.errors import ConfigError
    from voice_bridge.demo import call, customer_voice, served_bridge, speak
    from voice_bridge.speech import load_local_speech

    print("        loading the local speech models (VAD, Whisper, TTS)...", flush=True)
    try:
        speech = load_local_speech()
    except ConfigError as exc:
        print(f"        skipped: {exc.message}")
        return
    print(f'        synthesizing the customer\'s question: "{DEMO_VOICE_QUESTION}"', flush=True)
    audio = speak(customer_voice(speech), DEMO_VOICE_QUESTION)
    with served_bridge(platform, speech) as url:
        print(f"        calling the agent at {url}/voice/{agent_id} and waiting for its spoken reply...", flush=True)
        report = anyio.run(call, url, agent_id, api_key, audio)
    print(f"        customer (heard by Whisper): {' '.join(report.customer_said) or '(nothing)'}")
    for said in report.agent_said:
        print(f"        agent (spoken): {clip(said, 140)}")
    print(
        f"        first reply audio {report.first_audio_after_s:.1f} s after the customer's audio ended"
        f" (incl. 1 s of trailing quiet); {report.agent_audio_s:.1f} s of it heard before hanging up"
    )
    print(f"        voice session {report.session_id} ended: {report.close}; recording saved as WAV in blob storage")


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes are one line on stderr and exit 2 (argparse's default prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text[:20]}' is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range 1-65535")
    return value


def _ttl(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text[:20]}' is not a number of seconds") from None
    if value < 1:  # the upper bound is ORATIO_JWT_MAX_TTL_SECONDS, checked where tokens are issued
        raise argparse.ArgumentTypeError(f"--ttl {value} must be at least 1 second")
    return value


def _data_dir_option() -> OneLineParser:
    common = OneLineParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, default=None, help="where Oratio keeps its data; default ORATIO_DATA_DIR or .oratio"
    )
    return common


def _host_port(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument("--host", default="127.0.0.1", help=f"{what} (default 127.0.0.1: this machine only)")
    command.add_argument("--port", type=_port, default=8000, help="TCP port, 1-65535 (default 8000)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="oratio", description="Create, deploy and run voice and text AI agents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the platform does")
    commands = parser.add_subparsers(dest="command", required=True)
    data = [_data_dir_option()]

    init = commands.add_parser(
        "init",
        parents=data,
        help="create a tenant and its first admin; print an admin token (reruns say what exists)",
    )
    init.add_argument("--tenant", default="My Org", help="organisation name")
    init.add_argument("--email", default="admin@example.com", help="first admin's email")
    init.add_argument("--name", default="Admin", help="first admin's name")
    init.set_defaults(run=_init)

    admin = commands.add_parser("admin", help="admin accounts").add_subparsers(dest="admin_command", required=True)
    token = admin.add_parser("token", parents=data, help="print a new admin token")
    token.add_argument("--tenant", required=True, help="tenant id (ten_...; `oratio tenants` lists them)")
    token.add_argument("--admin", required=True, help="admin id (adm_...; `oratio admins --tenant ...` lists them)")
    token.add_argument("--ttl", type=_ttl, default=None, help="lifetime in seconds, up to ORATIO_JWT_MAX_TTL_SECONDS")
    token.set_defaults(run=_admin_token)
    for name, says in (
        ("disable", "refuse every token of an admin, at every door, until enabled"),
        ("enable", "let a disabled admin in again"),
        ("revoke", "refuse every token issued to an admin so far (mint a new one with `admin token`)"),
    ):
        access = admin.add_parser(name, parents=data, help=says)
        access.add_argument("--tenant", required=True, help="tenant id (ten_...)")
        access.add_argument("--admin", required=True, help="admin id (adm_...)")
        access.set_defaults(run=_admin_access)

    invite = admin.add_parser("invite", parents=data, help="email a person a single-use link to set a password")
    invite.add_argument("email", help="the person's email (they sign in to the dashboard with it)")
    invite.add_argument("--tenant", required=True, help="tenant id (ten_...)")
    invite.add_argument("--name", default=None, help="their name (default: the email's local part)")
    invite.set_defaults(run=_admin_invite)

    backfill = admin.add_parser(
        "backfill-stats", parents=data, help="count sessions analysed before the charts' daily totals existed"
    )
    backfill.set_defaults(run=_admin_backfill_stats)

    tenants = commands.add_parser("tenants", parents=data, help="list tenants (ids, names)")
    tenants.set_defaults(run=_tenants)
    admins = commands.add_parser("admins", parents=data, help="list a tenant's admins (ids, emails)")
    admins.add_argument("--tenant", required=True, help="tenant id (ten_...)")
    admins.set_defaults(run=_admins)

    serve = commands.add_parser(
        "serve",
        parents=data,
        help="serve Oratio over HTTP",
        description="Serve the dashboard, MCP, the agent runtime and the voice bridge on one port. Other settings "
        "are ORATIO_* environment variables (README, Configuration).",
    )
    _host_port(serve, "address to listen on")
    serve.set_defaults(run=_serve)

    mcp = commands.add_parser("mcp", parents=data, help="serve MCP over stdio (for Claude Desktop, Claude Code, IDEs)")
    mcp.add_argument(
        "--tenant", default=os.environ.get("ORATIO_MCP_TENANT"), help="tenant id (ten_...); env ORATIO_MCP_TENANT"
    )
    mcp.add_argument(
        "--admin", default=os.environ.get("ORATIO_MCP_ADMIN"), help="act as this admin (adm_...); env ORATIO_MCP_ADMIN"
    )
    mcp.set_defaults(run=_mcp)

    demo = commands.add_parser("demo", parents=data, help="create the example agent from its SOP and documents")
    demo.add_argument(
        "--example",
        type=Path,
        default=EXAMPLES / "acme_support",
        help="example agent folder, or a bundled example's name (acme_support, orders_desk)",
    )
    _host_port(demo, "where `oratio serve` will listen, for the closing hints")
    demo.set_defaults(run=_demo)
    _add_deploy_parser(commands)  # `oratio deploy aws --plan|--apply`: needs no local platform
    add_door_parser(commands)  # `oratio serve-door mcp|runtime|voice|creator`: one door alone
    return parser


def _add_deploy_parser(commands: argparse._SubParsersAction[Any]) -> None:
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


@contextmanager
def _served_example(args: argparse.Namespace, settings: Settings) -> Iterator[Settings]:
    """`oratio demo` of an example whose tools call its own service: that service runs for the whole demo."""
    if args.command != "demo":
        yield settings
        return
    with example_service(args.example, args.request, settings) as (request, served, origin):
        if origin is not None:
            print(f"{args.example.name}: the service its tools call runs on {origin}", flush=True)
        args.request = request
        yield served


EXISTING_DATA = frozenset({"admin", "mcp", "tenants", "admins"})
"""Commands that read an installation and must not create one."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # `--help` and usage errors end here, before the platform is imported
    from oratio.config import load_settings
    from oratio.datadir import prepare, private_umask
    from oratio.errors import ConfigError, NotFound, OratioError
    from oratio.models.choice import choose_model
    from oratio.models.gate import start_line
    from oratio.platform import open_platform
    from oratio_app.logs import configure_logging

    configure_logging(logging.INFO if args.verbose else logging.WARNING, "%(levelname)s %(name)s %(message)s")
    private_umask()  # every file this process creates (databases, WAL, blobs, keys) is the owner's only
    settings: Settings | None = None
    try:
        if args.command in ("deploy", "serve-door"):
            ran: int = args.deploy_run(args) if args.command == "deploy" else args.door_run(args)
            return ran
        settings = load_settings()
        if args.data_dir is not None:
            settings = settings.model_copy(update={"data_dir": args.data_dir})
        # Everything that can be wrong with the command line is found before anything is printed.
        if args.command == "mcp":
            _check_mcp_args(args)
        prepare(settings.data_dir, create=args.command not in EXISTING_DATA)
        if args.command == "demo":
            args.example = resolve_example(args.example, EXAMPLES)
            args.request = load_example(args.example)
            args.conversation = conversation(args.example, DEMO_CONVERSATION)
        if args.command == "serve":
            args.listener = bind_listener(args.host, args.port)
        if args.command in ("demo", "serve"):
            # ORATIO_MODEL > AWS credentials > a local GGUF > (demo only) the offline scripted model; said in one line.
            choice = choose_model(settings, fallback="scripted" if args.command == "demo" else None)
            print(choice.line(), file=sys.stderr, flush=True)
            settings = choice.apply(settings)
            args.model_source = choice.source
            if (problem := start_line(settings)) is not None:  # e.g. the provider's SDK or key is missing
                print(problem, file=sys.stderr, flush=True)
        with (
            _served_example(args, settings) as settings,
            open_platform(settings) as platform,
            holding_lease(platform, args.command),
        ):
            code: int = args.run(platform, args)
            return code
    except OratioError as exc:
        searched = ""
        if settings is not None and args.command in EXISTING_DATA and isinstance(exc, NotFound | ConfigError):
            searched = f" (data dir {settings.data_dir})" if str(settings.data_dir) not in exc.message else ""
        print(f"oratio: {exc.message}{searched}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
