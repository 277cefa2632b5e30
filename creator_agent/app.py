"""The AgentCreator as an AgentCore app: `POST /invocations {"agent_id": ...}` builds that agent.

The same pipeline `create_agent` runs, served under the AgentCore Runtime contract so it can run as its
own runtime on AWS. The caller is an admin or service principal with an Oratio JWT (bearer); the tenant
is the token's, so a token can only build its own tenant's agents. The reply is the creation record
(JSON), or with `"stream": true` one SSE event per stage change and the record last.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
from bedrock_agentcore.runtime import BedrockAgentCoreApp, RequestContext
from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from creator_agent.context import CreatorAppServices
from creator_agent.pipeline import AgentCreator
from oratio.errors import Forbidden, InvalidInput, OratioError
from oratio.http_json import bearer_token, error_response
from schemas import Identifier, Model, Scope

logger = logging.getLogger("oratio.creator")


class BuildRequest(Model):
    agent_id: Identifier
    stream: bool = Field(default=False, description="One SSE event per stage, then the record")


def create_creator_app(platform: CreatorAppServices, creator: AgentCreator) -> BedrockAgentCoreApp:
    app = BedrockAgentCoreApp()

    async def invoke(payload: Any, context: RequestContext) -> Response | AsyncIterator[dict[str, Any]]:
        request = context.request
        if not isinstance(request, Request):
            return JSONResponse({"error": "internal", "message": "request context unavailable"}, status_code=500)
        try:
            principal = await anyio.to_thread.run_sync(platform.access.admin_principal, bearer_token(request))
            if not principal.allows(Scope.AGENTS_WRITE):
                raise Forbidden("this token may not build agents (it needs the agents:write scope)")
            try:
                build = BuildRequest.model_validate(payload)
            except ValidationError:
                raise InvalidInput('send {"agent_id": "agt_...", "stream"?: bool}') from None
            await anyio.to_thread.run_sync(platform.agents.get, principal, build.agent_id)  # 404 for others'
        except OratioError as exc:
            return error_response(exc)
        if not build.stream:
            record = await creator.create(principal.tenant_id, build.agent_id)
            return JSONResponse(record.model_dump(mode="json"))
        return _stream(creator, principal.tenant_id, build.agent_id)

    app.entrypoint(invoke)
    return app


async def _stream(creator: AgentCreator, tenant_id: str, agent_id: str) -> AsyncIterator[dict[str, Any]]:
    send, receive = anyio.create_memory_object_stream[dict[str, Any]](max_buffer_size=64)

    async def progress(done: int, total: int, message: str) -> None:
        await send.send({"type": "progress", "done": done, "total": total, "message": message})

    async def run() -> None:
        async with send:
            record = await creator.create(tenant_id, agent_id, progress)
            await send.send({"type": "record", "record": record.model_dump(mode="json")})

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        async with receive:
            async for event in receive:
                yield event
