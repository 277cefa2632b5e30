"""Calling an admin's HTTP endpoint for a model: one request, within the turn's time, off our network.

The request is built from the tool definition, never from the model: scheme and host come from the
admin's URL template; the model's top-level arguments fill `{name}` placeholders (percent-encoded,
so a value cannot add a path segment or a query) and the rest go in the query string (GET, DELETE)
or as a JSON object body (POST, PUT, PATCH); a tool whose arguments schema names one argument as the
whole body (`"x-oratio-request-body": "body"`, REQUEST_BODY_MARKER, set by the OpenAPI import for an
array or clashing body) sends that argument's value as the JSON body, and any other unused arguments
in the query string. Header values may name the tenant's secrets
(`{{secret:NAME}}`), resolved at call time and never written anywhere.

Every hop goes through the webhooks' address policy (`oratio.notify.address_policy`): the host is
resolved and vetted, and the connection is pinned to the vetted address. Redirects are followed at
most `MAX_REDIRECTS` times, each target vetted again; a redirect to another origin drops the admin's
headers, so a secret never follows the request elsewhere.

The whole call (lookups, connects, redirects, reading) is cut at min(tool timeout, turn deadline):
a watchdog timer shuts the socket down, which ends a blocked read even against an endpoint that
trickles one byte at a time, and the event loop stops waiting at the same moment (a stuck DNS
lookup is abandoned in its thread). Answers are read up to `max_response_bytes`, then cut with a
note the model sees. Errors say what happened and where (scheme, host, port), never the path, the
query or a header value.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

import anyio

from oratio.actions import SecretResolver, ToolOutcome, ToolRequest
from oratio.actions.redact import redact_arguments, redact_text
from oratio.actions.schema_check import REQUEST_BODY_MARKER, URL_PLACEHOLDER, ArgumentValidator, check_http_tool
from oratio.errors import InvalidInput, NotFound
from oratio.http_json import parse_json
from oratio.notify.address_policy import (
    PinnedConnection,
    Resolver,
    WebhookPolicy,
    WebhookRefused,
    check_url,
    describe_failure,
    safe_origin,
    system_resolver,
)
from schemas import HttpTool, ToolCallStatus
from schemas.tools import SECRET_REF_PATTERN, HttpMethod

USER_AGENT: Final = "Oratio-Tools/1"
MAX_REDIRECTS: Final = 3
RESPONSE_DEPTH_MAX: Final = 64
SUMMARY_MAX: Final = 500
EXCERPT_MAX: Final = 300
_SECRET_REF = re.compile(SECRET_REF_PATTERN)
_BODY_METHODS = frozenset({HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "te", "upgrade"})
"""Set by the platform, not the admin: a tool cannot aim at another virtual host or smuggle a request."""


class _Refused(Exception):
    """The platform will not make this call (address policy, bad template, missing secret)."""

    def __init__(self, status: ToolCallStatus, for_model: str, summary: str) -> None:
        super().__init__(summary)
        self.status = status
        self.for_model = for_model
        self.summary = summary


@dataclass
class _Prepared:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    limit: int
    secrets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Answer:
    status: int
    content_type: str
    body: bytes
    cut: bool
    origin: str


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        text = str(value)
        if text in ("", ".", ".."):
            raise _Refused(
                ToolCallStatus.INVALID_ARGUMENTS,
                f"{name} may not be empty, '.' or '..' (it goes in the URL)",
                f"invalid arguments: {name} cannot go in the URL",
            )
        return text
    raise _Refused(
        ToolCallStatus.INVALID_ARGUMENTS,
        f"{name} must be a string or a number (it goes in the URL)",
        f"invalid arguments: {name} is not a scalar",
    )


def render_url(template: str, arguments: Mapping[str, Any]) -> tuple[str, set[str]]:
    """The URL with placeholders filled (percent-encoded), and the argument names it used."""
    scheme_end = template.find("://")
    rest = template[scheme_end + 3 :] if scheme_end >= 0 else template
    host_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    if scheme_end < 0 or "{" in rest[:host_end] or "}" in rest[:host_end]:
        raise _Refused(
            ToolCallStatus.REFUSED,
            "this tool is misconfigured (its host is not fixed); tell the customer it is unavailable",
            "refused: the URL template's scheme and host must be fixed",
        )
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in arguments or arguments[name] is None:
            raise _Refused(
                ToolCallStatus.INVALID_ARGUMENTS,
                f"{name} is required (it goes in the URL)",
                f"invalid arguments: {name} missing",
            )
        used.add(name)
        return quote(_scalar(name, arguments[name]), safe="")

    return template[: scheme_end + 3 + host_end] + URL_PLACEHOLDER.sub(fill, rest[host_end:]), used


def _query_value(value: Any) -> str | list[str]:
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def prepare(tool: HttpTool, arguments: Mapping[str, Any]) -> _Prepared:
    """Method, URL, header templates and body for one call (secrets not yet resolved)."""
    url, used = render_url(tool.url, arguments)
    rest = {k: v for k, v in arguments.items() if k not in used and v is not None}
    body: bytes | None = None
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, text/*;q=0.5"}
    whole = tool.parameters.get(REQUEST_BODY_MARKER)
    if isinstance(whole, str):
        # The admin's (imported) schema says this argument is the body itself, e.g. a JSON array.
        if whole in rest:
            body = json.dumps(rest.pop(whole), separators=(",", ":"), ensure_ascii=False).encode()
    elif tool.method in _BODY_METHODS:
        body = json.dumps(rest, separators=(",", ":"), ensure_ascii=False).encode()
        rest = {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if rest:
        fixed = {key for key, _ in parse_qsl(urlsplit(tool.url).query, keep_blank_values=True)}
        clash = sorted(fixed & rest.keys())
        if clash:
            # A repeated key would let the model override what the admin fixed (often the last one wins).
            raise _Refused(
                ToolCallStatus.INVALID_ARGUMENTS,
                f"{clash[0]} is fixed by the tool and cannot be sent as an argument",
                f"invalid arguments: {clash[0]} is fixed by the tool",
            )
        query = urlencode({k: _query_value(v) for k, v in rest.items()}, doseq=True)
        url += ("&" if "?" in url else "?") + query
    headers.update({k: v for k, v in tool.headers.items() if k.lower() not in _FRAMING_HEADERS})
    return _Prepared(method=tool.method.value, url=url, headers=headers, body=body, limit=tool.max_response_bytes)


def preview(tool: HttpTool, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """What a call would send (a dry run, `ToolTestResult.request`), built by the same `prepare` as a call.

    Secret references stay unresolved (`{{secret:NAME}}`: a dry run never reads a secret), and the
    admin's sensitive arguments and secret-looking values show as "[redacted]" (`redact_arguments`).
    Raises InvalidInput when the arguments cannot fill the request (a URL placeholder missing, a
    fixed query parameter overridden).
    """
    try:
        prepared = prepare(tool, redact_arguments(tool, arguments))
    except _Refused as refused:
        raise InvalidInput(refused.for_model, field="arguments") from None
    return {
        "method": prepared.method,
        "url": prepared.url,
        "headers": prepared.headers,
        "body": None if prepared.body is None else json.loads(prepared.body),
    }


def secret_refs(headers: Mapping[str, str]) -> set[str]:
    """The secret names a tool's header values refer to (`{{secret:NAME}}`): they must exist at save."""
    return {match.group(1) for value in headers.values() for match in _SECRET_REF.finditer(value)}


def vet_url(url: str, where: str, policy: WebhookPolicy, resolve: Resolver = system_resolver) -> None:
    """Check a tool's (or MCP server's) URL template when an admin saves it; raises InvalidInput naming `where.url`.

    The same address policy as webhooks, and the host must resolve now: an admin who typed a wrong name
    learns it at save, not at a customer's first call. Every call checks again (DNS answers change).
    """
    sample = URL_PLACEHOLDER.sub("x", url)
    try:
        check_url(sample, policy, resolve)
    except WebhookRefused as refused:
        raise InvalidInput(
            f"{where}.url: refused by the address policy (the same as for webhooks): {_tool_refusal(refused)}",
            field=f"{where}.url",
        ) from None
    except OSError:
        host = urlsplit(sample).hostname or "?"
        raise InvalidInput(
            f"{where}.url: the host {host[:100]} does not resolve from this server; check the name",
            field=f"{where}.url",
        ) from None


def vet_http_tool(tool: HttpTool, where: str, policy: WebhookPolicy, resolve: Resolver = system_resolver) -> None:
    """Check a tool when an admin saves it: its schemas (`check_http_tool`) and its URL (`vet_url`).

    Raises InvalidInput naming the place.
    """
    check_http_tool(tool, where)
    vet_url(tool.url, where, policy, resolve)


def _resolve_secrets(prepared: _Prepared, secrets: SecretResolver, tenant_id: str) -> None:
    for name, value in list(prepared.headers.items()):
        if "{{" not in value:
            continue

        def fill(match: re.Match[str]) -> str:
            secret_name = match.group(1)
            try:
                secret = secrets.resolve(tenant_id, secret_name)
            except NotFound:
                raise _Refused(
                    ToolCallStatus.ERROR,
                    "this tool's credentials are not set up; tell the customer it is unavailable right now",
                    f"error: secret {secret_name} is not set",
                ) from None
            prepared.secrets.append(secret)
            return secret

        resolved = _SECRET_REF.sub(fill, value)
        if any(c in resolved for c in "\r\n\x00"):
            raise _Refused(
                ToolCallStatus.ERROR,
                "this tool's credentials are malformed; tell the customer it is unavailable right now",
                f"error: header {name} has a line break after secrets were filled in",
            )
        prepared.headers[name] = resolved


def _tool_refusal(exc: WebhookRefused) -> str:
    return str(exc).replace("webhook URL", "tool URL").replace("webhook host", "tool host").replace("webhook", "tool")


class HttpToolRunner:
    """Runs `HttpTool` requests: address policy, secrets, the deadline, the size cap (a `ToolRunner`).

    Calls block in a pool of `threads` worker threads of its own (asyncio's executor: the doors all run
    on asyncio); when every worker is busy a call waits in the queue and still ends at its deadline.
    `resolve` (DNS) and `tls_context` are injectable for tests; `clock` is monotonic seconds.
    """

    def __init__(
        self,
        secrets: SecretResolver,
        policy: WebhookPolicy,
        *,
        resolve: Resolver = system_resolver,
        tls_context: ssl.SSLContext | None = None,
        validator: ArgumentValidator | None = None,
        threads: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secrets = secrets
        self._policy = policy
        self._resolve = resolve
        self._tls = tls_context or ssl.create_default_context()
        self._validator = validator or ArgumentValidator()
        # Its own threads: a tenant's hanging endpoints must not take the event loop's default thread
        # tokens that store calls wait on; nor a limiter bound to one loop (doors run on several).
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="oratio-tool")
        self._threads = threads
        self._clock = clock
        self._lock = threading.Lock()
        self._pooled = 0
        self._by_tenant: dict[str, int] = {}

    async def run(self, request: ToolRequest) -> ToolOutcome:
        tool = request.tool
        if not isinstance(tool, HttpTool):
            raise TypeError("HttpToolRunner runs HttpTool requests only")
        started = self._clock()
        budget = tool.timeout_seconds if request.deadline_s is None else min(tool.timeout_seconds, request.deadline_s)
        origin = safe_origin(tool.url)
        try:
            prepared = prepare(tool, request.arguments)
        except _Refused as refused:
            return self._outcome(refused.status, {"error": refused.for_model}, refused.summary, started)
        if budget <= 0:
            return self._timeout(origin, budget, started)
        deadline = started + budget
        result: list[ToolOutcome | BaseException] = []

        def call() -> None:
            # Parsing and checking the answer (up to max_response_bytes) happens here too, off the loop.
            try:
                _resolve_secrets(prepared, self._secrets, request.tenant_id)
                answer = self._exchange(prepared, deadline)
                result.append(self._answered(tool, answer, prepared.secrets, started))
            except (_Refused, WebhookRefused, OSError, http.client.HTTPException, InvalidInput, ValueError) as exc:
                result.append(exc)

        # The watchdog ends socket waits at the deadline; this bound covers what it cannot (a DNS lookup).
        with anyio.move_on_after(budget + 0.02):
            await self._submit(request.tenant_id, call)
        if not result:
            return self._timeout(origin, budget, started)
        answer = result[0]
        if isinstance(answer, ToolOutcome):
            return answer
        if isinstance(answer, _Refused):
            return self._outcome(answer.status, {"error": answer.for_model}, answer.summary, started)
        if isinstance(answer, WebhookRefused):
            reason = _tool_refusal(answer)
            return self._outcome(
                ToolCallStatus.REFUSED,
                {
                    "error": "the platform's address policy does not allow this tool's endpoint; tell the customer "
                    "the action is unavailable (the administrator can check the tool's URL)"
                },
                f"refused: {reason}"[:SUMMARY_MAX],
                started,
            )
        if isinstance(answer, TimeoutError):
            return self._timeout(origin, budget, started)
        what = describe_failure(answer)
        return self._outcome(
            ToolCallStatus.ERROR,
            {"error": f"the tool's service could not be reached ({what}); apologise and offer another way"},
            f"error: {origin}: {what}",
            started,
        )

    def _submit(self, tenant_id: str, call: Callable[[], None]) -> asyncio.Future[None]:
        """Run `call` on a tool thread. A tenant never waits behind other tenants' hanging calls.

        The pool is shared; when it is full, a call of a tenant holding fewer than half of its threads
        gets a thread of its own (each tenant's calls are capped by `ToolLimits`, and every thread ends
        at its call's deadline), while a tenant that fills the pool itself queues behind its own calls.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            held = self._by_tenant.get(tenant_id, 0)
            overflow = self._pooled >= self._threads and held < max(1, self._threads // 2)
            self._by_tenant[tenant_id] = held + 1
            self._pooled += 0 if overflow else 1

        def counted() -> None:
            try:
                call()
            finally:
                with self._lock:
                    left = self._by_tenant.pop(tenant_id, 1) - 1
                    if left:
                        self._by_tenant[tenant_id] = left
                    self._pooled -= 0 if overflow else 1

        if not overflow:
            return loop.run_in_executor(self._pool, counted)
        future: asyncio.Future[None] = loop.create_future()

        def finish() -> None:
            if not future.done():
                future.set_result(None)

        def own_thread() -> None:
            try:
                counted()
            finally:
                try:
                    loop.call_soon_threadsafe(finish)
                except RuntimeError:
                    pass  # the caller's loop has closed: nobody is waiting

        threading.Thread(target=own_thread, name="oratio-tool-overflow", daemon=True).start()
        return future

    def _outcome(self, status: ToolCallStatus, content: Any, summary: str, started: float) -> ToolOutcome:
        elapsed = max(0.0, (self._clock() - started) * 1000)
        return ToolOutcome(status=status, content=content, summary=summary[:SUMMARY_MAX], duration_ms=elapsed)

    def _timeout(self, origin: str, budget: float, started: float) -> ToolOutcome:
        return self._outcome(
            ToolCallStatus.TIMEOUT,
            {"error": f"the tool did not answer within {budget:.1f} seconds; apologise and offer to try later"},
            f"timeout: {origin} did not answer within {budget:.1f}s",
            started,
        )

    def _exchange(self, prepared: _Prepared, deadline: float) -> _Answer:
        """Blocking: the request and at most MAX_REDIRECTS redirects, each hop vetted and pinned."""
        method, url, headers, body = prepared.method, prepared.url, dict(prepared.headers), prepared.body
        first_origin = safe_origin(url)
        for hop in range(MAX_REDIRECTS + 1):
            target = check_url(url, self._policy, self._resolve)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise TimeoutError("out of time")
            tls = self._tls if target.scheme == "https" else None
            connection = PinnedConnection(target, remaining, tls)
            watchdog = threading.Timer(remaining, connection.abort)
            watchdog.daemon = True
            watchdog.start()
            try:
                connection.request(method, target.path, body=body, headers=headers)
                response = connection.getresponse()
                location = response.getheader("Location")
                if response.status in _REDIRECTS and location:
                    if hop == MAX_REDIRECTS:
                        raise _Refused(
                            ToolCallStatus.ERROR,
                            "the tool's service redirected too many times; apologise and offer another way",
                            f"error: {first_origin}: more than {MAX_REDIRECTS} redirects",
                        )
                    next_url = urljoin(url, location.strip())
                    if safe_origin(next_url) != safe_origin(url):
                        # Another origin: the admin's headers (credentials) are for the first one only.
                        headers = {k: v for k, v in headers.items() if k in ("User-Agent", "Accept")}
                        if body is not None:
                            headers["Content-Type"] = "application/json"
                    if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                        method, body = "GET", None
                        headers.pop("Content-Type", None)
                    url = next_url
                    continue
                limit = prepared.limit
                data = response.read(limit + 1)
                return _Answer(
                    status=response.status,
                    content_type=(response.getheader("Content-Type") or "").lower(),
                    body=data[:limit],
                    cut=len(data) > limit,
                    origin=safe_origin(url),
                )
            except (OSError, http.client.HTTPException):
                if connection.aborted:
                    raise TimeoutError("out of time") from None
                raise
            finally:
                watchdog.cancel()
                connection.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def _answered(self, tool: HttpTool, answer: _Answer, secrets: list[str], started: float) -> ToolOutcome:
        text = scrub_secrets(answer.body.decode("utf-8", errors="replace"), secrets, cut=answer.cut)
        if answer.status >= 400:
            excerpt = " ".join(text[:EXCERPT_MAX].split())
            return self._outcome(
                ToolCallStatus.ERROR,
                {"error": f"the tool's service answered HTTP {answer.status}: {excerpt}", "status": answer.status},
                f"error: HTTP {answer.status}: {redact_text(excerpt)}",
                started,
            )
        size = len(answer.body)
        if answer.cut:
            note = f"[cut at {size} bytes]"
            return self._outcome(
                ToolCallStatus.OK, f"{text}\n{note}", f"HTTP {answer.status}, {note}: {_one_line(text)}", started
            )
        content: Any = text
        if "json" in answer.content_type:
            try:
                content = parse_json(text, max_depth=RESPONSE_DEPTH_MAX, what="the tool's answer")
            except InvalidInput:
                content = text
        summary = f"HTTP {answer.status}, {size} bytes: {_one_line(text)}"
        if tool.response_schema is not None:
            problems = self._validator.value_errors(tool.response_schema, content)
            if problems:
                note = "the answer does not match the tool's response schema: " + "; ".join(problems)
                return self._outcome(ToolCallStatus.OK, {"result": content, "note": note}, summary, started)
        return self._outcome(ToolCallStatus.OK, content, summary, started)


def scrub_secrets(text: str, secrets: list[str], *, cut: bool) -> str:
    """An answer with the secrets this call sent masked (an endpoint that echoes our headers).

    Each secret is looked for as sent and as a JSON string would carry it (an echo in JSON escapes a
    quote, a backslash or a non-ASCII letter). When the answer was cut at `max_response_bytes`, a cut
    that falls inside a secret leaves its first characters at the very end: those are masked too, else
    a model could choose arguments that move the cut and read a secret piece by piece.
    """
    for secret in secrets:
        if len(secret) < 4:
            continue
        forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
        for form in forms:
            text = text.replace(form, "[redacted]")
        if cut:
            for form in forms:
                text = _mask_cut_tail(text, form)
    return text


def _mask_cut_tail(text: str, secret: str) -> str:
    """`text` with a trailing start of `secret` (a proper prefix, cut off by the size cap) masked."""
    at = text.find(secret[0], max(0, len(text) - len(secret) + 1))
    while at >= 0:
        if secret.startswith(text[at:]):
            return text[:at] + "[redacted]"
        at = text.find(secret[0], at + 1)
    return text


def _one_line(text: str) -> str:
    """The start of an answer for the transcript, tokens and card numbers in it masked."""
    return redact_text(" ".join(text[:400].split()))


__all__ = [
    "MAX_REDIRECTS",
    "HttpToolRunner",
    "prepare",
    "preview",
    "render_url",
    "scrub_secrets",
    "secret_refs",
    "vet_http_tool",
    "vet_url",
]
