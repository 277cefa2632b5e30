"""Where the bridge is served: mounted at /voice by `oratio serve`, and alone by `serve-door voice`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect

from oratio.config import load_settings
from oratio.platform import Platform, open_platform
from oratio_app.web import create_app
from tests.net import free_port, uvicorn_in_thread
from tests.support.platforms import JWT_SECRET
from tests.support.processes import running
from tests.support.tenants import mint, new_agent, new_tenancy
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from tests.voice_bridge.doubles import silence
from voice_bridge.settings import load_voice_settings

pytestmark = pytest.mark.anyio


def tone(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (4000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()


async def scripted_call(base: str, agent_id: str, secret: str) -> None:
    """One spoken turn with the scripted backend (a tone is an utterance; it is heard as "Utterance 1.")."""
    async with voice_client(f"{base}/voice/{agent_id}") as client:
        ready = await client.start(secret)
        assert ready["backend"] == "scripted", ready
        await client.send_audio(tone(0.5) + silence(1.0))
        await client.until(lambda h: bool(h.transcripts("agent")))
        await client.end()
        heard = await client.closed()
    assert heard.transcripts("customer") == ["Utterance 1."]
    assert heard.close_code == 1000 and len(heard.audio) > 0


async def test_oratio_serve_serves_voice_calls_and_the_page(
    platform: Platform, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORATIO_VOICE_BACKEND", "scripted")
    build = lambda port: create_app(platform, host="127.0.0.1", port=port)  # noqa: E731
    with uvicorn_in_thread(build) as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            page = await http.get("/voice/client")
            assert page.status_code == 200 and '<script src="client/client.js"' in page.text
            # No inline script runs on the page: only its own files, which it is served with.
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert "<script>" not in page.text
            script = await http.get("/voice/client/client.js")
            assert script.status_code == 200 and "getUserMedia" in script.text
            assert script.headers["content-type"].startswith("text/javascript")
            assert (await http.get("/voice/client/capture.js")).status_code == 200
            assert (await http.get("/voice/client/client.css")).headers["content-type"].startswith("text/css")
            for name in ("app.py", "..%2Fapp.py", "client.html", "../../pyproject.toml"):
                missing = await http.get(f"/voice/client/{name}")
                assert missing.status_code == 404 and missing.json()["error"] == "not_found", name
            assert (await http.get("/healthz")).json() == {"status": "ok"}
        await scripted_call(f"ws://127.0.0.1:{port}", world.agent.id, world.secret)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.11 only")
async def test_nova_sonic_on_python_3_11_refuses_calls_saying_why(
    platform: Platform, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORATIO_VOICE_BACKEND", "nova-sonic")
    build = lambda port: create_app(platform, host="127.0.0.1", port=port)  # noqa: E731
    with uvicorn_in_thread(build) as port:
        async with voice_client(f"ws://127.0.0.1:{port}/voice/{world.agent.id}") as client:
            heard = await client.closed()
    assert heard.close_code == 1011
    assert heard.close_reason.startswith("ORATIO_VOICE_BACKEND=nova-sonic needs Python 3.12+")


@contextmanager
def running_bridge(tmp_path: Path) -> Iterator[tuple[int, str, str]]:
    """`python -m oratio_app serve-door voice` on a free port over a platform with one agent: (port, agent id, key)."""
    env = {
        **os.environ,
        "ORATIO_DATA_DIR": str(tmp_path),
        "ORATIO_JWT_SECRET": JWT_SECRET,
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_MODEL": "scripted",
        "ORATIO_VOICE_BACKEND": "scripted",
    }
    with open_platform(load_settings({k: v for k, v in env.items() if k.startswith("ORATIO_")})) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
    port = free_port()
    command = [sys.executable, "-m", "oratio_app", "serve-door", "voice", "--host", "127.0.0.1", "--port", str(port)]
    ready = f"http://127.0.0.1:{port}/healthz"
    with (
        (tmp_path / "voice.log").open("wb") as output,
        running(command, ready_url=ready, env=env, stdout=output, stderr=subprocess.STDOUT),
    ):
        assert httpx.get(ready, timeout=10.0).json() == {"status": "ok"}
        yield port, agent.id, secret


async def test_python_m_voice_bridge_serves_calls(tmp_path: Path) -> None:
    with running_bridge(tmp_path) as (port, agent_id, secret):
        await scripted_call(f"ws://127.0.0.1:{port}", agent_id, secret)


async def test_voice_sockets_are_not_deflated_unless_configured(tmp_path: Path) -> None:
    assert load_voice_settings({}).websocket_compression is False
    assert load_voice_settings({"ORATIO_VOICE_WEBSOCKET_COMPRESSION": "true"}).websocket_compression is True
    with running_bridge(tmp_path) as (port, agent_id, _):
        async with connect(f"ws://127.0.0.1:{port}/voice/{agent_id}") as ws:  # the client offers permessage-deflate
            assert ws.response is not None
            assert "permessage-deflate" not in ws.response.headers.get("Sec-WebSocket-Extensions", "")


def test_a_bad_voice_setting_exits_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "ORATIO_DATA_DIR": str(tmp_path), "ORATIO_VOICE_BACKEND": "telepathy"}
    done = subprocess.run(
        [sys.executable, "-m", "oratio_app", "serve-door", "voice"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.decode().startswith("oratio voice: invalid voice configuration: ORATIO_VOICE_BACKEND")
