"""Fixtures shared by every test package: real backends, started and torn down by the tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from oratio.blobs.ports import BlobStore
from oratio.store.ports import EventLog, RecordStore
from tests.aws import MotoServer, moto_server

_unique = itertools.count()

# Property tests explore new examples on every developer run; CI replays a fixed, derandomized set so a
# red build is reproducible (and a failure found locally is fixed, then kept as an explicit example).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "dynamodb"])
def store_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def record_store(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RecordStore]:
    store: RecordStore
    if store_backend == "sqlite":
        from oratio.store.sqlite import SqliteDatabase, SqliteRecordStore

        store = SqliteRecordStore(SqliteDatabase(tmp_path / "oratio.db"))
    else:
        from oratio.store.dynamodb import DynamoRecordStore, create_dynamodb_tables

        server: MotoServer = request.getfixturevalue("moto")
        client = server.client("dynamodb")
        prefix = f"t{next(_unique)}_"
        create_dynamodb_tables(client, prefix)
        store = DynamoRecordStore(client, prefix)
    yield store
    store.close()


@pytest.fixture
def event_log(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[EventLog]:
    log: EventLog
    if store_backend == "sqlite":
        from oratio.store.sqlite import SqliteDatabase, SqliteEventLog

        log = SqliteEventLog(SqliteDatabase(tmp_path / "oratio.db"))
    else:
        from oratio.store.dynamodb import DynamoEventLog, create_dynamodb_tables

        server: MotoServer = request.getfixturevalue("moto")
        client = server.client("dynamodb")
        prefix = f"e{next(_unique)}_"
        create_dynamodb_tables(client, prefix)
        log = DynamoEventLog(client, prefix)
    yield log
    log.close()


@pytest.fixture(params=["local", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        from oratio.blobs.local import LocalBlobStore

        return LocalBlobStore(tmp_path / "blobs")
    from oratio.blobs.s3 import S3BlobStore

    server: MotoServer = request.getfixturevalue("moto")
    client = server.client("s3")
    bucket = f"oratio-test-{next(_unique)}"
    client.create_bucket(Bucket=bucket)
    return S3BlobStore(client, bucket, prefix="data/")
