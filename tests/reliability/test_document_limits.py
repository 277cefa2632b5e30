"""Document limits: documents per agent (10,000 by default), bytes per agent and per tenant, each refused
with a clear error before anything is stored; counted by counters kept in the document's own transaction,
so a knowledge base of 10,000 documents still lists by page, replaces and deletes by key."""

from __future__ import annotations

from typing import Any

import pytest

from oratio.errors import InvalidInput
from oratio.ids import new_id
from oratio.platform import Platform
from oratio.store.ports import TRANSACT_MAX, Insert
from oratio.store.tables import DOCUMENT_TOTALS, DOCUMENTS
from schemas import TENANT_SCOPE, Document, DocumentFormat, DocumentStatus, Limits
from tests.support.tenants import Tenancy, create_agent, doc


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"documents_per_agent_max": 3, "document_bytes_per_agent_max": 2048, "document_bytes_per_tenant_max": 3072}


def blob_count(platform: Platform, acme: Tenancy) -> int:
    return len(list(platform.backends.blobs.list(f"{acme.tenant_id}/documents/")))


def totals(platform: Platform, tenant_id: str, scope: str) -> tuple[int, int]:
    stored = platform.backends.store.get(DOCUMENT_TOTALS, tenant_id, scope)
    return (0, 0) if stored is None else (stored.documents, stored.bytes)


def test_an_agent_holds_at_most_its_documents(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    other = create_agent(platform, acme, name="Other")
    first = platform.documents.upload(acme.principal, agent.id, doc("a.md", b"# A\nalpha"))
    platform.documents.upload(acme.principal, agent.id, doc("b.md", b"# B\nbeta"))
    platform.documents.upload(acme.principal, agent.id, doc("c.md", b"# C\ngamma"))
    blobs = blob_count(platform, acme)

    with pytest.raises(InvalidInput, match="an agent can have at most 3 documents"):
        platform.documents.upload(acme.principal, agent.id, doc("d.md", b"# D\ndelta"))

    assert blob_count(platform, acme) == blobs  # refused before its blob was written
    # Replacing one by name is not a new document; another agent has its own count.
    replaced = platform.documents.upload(acme.principal, agent.id, doc("a.md", b"# A\nalpha two"))
    assert (replaced.id, replaced.status) == (first.id, DocumentStatus.READY)
    platform.documents.upload(acme.principal, other.id, doc("d.md", b"# D\ndelta"))
    # A deletion frees a place.
    platform.documents.delete(acme.principal, first.id)
    platform.documents.upload(acme.principal, agent.id, doc("d.md", b"# D\ndelta"))
    assert totals(platform, acme.tenant_id, agent.id)[0] == 3


def test_bytes_per_agent_and_per_tenant(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    other = create_agent(platform, acme, name="Other")
    platform.documents.upload(acme.principal, agent.id, doc("big.md", b"# Big\n" + b"x" * 1500))

    with pytest.raises(InvalidInput, match="an agent's documents can take at most 2048 bytes"):
        platform.documents.upload(acme.principal, agent.id, doc("more.md", b"# More\n" + b"y" * 1000))
    with pytest.raises(InvalidInput, match="an agent's documents can take at most 2048 bytes"):
        platform.documents.upload(acme.principal, agent.id, doc("big.md", b"# Big\n" + b"x" * 2100))  # replaced larger

    platform.documents.upload(acme.principal, other.id, doc("half.md", b"# Half\n" + b"z" * 1400))
    with pytest.raises(InvalidInput, match="a tenant's documents can take at most 3072 bytes"):
        platform.documents.upload(acme.principal, other.id, doc("more.md", b"# More\n" + b"y" * 300))
    assert totals(platform, acme.tenant_id, TENANT_SCOPE) == (2, 1506 + 1407)


def test_counters_follow_deletion_of_an_agent(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    other = create_agent(platform, acme, name="Other")
    platform.documents.upload(acme.principal, agent.id, doc("a.md", b"# A\nalpha"))
    platform.documents.upload(acme.principal, agent.id, doc("b.md", b"# B\nbeta"))
    platform.documents.upload(acme.principal, other.id, doc("c.md", b"# C\ngamma"))

    platform.documents.delete_for_agent(acme.tenant_id, agent.id)

    assert platform.backends.store.get(DOCUMENT_TOTALS, acme.tenant_id, agent.id) is None
    assert totals(platform, acme.tenant_id, TENANT_SCOPE) == (1, len(b"# C\ngamma"))


def test_documents_stored_before_the_counters_are_counted_once(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    for n in range(3):  # records as an older version stored them: no counters
        platform.backends.store.insert(DOCUMENTS, record(acme.tenant_id, agent.id, n))

    with pytest.raises(InvalidInput, match="at most 3 documents"):
        platform.documents.upload(acme.principal, agent.id, doc("new.md", b"# New\ntext"))


def record(tenant_id: str, agent_id: str, n: int) -> Document:
    return Document(
        tenant_id=tenant_id,
        id=new_id("document"),
        agent_id=agent_id,
        name=f"policy-{n:05d}.md",
        format=DocumentFormat.MARKDOWN,
        size_bytes=10,
        sha256=f"{n:064x}",
        blob_key=f"{tenant_id}/documents/{agent_id}/{n}",
        status=DocumentStatus.READY,
    )


class TestTenThousandDocuments:
    """An agent at the default cap: records written straight to the store (tiny, no blobs) to be quick."""

    @pytest.fixture
    def platform_settings(self) -> dict[str, Any]:
        return {}

    def test_listing_replacing_and_deleting_at_the_cap(self, platform: Platform, acme: Tenancy) -> None:
        agent = create_agent(platform, acme)
        cap = Limits.DOCUMENTS_PER_AGENT_MAX
        assert cap >= 10_000
        stored: list[Document] = []
        for start in range(0, cap, TRANSACT_MAX):  # a batch per transaction: one commit per 25 records
            batch = [Insert(DOCUMENTS, record(acme.tenant_id, agent.id, n)) for n in range(start, start + TRANSACT_MAX)]
            stored.extend(platform.backends.store.transact(batch))

        with pytest.raises(InvalidInput, match=f"an agent can have at most {cap} documents"):
            platform.documents.upload(acme.principal, agent.id, doc("one-more.md", b"# One more\ntext"))

        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = platform.documents.list(acme.principal, agent.id, limit=Limits.PAGE_SIZE_MAX, cursor=cursor)
            seen.extend(d.id for d in page.items)
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert sorted(seen) == sorted(d.id for d in stored) and pages == cap // Limits.PAGE_SIZE_MAX

        target = stored[cap // 2]
        found = platform.documents.find(acme.principal, agent.id, target.name.upper())
        assert found is not None and found.id == target.id
        replaced = platform.documents.upload(acme.principal, agent.id, doc(target.name, b"# New\ncontent"))
        assert (replaced.id, replaced.status) == (target.id, DocumentStatus.READY)

        platform.documents.delete(acme.principal, stored[0].id)
        added = platform.documents.upload(acme.principal, agent.id, doc("one-more.md", b"# One more\ntext"))
        assert added.status is DocumentStatus.READY
        assert totals(platform, acme.tenant_id, agent.id)[0] == cap
