"""Apps under a real uvicorn on a free 127.0.0.1 port, in a thread, stopped (and checked stopped) on exit,
so tests cross a real socket exactly as a customer app, a browser or AgentCore's proxy would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp

from tests.net import uvicorn_in_thread
from voice_bridge.app import create_standalone_app
from voice_bridge.backend import SpeechBackend
from voice_bridge.context import VoiceServices
from voice_bridge.listen import ListenSettings
from voice_bridge.monitor import MonitorLimits
from voice_bridge.protocol import VoiceLimits

TEST_BURST_S = 600.0
"""Voice tests send each utterance at once (faster than real time): pacing is tested on its own."""
TEST_LIMITS = VoiceLimits(
    start_timeout_s=5.0, idle_timeout_s=5.0, silence_timeout_s=30.0, call_max_s=120.0, burst_s=TEST_BURST_S
)


@dataclass(frozen=True)
class Served:
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def serving(app: ASGIApp) -> Iterator[Served]:
    """`app` under a real uvicorn on a free 127.0.0.1 port."""
    with serving_built(lambda port: app) as served:
        yield served


@contextmanager
def serving_built(build: Callable[[int], ASGIApp]) -> Iterator[Served]:
    """Like `serving`, for an app that must know its port (`oratio_app.web.create_app`)."""
    with uvicorn_in_thread(build) as port:
        yield Served(base_url=f"http://127.0.0.1:{port}")


def limits_with(**changes: Any) -> VoiceLimits:
    """VoiceLimits with `changes`, and the generous burst voice tests need."""
    return VoiceLimits(**{"burst_s": TEST_BURST_S, **changes})


@contextmanager
def serving_voice(
    platform: VoiceServices,
    backend: SpeechBackend | None,
    limits: VoiceLimits = TEST_LIMITS,
    *,
    monitor: MonitorLimits | None = None,
    listen: ListenSettings | None = None,
) -> Iterator[str]:
    """The standalone voice bridge; yields its ws:// base (append /voice/<agent id>, or
    /voice/calls/<session id>/listen for an admin's listen socket)."""
    app = create_standalone_app(platform, backend=backend, limits=limits, monitor=monitor, listen=listen)
    with uvicorn_in_thread(lambda port: app) as port:
        yield f"ws://127.0.0.1:{port}"
