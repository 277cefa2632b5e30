"""Extraction and chunking in worker processes, so a hostile document cannot stall the server.

Why processes: Python's `re` and pypdf hold the GIL while they work, so a document that makes them
slow stalls every thread of the process, including the event loop serving conversations. A thread
cannot be stopped either. A worker process runs beside the loop and can be killed, so each document
gets a wall-clock limit (`ExtractionLimits.timeout_s`): past it, the worker is killed and the
document fails with "extraction took longer than N s". A worker's address space is capped too
(`memory_bytes`, RLIMIT_AS), so a decompression bomb ends in a MemoryError, not in the OOM killer, and
its CPU time per document (RLIMIT_CPU), so a worker the server can no longer kill (it died) stops anyway.

Concurrency is bounded twice: at most `workers` documents are extracted at once platform-wide, and
at most `per_tenant` of them belong to one tenant (a per-tenant cap, not a fair queue). With the
default cap below the total, one tenant uploading many slow documents leaves a slot for the others;
its own extra documents wait for one of its slots. Waiting holds the caller's thread (the doors run
services in anyio's bounded thread pool), so the wait is bounded too: at most `queue_per_tenant` of a
tenant's documents and `queue_total` documents in all wait; one more is refused at once with a reason
(the document ends in `error` and can be re-ingested), instead of tying up the threads every door needs.

Workers are fresh interpreters (never forked from a process with threads and open databases),
started lazily and reused; a killed or crashed worker is replaced by a fresh one on the next document.
"""

from __future__ import annotations

import logging
import math
import os
import resource
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Final

from oratio.errors import BackendUnavailable
from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.ports import ChunkDraft, ExtractedText, ExtractionError, IngestionInterrupted
from schemas import DocumentFormat

logger = logging.getLogger("oratio.knowledge")

Extractor = Callable[[bytes, DocumentFormat], ExtractedText]
"""A module-level function (the worker imports it by name): `extract_text`, or a test's own."""

_SECRET_PREFIXES: Final = ("ORATIO_", "AWS_")


def _extract_text() -> Extractor:
    from oratio.knowledge.extract import extract_text

    return extract_text


WORKER_START_TIMEOUT_S: Final = 120.0
"""How long a new worker may take to import the extraction code; not part of a document's limit."""
CPU_MARGIN_S: Final = 5.0
"""CPU seconds a worker may use past the document's wall-clock limit before its kernel limit ends it."""


@dataclass(frozen=True)
class ExtractionLimits:
    timeout_s: float = 60.0
    memory_bytes: int | None = 2048 * 1024 * 1024
    workers: int = 2
    per_tenant: int = 1
    queue_per_tenant: int = 4
    queue_total: int = 16

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.workers < 1 or not 1 <= self.per_tenant <= self.workers:
            raise ValueError("need timeout_s > 0 and 1 <= per_tenant <= workers")
        if not 0 <= self.queue_per_tenant <= self.queue_total:
            raise ValueError("need 0 <= queue_per_tenant <= queue_total")


class ExtractionTimeout(ExtractionError):
    """The document took longer than the per-document limit; its worker was killed."""

    code = "extraction_timeout"


def _worker_main(fd: int, memory_bytes: int | None) -> None:  # pragma: no cover - runs in the worker
    """The worker's loop: one job in, one outcome out, until the socket closes."""
    conn = Connection(fd)
    logging.getLogger().addHandler(logging.NullHandler())  # pypdf's warnings about tenant files: not for stderr
    if memory_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    conn.send(("ready",))
    while True:
        try:
            extract, content, fmt, cpu_budget_s = conn.recv()
        except EOFError:
            return
        # A backstop that needs no parent: should the server die mid-document (kill -9), this worker
        # is not killed at the wall-clock limit, so the kernel stops it after this much CPU time.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + cpu_budget_s)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))
        try:
            extracted = extract(content, fmt)
            outcome: tuple[Any, ...] = ("ok", chunk_text(extracted), extracted.pages)
        except ExtractionError as exc:
            outcome = ("refused", exc.message)
        except MemoryError:
            outcome = ("memory",)
        except Exception as exc:  # the worker's outermost handler: report, stay alive for the next document
            outcome = ("failed", type(exc).__name__)
        del content
        conn.send(outcome)


class _Worker:
    """One worker: a fresh interpreter (not multiprocessing's spawn, which would re-run the caller's
    `__main__` script) talking pickled messages over a socket pair."""

    def __init__(self, memory_bytes: int | None) -> None:
        self._kill_lock = threading.Lock()
        ours, theirs = socket.socketpair()
        code = f"from oratio.knowledge.isolation import _worker_main; _worker_main({theirs.fileno()}, {memory_bytes!r})"
        # The worker parses hostile bytes: it gets no platform or cloud secrets, only our import path.
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SECRET_PREFIXES)}
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        try:
            if self._conn.poll(WORKER_START_TIMEOUT_S):
                self._conn.recv()
                return
        except (EOFError, OSError):
            pass
        self.kill()
        raise BackendUnavailable("the extraction worker did not start; try again")

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(
        self, extract: Extractor, content: bytes, fmt: DocumentFormat, timeout_s: float, *, cpu_budget_s: float
    ) -> tuple[Any, ...]:
        """The worker's outcome, or ("timeout",) after `timeout_s`, or ("died",) if the worker ended.

        `cpu_budget_s`: the CPU time after which the worker's kernel limit ends it, even unsupervised.
        """
        try:
            self._conn.send((extract, content, fmt, cpu_budget_s))
            if not self._conn.poll(timeout_s):
                return ("timeout",)
            outcome: tuple[Any, ...] = self._conn.recv()
        except (EOFError, OSError):
            return ("died",)
        return outcome

    def stop(self) -> None:
        """Kill the process only; safe from any thread. The owner's blocked read then sees end-of-file."""
        with self._kill_lock:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Kill the process and close the socket: only the thread that owns the worker calls this."""
        self.stop()
        self._conn.close()


class ExtractionPool:
    """Runs `extract` + `chunk_text` for one document at a time per worker, within `ExtractionLimits`."""

    def __init__(self, limits: ExtractionLimits, *, extract: Extractor | None = None) -> None:
        self._limits = limits
        self._extract = extract
        """None: `extract_text`, imported with the first document (pypdf is heavy; `oratio mcp` may never need it)."""
        self._cond = threading.Condition()
        self._busy: Counter[str] = Counter()
        self._waiting: Counter[str] = Counter()
        self._idle: list[_Worker] = []
        self._running: set[_Worker] = set()
        self._interrupted: set[_Worker] = set()
        self._closed = False

    @property
    def limits(self) -> ExtractionLimits:
        return self._limits

    def chunks(self, tenant_id: str, content: bytes, fmt: DocumentFormat) -> tuple[list[ChunkDraft], int]:
        """The document's chunks and page count. Blocks the calling thread (never the event loop's).

        Raises ExtractionError for unusable content (including ExtractionTimeout), and
        IngestionInterrupted when `interrupt` or `close` stopped it.
        """
        self._acquire(tenant_id)
        worker: _Worker | None = None
        try:
            worker = self._take_worker()
            timeout_s = self._limits.timeout_s
            outcome = worker.run(
                self._extract or _extract_text(), content, fmt, timeout_s, cpu_budget_s=timeout_s + CPU_MARGIN_S
            )
            return self._result(worker, outcome)
        finally:
            self._release(tenant_id, worker)

    def interrupt(self) -> None:
        """Kill the workers busy now (shutdown): their documents raise IngestionInterrupted."""
        with self._cond:
            running = list(self._running)
            self._interrupted.update(running)
        for worker in running:
            worker.stop()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        self.interrupt()
        for worker in idle:
            worker.kill()

    def _result(self, worker: _Worker, outcome: tuple[Any, ...]) -> tuple[list[ChunkDraft], int]:
        kind = outcome[0]
        with self._cond:
            interrupted = worker in self._interrupted
        if interrupted:
            raise IngestionInterrupted("ingestion was interrupted by a shutdown; it resumes at the next start")
        if kind == "ok":
            return outcome[1], outcome[2]
        if kind == "refused":
            raise ExtractionError(outcome[1])
        if kind == "timeout":
            worker.kill()
            raise ExtractionTimeout(f"extraction took longer than {self._limits.timeout_s:g} s")
        if kind == "memory":
            if self._limits.memory_bytes is None:
                raise ExtractionError("extraction ran out of memory")
            raise ExtractionError(
                f"extraction needed more than {self._limits.memory_bytes // (1024 * 1024)} MiB of memory"
            )
        if kind == "failed":
            logger.warning("document extraction failed with %s", outcome[1])
            raise ExtractionError("the document could not be read; check that it is a valid file of its format")
        raise ExtractionError("the document could not be read (its extraction stopped unexpectedly)")

    def _acquire(self, tenant_id: str) -> None:
        with self._cond:
            if self._must_wait(tenant_id) and (
                self._waiting[tenant_id] >= self._limits.queue_per_tenant
                or sum(self._waiting.values()) >= self._limits.queue_total
            ):
                raise ExtractionError(
                    "too many documents are being ingested at once; re-ingest this one when the others are done"
                )
            self._waiting[tenant_id] += 1
            try:
                while not self._closed and self._must_wait(tenant_id):
                    self._cond.wait()
            finally:
                self._waiting[tenant_id] -= 1
                if self._waiting[tenant_id] <= 0:
                    del self._waiting[tenant_id]
            if self._closed:
                raise IngestionInterrupted("ingestion was interrupted by a shutdown; it resumes at the next start")
            self._busy[tenant_id] += 1

    def _must_wait(self, tenant_id: str) -> bool:
        return sum(self._busy.values()) >= self._limits.workers or self._busy[tenant_id] >= self._limits.per_tenant

    def _take_worker(self) -> _Worker:
        with self._cond:
            if self._closed:
                raise IngestionInterrupted("ingestion was interrupted by a shutdown; it resumes at the next start")
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self._limits.memory_bytes)
        with self._cond:
            closed = self._closed
            if not closed:
                self._running.add(worker)
        if closed:  # closed while the worker started: nobody would ever stop it
            worker.kill()
            raise IngestionInterrupted("ingestion was interrupted by a shutdown; it resumes at the next start")
        return worker

    def _release(self, tenant_id: str, worker: _Worker | None) -> None:
        reusable = False
        with self._cond:
            self._busy[tenant_id] -= 1
            if self._busy[tenant_id] <= 0:
                del self._busy[tenant_id]
            if worker is not None:
                self._running.discard(worker)
                reusable = worker not in self._interrupted and worker.alive() and not self._closed
                self._interrupted.discard(worker)
                if reusable:
                    self._idle.append(worker)
            self._cond.notify_all()
        if worker is not None and not reusable:
            worker.kill()


__all__ = ["ExtractionLimits", "ExtractionPool", "ExtractionTimeout", "Extractor"]
