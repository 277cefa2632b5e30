"""An AgentCreator build on the MCP client's own model, its rounds spread over replicas (issue 23, item 1).

A cluster with no ORATIO_MODEL (so builds think on MCP sampling) of two `oratio serve` replicas behind the
round-robin proxy. An MCP SDK client with a sampling callback (scripted answers, as the offline creator
gives them) creates an agent from an SOP over streamable HTTP through the proxy, each request on a new
connection, so consecutive input rounds land on different replicas: every round is sealed by one replica
(`ORATIO_MCP_REQUEST_STATE_KEYS`, the ring every replica shares) and opened by the next. Mid-build, while
the client is answering a question, one replica is killed with SIGKILL: the remaining rounds, the first of
them sealed by the dead replica or its peer, go on on the survivor and the build completes, within a
bound (never a hang).

Its own cluster, module-scoped: the package's cluster has a server-side model (its customers' turns need
one), under which no build asks the client anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CreateMessageRequestParams, CreateMessageResult

from schemas import Agent, AgentStatus
from tests.support.replicas import Cluster, cluster
from tests.support.sampling import SPEC, ClientLLM
from tests.support.tenants import new_tenancy, token_for

pytestmark = pytest.mark.anyio

REPLICAS = 2
"""Two are enough for rounds to alternate, and one to survive the kill; each one more costs its start."""
VICTIM = 0
KILL_AT_QUESTION = 2
"""The kill comes while the client answers this question (1-based): rounds before it have alternated."""
BUILD_S = 240.0
"""Bounds the whole build: a guard against a hang; ~10 rounds, then the build's test conversations."""


@pytest.fixture(scope="module")
def modelless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Replicas with no model of their own: ORATIO_MODEL unset, and no local GGUF to fall back on."""
    root = tmp_path_factory.mktemp("modelless")
    missing = str(root / "no-such-model.gguf")
    with cluster(root, REPLICAS, unset=("ORATIO_MODEL",), ORATIO_LOCAL_MODEL_PATH=missing) as running:
        yield running


class KillsMidBuild(ClientLLM):
    """The client's model; while it answers question `KILL_AT_QUESTION`, the victim replica is killed -9.

    It notes which replicas had taken the client's connections by the time of each question (the proxy's
    count per backend), so the test can tell the rounds really spread.
    """

    def __init__(self, replicas: Cluster) -> None:
        super().__init__()
        self._replicas = replicas
        self.routed_at_kill: list[int] | None = None

    async def __call__(self, context: ClientRequestContext, params: CreateMessageRequestParams) -> CreateMessageResult:
        if len(self.questions) + 1 == KILL_AT_QUESTION:
            self.routed_at_kill = list(self._replicas.proxy.routed)
            await anyio.to_thread.run_sync(self._replicas.kill, VICTIM)
        return await super().__call__(context, params)


async def test_a_build_on_the_clients_model_spreads_over_replicas_and_survives_a_kill_9(
    modelless: Cluster,
) -> None:
    platform = modelless.platform
    tenancy = new_tenancy(platform, "Sampler")
    token = token_for(platform, tenancy.principal)
    llm = KillsMidBuild(modelless)
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    routed_before = list(modelless.proxy.routed)
    limits = httpx2.Limits(max_keepalive_connections=0)  # a new connection per request: the proxy spreads them
    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    with anyio.fail_after(BUILD_S):
        async with (
            httpx2.AsyncClient(headers=headers, timeout=BUILD_S, limits=limits) as http,
            Client(streamable_http_client(modelless.url + "/mcp", http_client=http), sampling_callback=llm) as client,
        ):
            result = await client.call_tool("create_agent", {"spec": SPEC}, progress_callback=on_progress)
    took = time.monotonic() - started
    print(
        f"build over {len(llm.questions)} sampling rounds in {took:.1f} s; connections per replica before the "
        f"kill {llm.routed_at_kill}, at the end {modelless.proxy.routed} (from {routed_before})"
    )

    # The build completed with the right result: active, deployed once, created once across the replicas.
    assert not result.is_error, result.content
    agent = Agent.model_validate(result.structured_content)
    assert (agent.status, agent.artifact_version) == (AgentStatus.ACTIVE, 1), agent.status_reason
    asked: list[Any] = [q.metadata["schema"] for q in llm.questions if q.metadata]
    assert asked[:3] == ["ParsedSop", "AgentPlan", "PlanReview"] and asked.count("PlanReview") >= 2
    assert sum("asking your model question" in m for m in messages) == len(asked)  # one question per round
    stored = platform.agents.get(tenancy.principal, agent.id)
    assert (stored.status, stored.artifact_version) == (AgentStatus.ACTIVE, 1)
    assert [a.name for a in platform.agents.list(tenancy.principal).items] == [SPEC["name"]]

    # Its rounds were served by both replicas before the kill, and the survivor went on alone after it.
    assert llm.routed_at_kill is not None
    before_kill = [now - before for now, before in zip(llm.routed_at_kill, routed_before, strict=True)]
    assert all(count >= 1 for count in before_kill), before_kill
    survivor = 1 - VICTIM
    assert modelless.proxy.routed[VICTIM] == llm.routed_at_kill[VICTIM]  # nothing reached the dead replica
    assert modelless.proxy.routed[survivor] > llm.routed_at_kill[survivor]
