"""DocumentService: upload, idempotent re-upload, replacement by name, size limit and deletion."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from oratio.errors import InvalidInput, NotFound
from oratio.ids import new_id
from oratio.platform import Platform
from oratio.services import DocumentService
from schemas import DocumentFormat, DocumentStatus
from tests.support.platforms import MAX_DOCUMENT_BYTES, FakeClock
from tests.support.tenants import Tenancy, create_agent, doc, event_types, events

V1 = b"# Refunds\nWithin 30 days."
V2 = b"# Refunds\nWithin 14 days, with receipt."


def _blob_keys(platform: Platform, tenancy: Tenancy) -> list[str]:
    return [info.key for info in platform.backends.blobs.list(f"{tenancy.tenant_id}/")]


def test_upload_stores_record_blob_and_event(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = create_agent(platform, acme)

    document = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", V1))

    # Ingested on upload: stored (v1), ingesting (v2), ready with its chunks (v3).
    assert (document.name, document.format, document.status, document.status_reason) == (
        "refunds.md",
        DocumentFormat.MARKDOWN,
        DocumentStatus.READY,
        None,
    )
    assert document.chunk_count >= 1
    assert (document.agent_id, document.tenant_id, document.version) == (agent.id, acme.tenant_id, 3)
    assert (document.size_bytes, document.sha256) == (len(V1), hashlib.sha256(V1).hexdigest())
    assert document.created_at == document.updated_at == clock()
    assert platform.documents.get(acme.principal, document.id) == document
    assert platform.documents.read_content(acme.principal, document.id) == V1
    assert _blob_keys(platform, acme) == [document.blob_key]
    blob = platform.backends.blobs.head(document.blob_key)
    assert blob is not None and blob.content_type == "text/markdown"
    added, ingesting, ready = events(platform, acme.tenant_id)[-3:]
    assert (added.type.value, added.subject, added.data) == (
        "document.added",
        document.id,
        {"agent_id": agent.id, "name": "refunds.md"},
    )
    assert [ingesting.data["status"], ready.data["status"]] == ["ingesting", "ready"]
    assert ready.data["chunk_count"] == document.chunk_count


def test_same_name_and_content_is_idempotent(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = create_agent(platform, acme)
    first = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", V1))
    before = event_types(platform, acme.tenant_id)
    clock.advance(timedelta(hours=1))

    again = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", V1))

    assert again == first  # same id, version and timestamps: nothing was written
    assert platform.documents.get(acme.principal, first.id).version == first.version
    assert [d.id for d in platform.documents.list(acme.principal, agent.id).items] == [first.id]
    assert _blob_keys(platform, acme) == [first.blob_key]
    assert event_types(platform, acme.tenant_id) == before


def test_same_name_new_content_replaces_in_place(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = create_agent(platform, acme)
    first = platform.documents.upload(acme.principal, agent.id, doc("Refunds.md", V1))
    later = clock.advance(timedelta(hours=1))

    second = platform.documents.upload(acme.principal, agent.id, doc("refunds.MD", V2))  # names match by case

    assert second.id == first.id
    assert second.version == first.version + 3  # replaced, ingesting, ready
    assert second.status is DocumentStatus.READY
    assert (second.sha256, second.size_bytes) == (hashlib.sha256(V2).hexdigest(), len(V2))
    assert (second.created_at, second.updated_at) == (first.created_at, later)
    assert second.blob_key != first.blob_key
    assert platform.backends.blobs.head(first.blob_key) is None
    assert _blob_keys(platform, acme) == [second.blob_key]
    assert platform.documents.read_content(acme.principal, first.id) == V2
    assert [d.id for d in platform.documents.list(acme.principal, agent.id).items] == [first.id]
    added = [e for e in events(platform, acme.tenant_id) if e.type.value == "document.added"][-1]
    assert (added.subject, added.data["replaced"]) == (first.id, True)


def test_size_limit_comes_from_settings_and_stores_nothing(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    assert platform.settings.max_document_bytes == MAX_DOCUMENT_BYTES
    before = event_types(platform, acme.tenant_id)

    with pytest.raises(InvalidInput, match=f"the limit is {MAX_DOCUMENT_BYTES}") as refused:
        platform.documents.upload(acme.principal, agent.id, doc("big.md", b"x" * (MAX_DOCUMENT_BYTES + 1)))

    assert refused.value.field == "content"
    assert platform.documents.list(acme.principal, agent.id).items == []
    assert _blob_keys(platform, acme) == []
    assert event_types(platform, acme.tenant_id) == before
    exact = platform.documents.upload(acme.principal, agent.id, doc("big.md", b"x" * MAX_DOCUMENT_BYTES))
    assert exact.size_bytes == MAX_DOCUMENT_BYTES


def test_a_service_built_with_a_smaller_limit_enforces_it(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    small = DocumentService(platform.backends, max_bytes=10)
    with pytest.raises(InvalidInput):
        small.upload(acme.principal, agent.id, doc("eleven.txt", b"x" * 11))
    assert small.upload(acme.principal, agent.id, doc("ten.txt", b"x" * 10)).size_bytes == 10


def test_an_unknown_agent_is_not_found(platform: Platform, acme: Tenancy) -> None:
    with pytest.raises(NotFound, match="agent"):
        platform.documents.upload(acme.principal, new_id("agent"), doc("refunds.md", V1))
    with pytest.raises(NotFound):
        platform.documents.list(acme.principal, new_id("agent"))
    assert _blob_keys(platform, acme) == []


def test_delete_removes_record_and_blob(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    gone = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", V1))
    kept = platform.documents.upload(acme.principal, agent.id, doc("hours.md", b"9 to 5"))

    platform.documents.delete(acme.principal, gone.id)

    with pytest.raises(NotFound):
        platform.documents.get(acme.principal, gone.id)
    with pytest.raises(NotFound):
        platform.documents.read_content(acme.principal, gone.id)
    assert platform.backends.blobs.head(gone.blob_key) is None
    assert _blob_keys(platform, acme) == [kept.blob_key]
    assert [d.id for d in platform.documents.list(acme.principal, agent.id).items] == [kept.id]
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == ("document.deleted", gone.id, {"agent_id": agent.id})
    with pytest.raises(NotFound):
        platform.documents.delete(acme.principal, gone.id)
    # The name is free again: uploading it creates a new document.
    again = platform.documents.upload(acme.principal, agent.id, doc("refunds.md", V1))
    assert again.id != gone.id


def test_list_pages_through_every_document_once(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    uploaded = {platform.documents.upload(acme.principal, agent.id, doc(f"doc{i}.md", b"%d" % i)).id for i in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(len(uploaded) + 1):  # bounded: a cursor that never ends fails, never hangs
        page = platform.documents.list(acme.principal, agent.id, limit=2, cursor=cursor)
        assert len(page.items) <= 2
        seen.extend(d.id for d in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert cursor is None
    assert sorted(seen) == sorted(uploaded)
    assert len(seen) == len(uploaded)
