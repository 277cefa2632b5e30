"""Customer details (`customer`) are bounded in every dimension at every door (issue 15, item 14).

Threat: a customer app sends field names of megabytes (or thousands of fields) that are stored on
the session, shown on every admin's dashboard and copied into every event and export. Names are
limited to `Limits.METADATA_KEY_MAX` characters without control characters, the number of fields to
`METADATA_KEYS_MAX` and values to `METADATA_VALUE_MAX`. Each refusal is a clear 4xx (HTTP) or a
close with a reason (voice), and no session is opened by a refused request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from oratio.errors import InvalidInput
from oratio.services.sessions import CUSTOMER_LIMITS
from schemas import Channel, Limits, SessionFilter
from tests.reliability.world import Served, Side, new_side, reliability_platform, serving
from tests.voice_bridge.client import voice_client
from voice_bridge.protocol import CONTROL_MAX_BYTES

AT_LIMIT = {"k" * Limits.METADATA_KEY_MAX: "v" * Limits.METADATA_VALUE_MAX}
REFUSED = [
    pytest.param({"k" * (Limits.METADATA_KEY_MAX + 1): "v"}, id="long-key"),
    pytest.param({"k" * 20_000: "v"}, id="huge-key"),
    pytest.param({"": "v"}, id="empty-key"),
    pytest.param({"name\nX-Admin: yes": "v"}, id="control-character-key"),
    pytest.param({"note": "x" * (Limits.METADATA_VALUE_MAX + 1)}, id="long-value"),
    pytest.param({f"k{i}": "v" for i in range(Limits.METADATA_KEYS_MAX + 1)}, id="too-many-keys"),
]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Served, Side]]:
    monkeypatch.setenv("ORATIO_VOICE_BACKEND", "scripted")
    with reliability_platform(tmp_path) as platform, serving(platform) as served:
        yield served, new_side(platform, "Acme")


def _session_count(served: Served, side: Side) -> int:
    return len(served.platform.sessions.list(side.principal, SessionFilter(limit=200)).items)


@pytest.mark.parametrize("customer", REFUSED)
def test_the_text_runtime_refuses_big_customer_details(site: tuple[Served, Side], customer: dict[str, str]) -> None:
    served, side = site
    path = f"/runtime/agents/{side.agent.id}/invocations"
    with httpx.Client(base_url=served.base_url, timeout=60.0, headers={"X-Api-Key": side.secret}) as http:
        refused = http.post(path, json={"message": "hi", "customer": customer, "stream": False})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "customer", refused.text
        assert len(refused.content) < 4096  # the answer does not echo the oversized input back
        assert _session_count(served, side) == 0
        accepted = http.post(path, json={"message": "hi", "customer": AT_LIMIT, "stream": False})
        assert accepted.status_code == 200, accepted.text
    session = served.platform.sessions.get(side.principal, accepted.json()["session_id"]).session
    assert session.customer == AT_LIMIT


@pytest.mark.parametrize("customer", REFUSED[:4])
def test_the_voice_bridge_refuses_big_customer_details(site: tuple[Served, Side], customer: dict[str, str]) -> None:
    served, side = site

    async def call(details: dict[str, str]) -> tuple[int | None, str, list[str]]:
        async with voice_client(f"{served.ws_base}/voice/{side.agent.id}") as client:
            await client.start(side.secret, customer=details)
            if client.heard.close_code is None:
                await client.end()
            heard = await client.closed(20.0)
        return heard.close_code, heard.close_reason, [m.get("type", "") for m in heard.messages]

    code, reason, kinds = anyio.run(call, customer)
    if len(json.dumps(customer)) > CONTROL_MAX_BYTES:  # the start message's own size limit answers first
        assert (code, reason) == (1009, f"the start message is at most {CONTROL_MAX_BYTES} bytes")
    else:
        assert code == 1008, (code, reason)  # policy violation, with the limits as the reason
        assert reason == CUSTOMER_LIMITS and len(reason.encode()) <= 123
    assert "ready" not in kinds
    assert _session_count(served, side) == 0
    code, reason, kinds = anyio.run(call, AT_LIMIT)
    assert code == 1000 and "ready" in kinds, (code, reason)


def test_the_engine_refuses_a_long_key_whichever_door_calls_it(site: tuple[Served, Side]) -> None:
    served, side = site
    with pytest.raises(InvalidInput) as refused:
        served.platform.sessions.start(side.tenant_id, side.agent.id, Channel.TEXT, {"k" * 65: "v"})
    assert refused.value.field == "customer"
    assert str(Limits.METADATA_KEY_MAX) in refused.value.message
