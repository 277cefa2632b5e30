"""`WebhookSender.call`: one signed POST whose answer comes back to the agent, under the same SSRF policy."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from oratio.notify.address_policy import WebhookPolicy, WebhookRefused
from oratio.notify.signing import SIGNATURE_HEADER, WebhookSecrets, verify_signature
from oratio.notify.webhooks import WebhookFailed, WebhookSender
from tests.net import free_port
from tests.notify.servers import Receiver, webhook_receiver

MASTER = "m" * 40
TENANT = "ten_acme"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


def caller(allow_private: bool = True) -> WebhookSender:
    return WebhookSender(WebhookSecrets(MASTER), policy=WebhookPolicy(allow_private=allow_private), timeout_s=5)


def test_the_answer_comes_back_and_the_request_is_signed(receiver: Receiver) -> None:
    receiver.reply_body = json.dumps({"order": "A-17", "status": "shipped"}).encode()

    reply = caller().call(TENANT, receiver.url("/orders"), "agent.tool_call", {"payload": {"order": "A-17"}})

    assert (reply.status, json.loads(reply.body)) == (200, {"order": "A-17", "status": "shipped"})
    [request] = receiver.requests
    secret = WebhookSecrets(MASTER).for_tenant(TENANT)
    assert verify_signature(secret, request.headers[SIGNATURE_HEADER.lower()], request.body)
    assert json.loads(request.body)["data"] == {"payload": {"order": "A-17"}}


def test_an_error_status_is_returned_once_without_retries(receiver: Receiver) -> None:
    receiver.script(503)

    reply = caller().call(TENANT, receiver.url(), "agent.tool_call", {})

    assert reply.status == 503 and len(receiver.requests) == 1


def test_private_addresses_are_refused_unless_allowed(receiver: Receiver) -> None:
    with pytest.raises(WebhookRefused):
        caller(allow_private=False).call(TENANT, receiver.url(), "agent.tool_call", {})
    assert receiver.requests == []


def test_nothing_listening_is_a_clear_failure() -> None:
    with pytest.raises(WebhookFailed, match="127.0.0.1"):
        caller().call(TENANT, f"http://127.0.0.1:{free_port()}/x", "agent.tool_call", {})
