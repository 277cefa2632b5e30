"""The vetted tool catalog, as Strands tools bound to one turn of one session.

The model only ever gets these, and only those the agent's plan lists. Each tool is built per turn
around a `TurnOutcome`, so what the tools decide (sources found, a handoff or the end asked for)
is handed back to the engine, which alone writes to the session: a tool never touches the store.
Handoff and end stop the agent loop once the current tool calls finish, so no model call is spent
on a reply the plan already wrote (`handoff_message`, `closing_message`).

`knowledge_search` answers with JSON: `{"passages": [{"n", "document", "location", "text"}]}`.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from strands import tool
from strands.tools.decorator import DecoratedFunctionTool, FunctionToolMetadata
from strands.types.tools import AgentTool, ToolContext, ToolSpec

from oratio.errors import OratioError
from oratio.runtime.outcome import TurnOutcome, WebhookCaller
from oratio.services.knowledge import KnowledgeService
from schemas import AgentPlan, ToolName, WebhookTool

logger = logging.getLogger("oratio.runtime")

# The outcome types live in oratio.runtime.outcome.
__all__ = ["TurnOutcome", "WebhookCaller", "build_tools", "request_handoff_description"]

PASSAGE_CHARS = 2_000
REASON_MAX = 500
VALUE_MAX = 500
PAYLOAD_MAX = 4_000

KNOWLEDGE_SEARCH = """\
Search the organisation's knowledge base (its own documents) for passages about the customer's \
question. Use it before answering any question about the organisation, its products or its \
policies; answer only from the passages it returns and say which document you used. If it finds \
nothing, say you do not know rather than guess."""

REQUEST_HANDOFF = """\
Hand the conversation over to a human member of staff, who is alerted at once. Use it when the \
customer asks for a person, when your instructions say a human must take over, or when you cannot \
help. The customer is told that someone will continue; do not promise anything else."""

JUDGEMENT_INTRO = "Also use it, in your judgement, when any of these holds:"


def request_handoff_description(plan: AgentPlan) -> str:
    """The request_handoff tool's description for this plan: the fixed text, then the plan's judgement
    conditions verbatim (`AgentPlan.handoff_judgement`), which only the model can recognise."""
    if not plan.handoff_judgement:
        return REQUEST_HANDOFF
    return "\n".join([REQUEST_HANDOFF, "", JUDGEMENT_INTRO, *(f"- {item}" for item in plan.handoff_judgement)])


COLLECT_INFO = """\
Record a piece of information the procedure asks you to collect (such as an account number), once \
the customer has given it. Use the exact name from your instructions; the value is stored with the \
conversation for the staff."""

CALL_WEBHOOK = """\
Call the organisation's own system with a JSON payload and read its answer (for example to look \
up an order). Use it only as the description below says; tell the customer what it answered, and \
never invent its answer if the call fails."""

END_SESSION = """\
End the conversation. Use it only when the customer says goodbye or confirms they need nothing \
more; the customer receives the closing message."""


_SPECS: dict[tuple[str, str], tuple[ToolSpec, FunctionToolMetadata]] = {}
_SPECS_LOCK = threading.Lock()


def _bound(name: ToolName, description: str, *, context: bool = False) -> Callable[[Callable[..., Any]], AgentTool]:
    """`strands.tool` for a catalog tool whose signature and description never change.

    Turning a function into a tool (its JSON schema and pydantic input model, from the signature
    and docstring) costs milliseconds, and every turn binds fresh closures: the schema is built
    once per tool and reused, and only the closure is new. Never used for `call_webhook`, whose
    description is the tenant's text; request_handoff's description (which carries the plan's
    judgement conditions) is set on the copy, so the cache holds one entry per tool, not per plan.
    """

    def wrap(func: Callable[..., Any]) -> AgentTool:
        key = (name.value, description if name is not ToolName.REQUEST_HANDOFF else REQUEST_HANDOFF)
        with _SPECS_LOCK:
            cached = _SPECS.get(key)
        if cached is None:
            metadata = FunctionToolMetadata(func, "tool_context" if context else None)
            spec = metadata.extract_metadata()
            spec["name"], spec["description"] = name.value, description
            cached = (spec, metadata)
            with _SPECS_LOCK:
                _SPECS[key] = cached
        spec, metadata = cached
        spec = copy.deepcopy(spec)
        spec["description"] = description  # request_handoff's carries the plan's judgement conditions
        return DecoratedFunctionTool(name.value, spec, func, metadata)

    return wrap


def build_tools(
    plan: AgentPlan,
    knowledge: KnowledgeService,
    tenant_id: str,
    agent_id: str,
    outcome: TurnOutcome,
    webhook: tuple[WebhookTool, WebhookCaller] | None = None,
) -> list[AgentTool]:
    """The plan's tools, bound to this tenant and agent, reporting into `outcome`.

    `call_webhook` is offered only when the plan lists it and the admin configured the endpoint
    (`webhook`): the URL always comes from the admin's spec, never from the model.
    """

    listed = set(plan.tools)

    def knowledge_search(query: str) -> dict[str, Any]:
        """Search the knowledge base.

        Args:
            query: The customer's question or its key words.
        """
        try:
            hits = knowledge.search_for_agent(tenant_id, agent_id, query, plan.knowledge_k)
        except OratioError as exc:
            # Tell the model what went wrong (an empty query, an unreachable index) so it can recover.
            outcome.note_unhelpful("knowledge_search failed")
            return {"passages": [], "error": exc.message}
        outcome.add_sources([hit.to_source() for hit in hits])
        if not hits:
            outcome.note_unhelpful("knowledge_search found nothing")
            return {"passages": [], "note": "Nothing in the knowledge base matches. Say you do not know."}
        return {
            "passages": [
                {
                    "n": n,
                    "document": hit.document_name,
                    "location": hit.chunk.location,
                    "text": hit.chunk.text[:PASSAGE_CHARS],
                }
                for n, hit in enumerate(hits, start=1)
            ]
        }

    def request_handoff(reason: str, tool_context: ToolContext) -> str:
        """Hand over to a human.

        Args:
            reason: Why a human is needed, in one sentence, for the staff member who takes over.
        """
        outcome.request_handoff(" ".join(reason.split())[:REASON_MAX] or "the agent asked for a human")
        tool_context.agent.cancel(after_current_tools=True)
        return "A member of staff has been alerted and will take over."

    def end_session(tool_context: ToolContext) -> str:
        """End the conversation."""
        outcome.end_requested = True
        tool_context.agent.cancel(after_current_tools=True)
        return "The conversation is ending."

    fields = {" ".join(name.casefold().split()): name for name in plan.information_to_collect}

    def collect_info(name: str, value: str) -> str:
        """Record one piece of information the procedure asks for.

        Args:
            name: Which piece, exactly as listed in your instructions (e.g. "account number").
            value: What the customer said it is.
        """
        wanted = fields.get(" ".join(name.casefold().split()))
        if wanted is None:
            return f"Not recorded: '{name[:100]}' is not one of: {', '.join(plan.information_to_collect) or 'none'}."
        cleaned = " ".join(value.split())[:VALUE_MAX]
        if not cleaned:
            return "Not recorded: the value is empty; ask the customer again."
        outcome.collect(wanted, cleaned)
        return f"Recorded {wanted}."

    catalog: dict[ToolName, AgentTool] = {}
    if webhook is not None and ToolName.CALL_WEBHOOK in listed:
        config, caller = webhook

        @tool(name=ToolName.CALL_WEBHOOK.value, description=f"{CALL_WEBHOOK}\n\nThis endpoint: {config.description}")
        def call_webhook(payload: dict[str, Any]) -> dict[str, Any]:
            """Call the organisation's system.

            Args:
                payload: The JSON object to send, as the endpoint's description says.
            """
            if len(json.dumps(payload, default=str)) > PAYLOAD_MAX:
                return {"error": f"the payload is over {PAYLOAD_MAX} characters; send less"}
            try:
                reply = caller.call(
                    tenant_id, config.url, "agent.tool_call", {"agent_id": agent_id, "payload": payload}
                )
            except OratioError as exc:
                outcome.note_unhelpful("call_webhook failed")
                return {"error": f"the system could not be reached: {exc.message}"}
            if reply.status >= 400:
                outcome.note_unhelpful("call_webhook failed")
            return {"status": reply.status, "body": reply.body[:PASSAGE_CHARS]}

        catalog[ToolName.CALL_WEBHOOK] = call_webhook
    # Only the tools the plan lists become Strands tools (the plain functions above cost nothing).
    functions: dict[ToolName, tuple[Callable[..., Any], str, bool]] = {
        ToolName.KNOWLEDGE_SEARCH: (knowledge_search, KNOWLEDGE_SEARCH, False),
        ToolName.REQUEST_HANDOFF: (request_handoff, request_handoff_description(plan), True),
        ToolName.END_SESSION: (end_session, END_SESSION, True),
        ToolName.COLLECT_INFO: (collect_info, COLLECT_INFO, False),
    }
    for name in listed & functions.keys():
        func, description, context = functions[name]
        catalog[name] = _bound(name, description, context=context)(func)
    return [catalog[name] for name in dict.fromkeys(plan.tools) if name in catalog]
