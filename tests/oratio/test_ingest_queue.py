"""IngestQueue: bounded workers, tenants served in turn, a tenant's own bound, one run per document at a time."""

from __future__ import annotations

import threading

from oratio.services.ingest_queue import IngestQueue

WAIT_S = 30.0


class Jobs:
    """Records the order documents start in; a document listed in `held` waits for its gate."""

    def __init__(self, *held: str) -> None:
        self.started: list[str] = []
        self.gates = {d: threading.Event() for d in held}
        self.running = {d: threading.Event() for d in held}
        self._lock = threading.Lock()

    def __call__(self, tenant_id: str, document_id: str) -> None:
        with self._lock:
            self.started.append(document_id)
        if document_id in self.gates:
            self.running[document_id].set()
            assert self.gates[document_id].wait(WAIT_S)


def test_tenants_take_turns_so_one_big_upload_does_not_starve_another() -> None:
    jobs = Jobs("a1")
    queue = IngestQueue(jobs, workers=1, per_tenant=1)
    for document in ("a1", "a2", "a3", "a4"):
        queue.submit("ten_a", document)
    queue.submit("ten_b", "b1")
    assert jobs.running["a1"].wait(WAIT_S)

    jobs.gates["a1"].set()

    assert queue.wait_idle(WAIT_S)
    assert jobs.started == ["a1", "b1", "a2", "a3", "a4"]  # tenant b's one document right after a's first


def test_a_tenant_that_refills_its_queue_while_served_waits_for_a_tenant_not_yet_served() -> None:
    # a1 starts before the rest arrive: tenant a's queue empties, then refills; b, arriving after, has had no
    # turn yet, so b1 goes before a2 (it used to go after all of a's, as if a had never been served).
    jobs = Jobs("a1")
    queue = IngestQueue(jobs, workers=1, per_tenant=1)
    queue.submit("ten_a", "a1")
    assert jobs.running["a1"].wait(WAIT_S)
    for document in ("a2", "a3"):
        queue.submit("ten_a", document)
    queue.submit("ten_b", "b1")

    jobs.gates["a1"].set()

    assert queue.wait_idle(WAIT_S)
    assert jobs.started == ["a1", "b1", "a2", "a3"]


def test_a_tenant_holds_at_most_its_share_of_the_workers() -> None:
    jobs = Jobs("a1", "b1")
    queue = IngestQueue(jobs, workers=2, per_tenant=1)
    queue.submit("ten_a", "a1")
    queue.submit("ten_a", "a2")
    queue.submit("ten_b", "b1")

    # Tenant a's first document is held: its second waits, tenant b's starts on the other worker.
    assert jobs.running["a1"].wait(WAIT_S) and jobs.running["b1"].wait(WAIT_S)
    assert sorted(jobs.started) == ["a1", "b1"]
    assert queue.pending() == 3

    jobs.gates["a1"].set()
    jobs.gates["b1"].set()
    assert queue.wait_idle(WAIT_S)
    assert sorted(jobs.started) == ["a1", "a2", "b1"]


def test_a_document_queued_twice_runs_once_and_again_if_queued_while_running() -> None:
    jobs = Jobs("d1")
    queue = IngestQueue(jobs, workers=2, per_tenant=2)
    queue.submit("ten_a", "d1")
    assert jobs.running["d1"].wait(WAIT_S)
    queue.submit("ten_a", "d1")  # replaced while it is ingested: once more afterwards, never at the same time
    queue.submit("ten_a", "d1")
    assert jobs.started == ["d1"]

    jobs.gates["d1"].set()

    assert queue.wait_idle(WAIT_S)
    assert jobs.started == ["d1", "d1"]


def test_a_failing_job_does_not_stop_the_worker() -> None:
    done: list[str] = []

    def job(tenant_id: str, document_id: str) -> None:
        if document_id == "bad":
            raise RuntimeError("boom")
        done.append(document_id)

    queue = IngestQueue(job, workers=1, per_tenant=1)
    queue.submit("ten_a", "bad")
    queue.submit("ten_a", "good")
    assert queue.wait_idle(WAIT_S)
    assert done == ["good"]


def test_closing_drops_the_waiting_documents() -> None:
    jobs = Jobs("a1")
    queue = IngestQueue(jobs, workers=1, per_tenant=1)
    queue.submit("ten_a", "a1")
    queue.submit("ten_a", "a2")
    assert jobs.running["a1"].wait(WAIT_S)

    queue.close()
    queue.submit("ten_a", "a3")  # after close: left for the next start
    jobs.gates["a1"].set()

    assert queue.wait_idle(WAIT_S)
    assert jobs.started == ["a1"]
