"""`oratio serve` serves the runtime too: the same app, mounted at /runtime beside the admin API and MCP."""

from __future__ import annotations

import httpx

from agentcore_apps.contract import SESSION_HEADER
from oratio.platform import Platform
from oratio_app.web import create_app
from tests.agentcore_apps.test_refusals import assert_error
from tests.support.serving import serving_built
from tests.support.worlds import World


def test_the_runtime_answers_under_runtime_in_oratio_serve(platform: Platform, world: World) -> None:
    build = lambda port: create_app(platform, host="127.0.0.1", port=port)  # noqa: E731
    with serving_built(build) as served, httpx.Client(base_url=served.base_url, timeout=10.0) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/runtime/ping").json()["status"] == "Healthy"
        key = {"X-Api-Key": world.secret}
        first = http.post("/runtime/invocations", json={"agent_id": world.agent.id, "message": "hi"}, headers=key)
        assert first.status_code == 200, first.text
        runtime_id = first.json()["runtime_session_id"]
        again = http.post(
            f"/runtime/agents/{world.agent.id}/invocations",
            json={"message": "again", "stream": True},
            headers={**key, SESSION_HEADER: runtime_id},
        )
        assert again.status_code == 200, again.text
        assert again.headers[SESSION_HEADER] == runtime_id
        assert f'"session_id": "{first.json()["session_id"]}"' in again.text
        assert_error(http.post("/runtime/invocations", content=b"{", headers=key), 422, "invalid_input", "JSON")
        assert_error(http.post("/runtime/invocations", json={"message": "hi"}), 401, "unauthenticated")
        assert_error(http.get("/runtime/elsewhere"), 404, "not_found")
