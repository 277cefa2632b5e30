"""An OpenID Connect issuer people sign in with (Cognito on AWS, or any OIDC provider): discovery, the
authorization-code exchange with PKCE, and ID-token verification.

Why it is shaped this way:

* The issuer is the operator's configuration (`ORATIO_OIDC_DISCOVERY_URL`), never tenant input, so its
  endpoints are fetched without the tenant address policy; still, every answer is bounded in size and
  time, redirects are not followed, and the endpoints it names must be https (http only for a loopback
  issuer, the way a developer or a test runs one).
* The ID token is checked like any bearer credential from outside: signature with a key from the issuer's
  JWKS chosen by `kid`, the algorithm pinned to the asymmetric ones the issuer announces (never `none`,
  never an HMAC keyed with a public key), `iss`, `aud` (and `azp` when there are several audiences),
  `exp`/`iat` against the platform clock, and the `nonce` this browser's sign-in started with.
* Nothing here decides who the person is in Oratio: `oratio.services.oidc_signin` maps the verified
  email to a login, as the password sign-in does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from jwt.algorithms import get_default_algorithms

from oratio.errors import BackendUnavailable, InvalidInput, Unauthenticated

logger = logging.getLogger("oratio.auth.oidc")

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
"""The only algorithms an ID token may use: a public key can never be mistaken for an HMAC secret."""
MAX_ANSWER_BYTES = 256 * 1024
"""Discovery, JWKS and token answers are small JSON: anything bigger is refused, not read."""
MAX_ID_TOKEN_CHARS = 16 * 1024
TIMEOUT_S = 10.0
LEEWAY = timedelta(seconds=60)
"""Clock skew allowed between the issuer and this server on `exp` and `iat`."""
DISCOVERY_TTL = timedelta(hours=1)
RETRY_AFTER_FAILURE = timedelta(seconds=30)
JWKS_REFRESH_MIN = timedelta(minutes=1)
"""An unknown `kid` refetches the JWKS (key rotation), at most this often: a stream of forged `kid`s
cannot make this server hammer the issuer."""
SCOPES = "openid email"
REFUSED = "the sign-in could not be verified; start again"


@dataclass(frozen=True)
class IssuerSettings:
    discovery_url: str
    client_id: str
    client_secret: str | None = None
    name: str = "your organisation"


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    end_session_endpoint: str | None


@dataclass(frozen=True)
class Identity:
    """What a verified ID token says about the person."""

    subject: str
    email: str
    issuer: str


@dataclass(frozen=True)
class Pkce:
    """One sign-in's secrets: `state` and `nonce` travel through the issuer, `verifier` only to its token
    endpoint; all three stay in this browser's short-lived HttpOnly cookie in between."""

    state: str
    nonce: str
    verifier: str

    @staticmethod
    def new() -> Pkce:
        return Pkce(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


Fetch = Callable[[httpx.Request], httpx.Response]


class OidcIssuer:
    """One configured issuer: its discovery document and keys (cached), the code exchange, verification."""

    def __init__(
        self,
        settings: IssuerSettings,
        clock: Callable[[], datetime],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._http = httpx.Client(timeout=TIMEOUT_S, follow_redirects=False, transport=transport)
        self._lock = threading.Lock()
        self._discovery: tuple[datetime, Discovery] | None = None
        self._failed: tuple[datetime, BackendUnavailable] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.settings.name

    def close(self) -> None:
        self._http.close()

    # -- the flow ---------------------------------------------------------------------------------

    def authorization_url(self, flow: Pkce, redirect_uri: str) -> str:
        found = self.discovery()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": SCOPES,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": flow.challenge,
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in found.authorization_endpoint else "?"
        return f"{found.authorization_endpoint}{separator}{query}"

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """The issuer's RP-initiated logout page, if its discovery names one (Cognito's does not)."""
        endpoint = self.discovery().end_session_endpoint
        if endpoint is None:
            return None
        query = urlencode({"client_id": self.settings.client_id, "post_logout_redirect_uri": post_logout_redirect_uri})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange(self, code: str, flow: Pkce, redirect_uri: str) -> Identity:
        """Trade the code for tokens at the issuer's token endpoint (server to server) and verify the ID token."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": flow.verifier,
            "client_id": self.settings.client_id,
        }
        secret = self.settings.client_secret
        auth = httpx.BasicAuth(self.settings.client_id, secret) if secret else None  # client_secret_basic
        status, body = self._send(self._http.build_request("POST", self.discovery().token_endpoint, data=form), auth)
        if status in (400, 401):
            # invalid_grant and friends: a used, forged or expired code; the issuer's words stay in the log.
            logger.info("issuer=%s status=%s error=%s | code refused", self.name, status, _error_of(body))
            raise Unauthenticated("the issuer refused this sign-in (the code was used or has expired); start again")
        if status != 200 or not isinstance(body, dict):
            raise BackendUnavailable(f"the sign-in issuer answered {status}; try again later")
        token = body.get("id_token")
        if not isinstance(token, str) or not token or len(token) > MAX_ID_TOKEN_CHARS:
            raise BackendUnavailable("the sign-in issuer sent no usable ID token")
        return self.verify(token, flow.nonce)

    # -- verification -----------------------------------------------------------------------------

    def verify(self, token: str, nonce: str) -> Identity:
        """The identity in an ID token, or Unauthenticated for anything not exactly right."""
        found = self.discovery()
        if len(token) > MAX_ID_TOKEN_CHARS:
            raise Unauthenticated(REFUSED)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated(REFUSED) from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in found.algorithms:
            logger.info("issuer=%s alg=%.20r | ID token refused: algorithm", self.name, alg)
            raise Unauthenticated(REFUSED)
        key = self._key(header.get("kid"), alg)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.settings.client_id,
                issuer=found.issuer,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub", "nonce"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            logger.info("issuer=%s reason=%s | ID token refused", self.name, type(exc).__name__)
            raise Unauthenticated(REFUSED) from None
        self._check_times(claims)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise Unauthenticated(REFUSED)
        presented = claims["nonce"]
        if not isinstance(presented, str) or not hmac.compare_digest(presented.encode(), nonce.encode()):
            logger.info("issuer=%s | ID token refused: nonce", self.name)
            raise Unauthenticated(REFUSED)
        return Identity(subject=str(claims["sub"]), email=_verified_email(claims), issuer=found.issuer)

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock().timestamp()
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise Unauthenticated(REFUSED)
        if exp + LEEWAY.total_seconds() <= now:
            logger.info("issuer=%s | ID token refused: expired", self.name)
            raise Unauthenticated(REFUSED)
        if iat - LEEWAY.total_seconds() > now:
            raise Unauthenticated(REFUSED)

    # -- the issuer's documents -------------------------------------------------------------------

    def discovery(self) -> Discovery:
        """The issuer's discovery document, fetched at most once an hour; after a failure, the same refusal for
        `RETRY_AFTER_FAILURE` without asking again, so sign-in pages opened while the issuer is down do not each
        hold a thread for the whole timeout."""
        now = self._clock()
        with self._lock:
            if self._discovery is not None and now - self._discovery[0] < DISCOVERY_TTL:
                return self._discovery[1]
            if self._failed is not None and now - self._failed[0] < RETRY_AFTER_FAILURE:
                raise BackendUnavailable(self._failed[1].message)
        try:
            found = self._fetch_discovery()
        except BackendUnavailable as exc:
            with self._lock:
                self._failed = (now, exc)
            raise
        with self._lock:
            self._discovery, self._failed = (now, found), None
        return found

    def _fetch_discovery(self) -> Discovery:
        url = self.settings.discovery_url
        status, body = self._send(self._http.build_request("GET", url))
        if status != 200 or not isinstance(body, dict):
            raise BackendUnavailable(f"the sign-in issuer's discovery document answered {status}")
        issuer = body.get("issuer")
        if issuer != url.removesuffix(DISCOVERY_SUFFIX):
            raise BackendUnavailable("the sign-in issuer's discovery document names another issuer; refused")
        endpoints: dict[str, str] = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            endpoints[name] = _endpoint(body.get(name), name)
        end_session = body.get("end_session_endpoint")
        announced = body.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in announced if isinstance(a, str) and a in ASYMMETRIC)
        if not algorithms:
            raise BackendUnavailable("the sign-in issuer signs ID tokens with no asymmetric algorithm; refused")
        return Discovery(
            issuer=issuer,
            algorithms=algorithms,
            end_session_endpoint=_endpoint(end_session, "end_session_endpoint") if end_session else None,
            **endpoints,
        )

    def _key(self, kid: object, alg: str) -> jwt.PyJWK:
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated(REFUSED)
        key = self._find_key(kid, alg)
        if key is None:
            now = self._clock()
            with self._lock:
                stale = self._keys_at is None or now - self._keys_at >= JWKS_REFRESH_MIN
            if stale:
                self._load_keys(now)
                key = self._find_key(kid, alg)
        if key is None:
            logger.info("issuer=%s kid=%.40r | ID token refused: unknown key", self.name, kid)
            raise Unauthenticated(REFUSED)
        return key

    def _find_key(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        with self._lock:
            keys = dict(self._keys)
        if kid is not None:
            return keys.get(kid)
        return next(iter(keys.values())) if len(keys) == 1 else None  # no kid: only an issuer with one key

    def _load_keys(self, now: datetime) -> None:
        status, body = self._send(self._http.build_request("GET", self.discovery().jwks_uri))
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise BackendUnavailable(f"the sign-in issuer's keys answered {status}")
        known = get_default_algorithms()
        keys: dict[str, jwt.PyJWK] = {}
        for index, data in enumerate(body["keys"][:50]):
            if not isinstance(data, dict) or data.get("use", "sig") != "sig" or "d" in data:
                continue  # an encryption key, or (never acceptable) a private one
            alg = data.get("alg")
            try:
                key = jwt.PyJWK(data, algorithm=alg if isinstance(alg, str) and alg in known else None)
            except jwt.PyJWTError:
                continue
            keys[str(data.get("kid", f"#{index}"))] = key
        with self._lock:
            self._keys, self._keys_at = keys, now

    def _send(self, request: httpx.Request, auth: httpx.Auth | None = None) -> tuple[int, Any]:
        try:
            response = self._http.send(request, stream=True, auth=auth)
        except httpx.HTTPError as exc:
            logger.warning("issuer=%s reason=%s | issuer unreachable", self.name, type(exc).__name__)
            raise BackendUnavailable("the sign-in issuer cannot be reached; try again later") from None
        try:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise BackendUnavailable("the sign-in issuer's answer is too large; refused")
        except httpx.HTTPError:
            raise BackendUnavailable("the sign-in issuer's answer broke off; try again later") from None
        finally:
            response.close()
        try:
            return response.status_code, json.loads(body) if body else None
        except ValueError:
            return response.status_code, None


def _endpoint(value: object, name: str) -> str:
    if not isinstance(value, str) or not is_issuer_url(value):
        raise BackendUnavailable(f"the sign-in issuer's {name} is not an https URL; refused")
    return value


def is_issuer_url(url: str) -> bool:
    """https, or http to a loopback host (a developer's or a test's issuer); no credentials, no fragment."""
    if len(url) > 2048 or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _verified_email(claims: Mapping[str, Any]) -> str:
    """The email the issuer vouches for: present, and `email_verified` true (Cognito and most issuers
    send it), since the email is what names the person's login here."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    if not isinstance(email, str) or not 3 <= len(email) <= 254 or "@" not in email:
        raise Unauthenticated("the issuer did not share your email address; ask your administrator")
    if verified is not True and verified != "true":
        raise Unauthenticated("the issuer has not verified your email address; ask your administrator")
    return email.strip().casefold()


def _error_of(body: object) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error)[:60] if error else "-"


def check_code(code: str | None, state: str | None) -> tuple[str, str]:
    """The callback's `code` and `state` query values, bounded; InvalidInput otherwise."""
    if not code or not state or len(code) > 2048 or len(state) > 128:
        raise InvalidInput("the sign-in answer has no valid code or state; start again", field="code")
    return code, state


__all__ = [
    "ASYMMETRIC",
    "DISCOVERY_SUFFIX",
    "Discovery",
    "Identity",
    "IssuerSettings",
    "OidcIssuer",
    "Pkce",
    "check_code",
    "is_issuer_url",
]
