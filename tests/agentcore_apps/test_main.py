"""`python -m oratio_app serve-door runtime` is the AgentCore container command: ORATIO_* config, /ping, /invocations.

The process is started for real (a subprocess on a free 127.0.0.1 port, `ORATIO_MODEL=scripted`),
awaited with a bounded poll of /ping, talked to, and stopped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from oratio.config import load_settings
from oratio.platform import open_platform
from tests.net import free_port
from tests.support.platforms import JWT_SECRET
from tests.support.processes import running
from tests.support.tenants import mint, new_agent, new_tenancy

STARTUP_TIMEOUT = 30.0


def test_the_container_entrypoint_serves_agents(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ORATIO_DATA_DIR": str(tmp_path),
        "ORATIO_JWT_SECRET": JWT_SECRET,
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_MODEL": "scripted",
    }
    with open_platform(load_settings({k: v for k, v in env.items() if k.startswith("ORATIO_")})) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
    port = free_port()
    command = [sys.executable, "-m", "oratio_app", "serve-door", "runtime", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "runtime.log"
    base = f"http://127.0.0.1:{port}"
    ready = f"{base}/ping"
    with (
        log.open("wb") as output,
        running(
            command, ready_url=ready, ready_timeout_s=STARTUP_TIMEOUT, env=env, stdout=output, stderr=subprocess.STDOUT
        ),
    ):
        assert httpx.get(f"{base}/ping", timeout=10.0).json()["status"] == "Healthy"
        reply = httpx.post(
            f"{base}/invocations",
            json={"agent_id": agent.id, "message": "hello"},
            headers={"X-Api-Key": secret},
            timeout=30.0,
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["reply"]


def test_a_bad_configuration_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "ORATIO_DATA_DIR": str(tmp_path), "ORATIO_STORE": "postgres"}
    done = subprocess.run(
        [sys.executable, "-m", "oratio_app", "serve-door", "runtime", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "ORATIO_STORE" in done.stderr
    assert "Traceback" not in done.stderr
