"""A document up to Oratio's own size limit uploads over MCP HTTP; a larger request gets a JSON 413.

The MCP SDK refuses request bodies over 4 MiB (plain text) unless told otherwise, which stopped
PDFs of about 3 MiB (base64 inflates them by 4/3) long before the documented document limit. Here
the limit is set to 5 MiB so a PDF between the SDK's default and ours is cheap to send: it must be
stored, and a request past the limit must get Oratio's JSON refusal, never the SDK's plain text.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest

from mcp_server.http import max_request_bytes
from oratio.config import Settings
from schemas import DocumentStatus
from tests.reliability.doors import tool_error
from tests.reliability.test_tenant_isolation import mcp_over_http
from tests.reliability.world import Served, Side, new_side, reliability_platform, serving
from tests.support.pdfs import PdfBuilder, text_page_content

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
SDK_DEFAULT_BODY_BYTES = 4 * 1024 * 1024
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


@dataclass(frozen=True)
class Site:
    served: Served
    side: Side


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with reliability_platform(tmp_path, max_document_bytes=MAX_DOCUMENT_BYTES) as platform, serving(platform) as served:
        yield Site(served, new_side(platform, "Acme"))


def padded_pdf(size: int) -> bytes:
    """A one-page PDF of about `size` bytes: a short text page plus an unreferenced stream of padding.

    The padding is never parsed (no page points at it), so indexing stays cheap however large it is.
    """
    builder = PdfBuilder()
    builder.stream(b"0" * max(size - 1024, 0), compress=False)
    font = builder.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pages = builder.reserve()
    contents = builder.stream(text_page_content(["Refunds are possible within 30 days."]))
    page = builder.add(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages, contents, font)
    )
    builder.set(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    return builder.build(builder.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages))


def upload_body(agent_id: str, pdf: bytes) -> bytes:
    document = {"name": "big.pdf", "format": "pdf", "base64": base64.b64encode(pdf).decode()}
    params = {"name": "upload_document", "arguments": {"agent_id": agent_id, "document": document}}
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}
    return json.dumps(call).encode()


def test_a_pdf_larger_than_the_sdk_default_uploads_over_mcp_http(site: Site) -> None:
    pdf = padded_pdf(MAX_DOCUMENT_BYTES - 64 * 1024)
    assert len(base64.b64encode(pdf)) > SDK_DEFAULT_BODY_BYTES  # the SDK's default alone would refuse it
    side = site.side

    async def upload() -> None:
        async with mcp_over_http(site.served.mcp_url, side.token) as mcp:
            arguments = {"name": "big.pdf", "format": "pdf", "base64": base64.b64encode(pdf).decode()}
            result = await mcp.call_tool("upload_document", {"agent_id": side.agent.id, "document": arguments})
            assert tool_error(result) is None

    anyio.run(upload)
    documents = site.served.platform.documents.list(side.principal, side.agent.id).items
    [stored] = [d for d in documents if d.name == "big.pdf"]
    assert stored.status is DocumentStatus.READY, stored.status_reason
    assert stored.size_bytes == len(pdf)


def test_a_request_over_the_limit_gets_a_json_413_not_the_sdks_plain_text(site: Site) -> None:
    limit = max_request_bytes(MAX_DOCUMENT_BYTES)
    body = upload_body(site.side.agent.id, padded_pdf(MAX_DOCUMENT_BYTES + 1024 * 1024))
    assert len(body) > limit
    headers = {"Authorization": f"Bearer {site.side.token}", **MCP_HEADERS, "Content-Type": "application/json"}

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        for start in range(0, len(body), 1024 * 1024):
            yield body[start : start + 1024 * 1024]

    with httpx.Client(base_url=site.served.base_url, timeout=60.0) as http:
        for content in (body, chunked()):
            refused = http.post("/mcp", content=content, headers=headers)
            assert refused.status_code == 413, refused.text
            assert refused.headers["content-type"] == "application/json"
            assert refused.json()["error"] == "payload_too_large"
    names = [d.name for d in site.served.platform.documents.list(site.side.principal, site.side.agent.id).items]
    assert names == ["faq.md"]


def test_the_default_limit_admits_a_25_mib_document_as_base64() -> None:
    largest = Settings.model_fields["max_document_bytes"].default
    assert largest == 25 * 1024 * 1024
    encoded = -(-largest // 3) * 4  # base64 of the largest document
    assert encoded + 64 * 1024 < max_request_bytes(largest)  # room for the JSON-RPC envelope and the name
    assert SDK_DEFAULT_BODY_BYTES < encoded  # so the SDK's default could never have been left in place
