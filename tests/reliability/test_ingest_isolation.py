"""Hostile documents: extraction runs in killable worker processes, bounded in time, memory and slots.

Threat: a tenant uploads a document that makes extraction slow (regex backtracking holds the GIL,
so a thread would freeze the event loop serving every tenant's conversations) or greedy (memory).
The server must keep answering, the document must end in `error` with a reason at the limit, and
one tenant's slow documents must not take every extraction slot.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import pytest
from mcp import Client
from pydantic import SecretStr

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.blobs.local import LocalBlobStore
from oratio.config import Settings
from oratio.errors import OratioError
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.isolation import ExtractionLimits, ExtractionPool, _Worker
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.knowledge.ports import ChunkDraft, ExtractionError, IngestionInterrupted
from oratio.platform import Platform, build_services, extraction_pool
from oratio.services import Backends
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from oratio_app.web import create_app
from schemas import AgentSpec, CreateAgent, Document, DocumentContent, DocumentFormat, DocumentStatus, Principal, Scope
from tests.reliability import slow_extract

pytestmark = pytest.mark.anyio
WAIT_S = 60.0  # a bound on waits for events that happen in well under a second


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class World:
    platform: Platform
    principal: Principal
    agent_id: str

    def upload(self, name: str, content: bytes) -> Document:
        document = DocumentContent(name=name, format=DocumentFormat.MARKDOWN, content=content)
        return self.platform.documents.upload(self.principal, self.agent_id, document)


@contextmanager
def world(tmp_path: Path, **limits: object) -> Iterator[World]:
    """A platform on SQLite whose extraction worker runs `slow_extract.extract`."""
    fields: dict[str, object] = {"data_dir": tmp_path, "jwt_secret": SecretStr("x" * 40), "embeddings": False}
    # Inline ingestion: these tests read each upload's outcome from the upload itself.
    settings = Settings.model_validate(fields | {"ingest_background": False} | limits)
    db = SqliteDatabase(settings.database_path)
    backends = Backends(
        store=SqliteRecordStore(db), events=SqliteEventLog(db), blobs=LocalBlobStore(settings.blob_root)
    )
    pool = extraction_pool(settings, extract=slow_extract.extract)
    knowledge = LocalKnowledgeBase(HybridIndex(settings.knowledge_path, embedder=None), pool=pool)
    try:
        platform = build_services(settings, backends, knowledge)
        tenant = platform.tenants.create_tenant("Acme")
        principal = Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))
        agent = platform.agents.create(
            principal, CreateAgent(spec=AgentSpec(name="Desk", sop="Answer politely from the knowledge base."))
        )
        yield World(platform, principal, agent.id)
    finally:
        knowledge.close()
        db.close()


def fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


async def started(signal: Path) -> None:
    """Returns once the worker has opened `signal` for writing, i.e. the slow extraction has begun."""
    with anyio.fail_after(WAIT_S):
        await anyio.to_thread.run_sync(signal.read_bytes, abandon_on_cancel=True)


async def test_a_slow_document_neither_stalls_the_server_nor_outlives_its_limit(tmp_path: Path) -> None:
    signal = fifo(tmp_path, "slow-started")
    with world(tmp_path, ingest_timeout_seconds=3) as w:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(w.platform)), base_url="http://t")
        outcome: list[Document] = []

        async def upload() -> None:
            outcome.append(await anyio.to_thread.run_sync(w.upload, "slow.md", slow_extract.slow_document(str(signal))))

        async with client, anyio.create_task_group() as group:
            group.start_soon(upload)
            await started(signal)
            # The pathological match holds a GIL, but not this process's: the loop keeps serving.
            with anyio.fail_after(WAIT_S):
                health = await client.get("/healthz")
                ping = await client.get("/runtime/ping")
            assert (health.status_code, ping.status_code) == (200, 200)
            assert outcome == [], "the server answered only after the slow document was done"

        [slow] = outcome
        assert (slow.status, slow.status_reason) == (DocumentStatus.ERROR, "extraction took longer than 3 s")
        # The killed worker is replaced: the next document is extracted normally.
        fine = await anyio.to_thread.run_sync(w.upload, "fine.md", b"# Hours\nOpen 9 to 5.")
        assert (fine.status, fine.chunk_count) == (DocumentStatus.READY, 1)


async def test_over_mcp_a_slow_upload_returns_its_error_status_with_the_reason(tmp_path: Path) -> None:
    signal = fifo(tmp_path, "mcp-started")
    with world(tmp_path, ingest_timeout_seconds=2) as w:
        async with Client(build_server(w.platform, OperatorPrincipal(w.principal))) as client:
            slow = {"name": "slow.md", "format": "markdown", "text": f"SLOW {signal}"}
            with anyio.fail_after(WAIT_S):
                async with anyio.create_task_group() as group:
                    group.start_soon(started, signal)
                    result = await client.call_tool("upload_document", {"agent_id": w.agent_id, "document": slow})
            fine = {"name": "fine.md", "format": "markdown", "text": "# Hours\nOpen 9 to 5."}
            after = await client.call_tool("upload_document", {"agent_id": w.agent_id, "document": fine})
    assert not result.is_error and result.structured_content is not None
    assert (result.structured_content["status"], result.structured_content["status_reason"]) == (
        "error",
        "extraction took longer than 2 s",
    )
    assert after.structured_content is not None and after.structured_content["status"] == "ready"


def test_a_document_that_needs_too_much_memory_ends_in_error_and_the_next_one_is_fine(tmp_path: Path) -> None:
    with world(tmp_path, ingest_memory_mb=512) as w:
        greedy = w.upload("greedy.md", b"HOG")
        fine = w.upload("fine.md", b"# Hours\nOpen 9 to 5.")

    assert (greedy.status, greedy.status_reason) == (
        DocumentStatus.ERROR,
        "extraction needed more than 512 MiB of memory",
    )
    assert fine.status is DocumentStatus.READY


async def test_one_tenant_cannot_take_every_extraction_slot(tmp_path: Path) -> None:
    pool = ExtractionPool(ExtractionLimits(timeout_s=WAIT_S, workers=2, per_tenant=1), extract=slow_extract.extract)
    first, second = fifo(tmp_path, "a1"), fifo(tmp_path, "a2")
    a_outcomes: list[BaseException | None] = []

    def a_upload(signal: Path) -> None:
        try:
            pool.chunks("ten_a", slow_extract.slow_document(str(signal)), DocumentFormat.MARKDOWN)
            a_outcomes.append(None)
        except OratioError as exc:
            a_outcomes.append(exc)

    threads = [threading.Thread(target=a_upload, args=(signal,)) for signal in (first, second)]
    try:
        threads[0].start()
        await started(first)
        threads[1].start()  # tenant A's second document waits for A's one slot...
        with anyio.fail_after(WAIT_S):  # ...so tenant B gets the other one
            chunks, pages = await anyio.to_thread.run_sync(
                pool.chunks, "ten_b", b"# Hours\nOpen 9 to 5.", DocumentFormat.MARKDOWN
            )
        assert (chunks, pages) == ([ChunkDraft("Hours\n\nOpen 9 to 5.", "Hours", 0, 19)], 1)
        assert threads[0].is_alive() and threads[1].is_alive()
    finally:
        pool.close()
        for thread in threads:
            thread.join(WAIT_S)
    assert len(a_outcomes) == 2 and all(isinstance(exc, IngestionInterrupted) for exc in a_outcomes)


async def test_documents_waiting_for_a_slot_are_bounded_and_one_more_is_refused_at_once(tmp_path: Path) -> None:
    limits = ExtractionLimits(timeout_s=WAIT_S, workers=1, per_tenant=1, queue_per_tenant=1, queue_total=1)
    pool = ExtractionPool(limits, extract=slow_extract.extract)
    running, queued, refused = fifo(tmp_path, "running"), fifo(tmp_path, "queued"), fifo(tmp_path, "refused")
    outcomes: queue.Queue[tuple[Path, BaseException | None]] = queue.Queue()

    def upload(signal: Path) -> None:
        try:
            pool.chunks("ten_a", slow_extract.slow_document(str(signal)), DocumentFormat.MARKDOWN)
            outcomes.put((signal, None))
        except OratioError as exc:
            outcomes.put((signal, exc))

    threads = [threading.Thread(target=upload, args=(signal,)) for signal in (running, queued, refused)]
    try:
        threads[0].start()
        await started(running)
        threads[1].start()
        threads[2].start()
        # One of the two waits for the slot; the other is refused without waiting (either order).
        _, first = await anyio.to_thread.run_sync(lambda: outcomes.get(timeout=WAIT_S))
        assert isinstance(first, ExtractionError) and "too many documents" in first.message
        assert outcomes.empty()
    finally:
        pool.close()
        for thread in threads:
            thread.join(WAIT_S)
    assert [isinstance(outcomes.get_nowait()[1], IngestionInterrupted) for _ in range(2)] == [True, True]


async def test_a_worker_nobody_supervises_stops_at_its_cpu_budget(tmp_path: Path) -> None:
    """What an orphaned worker does (the server was killed mid-document): the kernel's CPU limit ends it."""
    signal = fifo(tmp_path, "orphan")
    worker = _Worker(memory_bytes=None)
    try:
        slow = slow_extract.slow_document(str(signal))
        job = partial(worker.run, slow_extract.extract, slow, DocumentFormat.MARKDOWN)
        async with anyio.create_task_group() as group:
            outcome: list[tuple[object, ...]] = []

            async def run() -> None:
                outcome.append(await anyio.to_thread.run_sync(lambda: job(WAIT_S * 10, cpu_budget_s=1)))

            group.start_soon(run)
            await started(signal)
        assert outcome == [("died",)]  # the kernel's SIGXCPU, long before the wall-clock limit
    finally:
        worker.kill()


def test_refused_content_keeps_its_reason_through_the_worker(tmp_path: Path) -> None:
    pool = ExtractionPool(ExtractionLimits(timeout_s=WAIT_S))
    try:
        with pytest.raises(ExtractionError, match="binary file"):
            pool.chunks("ten_a", b"\x00\x01\x02" * 100, DocumentFormat.TEXT)
        assert pool.chunks("ten_a", b"plain words", DocumentFormat.TEXT)[0][0].text == "plain words"
    finally:
        pool.close()


def test_the_worker_that_parses_tenant_bytes_sees_no_platform_or_cloud_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORATIO_JWT_SECRET", "s" * 40)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-parsers")
    pool = ExtractionPool(ExtractionLimits(timeout_s=WAIT_S), extract=slow_extract.extract)
    try:
        [chunk], _ = pool.chunks("ten_a", b"ENV", DocumentFormat.TEXT)
    finally:
        pool.close()
    assert chunk.text == "none"
