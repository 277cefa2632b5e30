"""`oratio demo --example orders_desk`: an agent that acts, end to end on the offline demo model.

The demo builds the example's agent with its three HTTP tools, serves the order service on loopback,
and plays a conversation: a lookup, a cancellation the customer confirms, a return the service
refuses (delivered 40 days ago) after the customer confirmed it, and a return the customer declines.
Every write runs only after "yes", through the engine's confirmation gate.

This needs the engine to offer an agent's tools and hold writes for confirmation (issue 18, task E),
the HTTP runner (task B) and the AgentCreator copying the tools into the plan (task G); until those
are merged it is skipped.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from oratio.config import load_settings
from oratio.models.demo_actions import DECLINED
from oratio.platform import open_platform
from oratio_app import example_demo
from oratio_app.cli import main
from oratio_app.orders_service import OrderBook, orders_app
from schemas import AgentStatus, Channel, HttpTool, Role, SessionFilter, ToolCallStatus


def _acting_engine_merged() -> bool:
    modules = (
        "oratio.actions.runner",  # B: the ActionRunner
        "oratio.runtime.action_tools",  # E: the agent's tools offered, writes held by the gate
        "oratio.runtime.confirmation",
        "creator_agent.action_plan",  # G: the plan carries the spec's tools
    )
    return all(importlib.util.find_spec(name) is not None for name in modules)


needs_acting_engine = pytest.mark.skipif(
    not _acting_engine_merged(), reason="needs issue 18's acting engine (tasks B, E, G) on this branch"
)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("ORATIO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ORATIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ORATIO_MODEL", "scripted")
    return tmp_path


def test_the_orders_desk_demo_builds_the_agent_with_its_tools_pointed_at_the_served_service(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(example_demo, "SERVICE_PORT", 0)

    assert main(["demo", "--example", "orders_desk", "--port", "8123"]) == 0

    out = capsys.readouterr().out
    (served,) = [line for line in out.splitlines() if line.startswith("orders_desk: the service its tools call")]
    origin = served.rsplit(" ", 1)[-1]
    assert "customer: Hi, where is my order A1001?" in out
    assert "skipped: this example is a text agent" in out
    assert '-d \'{"message": "Hi, where is my order A1001?"}\'' in out
    token = out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    with open_platform(load_settings()) as platform:
        principal = platform.access.admin_principal(token)
        (agent,) = platform.agents.list(principal).items
        assert agent.status is AgentStatus.ACTIVE
        urls = [t.url for t in agent.spec.tools if isinstance(t, HttpTool)]
        assert urls == [
            f"{origin}/orders/{{order_id}}",
            f"{origin}/orders/{{order_id}}/return",
            f"{origin}/orders/{{order_id}}/cancel",
        ]


@needs_acting_engine
def test_the_orders_desk_demo_looks_up_acts_after_yes_and_shows_a_refusal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    book = OrderBook.sample()
    monkeypatch.setattr(example_demo, "SERVICE_PORT", 0)
    monkeypatch.setitem(example_demo.EXAMPLE_SERVICES, "orders_desk", lambda: orders_app(book))

    assert main(["demo", "--example", "orders_desk", "--port", "8123"]) == 0

    out = capsys.readouterr().out
    assert 'tool lookup_order {"order_id": "A1001"} -> ok' in out
    assert "agent:    Order A1001 is shipped. Details:" in out
    assert 'tool cancel_order {"order_id": "A1002"} -> awaiting_confirmation: nothing ran yet' in out
    assert "Shall I go ahead?" in out
    assert 'tool cancel_order {"order_id": "A1002"} -> ok, confirmed by the customer' in out
    assert "Order A1002 is cancelled" in out
    assert "I was unable to do that: Order A1003 was delivered 40 days ago" in out
    assert DECLINED in out
    # What the service saw: the confirmed cancellation only; the refused and the declined return changed nothing.
    assert book.orders["A1002"].status == "cancelled"
    assert book.orders["A1003"].return_id is None and book.orders["A1004"].return_id is None

    token = out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    with open_platform(load_settings()) as platform:
        principal = platform.access.admin_principal(token)
        (agent,) = platform.agents.list(principal).items
        assert [t.name for t in agent.spec.tools if isinstance(t, HttpTool)] == [
            "lookup_order",
            "start_return",
            "cancel_order",
        ]
        (session,) = platform.sessions.list(principal, SessionFilter(channel=Channel.TEXT)).items
        turns = platform.sessions.get(principal, session.id).turns
        calls = [(c.name, c.status, c.confirmed) for t in turns if t.role is Role.AGENT for c in t.tool_calls]
        assert calls == [
            ("lookup_order", ToolCallStatus.OK, False),
            ("cancel_order", ToolCallStatus.AWAITING_CONFIRMATION, False),
            ("cancel_order", ToolCallStatus.OK, True),
            ("start_return", ToolCallStatus.AWAITING_CONFIRMATION, False),
            ("start_return", ToolCallStatus.ERROR, True),
            ("start_return", ToolCallStatus.AWAITING_CONFIRMATION, False),
            ("start_return", ToolCallStatus.DECLINED, False),
        ]


def test_a_demo_line_cut_short_says_so() -> None:
    assert example_demo.clip("a  short\nreply", 40) == "a short reply"
    cut = example_demo.clip("word " * 100, 40)
    assert len(cut) == 40 and cut.endswith("\u2026") and not cut[:-1].endswith(" ")
