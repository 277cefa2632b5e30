"""The conversation engine's fixtures: `world` is one tenant with an agent deployed with a knowledge
document and a handoff rule, a scripted model the test writes, and the platform's real handoff service
with a record of its calls (`tests.support.engine`)."""

from __future__ import annotations

import pytest

from oratio.platform import Platform
from tests.support.engine import EngineWorld, new_engine_world


@pytest.fixture
def world(platform: Platform) -> EngineWorld:
    return new_engine_world(platform)
