"""Fixtures for service-layer tests: the whole platform over real backends, and a clock tests move.

`platform` (the root conftest's) runs every test here twice: on the embedded backends (SQLite + a
local blob directory) and on the AWS ones (DynamoDB + S3 served by a real moto_server process). The
services are built with `build_services`, exactly as `open_platform` builds them, so wiring bugs show
up here too. `clock` (a `FakeClock`) is the services' clock; tenants and agents: `tests.support.tenants`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.platforms import BOTH_BACKENDS, MAX_DOCUMENT_BYTES, FakeClock


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"max_document_bytes": MAX_DOCUMENT_BYTES}


@pytest.fixture
def platform_clock(clock: FakeClock) -> FakeClock:
    return clock


@pytest.fixture(params=BOTH_BACKENDS)
def platform_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend
