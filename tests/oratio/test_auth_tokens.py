"""Admin/service JWTs: a token we issued round-trips; everything else is refused, for a stated reason."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from oratio.auth.tokens import (
    MAX_TOKEN_BYTES,
    JwtSettings,
    issue_token,
    require_scope,
    verify_token,
    verify_token_claims,
)
from oratio.errors import ConfigError, Forbidden, InvalidInput, Unauthenticated
from schemas import Principal, Scope

SECRET = "s" * 16 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"  # 66 bytes: enough for HS512
OTHER_SECRET = "o" * 64
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SETTINGS = JwtSettings(secret=SECRET, ttl_seconds=600, leeway_seconds=30)
PRINCIPAL = Principal(
    tenant_id="ten_01abc", subject="adm_01xyz", scopes=frozenset({Scope.AGENTS_READ, Scope.SESSIONS_READ})
)


def _claims(**overrides: Any) -> dict[str, Any]:
    issued = int(NOW.timestamp())
    claims: dict[str, Any] = {
        "iss": "oratio",
        "aud": "oratio-admin",
        "sub": "adm_01xyz",
        "tid": "ten_01abc",
        "scope": "agents:read",
        "iat": issued,
        "nbf": issued,
        "exp": issued + 600,
        "jti": "j1",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _sign(claims: dict[str, Any], *, key: Any = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _reject(token: str, reason: str, *, settings: JwtSettings = SETTINGS, now: datetime = NOW) -> None:
    with pytest.raises(Unauthenticated) as info:
        verify_token(settings, token, now=now)
    assert info.value.message == reason
    for text in (str(info.value), info.value.message, json.dumps(info.value.to_dict())):
        assert not token or token not in text
        assert SECRET not in text
        assert not any(len(part) >= 8 and part in text for part in token.split("."))


# --- issuing and round-tripping ---------------------------------------------------------------


def test_roundtrip_returns_the_same_principal() -> None:
    token = issue_token(SETTINGS, PRINCIPAL, now=NOW)
    assert verify_token(SETTINGS, token, now=NOW) == PRINCIPAL


def test_roundtrip_with_the_real_clock() -> None:
    assert verify_token(SETTINGS, issue_token(SETTINGS, PRINCIPAL)) == PRINCIPAL


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_every_supported_algorithm_roundtrips(algorithm: str) -> None:
    settings = JwtSettings(secret=SECRET, algorithm=algorithm)
    token = issue_token(settings, PRINCIPAL, now=NOW)
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert verify_token(settings, token, now=NOW) == PRINCIPAL


def test_issued_claims() -> None:
    token = issue_token(SETTINGS, PRINCIPAL, ttl_seconds=90, now=NOW)
    claims = jwt.decode(token, options={"verify_signature": False})
    issued = int(NOW.timestamp())
    assert claims["iss"] == "oratio"
    assert claims["aud"] == "oratio-admin"
    assert claims["sub"] == "adm_01xyz"
    assert claims["tid"] == "ten_01abc"
    assert claims["scope"] == "agents:read sessions:read"
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (issued, issued, issued + 90)
    again = jwt.decode(issue_token(SETTINGS, PRINCIPAL, now=NOW), options={"verify_signature": False})
    assert claims["jti"] != again["jti"]


def test_default_ttl_comes_from_settings() -> None:
    claims = jwt.decode(issue_token(SETTINGS, PRINCIPAL, now=NOW), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600


def test_issue_refuses_naive_time_and_non_positive_ttl() -> None:
    with pytest.raises(ValueError):
        issue_token(SETTINGS, PRINCIPAL, now=datetime(2030, 1, 1))
    with pytest.raises(InvalidInput, match="1 to 2592000 seconds"):
        issue_token(SETTINGS, PRINCIPAL, ttl_seconds=0, now=NOW)


def test_issue_refuses_a_lifetime_over_the_cap() -> None:
    capped = JwtSettings(secret=SETTINGS.secret, max_ttl_seconds=3600)
    assert verify_token(capped, issue_token(capped, PRINCIPAL, ttl_seconds=3600, now=NOW), now=NOW) == PRINCIPAL
    with pytest.raises(InvalidInput, match="ORATIO_JWT_MAX_TTL_SECONDS"):
        issue_token(capped, PRINCIPAL, ttl_seconds=3601, now=NOW)
    with pytest.raises(ConfigError, match="over the cap"):
        JwtSettings(secret=SETTINGS.secret, ttl_seconds=7200, max_ttl_seconds=3600)


def test_verified_claims_carry_the_issue_time() -> None:
    verified = verify_token_claims(SETTINGS, issue_token(SETTINGS, PRINCIPAL, now=NOW), now=NOW)
    assert (verified.principal, verified.issued_at) == (PRINCIPAL, int(NOW.timestamp()))


def test_admin_scope_roundtrips() -> None:
    admin = Principal(tenant_id="ten_01abc", subject="adm_01xyz", scopes=frozenset({Scope.ADMIN}))
    assert verify_token(SETTINGS, issue_token(SETTINGS, admin, now=NOW), now=NOW).scopes == {Scope.ADMIN}


def test_missing_scope_claim_means_no_scopes_not_admin() -> None:
    principal = verify_token(SETTINGS, _sign(_claims(scope=None)), now=NOW)
    assert principal.scopes == frozenset()
    assert not principal.allows(Scope.AGENTS_READ)


# --- time ---------------------------------------------------------------------------------------


def test_expired_token_is_refused() -> None:
    token = issue_token(SETTINGS, PRINCIPAL, ttl_seconds=60, now=NOW - timedelta(hours=1))
    _reject(token, "token expired")


def test_leeway_accepts_a_token_just_expired_and_no_more() -> None:
    token = issue_token(SETTINGS, PRINCIPAL, ttl_seconds=60, now=NOW)
    assert verify_token(SETTINGS, token, now=NOW + timedelta(seconds=60 + 29)) == PRINCIPAL
    _reject(token, "token expired", now=NOW + timedelta(seconds=60 + 30))


def test_token_issued_in_the_future_is_not_valid_yet() -> None:
    token = issue_token(SETTINGS, PRINCIPAL, now=NOW + timedelta(minutes=5))
    _reject(token, "token is not valid yet")
    within_leeway = issue_token(SETTINGS, PRINCIPAL, now=NOW + timedelta(seconds=30))
    assert verify_token(SETTINGS, within_leeway, now=NOW) == PRINCIPAL


def test_nbf_in_the_future_is_refused_even_if_iat_is_now() -> None:
    _reject(_sign(_claims(nbf=int(NOW.timestamp()) + 120)), "token is not valid yet")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", ["9999999999", 1.5e10, True])
def test_time_claims_must_be_integers(claim: str, value: object) -> None:
    _reject(_sign(_claims(**{claim: value})), f"token claim '{claim}' is malformed")


# --- algorithm and signature ---------------------------------------------------------------------


def test_signed_with_another_secret_is_refused() -> None:
    _reject(_sign(_claims(), key=OTHER_SECRET), "token signature is invalid")


def test_alg_none_built_by_hand_is_refused() -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    _reject(token, "token algorithm is not accepted")


def test_alg_none_with_a_copied_signature_is_refused() -> None:
    signature = _sign(_claims()).split(".")[2]
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.{signature}"
    _reject(token, "token algorithm is not accepted")


def test_resigned_with_hs512_when_hs256_is_pinned_is_refused() -> None:
    _reject(_sign(_claims(), algorithm="HS512"), "token algorithm is not accepted")


def test_hs256_token_refused_when_hs512_is_pinned() -> None:
    _reject(
        _sign(_claims()),
        "token algorithm is not accepted",
        settings=JwtSettings(secret=SECRET, algorithm="HS512"),
    )


def test_rs256_token_is_refused() -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _reject(_sign(_claims(), key=pem, algorithm="RS256"), "token algorithm is not accepted")


def test_tampered_payload_is_refused() -> None:
    header, _, signature = issue_token(SETTINGS, PRINCIPAL, now=NOW).split(".")
    escalated = _claims(scope="admin", tid="ten_01other")
    _reject(f"{header}.{_b64(escalated)}.{signature}", "token signature is invalid")


def test_tampered_signature_is_refused() -> None:
    header, payload, signature = issue_token(SETTINGS, PRINCIPAL, now=NOW).split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    _reject(f"{header}.{payload}.{flipped}", "token signature is invalid")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "....", "Bearer x.y.z", "eyJhbGciOiJIUzI1NiJ9.e30", "é.é.é"])
def test_garbage_is_refused(token: str) -> None:
    _reject(token, "token is malformed")


def test_header_that_is_not_json_is_refused() -> None:
    _reject("bm90IGpzb24." + _b64(_claims()) + ".sig", "token is malformed")


def test_oversize_token_is_refused_even_with_a_valid_signature() -> None:
    token = _sign(_claims(padding="x" * MAX_TOKEN_BYTES))
    _reject(token, "token is too large")


# --- issuer, audience and claims -----------------------------------------------------------------


def test_foreign_audience_is_refused() -> None:
    _reject(_sign(_claims(aud="someone-else")), "token audience is not accepted")


def test_audience_list_is_refused() -> None:
    _reject(_sign(_claims(aud=["oratio-admin", "someone-else"])), "token audience is not accepted")


def test_foreign_issuer_is_refused() -> None:
    _reject(_sign(_claims(iss="evil")), "token issuer is not accepted")


def test_settings_audience_is_enforced() -> None:
    token = issue_token(SETTINGS, PRINCIPAL, now=NOW)
    _reject(token, "token audience is not accepted", settings=JwtSettings(secret=SECRET, audience="oratio-svc"))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "iss", "aud", "sub", "tid"])
def test_missing_required_claim_is_refused(claim: str) -> None:
    _reject(_sign(_claims(**{claim: None})), f"token is missing the '{claim}' claim")


@pytest.mark.parametrize("tid", ["not an id", "TEN_01ABC", 42, ""])
def test_tid_must_be_an_identifier(tid: object) -> None:
    _reject(_sign(_claims(tid=tid)), "token claim 'tid' is not valid")


def test_sub_must_be_a_reasonable_string() -> None:
    _reject(_sign(_claims(sub="x" * 129)), "token claim 'sub' is not valid")
    _reject(_sign(_claims(sub=7)), "token claim 'sub' is not valid")


def test_unknown_scope_is_refused() -> None:
    _reject(_sign(_claims(scope="agents:read root")), "token carries a scope this service does not know")


def test_scope_must_be_a_string() -> None:
    _reject(_sign(_claims(scope=["admin"])), "token claim 'scope' is malformed")


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "secret"), [("HS256", "x" * 31), ("HS384", "x" * 47), ("HS512", "x" * 63), ("HS256", "")]
)
def test_short_secret_is_a_config_error_with_a_hint(algorithm: str, secret: str) -> None:
    with pytest.raises(ConfigError) as info:
        JwtSettings(secret=secret, algorithm=algorithm)
    assert "secrets.token_urlsafe" in info.value.message
    assert info.value.field == "secret"
    if secret:
        assert secret not in str(info.value)


@pytest.mark.parametrize("algorithm", ["none", "RS256", "ES256", "hs256"])
def test_unsupported_algorithm_is_a_config_error(algorithm: str) -> None:
    with pytest.raises(ConfigError, match="not supported"):
        JwtSettings(secret=SECRET, algorithm=algorithm)


def test_pem_key_as_secret_is_a_config_error() -> None:
    pem = "-----BEGIN PUBLIC KEY-----\n" + "A" * 64 + "\n-----END PUBLIC KEY-----\n"
    with pytest.raises(ConfigError, match="PEM or SSH key") as info:
        JwtSettings(secret=pem)
    assert pem.strip() not in str(info.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: JwtSettings(secret=SECRET, ttl_seconds=0),
        lambda: JwtSettings(secret=SECRET, leeway_seconds=-1),
        lambda: JwtSettings(secret=SECRET, issuer=""),
        lambda: JwtSettings(secret=SECRET, audience=""),
    ],
)
def test_other_bad_settings_are_config_errors(build: Callable[[], JwtSettings]) -> None:
    with pytest.raises(ConfigError):
        build()


def test_settings_repr_hides_the_secret() -> None:
    assert SECRET not in repr(SETTINGS)
    assert "HS256" in repr(SETTINGS)


# --- scopes --------------------------------------------------------------------------------------


def test_require_scope() -> None:
    require_scope(PRINCIPAL, Scope.AGENTS_READ)
    with pytest.raises(Forbidden, match="'agents:write' scope"):
        require_scope(PRINCIPAL, Scope.AGENTS_WRITE)


def test_admin_holds_every_scope() -> None:
    admin = Principal(tenant_id="ten_01abc", subject="adm_01xyz", scopes=frozenset({Scope.ADMIN}))
    for scope in Scope:
        require_scope(admin, scope)
