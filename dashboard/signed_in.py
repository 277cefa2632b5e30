"""The signed-in answer: who a browser session is (the person, the CSRF token, what `/api/v1/me` says) and the
tenant's event-log head, read now.

One function builds it for every place that answers it: sign-in, accept, reset and `GET /api/v1/auth/session`
(`dashboard.signin`), and the `/dashboard` HTML itself (`dashboard.page`), which carries it for a request with a
valid session cookie so the page shows itself and reads its lists with no sign-in round trip of its own (issue 22:
the first paint). The page follows the live feed from `cursor`, read before any list, so it misses no later event.

In the HTML it is JSON in a `<script type="application/json">`, a data block the browser never runs (the CSP's
`script-src 'self'` is unchanged). `<`, `>`, `&` and the two JavaScript line separators are written as `\\uXXXX`
escapes, so no byte of a tenant's name (`</script>`, `<!--`) can end the block or open markup.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from dashboard.credentials import SignInAccess
from oratio.errors import BackendUnavailable, RetryLater, Unauthenticated
from oratio.services.live import EventTail
from oratio.services.signin import csrf_token
from oratio.services.tenants import TenantService
from schemas import Principal
from schemas.signin import BrowserSession

ELEMENT_ID = "oratio-signed-in"
"""The id of the data block in the HTML; dashboard/static/early.js reads it."""
_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class SignedInAccess(SignInAccess, Protocol):
    """What a signed-in answer reads: the session (sign-in), the tenant, and the tenant's event-log head."""

    @property
    def tenants(self) -> TenantService: ...

    def tailer(self, poll_interval: float | None = None) -> EventTail: ...


def who(platform: SignedInAccess, principal: Principal) -> dict[str, Any]:
    """Blocking. What /api/v1/me says (the tenant, the scopes) and the tenant's event-log head, read first: the page
    reads its lists after this and follows the live feed from `cursor`, so it misses no event written meanwhile."""
    cursor = platform.tailer().events.head(principal.tenant_id)
    tenant = platform.tenants.get_tenant(principal)
    return {
        "tenant": {"id": tenant.tenant_id, "name": tenant.name},
        "scopes": sorted(s.value for s in principal.scopes),
        "cursor": cursor.token(),
    }


def signed_in_answer(
    platform: SignedInAccess, principal: Principal, session: BrowserSession, secret: str
) -> dict[str, Any]:
    """Blocking. The answer for the browser session `secret` opened (`session`, of `principal`)."""
    return {
        "signed_in": True,
        "tenant_id": principal.tenant_id,
        "subject": principal.subject,
        "email": session.email,
        "expires_at": session.expires_at.isoformat(),
        "csrf_token": csrf_token(secret),
        **who(platform, principal),
    }


def resumed(platform: SignedInAccess, secret: str) -> dict[str, Any] | None:
    """Blocking. The answer for a session cookie's value, or None when it opens nothing now (unknown, expired,
    signed out, its person removed) or the check cannot be made (rate limited, the store unavailable): the page is
    then served without it and asks `GET /api/v1/auth/session` itself, which answers those cases."""
    try:
        principal, session = platform.signin.principal(secret)
        return signed_in_answer(platform, principal, session, secret)
    except (Unauthenticated, RetryLater, BackendUnavailable):
        return None


def data_block(answer: dict[str, Any]) -> bytes:
    """`answer` as a JSON data block for the HTML: nothing in it can end the element or start markup."""
    text = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).translate(_ESCAPES)
    return f'<script type="application/json" id="{ELEMENT_ID}">{text}</script>'.encode()
