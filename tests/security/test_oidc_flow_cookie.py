"""A stranger's rewritten OIDC flow cookie at the callback is a refusal page, never a 500.

The flow cookie (`v1.<started>.<state>.<nonce>.<verifier>`) comes back from the browser, so whoever holds the
browser may rewrite it. Its start time used to be read with `str.isdigit` and `int`: a few hundred digits
overflowed the float it is compared with, and a superscript digit (a latin-1 byte in the header) passed
`isdigit` and failed `int`; both were 500s. The callback is answered before the issuer is asked anything, so
the issuer here is an address nobody serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from oratio.platform import Platform
from oratio_app.web import create_app
from tests.support.oidc import issuer_settings

CALLBACK = "/api/v1/auth/oidc/callback?code=c0de&state=st4te"
TAMPERED = (
    b"v1." + b"9" * 400 + b".st4te.n.v",  # overflows a float
    b"v1.\xb2.st4te.n.v",  # "\u00b2": str.isdigit() is true, int() refuses it
    b'"v1.\\262.st4te.n.v"',  # the same digit through the cookie syntax's octal escape
    b"v1.\xd9\xa3.st4te.n.v",  # Arabic-Indic digit bytes
    b"v1.-5.st4te.n.v",
    b"v1.1.2.3.4.5",
    b"\xff\xfe\x00",
)


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return issuer_settings("http://127.0.0.1:9")


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield client


def test_a_rewritten_flow_cookie_is_a_refusal_page(client: TestClient) -> None:
    for cookie in TAMPERED:
        for name in (b"oratio_oidc_flow", b"__Host-oratio_oidc_flow"):
            answer = client.get(CALLBACK, headers={b"cookie": name + b"=" + cookie})
            assert answer.status_code == 400, (cookie, answer.text[:300])
            assert "already used, has expired or was started in another browser" in answer.text
