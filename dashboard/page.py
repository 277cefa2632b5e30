"""The page itself: index.html, its ES modules (app.js is the entry) and style.css from the package, with a strict CSP.

The files ship inside the wheel (package data) and are read once when the app is built; there is
no build step and nothing comes from a CDN. The page loads its eager modules joined into one (`dashboard.bundle`,
done in memory when the app is built), early.js beside it, and the agent page's modules when opened, all from
this origin (`script-src 'self'` allows exactly that). The Content-Security-Policy allows only this origin's
own script, style and connections (`'self'` covers ws:// to the same host; plus the voice bridge's origin
when `ORATIO_VOICE_PUBLIC_URL` puts it elsewhere), no inline code, no framing, so injected markup could
neither run nor exfiltrate; the JS also never uses innerHTML
with data.

For a request with a valid session cookie the HTML also carries the signed-in answer (`dashboard.signed_in`: the
person, the CSRF token, the tenant, the event cursor) as a JSON data block, so the page shows itself and starts its
first reads (`early.js`, before the other modules have loaded) with no sign-in round trip. That HTML is the
person's own: `Cache-Control: private, no-store` (no shared cache keeps it, no browser reuses it) and no ETag; the
HTML without it is the same for everyone (revalidated, with its ETag). Both vary on the cookie.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Awaitable, Callable, Mapping
from importlib.resources import files

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard.bundle import bundle
from dashboard.credentials import session_secret
from dashboard.signed_in import SignedInAccess, data_block, resumed

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
    "early.js",
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
    "route.js",
    "tool_form.js",
    "mcp_tool_form.js",
    "agent_openapi.js",
    "agent_entry.js",
)
"""The page's ES modules, each served at /dashboard/<name>; a module not listed here is not served."""
EARLY_MODULE = "early.js"
"""Loaded by its own `async` script tag, not bundled: it starts the first reads as soon as it is fetched."""
BUNDLE = "bundle.js"
"""app.js and the modules it imports, joined (`dashboard.bundle`); served from the versioned directory only. One
file instead of ~20 took a quarter off a warm load's script time and more off a cold one (docs/dashboard-quality.md).
"""
LAZY = frozenset(
    {
        "agent_page.js",
        "agent_plan.js",
        "agent_versions.js",
        "agent_chat.js",
        "agent_sims.js",
        "agent_docs.js",
        "agent_keys.js",
        "agent_tools.js",
        "mcp_tool_form.js",
        "agent_openapi.js",
    }
)
"""Modules not in the bundle: the agent page, imported (agent_entry.js) when an agent is opened or the browser is idle
after the first paint. Fetching and compiling them was part of every view's first paint."""
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "agent_page.css": "text/css; charset=utf-8",
    **dict.fromkeys(MODULES, JS),
    BUNDLE: JS,
}
HEADERS = {
    "Content-Security-Policy": CSP.format(voice=""),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
IMMUTABLE = "public, max-age=31536000, immutable"
"""Files under /dashboard/v/<version>/: the version is a hash of every file, so a URL's bytes never change."""
VOICE_META = b'<meta charset="utf-8">'
ENTRY = b'<script src="/dashboard/app.js" type="module"></script>'
EARLY = b'<script src="/dashboard/early.js" type="module" async></script>'
SIGNED_IN_CACHE = "private, no-store"
"""The HTML carrying a person's signed-in answer (their CSRF token among it): never stored by any cache."""
STYLES = (
    b'<link rel="stylesheet" href="/dashboard/style.css">',
    b'<link rel="stylesheet" href="/dashboard/agent_page.css">',
)
"""The page's stylesheets, both loaded from the versioned directory: an unversioned one was revalidated on every
load, a round trip that held the modules (they wait for the stylesheets) and so every view's first paint."""


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


def version_of(bodies: Mapping[str, bytes]) -> str:
    """A short hash of every file the page is made of: it names the directory the page loads them from."""
    digest = hashlib.sha256()
    for name in sorted(bodies):
        digest.update(name.encode() + b"\0" + hashlib.sha256(bodies[name]).digest())
    return digest.hexdigest()[:16]


def versioned_page(index: bytes, version: str) -> bytes:
    """index.html loading its style, early.js and the bundle (app.js and its imports as one module) from
    /dashboard/v/<version>/; the lazy modules' relative imports follow."""
    prefix = f"/dashboard/v/{version}/"
    index = index.replace(ENTRY, ENTRY.replace(b"/dashboard/app.js", f"{prefix}{BUNDLE}".encode()), 1)
    index = index.replace(EARLY, EARLY.replace(b"/dashboard/", prefix.encode()), 1)
    for style in STYLES:
        index = index.replace(style, style.replace(b"/dashboard/", prefix.encode()), 1)
    return index


def page_routes(
    voice_url: str | None = None, signed_in: SignedInAccess | None = None, public_url: str | None = None
) -> list[BaseRoute]:
    """The page; `voice_url` (`ORATIO_VOICE_PUBLIC_URL`) points its voice bar at a bridge on another origin;
    `signed_in` (the platform) lets the HTML carry a valid session cookie's signed-in answer (none without it);
    `public_url` says whether only the `__Host-` cookie counts (`dashboard.credentials.session_secret`).

    Caching: /dashboard (the HTML) is revalidated on every visit (`no-cache`, an ETag: a 304 when unchanged);
    it loads the files from /dashboard/v/<version>/, cached for good (`immutable`), so a returning admin's
    browser asks the server for the HTML only. An upgrade changes the version, hence the URLs. The same files
    stay at /dashboard/<name> (revalidated, with ETags) for anything that links them there."""
    static = files("dashboard") / "static"
    bodies = {name: (static / name).read_bytes() for name in ASSETS if name != BUNDLE}
    headers = dict(HEADERS)
    base, origin = voice_bridge_at(voice_url)
    if base:
        # The page reads it from a meta tag (no inline script: the CSP forbids it); the value is URL-safe.
        meta = f'<meta name="oratio-voice-url" content="{html.escape(base)}">'.encode()
        bodies["index.html"] = bodies["index.html"].replace(VOICE_META, VOICE_META + b"\n  " + meta, 1)
        headers["Content-Security-Policy"] = CSP.format(voice=f" {origin}")
    built = bundle(bodies, MODULES[0], LAZY, {EARLY_MODULE}, BUNDLE)
    versioned = {**bodies, **built.lazy, BUNDLE: built.body}  # the lazy modules import from the bundle
    version = version_of(versioned)
    page = versioned_page(bodies["index.html"], version)
    etags = {name: _etag(body) for name, body in {**bodies, "": page}.items()}
    v_etags = {name: _etag(body) for name, body in versioned.items()}

    def serve(body: bytes, name: str, etag: str, cache: str) -> Callable[[Request], Awaitable[Response]]:
        sent = {**headers, "ETag": etag, "Cache-Control": cache}

        async def answer(request: Request) -> Response:
            if etag in request.headers.get("if-none-match", ""):
                return Response(status_code=304, headers=sent)
            return Response(body, media_type=ASSETS[name], headers=sent)

        return answer

    async def home(request: Request) -> Response:
        return RedirectResponse("/dashboard", status_code=307)

    anonymous = serve(page, "index.html", etags[""], "no-cache")
    before, after = split_at_early(page, version)

    async def dashboard(request: Request) -> Response:
        secret = session_secret(request, public_url)
        answer = None
        if signed_in is not None and secret is not None:
            answer = await anyio.to_thread.run_sync(resumed, signed_in, secret)
        if answer is None:
            response = await anonymous(request)
        else:
            body = before + data_block(answer) + b"\n  " + after
            response = Response(
                body, media_type=ASSETS["index.html"], headers={**headers, "Cache-Control": SIGNED_IN_CACHE}
            )
        response.headers["Vary"] = "Cookie"
        return response

    files_ = ("style.css", "agent_page.css", *MODULES)
    return [
        Route("/", home),
        Route("/dashboard", dashboard),
        *(Route(f"/dashboard/{name}", serve(bodies[name], name, etags[name], "no-cache")) for name in files_),
        *(
            Route(f"/dashboard/v/{version}/{name}", serve(versioned[name], name, v_etags[name], IMMUTABLE))
            for name in (*files_, BUNDLE)
        ),
    ]


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def split_at_early(page: bytes, version: str) -> tuple[bytes, bytes]:
    """The versioned page cut before early.js's tag: a signed-in answer goes there, before the script reading it."""
    tag = EARLY.replace(b"/dashboard/", f"/dashboard/v/{version}/".encode())
    at = page.find(tag)
    if at < 0:
        raise ValueError("index.html has no early.js script tag")  # a broken package, found when the app is built
    return page[:at], page[at:]
