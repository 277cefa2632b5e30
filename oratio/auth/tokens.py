"""Admin and service JWTs: issue them, and verify them at the door.

Verification is deliberately narrow, because every historical JWT hole came from a verifier that
trusted the token to say how it should be checked:

* The algorithm is pinned by configuration, never read from the token, so `alg: none` and
  algorithm confusion (an RS256 or HS512 token offered where HS256 is expected) fail closed.
* Only HMAC algorithms are supported for now, with a secret at least as long as the hash output
  (RFC 7518 section 3.2). Asymmetric keys can be added later behind `JwtSettings`; the verifier's
  contract (`verify_token` -> `Principal`) does not change.
* Every claim the platform relies on is required; a token without `tid` is not "a token for no
  tenant", it is rejected.
* A token without a `scope` claim carries no scopes. It never falls back to the `Principal` default.

Time checks (`exp`, `nbf`, `iat`) are done here rather than by pyjwt, because pyjwt always reads
the wall clock; doing them here lets `verify_token` take `now`, so tests and replays are exact.
pyjwt still checks the signature, the algorithm, issuer, audience and presence of claims.

Rejections are `Unauthenticated` with a short reason; they never contain the token or the secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from pydantic import ValidationError

from oratio.errors import ConfigError, Forbidden, InvalidInput, Unauthenticated
from schemas import Principal, Scope

MAX_TOKEN_BYTES = 8 * 1024
"""Larger tokens are refused before any parsing: ours are a few hundred bytes."""

_HMAC = {
    "HS256": HMACAlgorithm(HMACAlgorithm.SHA256),
    "HS384": HMACAlgorithm(HMACAlgorithm.SHA384),
    "HS512": HMACAlgorithm(HMACAlgorithm.SHA512),
}
"""Supported algorithms. Each needs a secret at least as long as its hash output (RFC 7518 3.2)."""

_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "tid"]
_TIME_CLAIMS = ("exp", "nbf", "iat")
_SECRET_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"


@dataclass(frozen=True)
class JwtSettings:
    """How tokens are signed and checked. Invalid settings fail at start with `ConfigError`."""

    secret: str = field(repr=False)
    issuer: str = "oratio"
    audience: str = "oratio-admin"
    algorithm: str = "HS256"
    ttl_seconds: int = 3600
    leeway_seconds: int = 30
    max_ttl_seconds: int = 30 * 24 * 3600
    """Longest lifetime a token may be issued for (`ORATIO_JWT_MAX_TTL_SECONDS`): a leaked token dies by then."""

    def __post_init__(self) -> None:
        hmac = _HMAC.get(self.algorithm)
        if hmac is None:
            supported = ", ".join(_HMAC)
            raise ConfigError(
                f"JWT algorithm {self.algorithm!r} is not supported; use one of {supported}",
                field="algorithm",
            )
        minimum = hmac.hash_alg().digest_size
        if len(self.secret.encode("utf-8")) < minimum:
            raise ConfigError(
                f"the JWT secret must be at least {minimum} bytes for {self.algorithm}; {_SECRET_HINT}",
                field="secret",
            )
        try:
            hmac.prepare_key(self.secret)  # pyjwt refuses PEM, SSH and DER keys as HMAC secrets
        except jwt.InvalidKeyError:
            raise ConfigError(
                f"the JWT secret looks like a PEM or SSH key; {self.algorithm} needs a random shared "
                f"secret, {_SECRET_HINT}",
                field="secret",
            ) from None
        if not self.issuer or not self.audience:
            raise ConfigError("the JWT issuer and audience must not be empty", field="issuer")
        if self.ttl_seconds <= 0:
            raise ConfigError("the JWT lifetime (ttl_seconds) must be positive", field="ttl_seconds")
        if self.ttl_seconds > self.max_ttl_seconds:
            raise ConfigError(
                f"the JWT lifetime ({self.ttl_seconds}s) is over the cap ORATIO_JWT_MAX_TTL_SECONDS "
                f"({self.max_ttl_seconds}s)",
                field="ttl_seconds",
            )
        if self.leeway_seconds < 0:
            raise ConfigError("the JWT clock leeway must not be negative", field="leeway_seconds")


def check_ttl(settings: JwtSettings, ttl_seconds: int) -> int:
    """`ttl_seconds` if it is a lifetime a token may have (1 second to the cap), else InvalidInput."""
    if not 0 < ttl_seconds <= settings.max_ttl_seconds:
        raise InvalidInput(
            f"the token lifetime must be 1 to {settings.max_ttl_seconds} seconds (ORATIO_JWT_MAX_TTL_SECONDS); "
            f"got {ttl_seconds}",
            field="ttl",
        )
    return ttl_seconds


def _timestamp(now: datetime | None) -> int:
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return int(now.timestamp())


def issue_token(
    settings: JwtSettings,
    principal: Principal,
    *,
    ttl_seconds: int | None = None,
    now: datetime | None = None,
) -> str:
    """A signed token for `principal`, valid from `now` for `ttl_seconds` (default from settings)."""
    ttl = settings.ttl_seconds if ttl_seconds is None else ttl_seconds
    check_ttl(settings, ttl)
    issued_at = _timestamp(now)
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": principal.subject,
        "tid": principal.tenant_id,
        "scope": " ".join(sorted(scope.value for scope in principal.scopes)),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, settings.secret, algorithm=settings.algorithm)


def _decode(settings: JwtSettings, token: str) -> dict[str, Any]:
    """Signature, pinned algorithm, issuer, audience and required claims; times are checked apart."""
    try:
        return jwt.decode(
            token,
            settings.secret,
            algorithms=[settings.algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            options={
                "require": _REQUIRED_CLAIMS,
                "strict_aud": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidAlgorithmError:
        raise Unauthenticated("token algorithm is not accepted") from None
    except jwt.InvalidSignatureError:
        raise Unauthenticated("token signature is invalid") from None
    except jwt.DecodeError:
        raise Unauthenticated("token is malformed") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"token is missing the '{exc.claim}' claim") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated("token audience is not accepted") from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated("token issuer is not accepted") from None
    except jwt.exceptions.InvalidSubjectError:
        raise Unauthenticated("token claim 'sub' is not valid") from None
    except jwt.PyJWTError:
        raise Unauthenticated("token is invalid") from None


def _check_times(claims: dict[str, Any], now: int, leeway: int) -> None:
    for name in _TIME_CLAIMS:
        value = claims[name]
        # We only ever issue integers; a string, bool or float here was not written by us.
        if not isinstance(value, int) or isinstance(value, bool):
            raise Unauthenticated(f"token claim '{name}' is malformed")
    if claims["exp"] <= now - leeway:
        raise Unauthenticated("token expired")
    if claims["nbf"] > now + leeway or claims["iat"] > now + leeway:
        raise Unauthenticated("token is not valid yet")


def _scopes(claims: dict[str, Any]) -> frozenset[Scope]:
    raw = claims.get("scope", "")
    if not isinstance(raw, str):
        raise Unauthenticated("token claim 'scope' is malformed")
    try:
        return frozenset(Scope(item) for item in raw.split())
    except ValueError:
        raise Unauthenticated("token carries a scope this service does not know") from None


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every check: whom it speaks for, and when it was issued (for revocation)."""

    principal: Principal
    issued_at: int
    """The `iat` claim, seconds since the epoch."""


def verify_token(settings: JwtSettings, token: str, *, now: datetime | None = None) -> Principal:
    """The principal a token speaks for, or `Unauthenticated` saying briefly why not."""
    return verify_token_claims(settings, token, now=now).principal


def verify_token_claims(settings: JwtSettings, token: str, *, now: datetime | None = None) -> VerifiedToken:
    """Like `verify_token`, also giving the issue time, which an admin's revocation is checked against."""
    # Counting characters is enough: a real token is ASCII, and anything else fails to decode anyway.
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated("token is too large")
    claims = _decode(settings, token)
    _check_times(claims, _timestamp(now), settings.leeway_seconds)
    scopes = _scopes(claims)
    try:
        principal = Principal(tenant_id=claims["tid"], subject=claims["sub"], scopes=scopes)
    except ValidationError as exc:
        location = exc.errors()[0]["loc"]
        claim = "tid" if location and location[0] == "tenant_id" else "sub"
        raise Unauthenticated(f"token claim '{claim}' is not valid") from None
    return VerifiedToken(principal=principal, issued_at=claims["iat"])


def require_scope(principal: Principal, scope: Scope) -> None:
    """Raise `Forbidden` unless the principal holds `scope` (or `admin`, which implies every scope)."""
    if not principal.allows(scope):
        raise Forbidden(f"this operation needs the '{scope.value}' scope")
