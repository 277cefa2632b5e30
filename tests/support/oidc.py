"""A real OpenID provider for the sign-in tests: `oidc-provider-mock` (authlib's server under uvicorn) started
as its own process on 127.0.0.1, with the people below; and ways to walk its sign-in page over HTTP.

Its authorization page is a form where a person is picked by `sub` (no password): POSTing that form with
`sub=<person>` is "signing in at the issuer". It signs ID tokens with RS256 from a key it makes at start
(published at /jwks), puts the request's `nonce` in them, and takes codes once. It does not check PKCE
(our verifier is sent and ignored), so PKCE is covered by what we send, not by the issuer refusing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.net import free_port
from tests.support.processes import running

ACME_PERSON = "ops@acme.example"
GLOBEX_PERSON = "ops@globex.example"
STRANGER = "stranger@nowhere.example"
UNVERIFIED = "unverified@acme.example"
CLIENT_ID = "oratio-dashboard"
CLIENT_SECRET = "dashboard-client-secret-for-tests"
PEOPLE = (
    {"sub": ACME_PERSON, "email": ACME_PERSON, "email_verified": True},
    {"sub": GLOBEX_PERSON, "email": GLOBEX_PERSON, "email_verified": True},
    {"sub": STRANGER, "email": STRANGER, "email_verified": True},
    {"sub": UNVERIFIED, "email": UNVERIFIED, "email_verified": False},
)


@contextmanager
def mock_issuer() -> Iterator[str]:
    """The issuer's base URL (its `iss`) while its process runs; stopped for sure on exit."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--require-nonce"]
    for person in PEOPLE:
        command += ["--user-claims", json.dumps(person)]
    with running(
        command,
        ready_url=f"{base}/.well-known/openid-configuration",
        ready_timeout_s=60.0,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ):
        yield base


def discovery_url(base: str) -> str:
    return f"{base}/.well-known/openid-configuration"


def issuer_settings(base: str, **changes: object) -> dict[str, object]:
    """`platform_settings` for a platform whose dashboard signs people in with this issuer."""
    return {
        "oidc_discovery_url": discovery_url(base),
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_name": "Test IdP",
        **changes,
    }


def sign_in_at_issuer(browser: httpx.Client, authorize_url: str, person: str) -> httpx.Response:
    """The person picks themselves on the issuer's page; the browser follows the redirects back."""
    return browser.post(authorize_url, data={"sub": person}, follow_redirects=True)


def raw_id_token(base: str, person: str, *, client_id: str = CLIENT_ID, nonce: str = "n-0123456789") -> str:
    """An ID token the issuer really signed for `person`, audience `client_id` (no Oratio involved)."""
    redirect = "http://127.0.0.1:9/callback"
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "scope": "openid email",
            "state": "s",
            "nonce": nonce,
        }
    )
    with httpx.Client(timeout=30.0) as http:
        answer = http.post(f"{base}/oauth2/authorize?{query}", data={"sub": person})
        assert answer.status_code == 302, answer.text
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": client_id}
        tokens = http.post(f"{base}/oauth2/token", data=form, auth=(client_id, "any"))
        assert tokens.status_code == 200, tokens.text
        token: str = tokens.json()["id_token"]
        return token
