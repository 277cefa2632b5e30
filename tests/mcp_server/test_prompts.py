"""MCP prompts: listed with their arguments, rendered with the caller's current data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent
from mcp_types import INVALID_PARAMS

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.ids import new_id
from oratio.platform import Platform
from oratio.store.tables import NOTIFICATIONS
from schemas import AgentSpec, CreateAgent, Notification, NotificationType, Principal, Scope
from tests.support.tenants import SOP

pytestmark = pytest.mark.anyio

REFUND_SOP = """\
Greet the customer and ask for the order number. Look the order up. Refunds up to 50 EUR are
approved at once; above that, hand off to a person. Never promise delivery dates. If the customer
is angry or asks for a human, hand off."""


async def render(client: Client, name: str, arguments: dict[str, str] | None = None) -> str:
    result = await client.get_prompt(name, arguments)
    [message] = result.messages
    assert message.role == "user"
    assert isinstance(message.content, TextContent)
    return message.content.text


async def render_error(client: Client, name: str, arguments: dict[str, str] | None = None) -> MCPError:
    with pytest.raises(MCPError) as raised:
        await client.get_prompt(name, arguments)
    return raised.value


async def test_prompts_are_listed_with_their_arguments(client: Client) -> None:
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {"design_agent_from_sop", "review_todays_handoffs"}

    design = prompts["design_agent_from_sop"]
    assert design.title and design.description
    arguments = {a.name: a for a in design.arguments or []}
    assert set(arguments) == {"sop", "agent_type"}
    assert arguments["sop"].required is True and arguments["sop"].description
    assert arguments["agent_type"].required is False
    assert arguments["agent_type"].description == "text, voice or both"

    assert not prompts["review_todays_handoffs"].arguments


async def test_design_prompt_guides_to_create_agent(client: Client, platform: Platform, acme: Principal) -> None:
    platform.agents.create(acme, CreateAgent(spec=AgentSpec(name="Support", sop=SOP)))

    text = await render(client, "design_agent_from_sop", {"sop": REFUND_SOP, "agent_type": "voice"})

    assert REFUND_SOP in text
    for step in ("Goals", "Steps", "Rules", "Handoff conditions", "`create_agent`"):
        assert step in text
    assert 'agent_type: "voice"' in text and "speaking_rate" in text
    assert "Names in use: Support." in text


async def test_design_prompt_defaults_to_a_text_agent(client: Client) -> None:
    text = await render(client, "design_agent_from_sop", {"sop": REFUND_SOP})
    assert "Oratio text agent" in text and 'agent_type: "text"' in text
    assert "Names in use: (none yet)." in text


async def test_design_prompt_refuses_an_unknown_agent_type(client: Client) -> None:
    error = await render_error(client, "design_agent_from_sop", {"sop": REFUND_SOP, "agent_type": "robot"})
    assert error.error.code == INVALID_PARAMS
    assert error.error.message == "agent_type must be one of: voice, text, both"


async def test_design_prompt_needs_an_sop(client: Client) -> None:
    missing = await render_error(client, "design_agent_from_sop", {})
    assert missing.error.code == INVALID_PARAMS
    assert missing.error.message == "design_agent_from_sop needs the argument(s): sop"
    error = await render_error(client, "design_agent_from_sop", {"sop": "   "})
    assert error.error.message == "sop is empty: paste the procedure text"


async def test_an_unknown_prompt_is_invalid_params_without_a_traceback(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    error = await render_error(client, "no_such_prompt", {})

    assert error.error.code == INVALID_PARAMS
    assert error.error.message.startswith("unknown prompt 'no_such_prompt'")
    assert "design_agent_from_sop" in error.error.message  # names the prompts there are
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


def handoff(platform: Platform, principal: Principal, title: str, session_id: str | None = None) -> Notification:
    return platform.notifications.notify(principal.tenant_id, NotificationType.HANDOFF, title, session_id=session_id)


async def test_handoff_review_embeds_todays_handoffs(
    client: Client, platform: Platform, acme: Principal, globex: Principal
) -> None:
    first = handoff(platform, acme, "Refund over the limit", session_id="ses_01jd5k0000000000000000001")
    second = handoff(platform, acme, "Angry customer")
    platform.notifications.mark_read(acme, second.id)
    platform.notifications.notify(acme.tenant_id, NotificationType.AGENT_READY, "Support is ready")
    handoff(platform, globex, "Globex's own handoff")
    old = Notification(
        tenant_id=acme.tenant_id,
        id=new_id("notification"),
        type=NotificationType.HANDOFF,
        title="Yesterday's handoff",
        created_at=first.created_at - timedelta(days=1),
    )
    platform.backends.store.insert(NOTIFICATIONS, old)

    text = await render(client, "review_todays_handoffs")

    assert "Today there are 2 handoff notifications, 1 of them unread:" in text
    assert f"- {first.id} [unread, normal] Refund over the limit (session ses_01jd5k0000000000000000001)" in text
    assert f"- {second.id} [read, normal] Angry customer" in text
    assert "Support is ready" not in text and "Globex" not in text and "Yesterday" not in text
    for tool in ("list_notifications", "get_session", "acknowledge_handoff", "mark_notification_read"):
        assert f"`{tool}`" in text


async def test_handoff_review_with_no_handoffs(client: Client) -> None:
    text = await render(client, "review_todays_handoffs")
    assert "Today there are 0 handoff notifications, 0 of them unread:\n- (none so far today)" in text


async def test_prompt_needs_the_scope_of_the_data_it_embeds(platform: Platform, acme: Principal) -> None:
    agents_only = acme.model_copy(update={"scopes": frozenset({Scope.AGENTS_READ})})
    async with Client(build_server(platform, OperatorPrincipal(agents_only))) as narrow:
        assert "Names in use" in await render(narrow, "design_agent_from_sop", {"sop": REFUND_SOP})
        error = await render_error(narrow, "review_todays_handoffs")
    assert error.error.message == "forbidden: this token lacks the 'sessions:read' scope"
