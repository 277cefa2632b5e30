"""Fixtures for the voice bridge: the embedded platform with a scripted agent, served by a real uvicorn.

The agent's model is a ScriptedModel: it ends the session on "goodbye", hands off on "a person",
tells a long story on "story" (several sentences: room to barge in) and otherwise echoes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from strands.models import Model

from oratio.models import CallTool, Say, ScriptedModel, when_user_says
from oratio.platform import Platform
from tests.agentcore_apps.conftest import World, echo, new_world, open_test_platform
from tests.net import uvicorn_in_thread
from voice_bridge.app import create_standalone_app
from voice_bridge.backend import SpeechBackend
from voice_bridge.context import VoiceServices
from voice_bridge.protocol import VoiceLimits

STORY = (
    "Once upon a time there was a support agent who loved long answers. "
    "Every morning it read the whole knowledge base from start to finish. "
    "Then it answered every question with three paragraphs and a poem. "
    "The customers were patient, but some of them interrupted now and then. "
    "And that is why barge in exists."
)
TEST_BURST_S = 600.0
"""These tests send each utterance at once (faster than real time): pacing is tested on its own."""
TEST_LIMITS = VoiceLimits(
    start_timeout_s=5.0, idle_timeout_s=5.0, silence_timeout_s=30.0, call_max_s=120.0, burst_s=TEST_BURST_S
)


def limits_with(**changes: Any) -> VoiceLimits:
    """VoiceLimits with `changes`, and the generous burst these tests need."""
    return VoiceLimits(**{"burst_s": TEST_BURST_S, **changes})


def voice_agent(spec: str) -> Model:
    return ScriptedModel(
        rules=[
            when_user_says("goodbye", then=CallTool("end_session")),
            when_user_says("a person", then=CallTool("request_handoff", {"reason": "the customer asked for a person"})),
            when_user_says("story", then=Say(STORY)),
            echo,
        ]
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with open_test_platform(tmp_path, model_factory=voice_agent) as opened:
        yield opened


@pytest.fixture
def world(platform: Platform) -> World:
    return new_world(platform)


@contextmanager
def serving_voice(
    platform: VoiceServices, backend: SpeechBackend | None, limits: VoiceLimits = TEST_LIMITS
) -> Iterator[str]:
    """The standalone bridge under a real uvicorn; yields its ws:// base (append /voice/<agent id>)."""
    app = create_standalone_app(platform, backend=backend, limits=limits)
    with uvicorn_in_thread(lambda port: app) as port:
        yield f"ws://127.0.0.1:{port}"
