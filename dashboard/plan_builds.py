"""Starting the AgentCreator from the agent page: a plan edit or restore, a rebuild after a tool change.

A build reviews, tests and deploys, which takes longer than a request should wait, so it runs on its own
thread and event loop and outlives the request (as MCP's `wait=false`); the serving version keeps
serving meanwhile, and if the build fails. The page follows it through the agent's creation record.
"""

from __future__ import annotations

import functools
import threading

import anyio

from oratio.services.creation import AgentBuilder
from oratio.services.plans import PendingEdit

__all__ = ["start_rebuild", "start_revision"]


def _thread_name(agent_id: str) -> str:
    return f"build-{agent_id}"


def start_revision(builder: AgentBuilder, edit: PendingEdit) -> None:
    """Review, test and deploy `edit` as the version after its base (refused there if another came first)."""
    revise = functools.partial(builder.revise, base_version=edit.base_version)
    thread = threading.Thread(
        target=anyio.run,
        args=(revise, edit.agent.tenant_id, edit.agent.id, edit.plan),
        name=_thread_name(edit.agent.id),
        daemon=True,
    )
    thread.start()


def start_rebuild(builder: AgentBuilder, tenant_id: str, agent_id: str) -> None:
    """Build the agent's current spec again (after its tools changed); the serving version stays until then."""
    thread = threading.Thread(
        target=anyio.run, args=(builder.create, tenant_id, agent_id), name=_thread_name(agent_id), daemon=True
    )
    thread.start()
