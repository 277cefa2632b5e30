"""Document tools: add, replace, list, inspect and delete an agent's knowledge-base documents."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from mcp_server._context import ToolContext, tool_errors
from mcp_server.models import Deleted, DocumentInput
from oratio.store.ports import Page
from schemas import Document, Identifier, Model


class DocumentList(Model):
    documents: list[Document]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null at the end")


def _document_list(page: Page[Document]) -> DocumentList:
    return DocumentList(documents=page.items, next_cursor=page.next_cursor)


AgentId = Annotated[Identifier, Field(description="Id of the agent the documents belong to, e.g. agt_01...")]
DocumentId = Annotated[Identifier, Field(description="Document id, e.g. doc_01...")]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @server.tool(annotations=ToolAnnotations(idempotentHint=True))
    async def upload_document(agent_id: AgentId, document: DocumentInput) -> Document:
        """Add a document to an agent's knowledge base, or replace the agent's document of the same name.

        Give Markdown, plain text or HTML as `text` and PDFs as `base64`. A document with the name
        of an existing one replaces it (same id, new content); uploading identical content again
        changes nothing, so repeating an upload is safe. The returned record starts `pending`
        until the document is indexed; `get_document` shows its progress.
        """
        principal = tc.principal()
        with tool_errors():
            content = document.to_content()
        return await tc.call(lambda: platform.documents.upload(principal, agent_id, content))

    @server.tool(annotations=ToolAnnotations(readOnlyHint=True))
    async def list_documents(
        agent_id: AgentId,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> DocumentList:
        """List an agent's knowledge-base documents (names, formats, sizes, indexing status)."""
        principal = tc.principal()
        page = await tc.call(lambda: platform.documents.list(principal, agent_id, limit=limit, cursor=cursor))
        return _document_list(page)

    @server.tool(annotations=ToolAnnotations(readOnlyHint=True))
    async def get_document(document_id: DocumentId) -> Document:
        """Get one document's record: name, format, size, checksum and indexing status (not its content)."""
        principal = tc.principal()
        return await tc.call(lambda: platform.documents.get(principal, document_id))

    @server.tool(annotations=ToolAnnotations(destructiveHint=True))
    async def delete_document(document_id: DocumentId) -> Deleted:
        """Remove a document from its agent's knowledge base. The agent stops answering from it. Cannot be undone."""
        principal = tc.principal()
        await tc.call(lambda: platform.documents.delete(principal, document_id))
        return Deleted(id=document_id)
