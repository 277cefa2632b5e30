"""Webhooks against a real HTTP(S) receiver on 127.0.0.1: signatures, retries, SSRF refusals, pinning.

Delivery to 127.0.0.1 needs the private-address check relaxed (as in development); the SSRF tests
run with the default policy and an injected resolver, so no test depends on real DNS.
"""

from __future__ import annotations

import json
import os
import ssl
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from oratio.errors import ConfigError
from oratio.notify.address_policy import (
    Resolver,
    WebhookPolicy,
    WebhookRefused,
    check_url,
    is_public_address,
    safe_origin,
    system_resolver,
)
from oratio.notify.signing import (
    SIGNATURE_HEADER,
    WebhookSecrets,
    load_or_create_master_key,
    signature_header,
    verify_signature,
)
from oratio.notify.webhooks import DELIVERY_HEADER, EVENT_HEADER, WebhookFailed, WebhookSender
from tests.net import free_port
from tests.notify.servers import Receiver, self_signed, silent_listener, webhook_receiver

MASTER = "m" * 40
TENANT = "ten_acme"
NOW = 1_900_000_000.0
PUBLIC = "93.184.216.34"


class Sleeps:
    """Stands in for time.sleep: records the backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class FakeDns:
    """An injected resolver with fixed answers that counts its lookups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        return self.answers[host]


def no_dns(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"{host} should not have been resolved")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def sender(
    sleeps: Sleeps,
    policy: WebhookPolicy | None = None,
    *,
    max_attempts: int = 4,
    timeout_s: float = 5.0,
    io_timeout_s: float | None = None,
    resolve: Resolver = system_resolver,
    tls_context: ssl.SSLContext | None = None,
) -> WebhookSender:
    return WebhookSender(
        WebhookSecrets(MASTER),
        policy=policy or WebhookPolicy(allow_private=True),
        sleep=sleeps,
        rand=lambda: 1.0,  # the top of each jitter range, so delays are exact
        timeout_s=timeout_s,
        io_timeout_s=io_timeout_s,
        max_attempts=max_attempts,
        resolve=resolve,
        tls_context=tls_context,
    )


# -- signing --------------------------------------------------------------------------------------


def test_a_delivery_is_signed_for_the_tenant_and_verifies(receiver: Receiver, sleeps: Sleeps) -> None:
    delivery = sender(sleeps).deliver(TENANT, receiver.url("/hooks/x?token=abc"), "handoff.requested", {"a": 1})

    [request] = receiver.requests
    assert (delivery.status, delivery.attempts) == (200, 1)
    assert request.path == "/hooks/x?token=abc"
    assert request.headers[EVENT_HEADER.lower()] == "handoff.requested"
    assert request.headers[DELIVERY_HEADER.lower()] == delivery.delivery_id
    assert request.headers["content-type"] == "application/json"
    secret = WebhookSecrets(MASTER).for_tenant(TENANT)
    assert verify_signature(secret, request.headers[SIGNATURE_HEADER.lower()], request.body)
    assert not verify_signature(
        WebhookSecrets(MASTER).for_tenant("ten_other"), request.headers["x-oratio-signature"], request.body
    )
    envelope = json.loads(request.body)
    assert (envelope["id"], envelope["type"], envelope["tenant_id"], envelope["data"]) == (
        delivery.delivery_id,
        "handoff.requested",
        TENANT,
        {"a": 1},
    )
    assert secret not in request.body.decode() and MASTER not in str(request.headers)


def test_verify_signature_rejects_tampering_staleness_and_garbage() -> None:
    secret, body = "whsec_test", b'{"x":1}'
    header = signature_header(secret, body, int(NOW))

    assert verify_signature(secret, header, body, now=NOW)
    assert verify_signature(secret, header, body.decode(), now=NOW + 299)
    assert not verify_signature(secret, header, b'{"x":2}', now=NOW)
    assert not verify_signature("whsec_other", header, body, now=NOW)
    assert not verify_signature(secret, header, body, now=NOW + 301)
    assert not verify_signature(secret, header, body, tolerance_s=10, now=NOW - 11)
    for bad in ("", "t=abc,v1=00", f"t={int(NOW)}", "v1=" + "0" * 64, "nonsense"):
        assert not verify_signature(secret, bad, body, now=NOW)
    # During a secret rotation a sender may sign twice; one matching v1 is enough.
    rotated = signature_header("whsec_old", body, int(NOW)) + "," + header.split(",")[1]
    assert verify_signature(secret, rotated, body, now=NOW)


def test_tenant_secrets_are_derived_distinct_and_hidden() -> None:
    secrets = WebhookSecrets(MASTER)
    assert secrets.for_tenant("ten_a") == WebhookSecrets(MASTER).for_tenant("ten_a")
    assert secrets.for_tenant("ten_a") != secrets.for_tenant("ten_b")
    assert secrets.for_tenant("ten_a") != WebhookSecrets("n" * 40).for_tenant("ten_a")
    assert secrets.for_tenant("ten_a").startswith("whsec_")
    assert MASTER not in repr(secrets) and MASTER not in repr(sender(Sleeps()))
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        WebhookSecrets("short").for_tenant("ten_a")


def test_the_master_key_is_generated_once_with_owner_only_access(tmp_path: Path) -> None:
    first = load_or_create_master_key(None, tmp_path / "data")
    assert load_or_create_master_key(None, tmp_path / "data") == first
    assert len(first) == 64
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "webhook.key").st_mode) == 0o600
    assert load_or_create_master_key(MASTER, tmp_path / "other") == MASTER
    assert not (tmp_path / "other").exists()


# -- retries --------------------------------------------------------------------------------------


def test_retries_after_two_server_errors_then_succeeds(receiver: Receiver, sleeps: Sleeps) -> None:
    receiver.script(500, 503)

    delivery = sender(sleeps).deliver(TENANT, receiver.url(), "e", {})

    assert (delivery.status, delivery.attempts) == (200, 3)
    assert sleeps.delays == [0.5, 1.0]  # exponential from 0.5s, at the top of the jitter range
    ids = {r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests}
    assert ids == {delivery.delivery_id}, "every retry carries the same idempotency id"
    assert len({r.body for r in receiver.requests}) == 1


def test_jitter_spreads_each_delay_over_its_upper_half(receiver: Receiver, sleeps: Sleeps) -> None:
    receiver.script(500, 500, 500)
    WebhookSender(
        WebhookSecrets(MASTER), policy=WebhookPolicy(allow_private=True), sleep=sleeps, rand=lambda: 0.0
    ).deliver(TENANT, receiver.url(), "e", {})
    assert sleeps.delays == [0.25, 0.5, 1.0]


def test_a_client_error_is_final(receiver: Receiver, sleeps: Sleeps) -> None:
    receiver.script(400)

    with pytest.raises(WebhookFailed) as caught:
        sender(sleeps).deliver(TENANT, receiver.url("/secret-path"), "e", {})

    assert (caught.value.status, caught.value.attempts) == (400, 1)
    assert len(receiver.requests) == 1 and sleeps.delays == []
    assert "secret-path" not in caught.value.message


def test_gives_up_after_max_attempts(receiver: Receiver, sleeps: Sleeps) -> None:
    receiver.script(*[502] * 10)

    with pytest.raises(WebhookFailed, match=r"failed after 3 attempts \(last: HTTP 502\)") as caught:
        sender(sleeps, max_attempts=3).deliver(TENANT, receiver.url(), "e", {})

    assert (caught.value.status, caught.value.attempts) == (502, 3)
    assert len(receiver.requests) == 3 and sleeps.delays == [0.5, 1.0]


def test_too_many_requests_is_retried_after_the_time_it_asks(receiver: Receiver, sleeps: Sleeps) -> None:
    receiver.script(429)
    receiver.retry_after = "7"

    assert sender(sleeps).deliver(TENANT, receiver.url(), "e", {}).attempts == 2
    assert sleeps.delays == [7.0]


def test_connection_refused_is_retried_then_reported(sleeps: Sleeps) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"

    with pytest.raises(WebhookFailed, match="connection refused") as caught:
        sender(sleeps, max_attempts=2).deliver(TENANT, url, "e", {})

    assert caught.value.status is None and sleeps.delays == [0.5]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_attempt_has_a_deadline_beyond_each_read(scheme: str, sleeps: Sleeps) -> None:
    """Reads may wait 60s each, yet the attempt ends at its deadline: a receiver cannot hold a
    delivery worker by answering slowly (here: never, not even the TLS handshake)."""
    slow = sender(sleeps, max_attempts=1, timeout_s=0.2, io_timeout_s=60)
    with silent_listener() as port, pytest.raises(WebhookFailed, match=r"last: timed out"):
        slow.deliver(TENANT, f"{scheme}://127.0.0.1:{port}/", "e", {})


def test_a_receiver_that_never_answers_times_out(sleeps: Sleeps) -> None:
    with silent_listener() as port, pytest.raises(WebhookFailed, match="timed out"):
        sender(sleeps, max_attempts=2, timeout_s=0.2).deliver(TENANT, f"http://127.0.0.1:{port}/", "e", {})
    assert sleeps.delays == [0.5]


# -- SSRF -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.9/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::1]/hook",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:a9fe:a9fe]/",  # ::ffff:169.254.169.254
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[ff02::1]/",
    ],
)
def test_private_and_special_addresses_are_refused(url: str) -> None:
    resolve = FakeDns({"127.1": ["127.0.0.1"]})  # what getaddrinfo makes of the short form
    with pytest.raises(WebhookRefused, match="private or reserved"):
        check_url(url, WebhookPolicy(), resolve)


@pytest.mark.parametrize(
    ("host", "answers"),
    [
        ("metadata.google.internal", ["169.254.169.254"]),
        ("localhost", ["127.0.0.1", "::1"]),
        ("rebind.example.com", [PUBLIC, "10.0.0.5"]),  # one private answer refuses the host
        ("v6.example.com", ["::ffff:192.168.0.1"]),
    ],
)
def test_names_resolving_to_private_addresses_are_refused(host: str, answers: list[str]) -> None:
    with pytest.raises(WebhookRefused, match=f"webhook host {host} resolves to a private"):
        check_url(f"https://{host}/hook", WebhookPolicy(), FakeDns({host: answers}))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://example.com/", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("https://user:pass@example.com/", "credentials"),
        ("https:///nohost", "no host"),
        ("http://example.com:99999/", "not a valid URL"),
        ("https://example.com/a b", "percent-encoded"),
    ],
)
def test_other_schemes_and_odd_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(WebhookRefused, match=why):
        check_url(url, WebhookPolicy(allow_private=True), no_dns)


def test_public_hosts_pass_and_are_pinned_to_the_checked_address() -> None:
    target = check_url(
        "https://hooks.example.com/in?x=1#frag", WebhookPolicy(), FakeDns({"hooks.example.com": [PUBLIC]})
    )
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https",
        "hooks.example.com",
        443,
        "/in?x=1",
        PUBLIC,
    )
    assert check_url("http://[2606:4700::1111]/", WebhookPolicy(), no_dns).address == "2606:4700::1111"
    assert is_public_address("8.8.8.8") and is_public_address("64:ff9b::808:808")
    assert not is_public_address("fe80::1%eth0") and not is_public_address("not an ip")


def test_a_refused_url_is_never_called_nor_retried(receiver: Receiver, sleeps: Sleeps) -> None:
    with pytest.raises(WebhookRefused):
        sender(sleeps, policy=WebhookPolicy()).deliver(TENANT, receiver.url(), "e", {})
    assert receiver.requests == [] and sleeps.delays == []


def test_an_allowlisted_host_reaches_the_address_it_was_checked_at(receiver: Receiver, sleeps: Sleeps) -> None:
    """`hooks.internal` does not exist in real DNS: the request reached the server only because the
    connection went to the address the check resolved, with the name kept in the Host header."""
    resolve = FakeDns({"hooks.internal": ["127.0.0.1"]})
    policy = WebhookPolicy.of(False, " Hooks.Internal. , other.internal")

    sender(sleeps, policy=policy, resolve=resolve).deliver(TENANT, receiver.url(host="hooks.internal"), "e", {})

    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.internal:{receiver.port}"
    assert resolve.calls == ["hooks.internal"]  # one lookup: the check and the connection share it
    with pytest.raises(WebhookRefused):
        sender(sleeps, policy=policy, resolve=FakeDns({"elsewhere.internal": ["127.0.0.1"]})).deliver(
            TENANT, receiver.url(host="elsewhere.internal"), "e", {}
        )


def test_https_is_pinned_yet_verifies_the_certificate_for_the_name(tmp_path: Path, sleeps: Sleeps) -> None:
    server_tls, client_tls = self_signed("hooks.internal", tmp_path)
    resolve = FakeDns({"hooks.internal": ["127.0.0.1"]})
    with webhook_receiver(tls=server_tls) as tls_receiver:
        ok = sender(sleeps, resolve=resolve, tls_context=client_tls)
        assert ok.deliver(TENANT, tls_receiver.url(host="hooks.internal"), "e", {}).status == 200
        assert tls_receiver.requests[0].headers["host"] == f"hooks.internal:{tls_receiver.port}"

        # The same server reached by its IP: the certificate does not name it, so nothing is sent.
        with pytest.raises(WebhookFailed, match="did not verify"):
            sender(sleeps, tls_context=client_tls).deliver(TENANT, tls_receiver.url(), "e", {})
        assert len(tls_receiver.requests) == 1 and sleeps.delays == []


def test_logs_and_errors_show_only_the_origin() -> None:
    assert safe_origin("https://hooks.slack.com/services/T0/B0/SECRET?x=1") == "https://hooks.slack.com"
    assert safe_origin("http://[::1]:8080/x") == "http://[::1]:8080"
