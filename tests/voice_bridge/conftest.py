"""The voice bridge's fixtures: `platform` answers with the voice agent (`tests.support.models.voice_agent`:
goodbye ends, "a person" hands off, "story" tells a long one, the rest is echoed); `world` and the
served bridge come from the root conftest and `tests.support.serving`."""

from __future__ import annotations

import pytest

from oratio.runtime import ModelFactory
from tests.support.models import voice_agent


@pytest.fixture
def platform_models() -> ModelFactory:
    return voice_agent
