"""The agent runtime's fixtures: `platform` answers with the echoing scripted agent, and `served`
runs `create_runtime_app(platform)` under a real uvicorn so tests cross a real socket exactly as a
customer app or AgentCore's proxy would. Everything else comes from the root conftest and `tests.support`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agentcore_apps.app import create_runtime_app
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from tests.support.models import scripted_agent
from tests.support.serving import Served, serving


@pytest.fixture
def platform_models() -> ModelFactory:
    return scripted_agent


@pytest.fixture
def served(platform: Platform) -> Iterator[Served]:
    """The runtime app over the test platform, served for real."""
    with serving(create_runtime_app(platform)) as running:
        yield running


@pytest.fixture
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=10.0) as client:
        yield client
