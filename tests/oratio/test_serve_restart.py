"""`oratio serve` after a crash: sessions left active become interrupted before anything is served."""

from __future__ import annotations

import os
from pathlib import Path

from oratio.config import load_settings
from oratio.platform import open_platform
from schemas import AgentPlan, AgentSpec, Channel, CreateAgent, Principal, Scope, SessionStatus
from tests.crash import acknowledged_then_killed
from tests.net import free_port

SERVE = "import sys; from oratio_app.cli import main; sys.exit(main(['serve', '--port', sys.argv[1]]))"


def test_serve_marks_sessions_a_crash_left_active_as_interrupted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")} | {"ORATIO_DATA_DIR": str(tmp_path)}
    settings = load_settings({"ORATIO_DATA_DIR": str(tmp_path)})
    with open_platform(settings) as platform:
        tenant = platform.tenants.create_tenant("Acme")
        owner = Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))
        sop = "Answer politely and hand off refund requests over $100."
        agent = platform.agents.create(owner, CreateAgent(spec=AgentSpec(name="Desk", sop=sop)))
        platform.agents.deploy(tenant.tenant_id, agent.id, AgentPlan(persona="Desk", system_prompt=sop))
        session = platform.sessions.start(tenant.tenant_id, agent.id, Channel.TEXT)

    lines = acknowledged_then_killed(SERVE, 2, args=[str(free_port())], env=env)

    assert lines[0] == "after restart: 1 session(s) marked interrupted, 0 document(s) re-ingested"
    assert lines[1].startswith("Oratio listening on http://127.0.0.1:")
    with open_platform(settings) as platform:
        stored = platform.sessions.get(owner, session.id).session
    assert (stored.status, stored.end_reason) == (SessionStatus.INTERRUPTED, "platform restarted")
