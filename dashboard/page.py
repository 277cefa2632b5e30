"""The page itself: index.html, its ES modules (app.js is the entry) and style.css from the package, with a strict CSP.

The files ship inside the wheel (package data) and are read once when the app is built; there is
no build step and nothing comes from a CDN: the browser loads the modules itself, one file each, from
this origin (`script-src 'self'` allows exactly that). The Content-Security-Policy allows only this origin's
own script, style and connections (`'self'` covers ws:// to the same host), no inline code, no
framing, so injected markup could neither run nor exfiltrate; the JS also never uses innerHTML
with data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
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
    "notifications.js",
    "keys.js",
    "charts.js",
    "tabs.js",
    "voice.js",
    "capture.js",
)
"""The page's ES modules, each served at /dashboard/<name>; a module not listed here is not served."""
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    **dict.fromkeys(MODULES, JS),
}
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def page_routes() -> list[BaseRoute]:
    static = files("dashboard") / "static"
    bodies = {name: (static / name).read_bytes() for name in ASSETS}

    def asset(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            return Response(bodies[name], media_type=ASSETS[name], headers=HEADERS)

        return serve

    async def home(request: Request) -> Response:
        return RedirectResponse("/dashboard", status_code=307)

    return [
        Route("/", home),
        Route("/dashboard", asset("index.html")),
        Route("/dashboard/style.css", asset("style.css")),
        *(Route(f"/dashboard/{name}", asset(name)) for name in MODULES),
    ]
