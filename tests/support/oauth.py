"""What the MCP OAuth tests share: a person who signs in with a password, and a scripted browser that
signs in through the dashboard API, follows the authorization redirect and answers the consent page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from mcp.client.auth import TokenStorage
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthToken

from oratio.platform import Platform
from oratio.services.oauth import Issued
from schemas import Principal
from schemas.signin import LinkPurpose
from tests.support.signin import LINK, PASSWORD, signed_in
from tests.support.tenants import Tenancy

REDIRECT_URI = "http://127.0.0.1:3999/callback"
HIDDEN = re.compile(r'<input type="hidden" name="(request|csrf_token)" value="([^"]*)">')


URI = "http://127.0.0.1:4000/cb"
CHALLENGE = "c" * 43
RESOURCE = "https://oratio.example/mcp"


def consent_request(platform: Platform, client_id: str = "cid-1", resource: str = RESOURCE) -> str:
    """A consent request of `client_id` (registered if new) for `resource`, waiting for the person's answer: its id."""
    if platform.oauth.client(client_id) is None:
        platform.oauth.register(client_id, "Tool", [URI], "{}")
    return platform.oauth.start(
        client_id,
        scopes=[],
        code_challenge=CHALLENGE,
        redirect_uri=URI,
        redirect_uri_explicit=True,
        state="s",
        resource=resource,
    )


def approved_code(platform: Platform, principal: Principal, client_id: str = "cid-1", resource: str = RESOURCE) -> str:
    """The authorization code a person's approval of a new consent request gives `client_id` (not exchanged)."""
    _, code = platform.oauth.answer(consent_request(platform, client_id, resource), principal, approve=True)
    assert code is not None
    return code


def consent(platform: Platform, principal: Principal, client_id: str = "cid-1", resource: str = RESOURCE) -> Issued:
    """A person's approved consent for `client_id` on `resource`, exchanged: its access and refresh tokens."""
    found = platform.oauth.code(client_id, approved_code(platform, principal, client_id, resource))
    assert found is not None
    return platform.oauth.exchange_code(found)


def person(platform: Platform, tenancy: Tenancy, email: str) -> str:
    """A new admin of `tenancy` who has accepted an invitation (password `PASSWORD`); returns the email."""
    invitation = platform.signin.invite(tenancy.principal, email, "Person", "http://127.0.0.1")
    match = LINK.search(invitation.link)
    assert match is not None, invitation.link
    platform.signin.accept(match.group(2), PASSWORD, LinkPurpose.INVITE)
    return email


@dataclass
class MemoryStorage(TokenStorage):
    tokens: OAuthToken | None = None
    client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@dataclass
class Browser:
    """A person's browser: signed in to the dashboard; `approve` decides what the consent page gets."""

    base_url: str
    email: str
    approve: bool = True
    redirects: list[str] = field(default_factory=list)
    consent_pages: list[str] = field(default_factory=list)

    def consent(self, authorization_url: str) -> str:
        """Follow the authorization URL to the consent page, answer it; the redirect back to the client."""
        http, _ = signed_in(self.base_url, self.email)
        try:
            to_consent = http.get(authorization_url)
            assert to_consent.status_code == 302, to_consent.text
            page = http.get(to_consent.headers["location"])
            assert page.status_code == 200, page.text
            self.consent_pages.append(page.text)
            fields = dict(HIDDEN.findall(page.text))
            answer = http.post(
                "/oauth/consent",
                data={**fields, "decision": "approve" if self.approve else "deny"},
                headers={"Origin": self.base_url},
            )
            assert answer.status_code == 303, answer.text
            return answer.headers["location"]
        finally:
            http.close()

    async def redirect(self, authorization_url: str) -> None:
        self.redirects.append(self.consent(authorization_url))

    async def callback(self) -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(self.redirects[-1]).query)
        return AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0])
