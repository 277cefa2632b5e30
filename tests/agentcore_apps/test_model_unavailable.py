"""A turn whose model cannot run here is a 503 with the reason, never a 500 (issue 15, item 16).

The agent's model is an allowed name bound to `openai:...`, whose SDK is not installed on this
machine: the runtime builds it with the real model factory and answers 503 `model_unavailable`,
naming what is missing, before the customer's words are stored.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from agentcore_apps.app import create_runtime_app
from oratio.config import Settings
from oratio.models import ModelCache
from oratio.models.check import importable
from oratio.store.tables import SESSIONS
from schemas import AgentSpec, CreateAgent
from tests.agentcore_apps.test_refusals import assert_error, invoke
from tests.support.platforms import open_test_platform
from tests.support.serving import serving
from tests.support.tenants import PLAN, SOP, mint, new_tenancy

ALLOWED = "scripted,gpt=openai:gpt-4o-mini"


def test_a_model_whose_sdk_is_missing_is_503_with_the_reason_in_json_and_sse(tmp_path: Path) -> None:
    assert not importable("openai"), "this test needs a machine without the openai SDK"
    factory = ModelCache(Settings(data_dir=tmp_path, model="scripted", models_allowed=ALLOWED))
    with open_test_platform(tmp_path, models=factory, models_allowed=ALLOWED) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = platform.agents.create(acme.principal, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP)))
        agent = platform.agents.deploy(acme.tenant_id, agent.id, PLAN.model_copy(update={"model": "gpt"}))
        secret, _ = mint(platform, acme, agent)
        with serving(create_runtime_app(platform)) as served, httpx.Client(base_url=served.base_url) as http:
            body = {"agent_id": agent.id, "message": "Hello"}
            plain = invoke(http, body, key=secret)
            streamed = invoke(http, {**body, "stream": True}, key=secret)
        stored = platform.backends.store.query(SESSIONS, acme.tenant_id, limit=10).items
    for response in (plain, streamed):
        assert_error(response, 503, "model_unavailable", "needs the OpenAI SDK", "cannot run on this server")
    assert stored == []
