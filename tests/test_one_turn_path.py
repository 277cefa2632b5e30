"""One turn path, enforced from the source alone (an AST scan; nothing is imported).

Text (`oratio/runtime/engine.py`), voice (`voice_bridge/call.py`, `voice_bridge/nova_sonic.py`) and the
creator's simulations must settle a turn's outcome through `oratio.runtime.settle` and open sessions
through `SessionService.open_or_continue`, and build service principals with `service_principal`. A
door that calls the handoff service, stores collected fields, ends a session, or starts/continues a
session itself would write the rules a second time; this scan names the file and line that does.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("oratio", "voice_bridge", "creator_agent", "agentcore_apps", "mcp_server", "dashboard", "deploy")
SETTLE = "oratio/runtime/settle.py"
SESSIONS = "oratio/services/sessions.py"
PRINCIPALS = "oratio/auth/principals.py"
TURN_PATH = (
    "oratio/runtime/",
    "oratio/services/sessions.py",
    "voice_bridge/",
    "creator_agent/simulation/",
    "creator_agent/pipeline.py",
)
"""Where a hand-built `Principal(...)` is refused: the turn path and the pipeline's service identity."""


def _owner(node: ast.expr) -> str:
    """The last name in `a.b.c` (`c`), or "" for anything else."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def findings(relative: str, source: str) -> list[str]:
    """Every settlement, session-opening or hand-built principal call in one file that is not its one home."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        where = f"{relative}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Principal":
            if relative.startswith(TURN_PATH):
                found.append(f"{where} builds a Principal by hand (use service_principal)")
        if not isinstance(node, ast.Attribute):
            continue  # attributes, called or not: `run_sync(sessions.end, ...)` counts as a call
        owner = _owner(node.value).lstrip("_")
        settles = (
            (node.attr == "request" and owner in {"handoff", "handoffs"})
            or node.attr == "record_collected"
            or (node.attr == "end" and owner == "sessions")
        )
        if settles and relative != SETTLE:
            found.append(f"{where} settles a turn outcome itself ({node.attr}; use oratio.runtime.settle)")
        opens = node.attr == "continued" or (node.attr == "start" and owner == "sessions")
        if opens and relative != SESSIONS:
            found.append(f"{where} opens a session itself ({node.attr}; use SessionService.open_or_continue)")
    return found


def test_turn_outcomes_are_settled_and_sessions_opened_in_one_place() -> None:
    problems: list[str] = []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            problems += findings(relative, path.read_text())
    assert problems == []


def test_the_scan_sees_a_door_that_settles_or_opens_by_itself() -> None:
    door = """
def finish(platform, sessions, call, outcome):
    platform.handoff.request(call.tenant_id, call.session_id, "why")
    self._handoffs.request(call.tenant_id, call.session_id, "why")
    platform.sessions.record_collected(call.tenant_id, call.session_id, outcome.collected)
    anyio.to_thread.run_sync(self._sessions.end, call.tenant_id, call.session_id, "bye")
    sessions.start(call.tenant_id, call.agent_id, "voice")
    platform.sessions.continued(call.tenant_id, call.agent_id, call.session_id)
    reader = Principal(tenant_id=call.tenant_id, subject="oratio-voice", scopes=frozenset())
"""
    found = findings("voice_bridge/door.py", door)

    assert sorted(line.split(" ", 1)[0] for line in found) == [f"voice_bridge/door.py:{n}" for n in range(3, 10)]


def test_the_homes_themselves_are_allowed() -> None:
    assert findings(SETTLE, "effects.handoffs.request(t, s, r)\nself.sessions.end(t, s, r)") == []
    assert findings(SESSIONS, "self.continued(t, a, s)") == []
    assert findings(PRINCIPALS, "Principal(tenant_id=t, subject=s, scopes=x)") == []
