"""Fixtures for service-layer tests: the whole platform over real backends, and a clock tests move.

`platform` runs every test twice: on the embedded backends (SQLite + a local blob directory) and on
the AWS ones (DynamoDB + S3 served by a real moto_server process). The services are built with
`build_services`, exactly as `open_platform` builds them, so wiring bugs show up here too.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from oratio.config import BlobBackend, Settings, StoreBackend
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.platform import Platform, build_services
from oratio.services import Backends
from schemas import (
    Admin,
    Agent,
    AgentSpec,
    AgentStatus,
    CreateAgent,
    DocumentContent,
    DocumentFormat,
    Event,
    Principal,
    Scope,
)
from tests.aws import MotoServer

JWT_SECRET = "x" * 40
MAX_DOCUMENT_BYTES = 4096
"""Small, so the size limit is cheap to hit; it comes from Settings, as in production."""
SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)

_unique = itertools.count()


class FakeClock:
    """The platform's wall clock, moved by hand. Thread-safe, so worker threads may read it."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


@dataclass(frozen=True)
class Tenancy:
    """A tenant with one full admin, and the principal its requests carry."""

    admin: Admin
    principal: Principal

    @property
    def tenant_id(self) -> str:
        return self.admin.tenant_id


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("aws", marks=pytest.mark.aws)])
def platform(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Platform]:
    if request.param == "sqlite":
        from oratio.blobs.local import LocalBlobStore
        from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore

        settings = Settings(data_dir=tmp_path, jwt_secret=SecretStr(JWT_SECRET), max_document_bytes=MAX_DOCUMENT_BYTES)
        db = SqliteDatabase(settings.database_path)
        backends = Backends(
            store=SqliteRecordStore(db),
            events=SqliteEventLog(db),
            blobs=LocalBlobStore(settings.blob_root),
            clock=clock,
        )
        knowledge = LocalKnowledgeBase(HybridIndex(settings.knowledge_path, embedder=None))
        built = build_services(settings, backends, knowledge)
        try:
            yield built
        finally:
            built.outbox.close()  # its threads must not outlive the store they poll
            knowledge.close()
            db.close()
        return

    from oratio.blobs.s3 import S3BlobStore
    from oratio.store.dynamodb import DynamoEventLog, DynamoRecordStore, create_dynamodb_tables

    server: MotoServer = request.getfixturevalue("moto")
    n = next(_unique)
    prefix, bucket = f"svc{n}_", f"oratio-svc-{n}"
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr(JWT_SECRET),
        max_document_bytes=MAX_DOCUMENT_BYTES,
        store=StoreBackend.DYNAMODB,
        blobs=BlobBackend.S3,
        aws_endpoint_url=server.endpoint_url,
        dynamodb_table_prefix=prefix,
        s3_bucket=bucket,
    )
    dynamodb = server.client("dynamodb")
    s3 = server.client("s3")
    create_dynamodb_tables(dynamodb, prefix)
    s3.create_bucket(Bucket=bucket)
    store = DynamoRecordStore(dynamodb, prefix)
    events = DynamoEventLog(dynamodb, prefix)
    backends = Backends(store=store, events=events, blobs=S3BlobStore(s3, bucket), clock=clock)
    knowledge = LocalKnowledgeBase(HybridIndex(settings.knowledge_path, embedder=None))
    built = build_services(settings, backends, knowledge)
    try:
        yield built
    finally:
        built.outbox.close()
        knowledge.close()
        store.close()
        events.close()


def new_tenancy(platform: Platform, name: str, email: str = "owner@example.com") -> Tenancy:
    tenant = platform.tenants.create_tenant(name)
    admin = platform.tenants.create_admin(tenant.tenant_id, email, "Owner")
    principal = Principal(tenant_id=admin.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
    return Tenancy(admin=admin, principal=principal)


@pytest.fixture
def acme(platform: Platform) -> Tenancy:
    return new_tenancy(platform, "Acme")


@pytest.fixture
def globex(platform: Platform) -> Tenancy:
    """A second tenant, to prove the first one's records are out of its reach."""
    return new_tenancy(platform, "Globex")


def narrow(tenancy: Tenancy, *scopes: Scope) -> Principal:
    """A principal of the same tenant holding only `scopes` (a service token, say)."""
    return Principal(tenant_id=tenancy.tenant_id, subject="svc_narrow", scopes=frozenset(scopes))


def doc(name: str, content: bytes) -> DocumentContent:
    return DocumentContent(name=name, format=DocumentFormat.MARKDOWN, content=content)


def create_agent(
    platform: Platform, tenancy: Tenancy, name: str = "Support", documents: tuple[DocumentContent, ...] = ()
) -> Agent:
    request = CreateAgent(spec=AgentSpec(name=name, sop=SOP), documents=list(documents))
    return platform.agents.create(tenancy.principal, request)


def active_agent(platform: Platform, tenancy: Tenancy, name: str = "Support") -> Agent:
    agent = create_agent(platform, tenancy, name)
    return platform.agents.transition(tenancy.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)


def events(platform: Platform, tenant_id: str) -> list[Event]:
    """The tenant's whole event log, oldest first, read page by page as a subscriber would."""
    found: list[Event] = []
    while page := platform.backends.events.read(tenant_id, after=found[-1].seq if found else 0):
        found.extend(page)
    return found


def event_types(platform: Platform, tenant_id: str) -> list[str]:
    return [event.type.value for event in events(platform, tenant_id)]
