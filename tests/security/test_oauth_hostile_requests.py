"""The MCP authorization server's endpoints, which anyone may call with no token, answer hostile requests with
OAuth errors or a JSON 413, never a 500 or a `server_error`, and read at most 64 KiB of a body.

Before this: client metadata over the 16 KiB the store keeps was a 500 at /register; a redirect URI or a
`state` longer than a consent request stores was accepted, then failed /authorize as `server_error` (with a
traceback logged per request); and /register, /token and /revoke read bodies up to the /mcp bound (a whole
base64 document) for anyone."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from oratio.platform import Platform
from oratio_app.web import create_app

URI = "http://127.0.0.1:4000/cb"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 50).digest()).rstrip(b"=").decode()
MIB = 1024 * 1024


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"oauth_register_burst": 100, "oauth_register_per_minute": 100.0}


@pytest.fixture
def http(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield client


def test_registration_refuses_what_it_cannot_keep_with_oauth_errors(http: TestClient) -> None:
    huge_name = http.post("/register", json={"client_name": "x" * 20_000, "redirect_uris": [URI]})
    assert huge_name.status_code == 400, huge_name.text[:200]
    assert huge_name.json()["error"] == "invalid_client_metadata"

    long_uri = http.post("/register", json={"client_name": "a", "redirect_uris": [f"{URI}?{'q' * 3000}"]})
    assert long_uri.status_code == 400, long_uri.text[:200]
    assert long_uri.json()["error"] == "invalid_redirect_uri"


def test_a_state_too_long_to_keep_is_invalid_request_not_server_error(http: TestClient) -> None:
    client_id = http.post("/register", json={"client_name": "a", "redirect_uris": [URI]}).json()["client_id"]
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": URI,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "state": "s" * 5000,
    }
    answer = http.get("/authorize", params=params, follow_redirects=False)
    assert answer.status_code == 302, answer.text[:200]
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_request"]


def test_anonymous_oauth_bodies_are_read_to_64_kib_only(http: TestClient) -> None:
    for path, content_type in (
        ("/register", "application/json"),
        ("/token", "application/x-www-form-urlencoded"),
        ("/revoke", "application/x-www-form-urlencoded"),
    ):
        answer = http.post(path, content=b"a" * MIB, headers={"content-type": content_type})
        assert answer.status_code == 413, (path, answer.text[:200])
        assert answer.json()["error"] == "payload_too_large"
