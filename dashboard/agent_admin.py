"""Creating an agent from the page: the form's choices, the creation itself, its documents, an SOP file read
into the editor, and the build's progress.

Routes (all under /api/v1, an admin's bearer token or signed-in session, CSRF-checked on POST like every
dashboard route, `dashboard.credentials`; bodies read within `ORATIO_DASHBOARD_AGENT_BODY_BYTES`):

* `GET  /agent-options`: channels, voices, languages, the model names the operator allows, handoff defaults.
* `POST /agents`: the agent's name, SOP, channels, voice, model, handoff settings and HTTP tools -> stored
  `creating` (`AgentService.create`, as MCP's `create_agent`; the tools first pass `ToolService.check_tools`,
  the checks of MCP's `add_agent_tool`: schema, address policy, secrets by name), then built in the background
  unless `build` is false (the page first uploads the documents, then starts the build, so the test
  conversations see them).
* `POST /agents/{id}/documents`: one file (multipart) through `DocumentService.upload` and its limits;
  per-document status is `GET /agents/{id}/documents` (`dashboard.api`).
* `POST /sop-text`: an uploaded .md/.txt/.docx/.pdf SOP as text for the editor (`dashboard.sop_files`).
* `GET  /agents/{id}/creation`: the build's state, stages, review findings and test outcomes, read from the
  creation record the AgentCreator keeps current, so a reloaded page sees the build where it is.
* `POST /agents/{id}/creation`: start the build of an agent stored with `build: false`, or of a failed one.

Tenancy and scopes are the services' (`AgentService.get`/`buildable` before a record is read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import anyio.to_thread
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard import uploads
from dashboard.agent_http import path_id
from dashboard.api import NoQuery, agent_summary, document_summary
from dashboard.api import _parse as parse_model
from dashboard.context import DashboardServices
from dashboard.credentials import request_principal
from dashboard.sop_files import SOP_SUFFIXES, sop_text
from oratio.errors import Conflict, InvalidInput
from oratio.http_json import handles_errors
from oratio.services.creation import start_in_background
from oratio.services.creation_owner import NO_MODEL_CONFIGURED, WAITING_FOR_MODEL
from schemas import (
    Agent,
    AgentSpec,
    AgentStatus,
    AgentType,
    Channel,
    CreateAgent,
    CreationRecord,
    DocumentContent,
    DocumentFormat,
    HandoffConfig,
    HttpTool,
    Limits,
    Model,
    Principal,
    StageName,
    VoiceConfig,
)
from schemas.tools import TOOLS_PER_AGENT_MAX

__all__ = ["AgentAdminSettings", "NewAgent", "agent_admin_routes"]

T = TypeVar("T")
JSON_BYTES_MAX: Final = 1024 * 1024
"""A creation's JSON: an SOP of at most 100,000 characters (up to 4 bytes each in UTF-8, escaped), settings, and
up to 30 tools whose schemas are at most 16,000 characters each."""
DOCUMENT_SUFFIXES: Final = {
    ".pdf": DocumentFormat.PDF,
    ".md": DocumentFormat.MARKDOWN,
    ".markdown": DocumentFormat.MARKDOWN,
    ".txt": DocumentFormat.TEXT,
    ".html": DocumentFormat.HTML,
    ".htm": DocumentFormat.HTML,
}
VOICES: Final = ("default",)
"""The voice names an agent's spec may carry today; which engine speaks them is the operator's speech setting."""
LANGUAGES: Final = ("en-US", "fr-FR", "es-ES", "de-DE")
NO_BUILDER = (
    f"{NO_MODEL_CONFIGURED} on this server (set ORATIO_MODEL), so nobody can draft the plan; the agent is "
    "stored as it is. Set ORATIO_MODEL (ORATIO_MODEL=scripted to try offline), restart, and start its build again."
)


@dataclass(frozen=True)
class AgentAdminSettings:
    body_bytes: int = 26 * 1024 * 1024
    """`ORATIO_DASHBOARD_AGENT_BODY_BYTES`: the largest upload (document or SOP file) these routes read."""


class VoiceChoice(Model):
    voice: str = Field(default="default", max_length=64)
    language: str = Field(default="en-US", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")


class NewAgent(Model):
    """The New agent form: what `AgentSpec` needs from a person, channels as check boxes."""

    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=Limits.DESCRIPTION_MAX)
    sop: str = Field(max_length=Limits.SOP_MAX)
    channels: list[Channel] = Field(min_length=1, max_length=2, description="text, voice or both")
    voice: VoiceChoice = Field(default_factory=VoiceChoice)
    greeting: str | None = Field(default=None, max_length=500)
    model: str | None = Field(default=None, max_length=200)
    handoff: HandoffConfig = Field(default_factory=HandoffConfig)
    tools: list[HttpTool] = Field(
        default_factory=list,
        max_length=TOOLS_PER_AGENT_MAX,
        description="HTTP tools, as MCP's add_agent_tool takes them (secrets as {{secret:NAME}} references)",
    )
    build: bool = Field(default=True, description="Start the build now; false: documents are uploaded first")

    def spec(self) -> AgentSpec:
        channels = set(self.channels)
        kind = AgentType.BOTH if len(channels) == 2 else AgentType(next(iter(channels)).value)
        fields: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "sop": self.sop,
            "agent_type": kind,
            "voice": VoiceConfig(voice=self.voice.voice, language=self.voice.language),
            "text": {"greeting": self.greeting or None},
            "handoff": self.handoff,
            "model": self.model or None,
            "tools": self.tools,
        }
        return parse_model(AgentSpec, fields)


def agent_admin_routes(
    platform: DashboardServices, settings: AgentAdminSettings | None = None, public_url: str | None = None
) -> list[BaseRoute]:
    admin = AgentAdmin(platform, settings or AgentAdminSettings(), public_url)
    return [
        Route("/api/v1/agent-options", handles_errors(admin.options)),
        Route("/api/v1/agents", handles_errors(admin.create), methods=["POST"]),
        Route("/api/v1/agents/{agent_id}/documents", handles_errors(admin.upload), methods=["POST"]),
        Route("/api/v1/agents/{agent_id}/creation", handles_errors(admin.creation), methods=["GET", "POST"]),
        Route("/api/v1/sop-text", handles_errors(admin.sop_file), methods=["POST"]),
    ]


class AgentAdmin:
    def __init__(self, platform: DashboardServices, settings: AgentAdminSettings, public_url: str | None) -> None:
        self._p = platform
        self._settings = settings
        self._public_url = public_url

    async def options(self, request: Request) -> Response:
        """What the form offers; models are names from the operator's allow-list, never their endpoints."""
        principal = await self._principal(request)
        models, platform_model = await _run(lambda: self._p.agents.model_choices(principal))
        builder = self._p.builder
        return JSONResponse(
            {
                "channels": [c.value for c in Channel],
                "voices": list(VOICES),
                "languages": list(LANGUAGES),
                "models": models,
                "platform_model": platform_model,
                "can_build": builder is not None and builder.has_model,
                # The form starts with handoff on: most SOPs say when a person takes over, and with it off the
                # AgentCreator leaves those conditions out (a smoke-or-sparks rule included). On with no emails,
                # a handoff still alerts the dashboard. MCP's create_agent keeps the schema's default (off).
                "handoff": HandoffConfig(enabled=True).model_dump(mode="json"),
                "sop_max_chars": Limits.SOP_MAX,
                "sop_suffixes": list(SOP_SUFFIXES),
                "document_suffixes": sorted(DOCUMENT_SUFFIXES),
                "upload_bytes_max": self._settings.body_bytes,
            }
        )

    async def create(self, request: Request) -> Response:
        """Store the agent `creating` (201) and, unless `build` is false, start its build in the background.

        Its tools are checked first by the tool service (the one check of every door that saves a tool), so a
        tool MCP would refuse (a private address, a pasted token, a missing secret) stores nothing here either."""
        principal = await self._principal(request)
        form = parse_model(NewAgent, await uploads.json_body(request, min(JSON_BYTES_MAX, self._settings.body_bytes)))
        create = CreateAgent(spec=form.spec())
        await _run(lambda: self._p.agent_tools.check_tools(principal, create.spec.tools))
        agent = await _run(lambda: self._p.agents.create(principal, create))
        if form.build:
            agent = await self._start(agent)
        return JSONResponse(agent_summary(agent), status_code=201)

    async def upload(self, request: Request) -> Response:
        """One knowledge document (201 with its record, `ingesting` while it is indexed)."""
        principal = await self._principal(request)
        agent_id = _path_id(request)
        file = await uploads.one_file(request, self._settings.body_bytes)
        suffix = "." + file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
        kind = DOCUMENT_SUFFIXES.get(suffix)
        if kind is None:
            allowed = ", ".join(sorted(DOCUMENT_SUFFIXES))
            raise InvalidInput(f"'{file.name[:80]}' is not a document the agent can read; use {allowed}", field="file")
        if not file.content:
            raise InvalidInput(f"'{file.name[:80]}' is empty", field="file")
        content = parse_model(DocumentContent, {"name": file.name, "format": kind, "content": file.content})
        document = await _run(lambda: self._p.documents.upload(principal, agent_id, content))
        return JSONResponse(document_summary(document), status_code=201)

    async def sop_file(self, request: Request) -> Response:
        """An SOP file's text for the editor; nothing is stored."""
        await self._principal(request)
        file = await uploads.one_file(request, self._settings.body_bytes)
        found = await _run(lambda: sop_text(file.name, file.content))
        return JSONResponse({"name": file.name, "format": found.format, "text": found.text})

    async def creation(self, request: Request) -> Response:
        """GET: the build's progress. POST: start the build (202), for an agent waiting for it or failed."""
        principal = await self._principal(request)
        agent_id = _path_id(request)
        if request.method == "POST":
            agent = await _run(lambda: self._p.agents.buildable(principal, agent_id))
            if agent.status is AgentStatus.CREATING and await _run(lambda: self._building(agent)):
                raise Conflict(f"agent '{agent_id}' is being built already; follow its progress")
            agent = await self._start(agent)
            return JSONResponse(await _run(lambda: self._progress(agent)), status_code=202)
        agent = await _run(lambda: self._p.agents.get(principal, agent_id))
        return JSONResponse(await _run(lambda: self._progress(agent)))

    async def _start(self, agent: Agent) -> Agent:
        builder = self._p.builder
        if builder is None or not builder.has_model:
            reason = WAITING_FOR_MODEL + NO_BUILDER
            return await _run(lambda: self._p.agents.note(agent.tenant_id, agent.id, reason))
        start_in_background(builder, agent.tenant_id, agent.id)
        return agent

    def _building(self, agent: Agent) -> bool:
        return self._p.creations.owners.owner(agent.tenant_id, agent.id) is not None

    def _progress(self, agent: Agent) -> dict[str, Any]:
        """The agent's state for the progress view: the latest creation record's stages (every stage listed,
        `pending` until it starts), review findings and test outcomes."""
        record = self._p.creations.latest(agent.tenant_id, agent.id)
        return {
            "agent": agent_summary(agent),
            "state": _state(agent, record, self._building(agent)),
            "version": record.version if record else None,
            "stages": _stages(record),
            "reviews": [review.model_dump(mode="json") for review in record.reviews] if record else [],
            "tests": [test.model_dump(mode="json") for test in record.tests] if record else [],
            "succeeded": record.succeeded if record else None,
            "failure": record.failure if record else None,
        }

    async def _principal(self, request: Request) -> Principal:
        principal = await request_principal(self._p, request, self._public_url)
        parse_model(NoQuery, dict(request.query_params))
        return principal


def _state(agent: Agent, record: CreationRecord | None, building: bool) -> str:
    """live, paused, failed, building, or waiting (stored, no build running: not started or no model).

    A build whose record is still open is `building` whatever the agent's status: deploy makes the agent
    active a moment before the record says the deploy stage passed, and a rebuild runs on a live agent."""
    if building and (record is None or record.succeeded is None):
        return "building"
    if agent.status is AgentStatus.ACTIVE:
        return "live"
    if agent.status is AgentStatus.PAUSED:
        return "paused"
    if agent.status is AgentStatus.FAILED:
        return "failed"
    return "building" if building else "waiting"


def _stages(record: CreationRecord | None) -> list[dict[str, Any]]:
    seen = {stage.stage: stage for stage in record.stages} if record else {}
    out = []
    for name in StageName:
        stage = seen.get(name)
        out.append(
            {
                "stage": name.value,
                "status": stage.status.value if stage else "pending",
                "detail": stage.detail if stage else "",
                "started_at": stage.started_at.isoformat() if stage else None,
                "ended_at": stage.ended_at.isoformat() if stage and stage.ended_at else None,
            }
        )
    return out


async def _run(call: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(call)


def _path_id(request: Request) -> str:
    return path_id(request, "agent_id")
