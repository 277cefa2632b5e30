"""Who is building an agent, so a restart can tell an interrupted creation from a live one.

A build writes an owner record (host, boot id, pid and the pid's start time) beside the agent's
artifacts when it starts and removes it when it ends. After a kill -9 the record stays, naming a
process that is gone; `recover_interrupted_creations` (run once at start) ends those agents
`failed` with a reason the admin can act on (`retry_creation`). A creation whose owner is alive,
e.g. in another `oratio serve` on the same data dir, is never touched: liveness is the pid *and*
its start time (a reused pid is a different process), and a different boot id means the machine
restarted. An owner on another host cannot be checked from here and is left alone; leases with a
heartbeat are the scale-out answer.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError

from oratio.errors import InvalidState, NotFound
from oratio.services._common import Backends, all_items
from oratio.services.agents import AgentService
from oratio.store.tables import AGENTS
from schemas import AgentStatus, Model

logger = logging.getLogger("oratio.creation")

INTERRUPTED = "creation was interrupted (server restart); retry with retry_creation / update_agent"
WAITING_FOR_MODEL = "waiting for a model: "
"""status_reason prefix of an agent stored while nobody can build it (no model, no sampling client)."""
NO_MODEL_CONFIGURED = "no model is configured"
"""What the reason of an agent stored for want of a server model says (dashboard and MCP alike); an agent that waits
for a sampling client's answer says otherwise and is left alone."""
MODEL_NOW = (
    WAITING_FOR_MODEL + "a model is configured now; start the build (dashboard: Start the build; MCP: update_agent)"
)
UNOWNED_GRACE = timedelta(minutes=2)
"""A `creating` agent with no owner record is interrupted only once this old: a live process may be
between storing the agent and starting its build."""


class CreationOwner(Model):
    host: str
    boot_id: str
    pid: int
    pid_start: str


def owner_key(tenant_id: str, agent_id: str) -> str:
    return f"{tenant_id}/agents/{agent_id}/creation-owner.json"  # not under creations/: those are records


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def _pid_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "unknown"
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else "unknown"


def this_process() -> CreationOwner:
    pid = os.getpid()
    return CreationOwner(host=socket.gethostname(), boot_id=_boot_id(), pid=pid, pid_start=_pid_start(pid) or "")


@dataclass(frozen=True)
class Liveness:
    """Is the owner's process gone? Answers only for this host; None means it cannot tell."""

    me: CreationOwner

    def gone(self, owner: CreationOwner) -> bool | None:
        if owner.host != self.me.host:
            return None
        if owner.boot_id != self.me.boot_id and "unknown" not in (owner.boot_id, self.me.boot_id):
            return True
        started = _pid_start(owner.pid)
        if started is None:
            return True
        return started != owner.pid_start and "unknown" not in (started, owner.pid_start)


class CreationOwners:
    """The owner records, kept in blob storage beside each agent's creation records."""

    def __init__(self, backends: Backends) -> None:
        self._b = backends

    def claim(self, tenant_id: str, agent_id: str) -> None:
        body = this_process().model_dump_json().encode()
        self._b.blobs.put(owner_key(tenant_id, agent_id), body, content_type="application/json")

    def release(self, tenant_id: str, agent_id: str) -> None:
        self._b.blobs.delete(owner_key(tenant_id, agent_id))

    def owner(self, tenant_id: str, agent_id: str) -> CreationOwner | None:
        try:
            raw = self._b.blobs.get(owner_key(tenant_id, agent_id))
        except NotFound:
            return None
        try:
            return CreationOwner.model_validate_json(raw)
        except ValidationError:
            return None  # a torn write: nobody can be shown to own it


def recover_interrupted_creations(backends: Backends, agents: AgentService) -> int:
    """At start: end `failed` every creation whose building process is gone. Returns how many."""
    owners = CreationOwners(backends)
    alive = Liveness(this_process())
    now = backends.clock()
    count = 0
    for agent in all_items(backends.store, AGENTS, AgentStatus.CREATING.value, index="creating"):
        owner = owners.owner(agent.tenant_id, agent.id)
        if owner is None:
            waiting = (agent.status_reason or "").startswith(WAITING_FOR_MODEL)
            if waiting or now - agent.updated_at < UNOWNED_GRACE:
                continue
        elif not alive.gone(owner):
            continue
        try:
            agents.transition(agent.tenant_id, agent.id, AgentStatus.FAILED, reason=INTERRUPTED)
        except InvalidState:
            continue  # it finished meanwhile
        owners.release(agent.tenant_id, agent.id)
        logger.warning("tenant=%s agent=%s | interrupted creation marked failed", agent.tenant_id, agent.id)
        count += 1
    return count


def note_model_now_configured(backends: Backends, agents: AgentService) -> int:
    """At start with a model: agents stored while the server had none stop telling the admin to set
    ORATIO_MODEL and restart (done) and say to start the build. Not started here: a build costs model calls
    the admin may not want any more, and replicas starting at once would race to start it. Returns how many."""
    count = 0
    for agent in all_items(backends.store, AGENTS, AgentStatus.CREATING.value, index="creating"):
        reason = agent.status_reason or ""
        if not (reason.startswith(WAITING_FOR_MODEL) and NO_MODEL_CONFIGURED in reason):
            continue
        try:
            agents.note(agent.tenant_id, agent.id, MODEL_NOW)
        except (InvalidState, NotFound):
            continue  # its build started, or it went, meanwhile
        count += 1
    return count


__all__ = [
    "INTERRUPTED",
    "MODEL_NOW",
    "NO_MODEL_CONFIGURED",
    "WAITING_FOR_MODEL",
    "CreationOwner",
    "CreationOwners",
    "Liveness",
    "note_model_now_configured",
    "recover_interrupted_creations",
    "this_process",
]
