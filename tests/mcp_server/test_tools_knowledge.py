"""search_knowledge finds uploaded passages with their source; reingest_document re-indexes."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_server.tools.documents import KnowledgeResults
from schemas import Agent, Document, DocumentStatus
from tests.support.mcp import call_as, call_error, spec

pytestmark = pytest.mark.anyio

REFUNDS = "# Refund policy\n\nRefunds of up to $100 can be approved by the support agent."


async def _agent_with_refunds(client: Client) -> tuple[Agent, Document]:
    agent = await call_as(client, "create_agent", {"spec": spec()}, Agent)
    document = await call_as(
        client,
        "upload_document",
        {"agent_id": agent.id, "document": {"name": "refunds.md", "format": "markdown", "text": REFUNDS}},
        Document,
    )
    return agent, document


async def test_search_knowledge_returns_passages_with_sources(client: Client) -> None:
    agent, document = await _agent_with_refunds(client)

    found = await call_as(
        client, "search_knowledge", {"agent_id": agent.id, "query": "refund approval"}, KnowledgeResults
    )

    assert document.status is DocumentStatus.READY
    (first, *_) = found.results
    assert (first.document_id, first.document_name, first.location) == (document.id, "refunds.md", "Refund policy")
    assert "$100" in first.text and first.score > 0


async def test_search_knowledge_refuses_bad_input_and_other_tenants(client: Client, rival: Client) -> None:
    agent, _ = await _agent_with_refunds(client)

    assert "not_found" in await call_error(rival, "search_knowledge", {"agent_id": agent.id, "query": "refund"})
    assert "query" in await call_error(client, "search_knowledge", {"agent_id": agent.id, "query": ""})
    assert "k" in await call_error(client, "search_knowledge", {"agent_id": agent.id, "query": "refund", "k": 99})


async def test_reingest_document_indexes_again(client: Client) -> None:
    _, document = await _agent_with_refunds(client)

    again = await call_as(client, "reingest_document", {"document_id": document.id}, Document)

    assert (again.id, again.status, again.chunk_count) == (document.id, DocumentStatus.READY, document.chunk_count)
