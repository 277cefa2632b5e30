"""A turn the session service acknowledged survives kill -9 of its process (embedded backend).

The writer is a real child process that opens the platform from the environment, exactly as the
CLI does, and appends turns forever, printing each seq only after `append_turn` returned. It is
SIGKILLed mid-loop, so nothing on its side can flush or close: only acknowledged writes count.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oratio.config import load_settings
from oratio.platform import open_platform
from schemas import Principal, Role, Scope, SessionStatus
from tests.crash import acknowledged_then_killed

ACKED = 30

_WRITER = """
from oratio.config import load_settings
from oratio.platform import open_platform
from schemas import AgentSpec, AgentStatus, Channel, CreateAgent, Principal, Role

with open_platform(load_settings()) as platform:
    tenant = platform.tenants.create_tenant("Durable")
    admin = platform.tenants.create_admin(tenant.tenant_id, "ops@durable.example", "Ops")
    owner = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
    sop = "Answer every question politely and briefly."
    agent = platform.agents.create(owner, CreateAgent(spec=AgentSpec(name="Desk", sop=sop)))
    platform.agents.transition(tenant.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    session = platform.sessions.start(tenant.tenant_id, agent.id, Channel.TEXT)
    print(tenant.tenant_id, admin.id, session.id, flush=True)
    n = 0
    while True:
        n += 1
        turn = platform.sessions.append_turn(tenant.tenant_id, session.id, Role.CUSTOMER, f"turn {n}")
        print(turn.seq, flush=True)
"""


def test_acknowledged_turns_survive_sigkill(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")} | {"ORATIO_DATA_DIR": str(tmp_path)}
    # The ids line, then one line per acknowledged turn.
    received = acknowledged_then_killed(_WRITER, ACKED + 1, env=env)
    tenant_id, admin_id, session_id = received[0].split()
    acked = [int(line) for line in received[1:]]
    assert acked == list(range(1, ACKED + 1))

    owner = Principal(tenant_id=tenant_id, subject=admin_id, scopes=frozenset({Scope.ADMIN}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ORATIO_DATA_DIR", str(tmp_path))
        settings = load_settings()
    with open_platform(settings) as platform:
        turns = platform.sessions.get(owner, session_id).turns
        # Every acknowledged turn is there, intact. The writer ran on while we read, so later
        # turns may exist too; whatever is there is whole and gapless.
        assert len(turns) >= ACKED
        assert [(t.seq, t.text) for t in turns[:ACKED]] == [(n, f"turn {n}") for n in acked]
        assert [(t.seq, t.text) for t in turns] == [(n, f"turn {n}") for n in range(1, len(turns) + 1)]
        assert {t.role for t in turns} == {Role.CUSTOMER}
        # The restarted platform finds the session the crash left open, and the file is writable.
        assert platform.sessions.interrupt_orphans() == 1
        assert platform.sessions.get(owner, session_id).session.status is SessionStatus.INTERRUPTED
