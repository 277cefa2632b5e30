"""The live monitoring dashboard served by `oratio serve`: a page, its JSON API and its WebSocket.

- `page`: `/dashboard` (index.html, style.css, ES modules from app.js; no build step), `/` redirects there.
- `api`: `/api/v1/...` admin routes over the services (agents, sessions, notifications, keys, stats).
- `agent_admin`: creating an agent from the page (options, creation, documents, SOP files, build progress).
- `live`: `/ws/dashboard`, the tenant's event log replayed from a cursor and tailed.
- `stats`: the chart figures.
- `agent_page`, `agent_access`, `agent_tools`, `agent_openapi`: the agent page's API (plan, versions, simulations,
  keys, test chat; tools: list, add, edit, remove, try, import from an OpenAPI document).
- `signin`, `credentials`: people signing in (cookie sessions with CSRF checks) beside bearer admin JWTs.
- `oidc`: people signing in through the configured OIDC issuer (Cognito on AWS), into the same cookie session.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute

from dashboard.agent_access import agent_access_routes
from dashboard.agent_admin import AgentAdminSettings, agent_admin_routes
from dashboard.agent_page import agent_page_routes
from dashboard.api import api_routes
from dashboard.authorised_clients import authorised_client_routes
from dashboard.context import DashboardServices
from dashboard.live import DashboardFeed, LiveSettings
from dashboard.oidc import oidc_routes
from dashboard.page import page_routes
from dashboard.service_accounts import service_account_routes
from dashboard.signin import signin_routes


def dashboard_routes(
    platform: DashboardServices,
    live: LiveSettings | None = None,
    *,
    voice_url: str | None = None,
    public_url: str | None = None,
    agent_admin: AgentAdminSettings | None = None,
) -> list[BaseRoute]:
    """`voice_url`: `ORATIO_VOICE_PUBLIC_URL`, a voice bridge the page reaches on another origin.
    `public_url`: where this server is reached (`oratio serve` always passes it): the base of invitation and
    reset links (never the request's Host header, which a stranger asking for a reset link controls) and an
    origin the CSRF check accepts. `agent_admin`: the agent-creation routes' limits (`dashboard.agent_admin`)."""
    return [
        *page_routes(voice_url, platform, public_url),
        *signin_routes(platform, public_url),
        *oidc_routes(platform, public_url),
        *api_routes(platform, public_url),
        *agent_page_routes(platform, public_url),
        *agent_access_routes(platform, public_url),
        *agent_admin_routes(platform, agent_admin, public_url),
        *service_account_routes(platform, public_url),
        *authorised_client_routes(platform, public_url),
        WebSocketRoute("/ws/dashboard", DashboardFeed(platform, live, public_url=public_url).endpoint),
    ]


__all__ = ["AgentAdminSettings", "DashboardFeed", "DashboardServices", "LiveSettings", "dashboard_routes"]
