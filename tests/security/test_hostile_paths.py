"""A recording's position in the path with more digits than Python's `int` takes is a 404, not a 500.

The route was `/api/v1/sessions/{id}/recordings/{n:int}`: Starlette's convertor ran `int()` on any run of
digits while routing, before the handler or authentication, and more than 4,300 digits raised ValueError, so
anyone (no token needed) got a 500 and a traceback in the log for each request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from oratio.platform import Platform
from oratio_app.web import create_app
from tests.reliability.ledger import unknown_id
from tests.support.tenants import Tenancy, token_for

HUGE = "9" * 5000


@pytest.fixture
def http(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield client


def test_a_recording_position_of_thousands_of_digits_is_a_clear_refusal(
    http: TestClient, platform: Platform, acme: Tenancy
) -> None:
    session_id = unknown_id("session")
    path = f"/api/v1/sessions/{session_id}/recordings/{HUGE}"
    anonymous = http.get(path)
    assert anonymous.status_code == 401, anonymous.text[:200]
    answer = http.get(path, headers={"Authorization": f"Bearer {token_for(platform, acme.principal)}"})
    assert answer.status_code == 404, answer.text[:200]
    assert answer.json()["error"] == "not_found" and HUGE not in answer.json()["message"]
    for position in ("x", "-1", "1.0", "\u0663"):  # not a position: the same 404
        refused = http.get(
            f"/api/v1/sessions/{session_id}/recordings/{position}",
            headers={"Authorization": f"Bearer {token_for(platform, acme.principal)}"},
        )
        assert refused.status_code == 404, (position, refused.text[:200])
