"""Document tools: add, replace, list, inspect and delete an agent's knowledge-base documents."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext, tool_errors
from mcp_server.models import Deleted, DocumentInput
from mcp_server.tools._build import rebuild_after_knowledge_change
from mcp_server.tools._register import reads, tool, writes
from oratio.store.ports import Page
from schemas import Document, Identifier, Model


class KnowledgeResult(Model):
    """One passage found in an agent's knowledge base, best first."""

    document_id: str
    document_name: str
    location: str = Field(description="Page or heading the passage comes from")
    text: str
    score: float


class KnowledgeResults(Model):
    results: list[KnowledgeResult]


class DocumentList(Model):
    documents: list[Document]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null at the end")


def _document_list(page: Page[Document]) -> DocumentList:
    return DocumentList(documents=page.items, next_cursor=page.next_cursor)


AgentId = Annotated[Identifier, Field(description="Id of the agent the documents belong to, e.g. agt_01...")]
DocumentId = Annotated[Identifier, Field(description="Document id, e.g. doc_01...")]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, writes("Upload knowledge document", destructive=True, idempotent=True))
    async def upload_document(
        agent_id: AgentId,
        document: DocumentInput,
        rebuild: Annotated[
            bool, Field(description="Rebuild and re-test an active agent in the background with the new knowledge")
        ] = True,
    ) -> Document:
        """Add a document to an agent's knowledge base, or replace the agent's document of the same name.

        Give Markdown, plain text or HTML as `text` and PDFs as `base64`. A document with the name
        of an existing one replaces it (same id, new content); uploading identical content again
        changes nothing, so repeating an upload is safe. The document is indexed in the background:
        the returned record is `ingesting`; get_document or list_documents show its progress
        (`chunks_done` of `chunks_total`), then `ready` (with its chunk count) or `error` with the
        reason (encrypted or scanned PDF, binary file, not UTF-8 text, ...); fix the file and upload it
        again. Search finds the document once it is `ready` (a replaced one's previous version until
        then). An active agent is rebuilt and re-tested in the background once its documents are indexed.
        """
        principal = tc.principal()
        with tool_errors():
            content = document.to_content()
        before = await tc.call(lambda: platform.documents.find(principal, agent_id, content.name))
        stored = await tc.call(lambda: platform.documents.upload(principal, agent_id, content))
        unchanged = before is not None and before.version == stored.version
        if rebuild and not unchanged:
            await rebuild_after_knowledge_change(tc, principal, agent_id)
        return stored

    @tool(server, reads("List knowledge documents"))
    async def list_documents(
        agent_id: AgentId,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> DocumentList:
        """List an agent's knowledge-base documents (names, formats, sizes, indexing status and progress), by page."""
        principal = tc.principal()
        page = await tc.call(lambda: platform.documents.list(principal, agent_id, limit=limit, cursor=cursor))
        return _document_list(page)

    @tool(server, reads("Get knowledge document"))
    async def get_document(document_id: DocumentId) -> Document:
        """Get one document's record: name, format, size, checksum, indexing status and progress (not its content)."""
        principal = tc.principal()
        return await tc.call(lambda: platform.documents.get(principal, document_id))

    @tool(server, writes("Delete knowledge document", destructive=True, idempotent=True))
    async def delete_document(
        document_id: DocumentId,
        rebuild: Annotated[bool, Field(description="Rebuild and re-test an active agent in the background")] = True,
    ) -> Deleted:
        """Remove a document from its agent's knowledge base. The agent stops answering from it. Cannot be undone."""
        principal = tc.principal()
        document = await tc.call(lambda: platform.documents.get(principal, document_id))
        await tc.call(lambda: platform.documents.delete(principal, document_id))
        if rebuild:
            await rebuild_after_knowledge_change(tc, principal, document.agent_id)
        return Deleted(id=document_id)

    @tool(server, writes("Re-index knowledge document", destructive=False, idempotent=True))
    async def reingest_document(document_id: DocumentId) -> Document:
        """Index a document again, e.g. after a temporary failure left it in `error` (returns it `ingesting`)."""
        principal = tc.principal()
        return await tc.call(lambda: platform.documents.reingest(principal, document_id))

    @tool(server, reads("Search knowledge base"))
    async def search_knowledge(
        agent_id: AgentId,
        query: Annotated[str, Field(min_length=1, max_length=1000, description="A customer's question")],
        k: Annotated[int, Field(ge=1, le=50, description="How many passages to return")] = 5,
    ) -> KnowledgeResults:
        """Search an agent's knowledge base the way the agent will: test what it finds for a question.

        Returns passages with their document, page or heading, and a relevance score (higher is better).
        """
        principal = tc.principal()
        hits = await tc.call(lambda: platform.knowledge.search(principal, agent_id, query, k))
        return KnowledgeResults(
            results=[
                KnowledgeResult(
                    document_id=hit.chunk.document_id,
                    document_name=hit.document_name,
                    location=hit.chunk.location,
                    text=hit.chunk.text,
                    score=hit.score,
                )
                for hit in hits
            ]
        )
