"""People signing in to the dashboard through the configured OIDC issuer (Cognito on AWS, or another).

Why it is shaped this way:

* The browser carries the sign-in's `state`, `nonce` and PKCE verifier in one short-lived HttpOnly cookie
  (`Pkce`), and the callback is accepted only with the `state` that cookie holds: a callback URL from
  someone else's sign-in (login CSRF) or a second use of one (the cookie is cleared by the first, whatever
  its outcome) is refused before the issuer is asked anything. The code is also single-use at the issuer.
* The code is exchanged server to server and the ID token verified (`oratio.auth.oidc`), then the verified
  email names the person's login exactly as the password sign-in's email does
  (`SignInService.sign_in_verified`): the same browser session, so CSRF, expiry, sign out everywhere,
  MCP tokens and the MCP consent page need nothing new.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from oratio.auth.oidc import OidcIssuer, Pkce, check_code
from oratio.auth.rate_limit import RateLimiter, TokenBucketLimiter
from oratio.errors import InvalidInput
from oratio.services.signin import SignedIn, SignInService

FLOW_TTL = timedelta(minutes=10)
"""How long a started sign-in may take at the issuer (its cookie's lifetime, also checked here)."""
CALLBACKS_PER_MINUTE = 20.0
CALLBACKS_BURST = 20
FLOW_REFUSED = "this sign-in was already used, has expired or was started in another browser; start again"
_ISSUED = re.compile(r"[0-9]{1,12}")
"""The flow cookie's start time: ASCII digits, a dozen at most. The cookie comes back from the browser, so it
may have been rewritten: `str.isdigit` also takes "²" or "٣", which `int` refuses or reads, and hundreds of digits
overflow the float it is compared with; both were a 500 before this bound."""


@dataclass(frozen=True)
class Started:
    redirect: str
    """The issuer's authorization URL the browser is sent to."""
    cookie: str
    """The flow cookie's value (HttpOnly, this browser only)."""


class OidcSignIn:
    def __init__(
        self,
        issuer: OidcIssuer,
        signin: SignInService,
        clock: Callable[[], datetime],
        *,
        passwords: bool,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.issuer = issuer
        self._signin = signin
        self._clock = clock
        self._limiter = limiter or TokenBucketLimiter(rate_per_minute=CALLBACKS_PER_MINUTE, burst=CALLBACKS_BURST)
        self.passwords = passwords
        """Whether email + password sign-in stays on beside the issuer (ORATIO_SIGNIN_PASSWORDS)."""

    @property
    def name(self) -> str:
        return self.issuer.name

    def start(self, redirect_uri: str) -> Started:
        flow = Pkce.new()
        issued = int(self._clock().timestamp())
        cookie = f"v1.{issued}.{flow.state}.{flow.nonce}.{flow.verifier}"
        return Started(redirect=self.issuer.authorization_url(flow, redirect_uri), cookie=cookie)

    def finish(
        self, code: str | None, state: str | None, cookie: str | None, redirect_uri: str, client: str = "unknown"
    ) -> SignedIn:
        """The signed-in person for the issuer's answer, checked against this browser's flow cookie.

        Each client address has a budget of callbacks (`RateLimited` past it): a callback may cost a call to the
        issuer's token endpoint and its keys, so a stranger cannot make this server call the issuer at will."""
        self._limiter.check(f"ip:{client}")
        code, state = check_code(code, state)
        flow = self._flow(cookie)
        if flow is None or not hmac.compare_digest(flow.state.encode(), state.encode("utf-8", "replace")):
            raise InvalidInput(FLOW_REFUSED, field="state")
        identity = self.issuer.exchange(code, flow, redirect_uri)
        return self._signin.sign_in_verified(identity.email, self.name, f"{identity.issuer}\0{identity.subject}")

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        return self.issuer.end_session_url(post_logout_redirect_uri)

    def _flow(self, cookie: str | None) -> Pkce | None:
        if not cookie or len(cookie) > 512:
            return None
        parts = cookie.split(".")
        if len(parts) != 5 or parts[0] != "v1" or not _ISSUED.fullmatch(parts[1]):
            return None
        age = self._clock().timestamp() - int(parts[1])
        if not 0 <= age <= FLOW_TTL.total_seconds():
            return None
        return Pkce(state=parts[2], nonce=parts[3], verifier=parts[4])


__all__ = ["CALLBACKS_BURST", "CALLBACKS_PER_MINUTE", "FLOW_REFUSED", "FLOW_TTL", "OidcSignIn", "Started"]
