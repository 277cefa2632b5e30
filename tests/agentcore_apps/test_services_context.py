"""The runtime door works from the services it is given, not the whole platform (issue 16, item 2).

The app is built over a frozen object holding only `keys` and `engine` (and, for the receive path
of issue 19, `feed`, `tailer` and `settings`; for client-chosen runtime session ids across replicas,
`runtime_sessions`): every decision a customer can see (a turn, 401, 403,
404) must come out of those, so none of it can reach the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from agentcore_apps.app import create_runtime_app
from oratio.config import Settings
from oratio.platform import Platform
from oratio.runtime import ConversationEngine
from oratio.services.customer_feed import CustomerFeed
from oratio.services.keys import KeyService
from oratio.services.live import EventTail
from oratio.services.runtime_sessions import RuntimeSessionAliases
from tests.support.serving import serving
from tests.support.worlds import World


@dataclass(frozen=True)
class OnlyKeysAndEngine:
    keys: KeyService
    engine: ConversationEngine
    feed: CustomerFeed
    live: EventTail
    settings: Settings
    runtime_sessions: RuntimeSessionAliases

    def tailer(self, poll_interval: float | None = None) -> EventTail:
        return self.live


@pytest.fixture
def narrow_http(platform: Platform) -> Iterator[httpx.Client]:
    app = create_runtime_app(
        OnlyKeysAndEngine(
            keys=platform.keys,
            engine=platform.engine,
            feed=platform.feed,
            live=platform.live,
            settings=platform.settings,
            runtime_sessions=platform.runtime_sessions,
        )
    )
    with serving(app) as served, httpx.Client(base_url=served.base_url, timeout=10.0) as client:
        yield client


def _ask(http: httpx.Client, agent_id: str, key: str) -> httpx.Response:
    return http.post("/invocations", json={"agent_id": agent_id, "message": "hello"}, headers={"X-Api-Key": key})


def test_a_turn_runs_over_keys_and_engine_alone(narrow_http: httpx.Client, world: World) -> None:
    response = _ask(narrow_http, world.agent.id, world.secret)
    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "You said: hello. Anything else?"


def test_refusals_are_decided_by_the_key_service(narrow_http: httpx.Client, world: World) -> None:
    answers = {
        "bad key": _ask(narrow_http, world.agent.id, "ora_sk_" + "A" * 43),
        "another agent of the tenant": _ask(narrow_http, world.other_agent.id, world.secret),
        "another tenant's agent": _ask(narrow_http, world.globex_agent.id, world.secret),
        "no such agent": _ask(narrow_http, "agt_" + "0" * 26, world.secret),
    }
    assert {why: (r.status_code, r.json()["error"]) for why, r in answers.items()} == {
        "bad key": (401, "unauthenticated"),
        "another agent of the tenant": (403, "forbidden"),
        "another tenant's agent": (404, "not_found"),
        "no such agent": (404, "not_found"),
    }
