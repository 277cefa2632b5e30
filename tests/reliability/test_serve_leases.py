"""Two `oratio serve` processes on one data dir: recovery is lease-based (docs/recovery.md).

Threat: a second start (an operator's mistake, or a scale-out replica) marked the first process's
live conversations `interrupted`, cutting customers off. Now a session is recovered only when the
process that serves it has no live lease, and the second start says which process it found.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from oratio.config import load_settings
from oratio.platform import open_platform
from schemas import SessionStatus
from tests.reliability.serve import LINE_TIMEOUT_S, clean_env, oratio_serve
from tests.reliability.world import new_side

SETTINGS = {
    "ORATIO_JWT_SECRET": "k" * 40,
    "ORATIO_MODEL": "scripted",
    "ORATIO_EMBEDDINGS": "false",
    "ORATIO_LEASE_TTL_SECONDS": "1.5",  # tiny, so the kill -9 case recovers within the test
}


def test_a_second_serve_leaves_live_sessions_alone_and_recovers_them_once_the_first_dies(tmp_path: Path) -> None:
    env = SETTINGS | {"ORATIO_DATA_DIR": str(tmp_path / "data")}
    settings = load_settings(env)
    with open_platform(settings) as platform:
        side = new_side(platform, "Acme")
    path = f"/runtime/agents/{side.agent.id}/invocations"

    with oratio_serve(clean_env(**env), tmp_path / "first.log") as first:
        with httpx.Client(base_url=first.base_url, timeout=30.0, headers={"X-Api-Key": side.secret}) as http:
            reply = http.post(path, json={"message": "What are your opening hours?"})
        assert reply.status_code == 200, reply.text
        session_id = reply.json()["session_id"]

        with oratio_serve(clean_env(**env), tmp_path / "second.log") as second:
            notice = second.wait_line("another Oratio process already serves ")
            assert f"pid {first.process.pid} " in notice and str(tmp_path / "data") in notice
            with open_platform(settings) as platform:
                live = platform.sessions.get(side.principal, session_id).session
            assert live.status is SessionStatus.ACTIVE  # the second start did not touch it

            # The first process can still continue its conversation: nothing was cut off.
            with httpx.Client(base_url=first.base_url, timeout=30.0, headers={"X-Api-Key": side.secret}) as http:
                again = http.post(path, json={"message": "And on Sundays?", "session_id": session_id})
            assert again.status_code == 200, again.text

            first.kill()
            first.process.wait(timeout=LINE_TIMEOUT_S)
            recovered = second.wait_line("recovered: ")  # printed by the second's lease heartbeat
            assert recovered.startswith("recovered: 1 session(s)"), recovered
            with open_platform(settings) as platform:
                ended = platform.sessions.get(side.principal, session_id).session
            assert (ended.status, ended.end_reason) == (SessionStatus.INTERRUPTED, "platform restarted")


def test_a_single_serve_prints_no_other_process_line(tmp_path: Path) -> None:
    env = SETTINGS | {"ORATIO_DATA_DIR": str(tmp_path / "data")}
    with oratio_serve(clean_env(**env), tmp_path / "only.log") as server:
        token = server.wait_line("Admin token (")
    assert token
    server.process.wait(timeout=LINE_TIMEOUT_S)
    printed = server.lines
    rest: list[str] = []
    while not printed.empty():
        line = printed.get_nowait()
        if line is not None:
            rest.append(line)
    assert not any(line.startswith("another Oratio process") for line in rest)
