"""Arguments as records keep them: sensitive names and secret-looking values masked, identifiers kept."""

from __future__ import annotations

from oratio.actions.redact import REDACTED, looks_secret, redact_arguments, redact_text
from schemas import McpToolSnapshot
from tests.support.tool_server import http_tool


def test_sensitive_names_and_credential_like_keys_are_masked() -> None:
    arguments = {
        "order_id": "A123",
        "date_of_birth": "1990-01-01",
        "api_key": "short",
        "passenger_name": "Ada",
        "author": "Bob",
        "nested": {"password": "hunter2", "items": [{"cvv": "123", "sku": "X-1"}]},
    }
    assert redact_arguments(["date_of_birth"], arguments) == {
        "order_id": "A123",
        "date_of_birth": REDACTED,
        "api_key": REDACTED,
        "passenger_name": "Ada",
        "author": "Bob",
        "nested": {"password": REDACTED, "items": [{"cvv": REDACTED, "sku": "X-1"}]},
    }
    assert arguments["api_key"] == "short"  # the input is not modified


def test_values_that_look_like_secrets_are_masked_wherever_they_are() -> None:
    token = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    note = f"my key is {token} and card 4242 4242 4242 4242, auth Bearer abc.def.ghi123"
    assert redact_text(note) == f"my key is {REDACTED} and card {REDACTED}, auth Bearer {REDACTED}"
    assert redact_arguments([], {"notes": [note]}) == {"notes": [redact_text(note)]}


def test_identifiers_that_are_not_secrets_stay() -> None:
    for value in (
        "123e4567-e89b-12d3-a456-426614174000",  # a UUID
        "A123",
        "order number 1234567890123 is late",  # 13 digits failing the Luhn check
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # long, but no entropy
        "customer-service-request",
    ):
        assert redact_text(value) == value, value
    assert looks_secret("AKIAIOSFODNN7EXAMPLE") and not looks_secret("ORDER_STATUS_LOOKUP_2026")


def test_the_tool_itself_can_name_its_sensitive_arguments() -> None:
    tool = http_tool("https://orders.example.com/x", sensitive_arguments=["date_of_birth"])
    snapshot = McpToolSnapshot(server="crm", tool="find", name="crm_find")
    arguments = {"date_of_birth": "1990-01-01", "order_id": "A1"}
    assert redact_arguments(tool, arguments) == {"date_of_birth": REDACTED, "order_id": "A1"}
    assert redact_arguments(snapshot, arguments) == arguments
