"""The page itself: index.html, its ES modules (app.js is the entry) and style.css from the package, with a strict CSP.

The files ship inside the wheel (package data) and are read once when the app is built; there is
no build step and nothing comes from a CDN: the browser loads the modules itself, one file each, from
this origin (`script-src 'self'` allows exactly that). The Content-Security-Policy allows only this origin's
own script, style and connections (`'self'` covers ws:// to the same host; plus the voice bridge's origin
when `ORATIO_VOICE_PUBLIC_URL` puts it elsewhere), no inline code, no framing, so injected markup could
neither run nor exfiltrate; the JS also never uses innerHTML
with data.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'{voice}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
VOICE_URL = re.compile(r"^(wss?|https?)://([A-Za-z0-9.-]+(?::[0-9]{1,5})?)(/[A-Za-z0-9._~/-]*)?$")
"""`ORATIO_VOICE_PUBLIC_URL` (oratio.config checks the same): nothing that could end a CSP directive or an
attribute (no quote, space, semicolon or comma) can get into the header or the page."""
JS = "text/javascript; charset=utf-8"
MODULES = (
    "app.js",
    "api.js",
    "dom.js",
    "state.js",
    "connection.js",
    "live.js",
    "agents.js",
    "history.js",
    "session.js",
    "notifications.js",
    "keys.js",
    "charts.js",
    "tabs.js",
    "voice.js",
    "capture.js",
    "signin.js",
    "account.js",
    "machines.js",
    "agent_page.js",
    "agent_plan.js",
    "agent_versions.js",
    "agent_chat.js",
    "agent_sims.js",
    "agent_docs.js",
    "agent_keys.js",
    "agent_tools.js",
    "create.js",
    "creation.js",
    "markdown.js",
)
"""The page's ES modules, each served at /dashboard/<name>; a module not listed here is not served."""
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "agent_page.css": "text/css; charset=utf-8",
    **dict.fromkeys(MODULES, JS),
}
HEADERS = {
    "Content-Security-Policy": CSP.format(voice=""),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
VOICE_META = b'<meta charset="utf-8">'


def voice_bridge_at(url: str | None) -> tuple[str, str]:
    """Where the page's Listen/Talk/Type connect: (the WebSocket base the page adds `/voice/calls/...` to, the
    origin its CSP's connect-src allows); ("", "") for the page's own origin (`oratio serve` mounts the bridge).

    A standalone bridge (`serve-door voice`) on another host or port is named by `ORATIO_VOICE_PUBLIC_URL`;
    http(s) is taken for ws(s), which is what the browser opens."""
    if not url:
        return "", ""
    found = VOICE_URL.fullmatch(url)  # not match: `$` would let a trailing newline through
    if found is None:
        raise ValueError(f"not a voice bridge URL (ws://, wss://, http:// or https://, host, optional path): {url!r}")
    scheme, host, path = found.group(1), found.group(2), found.group(3) or ""
    scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    return f"{scheme}://{host}{path.rstrip('/')}", f"{scheme}://{host}"


def page_routes(voice_url: str | None = None) -> list[BaseRoute]:
    """The page; `voice_url` (`ORATIO_VOICE_PUBLIC_URL`) points its voice bar at a bridge on another origin."""
    static = files("dashboard") / "static"
    bodies = {name: (static / name).read_bytes() for name in ASSETS}
    headers = dict(HEADERS)
    base, origin = voice_bridge_at(voice_url)
    if base:
        # The page reads it from a meta tag (no inline script: the CSP forbids it); the value is URL-safe.
        meta = f'<meta name="oratio-voice-url" content="{html.escape(base)}">'.encode()
        bodies["index.html"] = bodies["index.html"].replace(VOICE_META, VOICE_META + b"\n  " + meta, 1)
        headers["Content-Security-Policy"] = CSP.format(voice=f" {origin}")

    def asset(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            return Response(bodies[name], media_type=ASSETS[name], headers=headers)

        return serve

    async def home(request: Request) -> Response:
        return RedirectResponse("/dashboard", status_code=307)

    return [
        Route("/", home),
        Route("/dashboard", asset("index.html")),
        Route("/dashboard/style.css", asset("style.css")),
        Route("/dashboard/agent_page.css", asset("agent_page.css")),
        *(Route(f"/dashboard/{name}", asset(name)) for name in MODULES),
    ]
