"""The live monitoring dashboard served by `oratio serve`: a page, its JSON API and its WebSocket.

- `page`: `/dashboard` (index.html, style.css, ES modules from app.js; no build step), `/` redirects there.
- `api`: `/api/v1/...` admin routes over the services (agents, sessions, notifications, keys, stats).
- `live`: `/ws/dashboard`, the tenant's event log replayed from a cursor and tailed.
- `stats`: the chart figures.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute

from dashboard.api import api_routes
from dashboard.context import DashboardServices
from dashboard.live import DashboardFeed, LiveSettings
from dashboard.page import page_routes


def dashboard_routes(
    platform: DashboardServices, live: LiveSettings | None = None, *, voice_url: str | None = None
) -> list[BaseRoute]:
    """`voice_url`: `ORATIO_VOICE_PUBLIC_URL`, a voice bridge the page reaches on another origin."""
    return [
        *page_routes(voice_url),
        *api_routes(platform),
        WebSocketRoute("/ws/dashboard", DashboardFeed(platform, live).endpoint),
    ]


__all__ = ["DashboardFeed", "DashboardServices", "LiveSettings", "dashboard_routes"]
