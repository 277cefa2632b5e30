"""upload_document on a server that indexes in the background (the default): returns `ingesting` at once."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from mcp_server.tools.documents import DocumentList
from oratio.platform import Platform
from schemas import Agent, Document, DocumentStatus
from tests.support.mcp import call_as, spec

pytestmark = pytest.mark.anyio

WAIT_S = 30.0


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"ingest_background": True}


async def test_upload_returns_ingesting_and_get_shows_the_outcome(client: Client, platform: Platform) -> None:
    agent = await call_as(client, "create_agent", {"spec": spec()}, Agent)
    document = {"name": "refunds.md", "format": "markdown", "text": "# Refunds\n\nWithin 30 days.\n"}

    uploaded = await call_as(
        client, "upload_document", {"agent_id": agent.id, "document": document, "rebuild": False}, Document
    )

    assert (uploaded.status, uploaded.chunk_count) == (DocumentStatus.INGESTING, 0)  # as stored, before any worker
    assert platform.ingestion.background and platform.ingestion.wait_idle(WAIT_S)
    got = await call_as(client, "get_document", {"document_id": uploaded.id}, Document)
    assert (got.status, got.chunk_count >= 1) == (DocumentStatus.READY, True)
    listed = await call_as(client, "list_documents", {"agent_id": agent.id}, DocumentList)
    assert [d.status for d in listed.documents] == [DocumentStatus.READY]
