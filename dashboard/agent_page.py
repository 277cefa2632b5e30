"""The agent page's API: one agent, its plan by section, versions and diffs, edits, restores, simulations and
the admin's own scenarios, pause and resume. Its keys, tools, secrets and test chat are in `dashboard.agent_access`.

The same services as MCP's tools (`get_agent_plan`, `edit_agent_plan`, `diff_agent_plan`, `add_scenario`,
`run_simulations`, `pause_agent`...), so tenancy, scopes and the lifecycle are decided once, in the core. An
edit or a restore is checked by `PlanService` before anything runs, answered 202 at once, and reviewed, tested
and deployed as a new version by the AgentCreator on its own thread (`start_revision_in_background`, shared
with MCP); the page follows it through `build` in `GET /api/v1/agents/{id}`. Every route authenticates an
admin (bearer token, or the signed-in person with the CSRF checks on writes); bad ids, versions and bodies
are 422, another tenant's agent 404.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard import agent_http as http
from dashboard.credentials import SignInAccess
from oratio.errors import InvalidState, NotFound
from oratio.http_json import handles_errors
from oratio.redaction import redact
from oratio.services import AgentService
from oratio.services.creation import AgentBuilder, start_revision_in_background
from oratio.services.creations import CreationService
from oratio.services.plans import PendingEdit, PlanService
from oratio.services.simulations import SimulationService
from schemas import Agent, Model
from schemas.plan_view import EditStarted, PlanEdit, PlanView
from schemas.simulation import Scenario

logger = logging.getLogger("dashboard.agent_page")

MAX_EDIT_BYTES = 64 * 1024
"""An edit carries at most the plan's editable fields: a 20,000-character prompt and bounded lists."""
MAX_SCENARIO_BYTES = 64 * 1024
"""A scenario: at most 10 customer messages of 2,000 characters, a goal, a persona and 10 assertions."""
NO_BUILDER = "this server has no AgentCreator attached, so an edited plan cannot be reviewed and deployed here"

SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("identity", "Who the agent is", ("persona", "greeting", "language", "model")),
    ("instructions", "Instructions", ("system_prompt",)),
    ("collect", "Information to collect", ("information_to_collect",)),
    ("handoff", "Handoff to a person", ("handoff_enabled", "handoff_rules", "handoff_judgement", "handoff_message")),
    ("closing", "Closing", ("closing_message",)),
    ("knowledge", "Knowledge and tools", ("knowledge_k", "tools", "actions", "action_map")),
    ("notes", "Internal notes", ("internal_notes",)),
)
"""How the page groups a plan's fields; `editable` says which of them an edit may change (`PlanEdit`)."""
EDITABLE = tuple(PlanEdit.model_fields)


class AgentPageAccess(SignInAccess, Protocol):
    """What these routes use; a `Platform` satisfies it (names are its members')."""

    @property
    def agents(self) -> AgentService: ...

    @property
    def plans(self) -> PlanService: ...

    @property
    def creations(self) -> CreationService: ...

    @property
    def simulations(self) -> SimulationService: ...

    @property
    def builder(self) -> AgentBuilder | None: ...


class PlanChange(Model):
    """The body of `POST /api/v1/agents/{id}/plan`: the fields to change and the version they were read from."""

    changes: PlanEdit
    base_version: int | None = Field(default=None, ge=1, le=1_000_000)


class NewScenario(Model):
    """The body of `POST /api/v1/agents/{id}/scenarios`: one scenario of the admin's, as MCP's `add_scenario`."""

    scenario: Scenario


class RestoreBody(Model):
    """The body of `POST .../versions/{n}/restore`: the version the admin saw serving (optional)."""

    base_version: int | None = Field(default=None, ge=1, le=1_000_000)


def agent_page_routes(platform: AgentPageAccess, public_url: str | None = None) -> list[BaseRoute]:
    api = _AgentPageApi(platform, public_url)
    base = "/api/v1/agents/{agent_id}"
    return [
        Route(base, handles_errors(api.agent), methods=["GET"]),
        Route(f"{base}/versions", handles_errors(api.versions), methods=["GET"]),
        Route(f"{base}/versions/{{a}}/diff/{{b}}", handles_errors(api.diff), methods=["GET"]),
        Route(f"{base}/versions/{{version}}/restore", handles_errors(api.restore), methods=["POST"]),
        Route(f"{base}/plan", handles_errors(api.edit), methods=["POST"]),
        Route(f"{base}/simulations", handles_errors(api.simulations), methods=["GET", "POST"]),
        Route(f"{base}/scenarios", handles_errors(api.add_scenario), methods=["POST"]),
        Route(f"{base}/pause", handles_errors(api.pause), methods=["POST"]),
        Route(f"{base}/resume", handles_errors(api.resume), methods=["POST"]),
    ]


class _AgentPageApi:
    def __init__(self, platform: AgentPageAccess, public_url: str | None) -> None:
        self._p = platform
        self._public_url = public_url

    async def agent(self, request: Request) -> Response:
        """The agent (its spec redacted, its tools elsewhere), its serving plan by section, the attempt in
        progress or last failed (`build`), and its versions. `plan` is null while nothing is deployed."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        agent = await http.run(lambda: self._p.agents.get(principal, agent_id))
        view: PlanView | None = None
        if agent.artifact_version is not None:
            view = await http.run(lambda: self._p.plans.view(principal, agent_id))
        build = await http.run(lambda: self._attempt(agent))
        return JSONResponse(
            {
                "agent": agent_view(agent),
                "plan": None if view is None else http.dump(view),
                "sections": [{"id": s, "title": t, "fields": list(f)} for s, t, f in SECTIONS],
                "editable": list(EDITABLE),
                "build": build,
                "charts": f"#charts?agent={agent.id}",
            }
        )

    async def versions(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        agent = await http.run(lambda: self._p.agents.get(principal, agent_id))
        if agent.artifact_version is None:  # nothing deployed yet: an empty list, not an error
            return JSONResponse({"agent_id": agent.id, "current_version": None, "versions": []})
        return JSONResponse(http.dump(await http.run(lambda: self._p.plans.versions(principal, agent_id))))

    async def diff(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        a, b = http.path_int(request, "a"), http.path_int(request, "b")
        return JSONResponse(http.dump(await http.run(lambda: self._p.plans.diff(principal, agent_id, a, b))))

    async def edit(self, request: Request) -> Response:
        """Check the edit and start its review, tests and deploy: 202 with the version it will become."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        change = await http.body(request, PlanChange, MAX_EDIT_BYTES)
        builder = self._builder()
        edit = await http.run(lambda: self._p.plans.edit(principal, agent_id, change.changes, change.base_version))
        return self._started(builder, edit)

    async def restore(self, request: Request) -> Response:
        """Bring an older version back as a new one (reviewed and tested again): 202, as an edit."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        version = http.path_int(request, "version")
        base = (await http.body(request, RestoreBody, 1024)).base_version
        builder = self._builder()
        edit = await http.run(lambda: self._p.plans.restore(principal, agent_id, version, base))
        return self._started(builder, edit, restored=version)

    async def simulations(self, request: Request) -> Response:
        """GET: the serving version's last report (null when none ran) and the scenarios; POST: run them again
        (bounded per tenant by `SimulationService.run_slot`) and answer the stored report."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        sims = self._p.simulations
        if request.method == "POST":
            builder = self._builder()
            _, plan, version = await http.run(lambda: sims.plan(principal, agent_id, None))
            async with sims.run_slot(principal.tenant_id):
                report = await builder.simulate(principal.tenant_id, agent_id, plan, version)
            await http.run(lambda: sims.store_report(principal.tenant_id, agent_id, report))
            return JSONResponse({"report": http.dump(report)}, status_code=201)
        agent = await http.run(lambda: self._p.agents.get(principal, agent_id))

        def latest() -> dict[str, Any]:
            try:
                report: dict[str, Any] | None = http.dump(sims.report(principal, agent.id))
            except NotFound:
                report = None  # never simulated (or nothing deployed): the page says so
            scenarios = [http.dump(s) for s in sims.scenarios(principal, agent.id)]
            return {"report": report, "scenarios": scenarios}

        return JSONResponse(await http.run(latest))

    async def add_scenario(self, request: Request) -> Response:
        """Add a scenario of the admin's (201): held from the next build or run on (`SimulationService.add`,
        as MCP's `add_scenario`: a taken id is 409, a full book 422)."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        new = await http.body(request, NewScenario, MAX_SCENARIO_BYTES)
        added = await http.run(lambda: self._p.simulations.add(principal, agent_id, new.scenario))
        return JSONResponse(http.dump(added), status_code=201)

    async def pause(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        return JSONResponse(agent_view(await http.run(lambda: self._p.agents.pause(principal, agent_id))))

    async def resume(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        return JSONResponse(agent_view(await http.run(lambda: self._p.agents.resume(principal, agent_id))))

    def _builder(self) -> AgentBuilder:
        builder = self._p.builder
        if builder is None:
            raise InvalidState(NO_BUILDER)
        return builder

    def _started(self, builder: AgentBuilder, edit: PendingEdit, restored: int | None = None) -> Response:
        start_revision_in_background(builder, edit)
        started = EditStarted(
            agent_id=edit.agent.id,
            base_version=edit.base_version,
            attempted_version=edit.base_version + 1,
            changed_fields=edit.changed,
            status="building",
        )
        return JSONResponse({**http.dump(started), "restored_version": restored}, status_code=202)

    def _attempt(self, agent: Agent) -> dict[str, Any] | None:
        """The AgentCreator's run for the version after the serving one: in progress (`succeeded` null), or
        the last one that failed (the serving version stays); None when there is none."""
        try:
            record = self._p.creations.load(agent.tenant_id, agent.id, (agent.artifact_version or 0) + 1)
        except NotFound:
            return None
        except ValidationError:  # a record this version cannot read: the page shows the agent without it
            logger.warning("tenant=%s agent=%s | unreadable creation record", agent.tenant_id, agent.id)
            return None
        stage = record.stages[-1] if record.stages else None
        return {
            "version": record.version,
            "succeeded": record.succeeded,
            "failure": record.failure,
            "stage": None if stage is None else {"name": str(stage.stage), "status": stage.status.value},
            "started_at": record.started_at.isoformat(),
        }


def agent_view(agent: Agent) -> dict[str, Any]:
    """The agent as the page shows it: status and configuration, secrets redacted, tools listed elsewhere."""
    spec = redact(agent.spec).model_dump(mode="json", exclude={"tools"})
    return {
        "id": agent.id,
        "name": agent.name,
        "status": agent.status.value,
        "status_reason": agent.status_reason,
        "artifact_version": agent.artifact_version,
        "created_at": agent.created_at.isoformat(),
        "updated_at": agent.updated_at.isoformat(),
        "spec": spec,
    }
