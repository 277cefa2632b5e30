"""A hand-written HTTP tool that does not say `write`: a write unless its method is GET; an explicit
`write` (either way) is the admin's choice and is kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas import AgentPlan, HttpTool

URL = "https://orders.example.com/orders/{order_id}"
PARAMETERS: dict[str, Any] = {"type": "object", "properties": {"order_id": {"type": "string"}}}


def tool(**fields: Any) -> HttpTool:
    return HttpTool.model_validate(
        {
            "name": "order_tool",
            "description": "Does something to an order.",
            "url": URL,
            "parameters": PARAMETERS,
            **fields,
        }
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_changing_method_without_write_is_a_write(method: str) -> None:
    assert tool(method=method).write is True


def test_get_and_no_method_stay_reads() -> None:
    assert tool().write is False and tool(method="GET").write is False


@pytest.mark.parametrize(("method", "write"), [("POST", False), ("DELETE", False), ("GET", True)])
def test_an_explicit_write_is_the_admins_choice(method: str, write: bool) -> None:
    assert tool(method=method, write=write).write is write


def test_the_default_applies_to_tools_in_a_plan_read_from_json() -> None:
    text = json.dumps(
        {
            "persona": "p",
            "system_prompt": "You are a shop assistant.",
            "actions": [
                {
                    "kind": "http",
                    "name": "cancel_order",
                    "description": "Cancel an order.",
                    "url": URL,
                    "method": "POST",
                    "parameters": PARAMETERS,
                },
                {
                    "kind": "http",
                    "name": "search",
                    "description": "Search the orders.",
                    "url": URL,
                    "method": "POST",
                    "write": False,
                    "parameters": PARAMETERS,
                },
            ],
        }
    )
    cancel, search = AgentPlan.model_validate_json(text).actions
    assert isinstance(cancel, HttpTool) and cancel.write is True
    assert isinstance(search, HttpTool) and search.write is False
    assert HttpTool.model_validate(cancel.model_dump()).write is True  # a stored tool round-trips
