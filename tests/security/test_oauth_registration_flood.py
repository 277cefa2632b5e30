"""A stranger cannot close the MCP authorization server to new clients by registering clients forever.

Registration is open (RFC 7591) and capped (`ORATIO_OAUTH_MAX_CLIENTS`). Clients nobody consented to used to
count against the cap for good (the sweep never removed them), so one address at the per-address rate filled
it within hours and every later MCP client was refused. Now, at the cap, the oldest client nobody consented to
makes room; clients a person consented to keep their place (and alone can fill the cap)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from oratio.platform import Platform
from oratio_app.web import create_app
from tests.support.oauth import RESOURCE, URI, consent
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy

CAP = 4


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"oauth_max_clients": CAP, "oauth_register_burst": 100, "oauth_register_per_minute": 100.0}


@pytest.fixture
def platform_clock(clock: FakeClock) -> FakeClock:
    return clock


@pytest.fixture
def http(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as client:
        yield client


def register(http: TestClient, name: str) -> Any:
    return http.post("/register", json={"client_name": name, "redirect_uris": [URI]})


def test_a_stranger_s_registrations_never_lock_out_a_new_client(
    http: TestClient, platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    consent(platform, acme.principal, "used-by-a-person", RESOURCE)  # a client a person consented to
    flood = []
    for n in range(3 * CAP):  # a stranger, well past the cap
        clock.advance(timedelta(seconds=1))
        answer = register(http, f"flood {n}")
        assert answer.status_code == 201, answer.text
        flood.append(answer.json()["client_id"])

    newcomer = register(http, "a real client")
    assert newcomer.status_code == 201, newcomer.text
    assert platform.oauth.client(newcomer.json()["client_id"]) is not None
    assert platform.oauth.client("used-by-a-person") is not None  # the consented client kept its place
    assert platform.oauth.client(flood[0]) is None  # the oldest nobody consented to made room
    kept = [client_id for client_id in flood if platform.oauth.client(client_id) is not None]
    assert len(kept) == CAP - 2  # never more than the cap in all


def test_clients_people_consented_to_alone_fill_the_cap(http: TestClient, platform: Platform, acme: Tenancy) -> None:
    for n in range(CAP):
        consent(platform, acme.principal, f"consented-{n}", RESOURCE)

    refused = register(http, "one too many")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"
    assert f"at most {CAP}" in refused.json()["error_description"]
    assert all(platform.oauth.client(f"consented-{n}") is not None for n in range(CAP))
