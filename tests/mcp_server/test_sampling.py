"""With no server-side model, the MCP client's own model drafts and reviews the plan (MCP sampling).

The client's model here is a test double that answers each question the way the offline creator
would, as JSON text; everything else is real: the in-memory MCP client and server, the SDK's sealed
request state, the AgentCreator, the SQLite platform and the scripted serving model.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.server.mcpserver import RequestStateSecurity
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    InputRequiredResult,
    TextContent,
)

from creator_agent.models import attach_creator
from mcp_server import OperatorPrincipal, build_server
from mcp_server.sampling import MAX_QUESTIONS, QUESTION_KEY, parse_answer
from mcp_server.tools.agents import CreationRecords
from oratio.platform import Platform
from oratio.services.creation_owner import WAITING_FOR_MODEL, recover_interrupted_creations
from schemas import Agent, AgentStatus, PlanReview, Principal, Scope, StageName
from tests.support.mcp import call_as
from tests.support.sampling import SOP, SPEC, ClientLLM

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform(platform: Platform) -> Platform:
    """No ORATIO_MODEL: the AgentCreator is attached but has no model of its own."""
    return attach_creator(platform)


@pytest.fixture
def operator(platform: Platform) -> Principal:
    tenant = platform.tenants.create_tenant("Acme")
    return Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))


def connect(platform: Platform, operator: Principal, llm: ClientLLM | None, mode: str = "auto") -> Client:
    server = build_server(platform, OperatorPrincipal(operator))
    return Client(server, sampling_callback=llm, mode=mode)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_clients_model_drafts_and_reviews_and_the_agent_goes_live(
    platform: Platform, operator: Principal, mode: str
) -> None:
    llm = ClientLLM()
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with connect(platform, operator, llm, mode) as client:
        result = await client.call_tool("create_agent", {"spec": SPEC}, progress_callback=on_progress)
        agent = Agent.model_validate(result.structured_content)
        records = await call_as(client, "get_creation_records", {"agent_id": agent.id}, CreationRecords)

    assert (agent.status, agent.artifact_version) == (AgentStatus.ACTIVE, 1)
    asked = [q.metadata["schema"] for q in llm.questions if q.metadata]
    assert asked[:3] == ["ParsedSop", "AgentPlan", "PlanReview"] and asked.count("PlanReview") >= 2
    (record,) = records.records
    assert record.succeeded and len(record.reviews) >= 2 and record.tests
    calls = {stage.stage: stage.model_calls for stage in record.stages}
    assert calls[StageName.PARSE_SOP] == 1 and calls[StageName.REVIEW_PLAN] == asked.count("PlanReview")
    assert any(m.startswith("deploy: passed") for m in messages)
    if mode == "auto":  # one question per input round, announced as progress
        assert sum("asking your model question" in m for m in messages) == len(asked)
    # Created once, however many rounds it took.
    assert [a.name for a in platform.agents.list(operator).items] == ["Desk"]


async def test_each_round_asks_exactly_one_question_and_seals_the_answers(
    platform: Platform, operator: Principal
) -> None:
    async with connect(platform, operator, ClientLLM()) as client:
        first = await client.session.call_tool("create_agent", {"spec": SPEC}, allow_input_required=True)
    assert isinstance(first, InputRequiredResult)
    assert first.input_requests is not None and list(first.input_requests) == [QUESTION_KEY]
    assert first.request_state is not None and "answers" not in first.request_state  # sealed, not readable


async def test_a_build_between_rounds_is_waiting_not_interrupted(platform: Platform, operator: Principal) -> None:
    """No process owns a sampling build between its rounds; crash recovery on any replica, however late, must
    leave it for the client's next round rather than fail it as a build whose process died."""
    async with connect(platform, operator, ClientLLM()) as client:
        first = await client.session.call_tool("create_agent", {"spec": SPEC}, allow_input_required=True)
    assert isinstance(first, InputRequiredResult)
    [agent] = platform.agents.list(operator).items
    assert agent.status is AgentStatus.CREATING
    assert (agent.status_reason or "").startswith(WAITING_FOR_MODEL) and "question 1" in (agent.status_reason or "")
    later = replace(platform.backends, clock=lambda: agent.updated_at + timedelta(hours=1))

    assert recover_interrupted_creations(later, platform.agents) == 0
    assert platform.agents.get(operator, agent.id).status is AgentStatus.CREATING


async def test_a_client_without_sampling_leaves_the_agent_stored_and_says_why(
    platform: Platform, operator: Principal
) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with connect(platform, operator, None) as client:
        result = await client.call_tool("create_agent", {"spec": SPEC}, progress_callback=on_progress)
    agent = Agent.model_validate(result.structured_content)
    assert agent.status is AgentStatus.CREATING
    assert "offers no sampling" in messages[-1] and "ORATIO_MODEL=scripted to try offline" in messages[-1]


async def test_an_answer_that_is_not_json_fails_the_parse_stage_with_a_reason(
    platform: Platform, operator: Principal
) -> None:
    async with connect(platform, operator, ClientLLM(garble=True)) as client:
        result = await client.call_tool("create_agent", {"spec": SPEC})
    agent = Agent.model_validate(result.structured_content)
    assert agent.status is AgentStatus.FAILED
    assert agent.status_reason is not None and agent.status_reason.startswith("parse_sop:")
    assert "did not fit the schema" in agent.status_reason


async def test_with_no_model_to_serve_customers_the_build_fails_before_deploying(
    platform: Platform, operator: Principal
) -> None:
    spec = {key: value for key, value in SPEC.items() if key != "model"}
    async with connect(platform, operator, ClientLLM()) as client:
        result = await client.call_tool("create_agent", {"spec": spec})
    agent = Agent.model_validate(result.structured_content)
    assert agent.status is AgentStatus.FAILED and agent.artifact_version is None
    assert agent.status_reason is not None
    assert agent.status_reason.startswith("simulate: no model to hold")


async def test_update_agent_rebuilds_with_the_clients_model(platform: Platform, operator: Principal) -> None:
    llm = ClientLLM()
    async with connect(platform, operator, llm) as client:
        agent = await call_as(client, "create_agent", {"spec": SPEC}, Agent)
        asked_for_create = len(llm.questions)
        changed = await call_as(
            client, "update_agent", {"agent_id": agent.id, "change": {"sop": SOP + "- Never share passwords.\n"}}, Agent
        )
    assert (changed.status, changed.artifact_version) == (AgentStatus.ACTIVE, 2)
    assert len(llm.questions) > asked_for_create


async def test_a_forged_request_state_is_refused(platform: Platform, operator: Principal) -> None:
    async with connect(platform, operator, ClientLLM()) as client:
        with pytest.raises(MCPError, match="requestState"):
            await client.session.call_tool(
                "create_agent", {"spec": SPEC}, request_state='{"v": 1, "agent_id": "agt_x", "answers": []}'
            )
    assert platform.agents.list(operator).items == []


async def test_a_runaway_build_stops_asking(platform: Platform, operator: Principal) -> None:
    """Reviews that never approve would ask forever; the build gives up within MAX_QUESTIONS rounds."""

    class NeverApproves(ClientLLM):
        async def __call__(self, context: ClientRequestContext, params: CreateMessageRequestParams) -> Any:
            answer = await super().__call__(context, params)
            if params.metadata and params.metadata["schema"] == "PlanReview":
                assert isinstance(answer.content, TextContent)
                review = parse_answer(PlanReview, answer.content.text)
                rejected = review.model_copy(update={"approved": False})
                answer.content = TextContent(type="text", text=rejected.model_dump_json())
            return answer

    llm = NeverApproves()
    async with connect(platform, operator, llm) as client:
        result = await client.call_tool("create_agent", {"spec": SPEC})
    agent = Agent.model_validate(result.structured_content)
    assert agent.status is AgentStatus.FAILED and len(llm.questions) <= MAX_QUESTIONS
    assert agent.status_reason is not None and agent.status_reason.startswith("review_plan:")


async def _first_round(server: Any, llm: ClientLLM) -> tuple[str, CreateMessageResult]:
    """One input round on `server`: the sealed state and the client's answer to its question."""
    async with Client(server, sampling_callback=llm) as client:
        first = await client.session.call_tool("create_agent", {"spec": SPEC}, allow_input_required=True)
    assert isinstance(first, InputRequiredResult) and first.request_state is not None and first.input_requests
    question = first.input_requests[QUESTION_KEY]
    assert isinstance(question, CreateMessageRequest)
    return first.request_state, await llm(cast(Any, None), question.params)


async def test_a_round_sealed_by_one_replica_continues_on_another(platform: Platform, operator: Principal) -> None:
    """Replicas (or a restarted process) share the key ring, so the next round may land anywhere."""
    llm = ClientLLM()
    state, answer = await _first_round(build_server(platform, OperatorPrincipal(operator)), llm)
    other_replica = build_server(platform, OperatorPrincipal(operator))
    async with Client(other_replica, sampling_callback=llm) as client:
        second = await client.session.call_tool(
            "create_agent",
            {"spec": SPEC},
            input_responses={QUESTION_KEY: answer},
            request_state=state,
            allow_input_required=True,
        )
    assert isinstance(second, InputRequiredResult) and second.input_requests  # the answer was accepted
    question = second.input_requests[QUESTION_KEY]
    assert isinstance(question, CreateMessageRequest) and (question.params.metadata or {}).get("schema") == "AgentPlan"


async def test_a_round_sealed_under_another_key_ring_is_refused(platform: Platform, operator: Principal) -> None:
    llm = ClientLLM()
    state, answer = await _first_round(build_server(platform, OperatorPrincipal(operator)), llm)
    stranger = build_server(
        platform, OperatorPrincipal(operator), request_state_security=RequestStateSecurity(keys=["k" * 32])
    )
    async with Client(stranger, sampling_callback=llm) as client:
        with pytest.raises(MCPError, match="requestState"):
            await client.session.call_tool(
                "create_agent", {"spec": SPEC}, input_responses={QUESTION_KEY: answer}, request_state=state
            )
