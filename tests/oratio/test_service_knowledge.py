"""Uploads become searchable at once, replaced or deleted content stops being found, and a bad
document ends in `error` with a reason while the others are still ingested."""

from __future__ import annotations

import pytest

from oratio.errors import InvalidInput, NotFound
from oratio.platform import Platform
from oratio.store.tables import DOCUMENTS
from schemas import DocumentFormat, DocumentStatus
from tests.support.tenants import Tenancy, create_agent, doc

REFUNDS = b"# Refunds\n\nRefunds are possible within 30 days of purchase with a receipt."
REFUNDS_V2 = b"# Refunds\n\nWe no longer give refunds; store credit is offered instead."
SHIPPING = b"# Shipping\n\nParcels leave the warehouse within two working days."


def found_texts(platform: Platform, tenancy: Tenancy, agent_id: str, query: str) -> list[str]:
    return [hit.chunk.text for hit in platform.knowledge.search(tenancy.principal, agent_id, query, k=5)]


def test_an_upload_is_searchable_with_its_source(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    document = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))

    hits = platform.knowledge.search(acme.principal, agent.id, "refund receipt", k=3)

    assert hits and hits[0].chunk.document_id == document.id
    source = hits[0].to_source()
    assert (source.document_name, source.location) == ("refunds.md", "Refunds")
    assert "30 days" in source.snippet


def test_reupload_replaces_the_chunks_and_delete_removes_them(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    first = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))
    platform.documents.upload(acme.principal, agent.id, doc("shipping.md", SHIPPING))

    platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS_V2))

    texts = found_texts(platform, acme, agent.id, "refunds receipt days")
    assert not any("30 days" in text for text in texts)
    assert any("store credit" in text for text in texts)

    platform.documents.delete(acme.principal, first.id)
    assert not any("store credit" in text for text in found_texts(platform, acme, agent.id, "store credit refunds"))
    assert any("warehouse" in text for text in found_texts(platform, acme, agent.id, "warehouse parcels"))


@pytest.mark.parametrize(
    ("name", "fmt", "content", "reason"),
    [
        ("manual.txt", DocumentFormat.TEXT, b"\x00\x01\x02binary\x00\xff" * 50, "binary"),
        ("latin.txt", DocumentFormat.TEXT, "caf\u00e9 cr\u00e8me".encode("latin-1"), "UTF-8"),
        ("blank.md", DocumentFormat.MARKDOWN, b"   \n\n  ", "empty"),
        ("broken.pdf", DocumentFormat.PDF, b"%PDF-1.7\nthis is not really a pdf", "PDF"),
    ],
)
def test_a_bad_document_gets_an_error_status_and_the_others_are_ingested(
    platform: Platform, acme: Tenancy, name: str, fmt: DocumentFormat, content: bytes, reason: str
) -> None:
    agent = create_agent(platform, acme)
    good_before = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))

    bad = platform.documents.upload(acme.principal, agent.id, doc(name, content).model_copy(update={"format": fmt}))
    good_after = platform.documents.upload(acme.principal, agent.id, doc("shipping.md", SHIPPING))

    assert bad.status is DocumentStatus.ERROR
    assert bad.status_reason is not None and reason in bad.status_reason
    assert (good_before.status, good_after.status) == (DocumentStatus.READY, DocumentStatus.READY)
    assert platform.documents.get(acme.principal, bad.id).status is DocumentStatus.ERROR
    assert any("warehouse" in text for text in found_texts(platform, acme, agent.id, "warehouse"))


def test_reingest_retries_a_document(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    document = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))

    again = platform.documents.reingest(acme.principal, document.id)

    assert again.status is DocumentStatus.READY and again.chunk_count == document.chunk_count
    assert len(found_texts(platform, acme, agent.id, "refunds receipt")) == 1  # no duplicate chunks


def test_unready_documents_are_resumed(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    document = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))
    # What a crash mid-ingestion leaves behind: the record says ingesting, the index has nothing.
    stuck = platform.backends.store.replace(DOCUMENTS, document.model_copy(update={"status": DocumentStatus.INGESTING}))
    platform.ingestion.knowledge.remove(acme.tenant_id, agent.id, document.id)
    assert stuck.status is DocumentStatus.INGESTING

    assert platform.ingestion.resume_unready() == 1

    assert platform.documents.get(acme.principal, document.id).status is DocumentStatus.READY
    assert found_texts(platform, acme, agent.id, "refunds receipt")
    assert platform.ingestion.resume_unready() == 0


def test_search_is_scoped_to_the_tenant_and_checks_its_input(
    platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    agent = create_agent(platform, acme)
    platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))

    with pytest.raises(NotFound):
        platform.knowledge.search(globex.principal, agent.id, "refunds")
    with pytest.raises(InvalidInput):
        platform.knowledge.search(acme.principal, agent.id, "   ")
    with pytest.raises(InvalidInput):
        platform.knowledge.search(acme.principal, agent.id, "refunds", k=0)
