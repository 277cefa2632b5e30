"""ID-token verification (`oratio.auth.oidc.OidcIssuer.verify`) against tokens a real OpenID provider process
signed (`tests.support.oidc`), and against forgeries made here: tampered, expired, for another client, for
another nonce, with an HMAC or no algorithm, with a key the issuer never published. Discovery documents
that would weaken the check (another issuer, only symmetric algorithms, plain-http endpoints) are refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from oratio.auth.oidc import IssuerSettings, OidcIssuer
from oratio.errors import BackendUnavailable, Unauthenticated
from tests.support.oidc import ACME_PERSON, CLIENT_ID, discovery_url, mock_issuer, raw_id_token

NONCE = "n-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def issuer_url() -> Iterator[str]:
    with mock_issuer() as base:
        yield base


@pytest.fixture(scope="module")
def good_token(issuer_url: str) -> str:
    return raw_id_token(issuer_url, ACME_PERSON, nonce=NONCE)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(issuer_url: str, clock: Clock) -> Iterator[OidcIssuer]:
    issuer = OidcIssuer(IssuerSettings(discovery_url(issuer_url), CLIENT_ID), clock)
    yield issuer
    issuer.close()


def refused(verifier: OidcIssuer, token: str, nonce: str = NONCE) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify(token, nonce)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_the_issuer_signed_for_us_is_accepted(verifier: OidcIssuer, good_token: str, issuer_url: str) -> None:
    identity = verifier.verify(good_token, NONCE)
    assert (identity.email, identity.subject, identity.issuer) == (ACME_PERSON, ACME_PERSON, issuer_url)


def test_tampered_expired_foreign_and_replayed_tokens_are_refused(
    verifier: OidcIssuer, good_token: str, issuer_url: str, clock: Clock
) -> None:
    header, payload, signature = good_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    refused(verifier, f"{header}.{_b64({**claims, 'email': 'ceo@globex.example'})}.{signature}")  # tampered
    refused(verifier, good_token, nonce="another-sign-ins-nonce")  # another sign-in's token
    refused(verifier, raw_id_token(issuer_url, ACME_PERSON, client_id="someone-else", nonce=NONCE))  # audience

    clock.now = datetime.fromtimestamp(claims["exp"], UTC) + timedelta(seconds=61)  # past exp and the leeway
    refused(verifier, good_token)
    clock.now = datetime.fromtimestamp(claims["iat"], UTC) - timedelta(minutes=5)  # issued "in the future"
    refused(verifier, good_token)


def test_forged_algorithms_and_unknown_keys_are_refused(verifier: OidcIssuer, good_token: str) -> None:
    claims = jwt.decode(good_token, options={"verify_signature": False})
    (published,) = httpx.get(verifier.discovery().jwks_uri).json()["keys"]
    # The issuer's own key id, if it names one (this issuer signs with its one key and names none).
    same_kid = {"kid": published["kid"]} if "kid" in published else {}
    pem = jwt.PyJWK(published).key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    # HS256 keyed with the issuer's public key (algorithm confusion), and no signature at all.
    signing = f"{_b64({'alg': 'HS256', 'typ': 'JWT', **same_kid})}.{_b64(claims)}"
    mac = hmac.new(pem, signing.encode(), hashlib.sha256).digest()
    refused(verifier, f"{signing}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}")
    refused(verifier, f"{_b64({'alg': 'none', **same_kid})}.{_b64(claims)}.")
    # RS256 with a key of our own, as the issuer's key, and under a kid it never published.
    ours = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(verifier, jwt.encode(claims, ours, algorithm="RS256", headers=same_kid))
    refused(verifier, jwt.encode(claims, ours, algorithm="RS256", headers={"kid": "not-published"}))
    refused(verifier, "not a token at all")
    refused(verifier, "x" * 20_000)
    assert verifier.verify(good_token, NONCE).email == ACME_PERSON  # and the real one still passes


def _discovery_from(document: dict[str, Any]) -> OidcIssuer:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=document)

    url = "https://issuer.example/.well-known/openid-configuration"
    return OidcIssuer(IssuerSettings(url, CLIENT_ID), Clock(), transport=httpx.MockTransport(answer))


GOOD_DOCUMENT = {
    "issuer": "https://issuer.example",
    "authorization_endpoint": "https://issuer.example/authorize",
    "token_endpoint": "https://issuer.example/token",
    "jwks_uri": "https://issuer.example/jwks",
    "id_token_signing_alg_values_supported": ["RS256"],
}


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "https://evil.example"},  # a document naming another issuer
        {"id_token_signing_alg_values_supported": ["HS256", "none"]},  # nothing asymmetric
        {"token_endpoint": "http://issuer.example/token"},  # plain http off loopback
        {"jwks_uri": None},
    ],
)
def test_a_discovery_document_that_would_weaken_the_check_is_refused(change: dict[str, Any]) -> None:
    assert _discovery_from(GOOD_DOCUMENT).discovery().algorithms == ("RS256",)
    with pytest.raises(BackendUnavailable):
        _discovery_from({**GOOD_DOCUMENT, **change}).discovery()


def test_an_unreachable_issuer_is_asked_again_only_after_a_pause() -> None:
    asked: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(503)

    clock = Clock()
    url = "https://issuer.example/.well-known/openid-configuration"
    issuer = OidcIssuer(IssuerSettings(url, CLIENT_ID), clock, transport=httpx.MockTransport(down))
    for _ in range(3):
        with pytest.raises(BackendUnavailable):
            issuer.discovery()
    assert len(asked) == 1  # one request, three refusals
    clock.now += timedelta(seconds=31)
    with pytest.raises(BackendUnavailable):
        issuer.discovery()
    assert len(asked) == 2
