"""What the sign-in tests share: settings that send email to an aiosmtpd sink, reading a link out of the
email that arrived, and a signed-in `httpx.Client` (its cookie jar holds the session; `csrf` the header)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.notify.servers import HOST, SmtpSink

PASSWORD = "correct horse battery staple"
LINK = re.compile(r"https?://\S+/dashboard#(invite|reset)=([A-Za-z0-9_-]+)")
WAIT_S = 15.0


def email_settings(smtp: SmtpSink) -> dict[str, Any]:
    """Outbox email through the sink, and a cheap argon2 cost (the hash is the same algorithm)."""
    return {
        "email": "smtp",
        "email_from": "oratio@example.com",
        "smtp_host": HOST,
        "smtp_port": smtp.port,
        "smtp_starttls": False,
        "password_memory_kib": 8 * 1024,
    }


def link_sent_to(smtp: SmtpSink, address: str, purpose: str, *, count: int = 1) -> str:
    """The token of the `count`-th link of `purpose` emailed to `address`, waiting (bounded) for it."""

    def links(mail: list[Any]) -> list[str]:
        found = []
        for received in mail:
            if address in received.rcpt_tos:
                body = received.message.get_body(preferencelist=("plain",)).get_content()
                found += [m.group(2) for m in LINK.finditer(body) if m.group(1) == purpose]
        return found

    assert smtp.wait_until(lambda mail: len(links(mail)) >= count, WAIT_S), f"no {purpose} email to {address}"
    return links(smtp.received)[count - 1]


def json_post(http: httpx.Client, path: str, body: dict[str, Any], csrf: str | None = None) -> httpx.Response:
    """A POST as the page sends it: JSON from our own origin, with the CSRF token once signed in."""
    headers = {"Origin": str(http.base_url).rstrip("/")}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return http.post(path, json=body, headers=headers)


def signed_in(base_url: str, email: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A new browser-like client signed in as `email`: (the client, its CSRF token). Close the client."""
    client = httpx.Client(base_url=base_url, timeout=10.0)
    answer = json_post(client, "/api/v1/auth/sign-in", {"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return client, str(answer.json()["csrf_token"])
