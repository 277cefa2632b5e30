"""People sign in to the dashboard end to end: `oratio serve`'s app under uvicorn, email through the outbox
to a real aiosmtpd server, the emailed link followed once, the cookie session used by the API and the live
WebSocket, sign-out, sign-out everywhere, and a token minted for an MCP client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

from oratio.platform import Platform
from oratio_app import cli
from tests.dashboard.dash import Dash
from tests.notify.servers import SmtpSink, smtp_server
from tests.support.platforms import JWT_SECRET
from tests.support.serving import Served
from tests.support.signin import PASSWORD, email_settings, json_post, link_sent_to, signed_in

NEW = "new.person@acme.example"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def platform_settings(smtp: SmtpSink) -> dict[str, Any]:
    return email_settings(smtp)


def invite(http: httpx.Client, dash: Dash, email: str = NEW) -> httpx.Response:
    return http.post("/api/v1/auth/invite", json={"email": email, "name": "New Person"}, headers=dash.bearer())


def test_an_invited_person_follows_the_emailed_link_once_and_uses_the_dashboard(
    served: Served, http: httpx.Client, dash: Dash, smtp: SmtpSink
) -> None:
    answer = invite(http, dash)
    assert answer.status_code == 201, answer.text
    assert answer.json()["emailed"] is True and "link" not in answer.json()  # the link goes by email only
    token = link_sent_to(smtp, NEW, "invite")

    with httpx.Client(base_url=served.base_url, timeout=10.0) as browser:
        accepted = json_post(browser, "/api/v1/auth/accept", {"token": token, "password": PASSWORD})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["email"] == NEW
        agents = browser.get("/api/v1/agents")  # the cookie alone, no bearer token
        assert agents.status_code == 200
        assert [a["name"] for a in agents.json()["agents"]] == [dash.agent.name]
        me = browser.get("/api/v1/me")
        assert me.json()["tenant"]["name"] == "Acme"

    with httpx.Client(base_url=served.base_url, timeout=10.0) as other:
        again = json_post(other, "/api/v1/auth/accept", {"token": token, "password": "another long password"})
        assert again.status_code == 401
        assert "already used" in again.json()["message"]
    client, _ = signed_in(served.base_url, NEW)  # the first password stands
    client.close()


def test_oratio_admin_invite_emails_a_link(
    served: Served, dash: Dash, smtp: SmtpSink, platform: Platform, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    settings = platform.settings
    monkeypatch.setenv("ORATIO_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("ORATIO_EMBEDDINGS", "false")
    for name, value in email_settings(smtp).items():
        monkeypatch.setenv(f"ORATIO_{name.upper()}", str(value))
    monkeypatch.setenv("ORATIO_PUBLIC_URL", served.base_url)
    data = str(Path(settings.data_dir))
    code = cli.main(["admin", "invite", "cli.person@acme.example", "--tenant", dash.acme.tenant_id, "--data-dir", data])
    assert code == 0
    assert "emailed" in capsys.readouterr().out
    token = link_sent_to(smtp, "cli.person@acme.example", "invite")
    with httpx.Client(base_url=served.base_url, timeout=10.0) as browser:
        accepted = json_post(browser, "/api/v1/auth/accept", {"token": token, "password": PASSWORD})
        assert accepted.status_code == 200, accepted.text


def test_a_forgotten_password_is_reset_by_the_emailed_link_and_other_sessions_end(
    served: Served, http: httpx.Client, dash: Dash, smtp: SmtpSink
) -> None:
    invite(http, dash)
    with httpx.Client(base_url=served.base_url, timeout=10.0) as first:
        json_post(first, "/api/v1/auth/accept", {"token": link_sent_to(smtp, NEW, "invite"), "password": PASSWORD})
        assert first.get("/api/v1/agents").status_code == 200

        with httpx.Client(base_url=served.base_url, timeout=10.0) as stranger:
            asked = json_post(stranger, "/api/v1/auth/forgot", {"email": NEW})
            assert asked.status_code == 202
            token = link_sent_to(smtp, NEW, "reset")
            reset = json_post(stranger, "/api/v1/auth/reset", {"token": token, "password": "a brand new passphrase"})
            assert reset.status_code == 200, reset.text
            assert stranger.get("/api/v1/agents").status_code == 200

        assert first.get("/api/v1/agents").status_code == 401  # the session from before the reset ended

    with httpx.Client(base_url=served.base_url, timeout=10.0) as browser:
        old = json_post(browser, "/api/v1/auth/sign-in", {"email": NEW, "password": PASSWORD})
        assert old.status_code == 401
    client, _ = signed_in(served.base_url, NEW, "a brand new passphrase")
    client.close()


def test_sign_out_ends_one_session_and_sign_out_everywhere_ends_them_all(
    served: Served, http: httpx.Client, dash: Dash, smtp: SmtpSink
) -> None:
    invite(http, dash)
    with httpx.Client(base_url=served.base_url, timeout=10.0) as browser:
        json_post(browser, "/api/v1/auth/accept", {"token": link_sent_to(smtp, NEW, "invite"), "password": PASSWORD})
    laptop, laptop_csrf = signed_in(served.base_url, NEW)
    phone, phone_csrf = signed_in(served.base_url, NEW)
    tablet, _ = signed_in(served.base_url, NEW)
    with closing(laptop), closing(phone), closing(tablet):
        out = json_post(laptop, "/api/v1/auth/sign-out", {}, laptop_csrf)
        assert out.status_code == 204
        assert laptop.get("/api/v1/agents").status_code == 401
        assert laptop.get("/api/v1/auth/session").json() == {"signed_in": False}  # what the page asks first
        assert phone.get("/api/v1/agents").status_code == 200  # only the laptop signed out

        everywhere = json_post(phone, "/api/v1/auth/sign-out-everywhere", {}, phone_csrf)
        assert everywhere.status_code == 204
        assert phone.get("/api/v1/agents").status_code == 401
        assert tablet.get("/api/v1/agents").status_code == 401
    assert http.get("/api/v1/agents", headers=dash.bearer()).status_code == 200  # bearer tokens are unaffected


def test_a_signed_in_person_mints_a_token_for_an_mcp_client(
    served: Served, http: httpx.Client, dash: Dash, smtp: SmtpSink
) -> None:
    invite(http, dash)
    with httpx.Client(base_url=served.base_url, timeout=10.0) as browser:
        json_post(browser, "/api/v1/auth/accept", {"token": link_sent_to(smtp, NEW, "invite"), "password": PASSWORD})
    browser, csrf = signed_in(served.base_url, NEW)
    with closing(browser):
        minted = json_post(browser, "/api/v1/auth/token", {"ttl_seconds": 3600}, csrf)
        assert minted.status_code == 201, minted.text
        assert minted.headers["cache-control"] == "no-store"
        token = minted.json()["token"]
    with httpx.Client(base_url=served.base_url, timeout=10.0) as script:
        me = script.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["subject"].startswith("adm_")


def test_the_live_websocket_accepts_the_session_cookie_from_our_own_page_only(
    served: Served, http: httpx.Client, dash: Dash, smtp: SmtpSink
) -> None:
    invite(http, dash)
    with httpx.Client(base_url=served.base_url, timeout=10.0) as browser:
        json_post(browser, "/api/v1/auth/accept", {"token": link_sent_to(smtp, NEW, "invite"), "password": PASSWORD})
    browser, _ = signed_in(served.base_url, NEW)
    with closing(browser):
        cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    ws_url = served.base_url.replace("http://", "ws://") + "/ws/dashboard"
    with connect(ws_url, additional_headers={"Cookie": cookie}, origin=Origin(served.base_url), open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "after": None}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
    with connect(
        ws_url, additional_headers={"Cookie": cookie}, origin=Origin("http://evil.example"), open_timeout=10
    ) as ws:
        ws.send(json.dumps({"type": "auth", "after": None}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
