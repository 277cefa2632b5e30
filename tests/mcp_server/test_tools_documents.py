"""Document tools: upload (text and base64, replace by name, no-op on identical content), list, get, delete."""

from __future__ import annotations

import base64
import hashlib

import pytest
from mcp import Client

from mcp_server.models import Deleted
from mcp_server.tools.documents import DocumentList
from oratio.platform import Platform
from schemas import Agent, Document, DocumentFormat, DocumentStatus, EventType, Principal
from tests.support.mcp import call, call_as, call_error, spec

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.7\n%\xb5\xb5\xb5\xb5\n1 0 obj <</Type /Catalog>> endobj\n%%EOF\n"
UNKNOWN_AGENT = "agt_01aaaaaaaaaaaaaaaaaaaaaaaa"
UNKNOWN_DOCUMENT = "doc_01aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
async def agent(client: Client) -> Agent:
    return await call_as(client, "create_agent", {"spec": spec()}, Agent)


async def upload(client: Client, agent_id: str, name: str, text: str, fmt: str = "markdown") -> Document:
    document = {"name": name, "format": fmt, "text": text}
    return await call_as(client, "upload_document", {"agent_id": agent_id, "document": document}, Document)


async def test_upload_text_stores_the_content(
    client: Client, agent: Agent, platform: Platform, acme: Principal
) -> None:
    text = "# Shipping\n\nWe ship in 2 days. Prices in €.\n"

    document = await upload(client, agent.id, "shipping.md", text)

    assert (document.agent_id, document.name, document.format, document.status) == (
        agent.id,
        "shipping.md",
        DocumentFormat.MARKDOWN,
        DocumentStatus.READY,
    )
    assert document.chunk_count == 1
    assert document.id.startswith("doc_")
    assert (document.size_bytes, document.sha256) == (len(text.encode()), hashlib.sha256(text.encode()).hexdigest())
    assert platform.documents.read_content(acme, document.id) == text.encode()


async def test_upload_base64_stores_the_decoded_bytes(
    client: Client, agent: Agent, platform: Platform, acme: Principal
) -> None:
    payload = {"name": "terms.pdf", "format": "pdf", "base64": base64.b64encode(PDF).decode()}

    document = await call_as(client, "upload_document", {"agent_id": agent.id, "document": payload}, Document)

    assert (document.format, document.size_bytes) == (DocumentFormat.PDF, len(PDF))
    assert platform.documents.read_content(acme, document.id) == PDF


async def test_uploading_identical_content_again_changes_nothing(
    client: Client, agent: Agent, platform: Platform, acme: Principal
) -> None:
    first = await upload(client, agent.id, "faq.md", "Q: hours? A: 9 to 5.")
    events_before = len(platform.backends.events.read(acme.tenant_id, after=0))

    again = await upload(client, agent.id, "faq.md", "Q: hours? A: 9 to 5.")

    assert again == first
    assert len(platform.backends.events.read(acme.tenant_id, after=0)) == events_before


async def test_uploading_the_same_name_replaces_the_document(
    client: Client, agent: Agent, platform: Platform, acme: Principal
) -> None:
    first = await upload(client, agent.id, "faq.md", "Q: hours? A: 9 to 5.")

    replaced = await upload(client, agent.id, "FAQ.md", "Q: hours? A: 8 to 6.")

    assert (replaced.id, replaced.name) == (first.id, "faq.md")
    assert replaced.sha256 == hashlib.sha256(b"Q: hours? A: 8 to 6.").hexdigest()
    assert replaced.version > first.version
    assert replaced.status is DocumentStatus.READY
    assert [
        d.id for d in (await call_as(client, "list_documents", {"agent_id": agent.id}, DocumentList)).documents
    ] == [first.id]
    assert platform.documents.read_content(acme, first.id) == b"Q: hours? A: 8 to 6."
    added = [e for e in platform.backends.events.read(acme.tenant_id, after=0) if e.type is EventType.DOCUMENT_ADDED]
    assert [e.data.get("replaced") for e in added] == [None, True]


async def test_upload_refuses_invalid_base64(client: Client, agent: Agent) -> None:
    payload = {"name": "terms.pdf", "format": "pdf", "base64": "%%% not base64 %%%"}

    text = await call_error(client, "upload_document", {"agent_id": agent.id, "document": payload})

    assert text == (
        "Error executing tool upload_document: invalid_input: document 'terms.pdf': base64 content is not valid"
    )
    assert (await call(client, "list_documents", {"agent_id": agent.id}))["documents"] == []


@pytest.mark.parametrize(
    "content",
    [{}, {"text": "x", "base64": "eA=="}],
    ids=["neither", "both"],
)
async def test_upload_needs_exactly_one_of_text_and_base64(
    client: Client, agent: Agent, content: dict[str, str]
) -> None:
    payload = {"name": "a.md", "format": "markdown", **content}

    text = await call_error(client, "upload_document", {"agent_id": agent.id, "document": payload})

    assert "give exactly one of 'text' or 'base64'" in text


async def test_upload_refuses_an_empty_document_and_an_unknown_format(client: Client, agent: Agent) -> None:
    empty = {"name": "a.md", "format": "markdown", "text": ""}
    docx = {"name": "a.docx", "format": "docx", "text": "hello"}

    assert "invalid_input: document 'a.md' is empty" in await call_error(
        client, "upload_document", {"agent_id": agent.id, "document": empty}
    )
    assert "format" in await call_error(client, "upload_document", {"agent_id": agent.id, "document": docx})
    assert (await call(client, "list_documents", {"agent_id": agent.id}))["documents"] == []


async def test_upload_refuses_a_name_with_a_slash_with_a_useful_message(client: Client, agent: Agent) -> None:
    payload = {"name": "policies/refunds.md", "format": "markdown", "text": "hello"}

    text = await call_error(client, "upload_document", {"agent_id": agent.id, "document": payload})

    assert "name" in text


async def test_upload_to_an_unknown_agent_is_not_found(client: Client) -> None:
    payload = {"name": "a.md", "format": "markdown", "text": "hello"}

    text = await call_error(client, "upload_document", {"agent_id": UNKNOWN_AGENT, "document": payload})

    assert text == f"Error executing tool upload_document: not_found: agent '{UNKNOWN_AGENT}' was not found"


async def test_list_documents_pages(client: Client, agent: Agent) -> None:
    uploaded = [await upload(client, agent.id, f"doc{i}.txt", f"text {i}", "text") for i in range(3)]

    first = await call_as(client, "list_documents", {"agent_id": agent.id, "limit": 2}, DocumentList)
    second = await call_as(
        client, "list_documents", {"agent_id": agent.id, "limit": 2, "cursor": first.next_cursor}, DocumentList
    )

    assert first.next_cursor is not None and second.next_cursor is None
    assert sorted(d.id for d in first.documents + second.documents) == sorted(d.id for d in uploaded)
    assert len(first.documents) == 2


async def test_list_documents_keeps_agents_apart_and_refuses_an_unknown_agent(client: Client, agent: Agent) -> None:
    other = await call_as(client, "create_agent", {"spec": spec("Other")}, Agent)
    mine = await upload(client, agent.id, "a.md", "mine")
    await upload(client, other.id, "a.md", "theirs")

    listed = await call_as(client, "list_documents", {"agent_id": agent.id}, DocumentList)

    assert listed == DocumentList(documents=[mine], next_cursor=None)
    assert "not_found" in await call_error(client, "list_documents", {"agent_id": UNKNOWN_AGENT})


async def test_get_document_returns_the_record_without_content(client: Client, agent: Agent) -> None:
    document = await upload(client, agent.id, "a.md", "secret sauce recipe")

    raw = await call(client, "get_document", {"document_id": document.id})

    assert Document.model_validate(raw) == document
    assert not {"content", "text", "base64"} & raw.keys()
    assert "secret sauce recipe" not in str(raw)
    assert "not_found" in await call_error(client, "get_document", {"document_id": UNKNOWN_DOCUMENT})


async def test_delete_document(client: Client, agent: Agent, platform: Platform, acme: Principal) -> None:
    document = await upload(client, agent.id, "a.md", "hello")
    kept = await upload(client, agent.id, "b.md", "world")

    deleted = await call_as(client, "delete_document", {"document_id": document.id}, Deleted)

    assert deleted == Deleted(id=document.id)
    assert "not_found" in await call_error(client, "get_document", {"document_id": document.id})
    assert (await call_as(client, "list_documents", {"agent_id": agent.id}, DocumentList)).documents == [kept]
    assert platform.backends.blobs.head(document.blob_key) is None
    assert "not_found" in await call_error(client, "delete_document", {"document_id": document.id})
