"""The HTTP door maps core errors to clear 4xx answers: 401 + WWW-Authenticate, 429 + Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from oratio.config import Settings
from oratio.platform import Platform, open_platform
from oratio_app.web import create_app
from tests.support.platforms import open_test_platform


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """On SQLite only, on the wall clock (not the services' family of this package)."""
    with open_test_platform(tmp_path, embeddings=True, admin_burst=3, admin_rate_per_minute=1) as opened:
        yield opened


def admin_token(platform: Platform) -> str:
    tenant = platform.tenants.create_tenant("Acme")
    admin = platform.tenants.create_admin(tenant.tenant_id, "ops@acme.example", "Ops")
    return platform.access.token_for(admin)


def test_health_needs_no_auth(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_me_returns_the_tokens_tenant(platform: Platform) -> None:
    token = admin_token(platform)
    with TestClient(create_app(platform)) as client:
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["tenant"]["name"] == "Acme"
    assert response.json()["scopes"] == ["admin"]


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer ", "Bearer not.a.jwt"])
def test_missing_or_bad_tokens_get_401_with_www_authenticate(platform: Platform, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    with TestClient(create_app(platform)) as client:
        response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthenticated"


def test_a_token_from_another_key_is_refused(platform: Platform, tmp_path: Path) -> None:
    other = Settings(data_dir=tmp_path / "other", jwt_secret=SecretStr("o" * 40))
    with open_platform(other) as foreign:
        token = admin_token(foreign)
    with TestClient(create_app(platform)) as client:
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_admin_rate_limit_answers_429_with_retry_after(platform: Platform) -> None:
    token = admin_token(platform)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(platform)) as client:
        statuses = [client.get("/api/v1/me", headers=headers).status_code for _ in range(4)]
        refused = client.get("/api/v1/me", headers=headers)
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == "rate_limited"


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "allow"),
    [
        ("GET", "/nope", 404, "not_found", None),
        ("DELETE", "/healthz", 405, "method_not_allowed", "GET, HEAD"),
        ("POST", "/api/v1/me", 405, "method_not_allowed", "GET, HEAD"),
        ("DELETE", "/api/v1/agents", 405, "method_not_allowed", "GET, HEAD, POST"),
        ("POST", "/api/v1/stats", 405, "method_not_allowed", "GET, HEAD"),
        ("PUT", "/api/v1/keys", 405, "method_not_allowed", "GET, HEAD, POST"),
        ("GET", "/api/v1/keys/key_x/revoke", 405, "method_not_allowed", "POST"),
        ("GET", "/api/v1/notifications/ntf_x/acknowledge", 405, "method_not_allowed", "POST"),
        ("POST", "/dashboard", 405, "method_not_allowed", "GET, HEAD"),
        ("POST", "/voice/client", 405, "method_not_allowed", "GET, HEAD"),
        ("GET", "/voice/agt_x", 404, "not_found", None),
        ("GET", "/voice/agt_x/more", 404, "not_found", None),
    ],
)
def test_unknown_paths_and_methods_answer_json(
    platform: Platform, method: str, path: str, status: int, code: str, allow: str | None
) -> None:
    response = TestClient(create_app(platform)).request(method, path)
    assert (response.status_code, response.json()["error"]) == (status, code)
    allowed = response.headers.get("allow")
    assert (allowed and set(allowed.split(", "))) == (allow and set(allow.split(", ")))
