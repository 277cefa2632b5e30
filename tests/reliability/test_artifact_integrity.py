"""The reviewed artifact is the one that serves: a stored plan changed after review is never served.

`AgentService.deploy` records the sha256 of the plan bytes it stores; every load checks it. A byte
changed in blob storage afterwards makes the runtime refuse the agent (503 `artifact_rejected` over
HTTP, close 1011 on a voice call) before any session is opened, and marks the agent `failed` with the
reason, so an admin sees why and rebuilds it. Crossed over real sockets: the AgentCore runtime app under
uvicorn and the voice bridge with a WebSocket client.

These tests run with `plan_recheck_seconds=0`: the stored bytes are read and hashed on every load, so a
change is refused at the very next request. With the default window (5 s) a plan checked moments ago
is served from memory (the reviewed bytes, never the changed ones) and the change is refused at the
next recheck: test_plan_recheck.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentcore_apps.app import create_runtime_app
from oratio.errors import ArtifactRejected
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from oratio.services.agents import artifact_key
from oratio.store.tables import AGENTS
from schemas import AgentStatus, Channel, CreationRecord, RetiredStage, SessionFilter, StageName
from tests.support.models import scripted_agent
from tests.support.serving import serving, serving_voice
from tests.support.tenants import PLAN
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from voice_bridge.scripted import scripted_backend


@pytest.fixture
def platform_models() -> ModelFactory:
    return scripted_agent


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"plan_recheck_seconds": 0}


def tamper(platform: Platform, world: World) -> None:
    """Change one byte of the served plan in storage, keeping it valid JSON and a valid plan."""
    agent = platform.agents.get(world.acme.principal, world.agent.id)
    assert agent.artifact_version is not None
    key = artifact_key(world.acme.tenant_id, agent.id, agent.artifact_version)
    raw = platform.backends.blobs.get(key)
    assert raw.count(b"Ava") >= 1
    platform.backends.blobs.put(key, raw.replace(b"Ava", b"Eva", 1), content_type="application/json")


def sessions_of(platform: Platform, world: World) -> int:
    return len(platform.sessions.list(world.acme.principal, SessionFilter(agent_id=world.agent.id)).items)


def assert_failed_with_reason(platform: Platform, world: World) -> None:
    agent = platform.agents.get(world.acme.principal, world.agent.id)
    assert agent.status is AgentStatus.FAILED
    assert agent.status_reason is not None and "sha256" in agent.status_reason


def test_the_deployed_plan_serves_while_its_bytes_match(platform: Platform, world: World) -> None:
    agent = platform.agents.get(world.acme.principal, world.agent.id)
    assert agent.artifact_sha256 is not None and len(agent.artifact_sha256) == 64
    served, artifact = platform.agents.artifact(world.acme.tenant_id, world.agent.id)
    assert artifact.plan == PLAN and served.status is AgentStatus.ACTIVE


def test_a_byte_changed_after_review_is_refused_with_503_and_the_agent_fails(platform: Platform, world: World) -> None:
    body = {"agent_id": world.agent.id, "message": "hi"}
    headers = {"X-Api-Key": world.secret}
    with serving(create_runtime_app(platform)) as served, httpx.Client(base_url=served.base_url, timeout=10) as http:
        assert http.post("/invocations", json=body, headers=headers).status_code == 200
        before = sessions_of(platform, world)
        tamper(platform, world)
        response = http.post("/invocations", json=body, headers=headers)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()
        assert error["error"] == "artifact_rejected"
        assert "unavailable" in error["message"] and "integrity" in error["message"]
        # From then on the agent is failed: every request, streamed or not, is refused as such.
        for stream in (False, True):
            later = http.post("/invocations", json={**body, "stream": stream}, headers=headers)
            assert later.status_code == 409 and later.json()["error"] == "invalid_state", later.text
            assert "failed" in later.json()["message"] and "Eva" not in later.text
    assert sessions_of(platform, world) == before  # nobody was served, or even started, on the changed plan
    assert_failed_with_reason(platform, world)
    # The other agents of the tenant are untouched.
    assert platform.agents.get(world.acme.principal, world.other_agent.id).status is AgentStatus.ACTIVE


@pytest.mark.anyio
async def test_a_voice_call_to_a_changed_plan_is_refused_at_start(platform: Platform, world: World) -> None:
    tamper(platform, world)
    with serving_voice(platform, scripted_backend(platform.engine)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret)
            heard = await client.closed()
    assert heard.close_code == 1011
    assert "integrity" in heard.close_reason and len(heard.close_reason.encode()) <= 123
    assert not heard.of_type("ready")
    assert sessions_of(platform, world) == 0
    assert_failed_with_reason(platform, world)


def test_a_deleted_or_unparseable_plan_is_refused_too(platform: Platform, world: World) -> None:
    key = artifact_key(world.acme.tenant_id, world.agent.id, 1)
    platform.backends.blobs.delete(key)
    with pytest.raises(ArtifactRejected):
        platform.engine.turn(world.acme.tenant_id, world.agent.id, None, "hi", Channel.TEXT)
    assert platform.agents.get(world.acme.principal, world.agent.id).status is AgentStatus.FAILED


def test_a_rebuilt_agent_serves_its_new_reviewed_plan(platform: Platform, world: World) -> None:
    tamper(platform, world)
    with pytest.raises(ArtifactRejected, match="integrity"):
        platform.agents.artifact(world.acme.tenant_id, world.agent.id)
    platform.agents.transition(world.acme.tenant_id, world.agent.id, AgentStatus.CREATING, reason="rebuilding")
    rebuilt = platform.agents.deploy(world.acme.tenant_id, world.agent.id, PLAN)
    assert (rebuilt.status, rebuilt.artifact_version) == (AgentStatus.ACTIVE, 2)
    assert platform.engine.turn(world.acme.tenant_id, world.agent.id, None, "hi", Channel.TEXT).reply


def test_an_agent_deployed_before_hashes_has_its_hash_pinned_on_first_read(platform: Platform, world: World) -> None:
    store = platform.backends.store
    legacy = store.get(AGENTS, world.acme.tenant_id, world.agent.id)
    assert legacy is not None
    store.replace(AGENTS, legacy.model_copy(update={"artifact_sha256": None}))
    agent, _ = platform.agents.artifact(world.acme.tenant_id, world.agent.id)
    assert agent.artifact_sha256 is not None
    tamper(platform, world)
    with pytest.raises(ArtifactRejected, match="integrity"):
        platform.agents.artifact(world.acme.tenant_id, world.agent.id)


def test_creation_records_written_with_the_old_stage_names_still_read() -> None:
    old = (
        '{"tenant_id":"ten_a1","agent_id":"agt_b2","version":1,"stages":['
        '{"stage":"review_plan","status":"passed"},'
        '{"stage":"generate_code","status":"passed","detail":"agent.py sha256 0123456789ab"},'
        '{"stage":"review_code","status":"failed","detail":"1 of 3 tests failed"}'
        '],"succeeded":false,"failure":"review_code: 1 of 3 tests failed"}'
    )
    record = CreationRecord.model_validate_json(old)
    assert [s.stage for s in record.stages] == [
        StageName.REVIEW_PLAN,
        RetiredStage.GENERATE_CODE,
        RetiredStage.REVIEW_CODE,
    ]
    assert CreationRecord.model_validate_json(record.model_dump_json()) == record
