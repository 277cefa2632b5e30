"""The dashboard's fixtures: `platform` answers with the handoff agent, `dash` is two tenants seen
through their admins' tokens, and `served` runs `create_app` (dashboard, API, runtime, MCP) under uvicorn.

Acme has an active agent with an API key; its scripted model hands off when the customer asks for
a person, ends the session on goodbye and echoes everything else. Globex is the other tenant, whose
data must never show through Acme's token.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from oratio.platform import Platform
from oratio.runtime import ModelFactory
from oratio_app.web import create_app
from tests.dashboard.dash import Dash, new_dash
from tests.support.models import handoff_agent
from tests.support.serving import Served, serving_built


@pytest.fixture
def platform_models() -> ModelFactory:
    return handoff_agent


@pytest.fixture
def dash(platform: Platform) -> Dash:
    return new_dash(platform)


@pytest.fixture
def served(platform: Platform) -> Iterator[Served]:
    """`oratio serve`'s app (dashboard, API, runtime, MCP) over the test platform, on a real socket."""
    with serving_built(lambda port: create_app(platform, host="127.0.0.1", port=port)) as running:
        yield running


@pytest.fixture
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=10.0) as client:
        yield client
