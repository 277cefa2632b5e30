"""`oratio serve` after a crash: sessions left active become interrupted before anything is served;
documents left unfinished are re-ingested in the background while the server already answers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from oratio.blobs.local import LocalBlobStore
from oratio.config import Settings, load_settings
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.knowledge.ports import IngestionInterrupted, IngestResult, KnowledgeBase, KnowledgeHit
from oratio.loopback import serving_on_loopback
from oratio.platform import Platform, build_services, extraction_pool, open_platform
from oratio.services import Backends
from oratio.store.ports import EventCursor, EventLog
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from oratio.store.tables import DOCUMENTS
from oratio_app.web import create_app
from schemas import (
    AgentPlan,
    AgentSpec,
    Channel,
    CreateAgent,
    Document,
    DocumentContent,
    DocumentFormat,
    DocumentStatus,
    Event,
    EventType,
    NewEvent,
    Principal,
    Scope,
    SessionStatus,
)
from tests.crash import acknowledged_then_killed
from tests.net import free_port

SOP = "Answer politely and hand off refund requests over $100."

SERVE = "import sys; from oratio_app.cli import main; sys.exit(main(['serve', '--port', sys.argv[1]]))"


def test_serve_marks_sessions_a_crash_left_active_as_interrupted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")} | {"ORATIO_DATA_DIR": str(tmp_path)}
    # Uploads wait for their document here, so no background worker can finish it after it is marked `ingesting`.
    settings = load_settings({"ORATIO_DATA_DIR": str(tmp_path), "ORATIO_INGEST_BACKGROUND": "false"})
    with open_platform(settings) as platform:
        tenant = platform.tenants.create_tenant("Acme")
        owner = Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))
        agent = platform.agents.create(owner, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP)))
        platform.agents.deploy(tenant.tenant_id, agent.id, AgentPlan(persona="Desk", system_prompt=SOP))
        session = platform.sessions.start(tenant.tenant_id, agent.id, Channel.TEXT)
        faq = DocumentContent(name="faq.md", format=DocumentFormat.MARKDOWN, content=b"# FAQ\nOpen 9-5.")
        document = platform.documents.upload(owner, agent.id, faq)
        platform.backends.store.replace(DOCUMENTS, document.model_copy(update={"status": DocumentStatus.INGESTING}))

    lines = acknowledged_then_killed(SERVE, 2, args=[str(free_port())], env=env)

    # The document is not waited for: the server says it listens right after this line.
    assert lines[0] == "after restart: 1 session(s) marked interrupted, 1 document(s) to re-ingest in the background"
    assert lines[1].startswith("Oratio listening on http://127.0.0.1:")
    with open_platform(settings) as platform:
        stored = platform.sessions.get(owner, session.id).session
    assert (stored.status, stored.end_reason) == (SessionStatus.INTERRUPTED, "platform restarted")


WAIT_S = 60.0  # bounds waits for things that happen in well under a second


class GatedKnowledge:
    """The real knowledge base, except that `ingest` waits until the test opens the gate.

    `interrupt` behaves like the real one at shutdown: the ingest in progress raises IngestionInterrupted.
    """

    def __init__(self, inner: KnowledgeBase) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self._interrupted = False

    def ingest(self, document: Document, content: bytes) -> IngestResult:
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        if self._interrupted:
            raise IngestionInterrupted("ingestion was interrupted by a shutdown; it resumes at the next start")
        return self.inner.ingest(document, content)

    def remove(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        self.inner.remove(tenant_id, agent_id, document_id)

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        return self.inner.search(tenant_id, agent_id, query, k)

    def interrupt(self) -> None:
        self._interrupted = True
        self.gate.set()

    def close(self) -> None:
        self.inner.close()


class ReadyCount:
    """The real event log, counting `ready` document statuses: the test waits on `all_ready`."""

    def __init__(self, inner: EventLog, expected: int) -> None:
        self.inner = inner
        self.shards = inner.shards
        self.all_ready = threading.Event()
        self._left = expected
        self._lock = threading.Lock()

    def append(self, event: NewEvent) -> Event:
        logged = self.inner.append(event)
        if event.type is EventType.DOCUMENT_STATUS and event.data.get("status") == DocumentStatus.READY.value:
            with self._lock:
                self._left -= 1
                if self._left == 0:
                    self.all_ready.set()
        return logged

    def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
        return self.inner.read(tenant_id, after, limit)

    def head(self, tenant_id: str) -> EventCursor:
        return self.inner.head(tenant_id)

    def close(self) -> None:
        self.inner.close()


DOCUMENTS_LEFT = 3


@pytest.fixture
def crashed_mid_ingestion(tmp_path: Path) -> tuple[Settings, Principal, list[str]]:
    """A data dir whose documents a crash left `ingesting`, with nothing of them in the index."""
    # Inline ingestion, so each upload is finished before the test rewinds it to what a crash leaves.
    settings = Settings(data_dir=tmp_path, jwt_secret=SecretStr("x" * 40), embeddings=False, ingest_background=False)
    with open_platform(settings) as platform:
        tenant = platform.tenants.create_tenant("Acme")
        owner = Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))
        agent = platform.agents.create(owner, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP)))
        ids = []
        for n in range(DOCUMENTS_LEFT):
            content = DocumentContent(name=f"faq{n}.md", format=DocumentFormat.MARKDOWN, content=b"# FAQ\nOpen 9-5.")
            document = platform.documents.upload(owner, agent.id, content)
            platform.backends.store.replace(DOCUMENTS, document.model_copy(update={"status": DocumentStatus.INGESTING}))
            platform.ingestion.knowledge.remove(tenant.tenant_id, agent.id, document.id)
            ids.append(document.id)
    return settings, owner, ids


class UnreadableBlobs(LocalBlobStore):
    """A blob directory whose disk fails on read (not an Oratio error: nothing maps it)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.failed = threading.Event()

    def get(self, key: str) -> bytes:
        self.failed.set()
        raise OSError("I/O error")


@contextmanager
def restarted(
    settings: Settings, blobs: LocalBlobStore | None = None
) -> Iterator[tuple[Platform, GatedKnowledge, ReadyCount]]:
    """The platform `oratio serve` opens, with the knowledge base gated and ready statuses counted."""
    db = SqliteDatabase(settings.database_path)
    events = ReadyCount(SqliteEventLog(db), DOCUMENTS_LEFT)
    knowledge = GatedKnowledge(
        LocalKnowledgeBase(HybridIndex(settings.knowledge_path, None), pool=extraction_pool(settings))
    )
    backends = Backends(store=SqliteRecordStore(db), events=events, blobs=blobs or LocalBlobStore(settings.blob_root))
    platform = build_services(settings, backends, knowledge)
    try:
        yield platform, knowledge, events
    finally:
        platform.ingestion.close()
        knowledge.close()
        db.close()


def statuses(platform: Platform, owner: Principal, ids: list[str]) -> set[DocumentStatus]:
    return {platform.documents.get(owner, document_id).status for document_id in ids}


@pytest.mark.parametrize("workers", [True, False], ids=["ingest-workers", "inline-resume"])
def test_serve_answers_at_once_and_reingests_unfinished_documents_in_the_background(
    crashed_mid_ingestion: tuple[Settings, Principal, list[str]], workers: bool
) -> None:
    settings, owner, ids = crashed_mid_ingestion
    with restarted(settings.model_copy(update={"ingest_background": workers})) as (platform, knowledge, events):
        unready = platform.ingestion.unready()
        assert len(unready) == DOCUMENTS_LEFT
        with serving_on_loopback(lambda port: create_app(platform, port=port, resume=unready)) as port:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=WAIT_S)
            assert health.status_code == 200
            assert DocumentStatus.READY not in statuses(platform, owner, ids)  # answered before re-ingestion
            knowledge.gate.set()
            assert events.all_ready.wait(WAIT_S)
        assert statuses(platform, owner, ids) == {DocumentStatus.READY}
        assert platform.ingestion.unready() == []


@pytest.mark.parametrize("workers", [True, False], ids=["ingest-workers", "inline-resume"])
def test_stopping_mid_reingestion_leaves_the_rest_for_the_next_start(
    crashed_mid_ingestion: tuple[Settings, Principal, list[str]], workers: bool
) -> None:
    settings, owner, ids = crashed_mid_ingestion
    with restarted(settings.model_copy(update={"ingest_background": workers})) as (platform, _, _):
        unready = platform.ingestion.unready()
        with serving_on_loopback(lambda port: create_app(platform, port=port, resume=unready)) as port:
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=WAIT_S).status_code == 200
        # The server stopped (within serving_on_loopback's bound) although ingestion was blocked.
        assert statuses(platform, owner, ids) == {DocumentStatus.INGESTING}
        assert len(platform.ingestion.unready()) == DOCUMENTS_LEFT


def test_a_failure_while_resuming_is_logged_and_the_server_keeps_serving(
    crashed_mid_ingestion: tuple[Settings, Principal, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    settings, owner, ids = crashed_mid_ingestion
    blobs = UnreadableBlobs(settings.blob_root)
    with restarted(settings, blobs) as (platform, _, _):
        unready = platform.ingestion.unready()
        with serving_on_loopback(lambda port: create_app(platform, port=port, resume=unready)) as port:
            assert blobs.failed.wait(WAIT_S)
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=WAIT_S).status_code == 200
        assert len(platform.ingestion.unready()) == DOCUMENTS_LEFT  # left for the next start
    assert any("resuming ingestion failed" in record.getMessage() for record in caplog.records)
