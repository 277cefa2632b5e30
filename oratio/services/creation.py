"""The seam between the platform and the AgentCreator that builds agents.

The core does not import the AgentCreator (it is a door, like MCP); the process entry point
attaches one (`oratio.platform.Platform.with_builder`) and doors that create or update agents
(MCP tools, the CLI) start builds through this Protocol.

A builder thinks (parses the SOP, drafts and reviews the plan) with a model. That model is the
server's own when one is configured (`has_model`); otherwise a door may lend one for a build, e.g.
the MCP client's own model through sampling (`thinking`). A lent model that must wait for an answer
from elsewhere raises `AnswerPending`, which a builder lets through untouched.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

import anyio

from schemas import AgentPlan, CreationRecord
from schemas.simulation import SimulationReport

if TYPE_CHECKING:  # no Strands at import: the platform (and `oratio mcp`) start without it
    from strands.models import Model

    from oratio.services.plans import PendingEdit

Progress = Callable[[int, int, str], Awaitable[None]]
"""(stages done, stages in all, what happened): MCP progress notifications, CLI lines."""

ThinkingModels = Callable[[], "Model"]
"""Builds the model for one of the builder's thinking calls (a fresh one per call)."""


class AnswerPending(Exception):
    """A lent thinking model has put a question that is answered outside this call (MCP input-required rounds).

    Not an OratioError on purpose: builders must not turn it into a failed creation.
    """

    def __init__(self, question: object) -> None:
        super().__init__("the thinking model is waiting for an answer")
        self.question = question


class AgentBuilder(Protocol):
    @property
    def has_model(self) -> bool:
        """Whether builds can think on the server's own model; if not, each build needs `thinking`."""
        ...

    async def create(
        self,
        tenant_id: str,
        agent_id: str,
        progress: Progress | None = None,
        *,
        thinking: ThinkingModels | None = None,
    ) -> CreationRecord:
        """Build, review, test and deploy the agent's current spec; the record says how it went.

        With `thinking`, that model parses, drafts and reviews, and the agent's test conversations run
        on the model that will serve its customers.
        """
        ...

    async def think(self, tenant_id: str, agent_id: str, thinking: ThinkingModels) -> None:
        """Only the thinking stages, writing nothing: raises AnswerPending while `thinking` has questions.

        Lets a door collect a lent model's answers one round at a time before `create` runs for real.
        """
        ...

    def records(self, tenant_id: str, agent_id: str) -> list[CreationRecord]:
        """Every creation run of the agent, oldest first."""
        ...

    async def revise(
        self,
        tenant_id: str,
        agent_id: str,
        plan: AgentPlan,
        progress: Progress | None = None,
        *,
        base_version: int | None = None,
    ) -> CreationRecord:
        """Review, test and deploy an admin-edited plan as a new version; the serving one stays on failure.

        `base_version`: the version the edit was made on; if another version serves by the time the build
        runs, the edit is refused (recorded), never deployed over a change its author did not see.
        """
        ...

    async def simulate(self, tenant_id: str, agent_id: str, plan: AgentPlan, version: int) -> SimulationReport:
        """Run the agent's scenarios (derived from `plan` and its last parsed SOP, plus the admin's) on
        `plan`, on the agent's serving model; returns the report (the caller stores it)."""
        ...


def build_thread_name(agent_id: str) -> str:
    """The name of the thread a background build of `agent_id` runs on (tests wait for it by name)."""
    return f"build-{agent_id}"


def start_in_background(builder: AgentBuilder, tenant_id: str, agent_id: str) -> None:
    """Run a build on its own thread and event loop, so it outlives the request that asked for it.

    One place for every door that starts builds (MCP tools, the dashboard): the build's progress is on the
    event log and in its creation record, not on the request."""
    thread = threading.Thread(
        target=anyio.run, args=(builder.create, tenant_id, agent_id), name=build_thread_name(agent_id), daemon=True
    )
    thread.start()


def start_revision_in_background(builder: AgentBuilder, edit: PendingEdit) -> None:
    """Review, test and deploy `edit` on its own thread and loop, as the version after its base (refused there
    if another came first); like `start_in_background`, it outlives the request that asked for it."""
    revise = functools.partial(builder.revise, base_version=edit.base_version)
    thread = threading.Thread(
        target=anyio.run,
        args=(revise, edit.agent.tenant_id, edit.agent.id, edit.plan),
        name=build_thread_name(edit.agent.id),
        daemon=True,
    )
    thread.start()
