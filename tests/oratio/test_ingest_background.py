"""Background ingestion: an upload returns `ingesting` at once; workers index it with progress on the record,
record failures as the document's error, resume after a restart and never leave a document `ingesting` forever.

The knowledge base is the platform's real one behind a gate (`GatedKnowledgeBase`): a test holds a
document mid-ingestion to see what an admin sees meanwhile, then lets it finish. No sleeps: every wait is
on an event or the queue's idle condition, bounded.
"""

from __future__ import annotations

import threading

import pytest

from oratio.knowledge.ports import IngestionInterrupted, IngestResult, KnowledgeBase, KnowledgeHit
from oratio.knowledge.progress import report
from oratio.platform import Platform
from oratio.services import DocumentService
from oratio.services.ingestion import Ingestion, IngestionSettings
from oratio.store.tables import DOCUMENTS
from schemas import Document, DocumentContent, DocumentFormat, DocumentStatus
from tests.support.tenants import Tenancy, create_agent, doc

WAIT_S = 30.0
REFUNDS = b"# Refunds\n\nRefunds are paid within 30 days with a receipt.\n"
SHIPPING = b"# Shipping\n\nParcels ship within 2 days.\n"


class GatedKnowledgeBase:
    """The real knowledge base, but `ingest` reports a total of 4 chunks, then 2 done, and waits for the
    test between steps; `interrupt` ends a held ingestion as a shutdown does."""

    def __init__(self, inner: KnowledgeBase) -> None:
        self.inner = inner
        self.started = threading.Event()
        self.halfway = threading.Event()
        self.go_halfway = threading.Event()
        self.go_finish = threading.Event()
        self.interrupted = threading.Event()

    def open(self) -> None:
        self.go_halfway.set()
        self.go_finish.set()

    def ingest(self, document: Document, content: bytes) -> IngestResult:
        report(0, 4)
        self.started.set()
        self._hold(self.go_halfway)
        report(2, 4)
        self.halfway.set()
        self._hold(self.go_finish)
        return self.inner.ingest(document, content)

    def _hold(self, gate: threading.Event) -> None:
        if not gate.wait(WAIT_S):
            raise AssertionError("the test never released the ingestion")
        if self.interrupted.is_set():
            raise IngestionInterrupted("the server is stopping")

    def remove(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        self.inner.remove(tenant_id, agent_id, document_id)

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        return self.inner.search(tenant_id, agent_id, query, k)

    def interrupt(self) -> None:
        self.interrupted.set()
        self.open()

    def close(self) -> None:
        pass  # the platform closes the inner one


def background(
    platform: Platform, kb: KnowledgeBase, *, workers: int = 2, attempts_max: int = 3
) -> tuple[Ingestion, DocumentService]:
    """Background ingestion and a document service over the platform's own store, blobs and index."""
    settings = IngestionSettings(background=True, workers=workers, per_tenant=1, attempts_max=attempts_max)
    ingestion = Ingestion(platform.backends, kb, settings)
    return ingestion, DocumentService(platform.backends, ingestion=ingestion)


def record(platform: Platform, document: Document) -> Document:
    stored = platform.backends.store.get(DOCUMENTS, document.tenant_id, document.id)
    assert stored is not None
    return stored


def found(platform: Platform, acme: Tenancy, agent_id: str, query: str) -> list[str]:
    return [hit.chunk.text for hit in platform.ingestion.knowledge.search(acme.tenant_id, agent_id, query, 5)]


def test_upload_returns_ingesting_at_once_then_progress_then_ready(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    gated = GatedKnowledgeBase(platform.ingestion.knowledge)
    ingestion, documents = background(platform, gated)
    try:
        uploaded = documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))

        # Returned while its ingestion is held: the upload did not wait for it.
        assert (uploaded.status, uploaded.chunk_count) == (DocumentStatus.INGESTING, 0)
        assert gated.started.wait(WAIT_S)
        assert (record(platform, uploaded).chunks_done, record(platform, uploaded).chunks_total) == (0, 4)
        assert found(platform, acme, agent.id, "refunds receipt") == []  # nothing indexed yet: not searchable

        gated.go_halfway.set()
        assert gated.halfway.wait(WAIT_S)
        held = documents.get(acme.principal, uploaded.id)
        assert (held.status, held.chunks_done, held.chunks_total) == (DocumentStatus.INGESTING, 2, 4)
        listed = documents.list(acme.principal, agent.id).items
        assert [(d.id, d.chunks_done, d.chunks_total) for d in listed] == [(uploaded.id, 2, 4)]

        gated.go_finish.set()
        assert ingestion.wait_idle(WAIT_S)
        done = documents.get(acme.principal, uploaded.id)
        assert (done.status, done.status_reason, done.chunks_done, done.chunks_total, done.ingest_attempts) == (
            DocumentStatus.READY,
            None,
            0,
            0,
            0,
        )
        assert done.chunk_count >= 1
        assert found(platform, acme, agent.id, "refunds receipt")
    finally:
        gated.open()
        ingestion.close()


def test_a_bad_document_ends_in_error_with_its_reason(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    ingestion, documents = background(platform, platform.ingestion.knowledge)
    try:
        binary = DocumentContent(name="notes.txt", format=DocumentFormat.TEXT, content=b"\x00\x01\x02binary")
        uploaded = documents.upload(acme.principal, agent.id, binary)
        assert uploaded.status is DocumentStatus.INGESTING
        assert ingestion.wait_idle(WAIT_S)

        failed = documents.get(acme.principal, uploaded.id)
        assert failed.status is DocumentStatus.ERROR
        assert failed.status_reason is not None and "text" in failed.status_reason
    finally:
        ingestion.close()


class BrokenKnowledgeBase(GatedKnowledgeBase):
    """A knowledge base with a bug: `ingest` raises something no error handler expects."""

    def ingest(self, document: Document, content: bytes) -> IngestResult:
        raise RuntimeError("a bug")


def test_an_unexpected_failure_ends_in_error_not_ingesting_forever(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    ingestion, documents = background(platform, BrokenKnowledgeBase(platform.ingestion.knowledge))
    try:
        uploaded = documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))
        assert ingestion.wait_idle(WAIT_S)

        failed = record(platform, uploaded)
        assert failed.status is DocumentStatus.ERROR
        assert failed.status_reason == "ingestion failed on the server (logged); re-ingest the document to try again"
    finally:
        ingestion.close()


def test_a_restart_resumes_documents_left_ingesting(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    # A service without ingestion stores documents that nothing indexed: what a crash leaves behind.
    left = DocumentService(platform.backends).upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))
    assert left.status is DocumentStatus.PENDING
    ingestion, _ = background(platform, platform.ingestion.knowledge)
    try:
        assert ingestion.resume() == 1
        assert ingestion.wait_idle(WAIT_S)
        assert record(platform, left).status is DocumentStatus.READY
        assert found(platform, acme, agent.id, "refunds receipt")
    finally:
        ingestion.close()


def test_a_document_that_keeps_stopping_the_server_ends_in_error(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    left = DocumentService(platform.backends).upload(acme.principal, agent.id, doc("huge.md", REFUNDS))
    # Three runs started and none finished (the server died during each).
    platform.backends.store.replace(
        DOCUMENTS, left.model_copy(update={"status": DocumentStatus.INGESTING, "ingest_attempts": 3})
    )
    ingestion, _ = background(platform, platform.ingestion.knowledge, attempts_max=3)
    try:
        ingestion.resume()
        assert ingestion.wait_idle(WAIT_S)
        failed = record(platform, left)
        assert failed.status is DocumentStatus.ERROR
        assert failed.status_reason is not None and "did not finish in 3 attempts" in failed.status_reason
        assert platform.ingestion.unready() == []  # nothing left ingesting forever
    finally:
        ingestion.close()


def test_closing_leaves_unfinished_documents_for_the_next_start(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    gated = GatedKnowledgeBase(platform.ingestion.knowledge)
    ingestion, documents = background(platform, gated, workers=1)
    first = documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))
    second = documents.upload(acme.principal, agent.id, doc("shipping.md", SHIPPING))
    assert gated.started.wait(WAIT_S)

    ingestion.close()  # the server stops: the held one is interrupted, the waiting one never starts

    assert [(record(platform, d).status, record(platform, d).ingest_attempts) for d in (first, second)] == [
        (DocumentStatus.INGESTING, 0),  # an interrupted run does not count against the document
        (DocumentStatus.INGESTING, 0),
    ]
    after_restart, _ = background(platform, platform.ingestion.knowledge)
    try:
        assert after_restart.resume() == 2
        assert after_restart.wait_idle(WAIT_S)
        assert {record(platform, d).status for d in (first, second)} == {DocumentStatus.READY}
    finally:
        after_restart.close()


def test_waiting_for_an_agents_documents(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    other = create_agent(platform, acme, name="Other")
    gated = GatedKnowledgeBase(platform.ingestion.knowledge)
    ingestion, documents = background(platform, gated)
    try:
        uploaded = documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))

        assert [d.id for d in documents.wait_settled(acme.principal, agent.id, 0)] == [uploaded.id]
        assert documents.wait_settled(acme.principal, other.id, 0) == []

        gated.open()
        assert documents.wait_settled(acme.principal, agent.id, WAIT_S) == []
        assert record(platform, uploaded).status is DocumentStatus.READY
    finally:
        gated.open()
        ingestion.close()


@pytest.mark.parametrize("status", [DocumentStatus.READY, DocumentStatus.ERROR])
def test_reingest_returns_ingesting_and_starts_over(platform: Platform, acme: Tenancy, status: DocumentStatus) -> None:
    agent = create_agent(platform, acme)
    ingestion, documents = background(platform, platform.ingestion.knowledge)
    try:
        uploaded = documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))
        assert ingestion.wait_idle(WAIT_S)
        stored = record(platform, uploaded)
        platform.backends.store.replace(DOCUMENTS, stored.model_copy(update={"status": status}))

        again = documents.reingest(acme.principal, uploaded.id)

        assert again.status is DocumentStatus.INGESTING
        assert ingestion.wait_idle(WAIT_S)
        assert record(platform, uploaded).status is DocumentStatus.READY
    finally:
        ingestion.close()
