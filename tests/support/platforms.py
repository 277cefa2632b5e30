"""The one way tests open a platform: on a tmp data dir, with the settings a test overrides.

`open_test_platform` wires what `oratio.platform.open_platform` wires. Given nothing more it *is*
`open_platform`; given scripted models, a clock the test moves, or a moto_server it builds the
backends itself (SQLite + local blobs, or DynamoDB + S3 on moto) and calls `build_services`
as `open_platform` does, so wiring bugs still show up in tests.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from oratio.actions import SecretResolver
from oratio.config import BlobBackend, Settings, StoreBackend
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.platform import Platform, build_services, open_platform
from oratio.runtime import ModelFactory
from oratio.services import Backends
from tests.aws import MotoServer
from tests.support.embedders import session_embedder

JWT_SECRET = "x" * 40
"""The admin-token secret of every test platform (tests mint and check tokens with it)."""
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
MAX_DOCUMENT_BYTES = 4096
"""The service tests' document limit: small, so it is cheap to hit; it comes from Settings, as in production."""

BOTH_BACKENDS = ["sqlite", pytest.param("aws", marks=pytest.mark.aws)]
"""Params of a `platform_backend` override that runs a module's tests on SQLite and on DynamoDB + S3."""

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


def test_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test platform: its data in `data_dir`, the test JWT secret, BM25-only knowledge
    (no embedding model to load) unless `embeddings=True`, documents ingested inline (in the upload) unless
    `ingest_background=True`; `overrides` are validated as in production."""
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "jwt_secret": SecretStr(JWT_SECRET),
        "embeddings": False,
        # An upload returns its outcome, as most tests assert it; background ingestion is tested on its own.
        "ingest_background": False,
    }
    return Settings.model_validate({**fields, **overrides})


test_settings.__test__ = False  # type: ignore[attr-defined]  # a builder, not a test


@contextmanager
def open_test_platform(
    data_dir: Path,
    *,
    models: ModelFactory | None = None,
    clock: Callable[[], datetime] | None = None,
    moto: MotoServer | None = None,
    secrets: SecretResolver | None = None,
    **overrides: Any,
) -> Iterator[Platform]:
    """A platform on `data_dir` with `overrides` applied to `test_settings`, closed on exit.

    `models` replaces the model factory of the conversation engine (then the settings name the
    `scripted` model unless overridden: the engine asks its factory for the configured model);
    `clock` replaces the wall clock; `moto` puts records on DynamoDB and blobs on S3 there, each
    platform under its own table prefix and bucket; `secrets` resolves `{{secret:NAME}}` in tool headers.
    """
    if models is not None:
        overrides = {"model": "scripted", **overrides}
    if moto is not None:
        n = next(_unique)
        overrides = {
            "store": StoreBackend.DYNAMODB,
            "blobs": BlobBackend.S3,
            "aws_endpoint_url": moto.endpoint_url,
            "dynamodb_table_prefix": f"svc{n}_",
            "s3_bucket": f"oratio-svc-{n}",
            **overrides,
        }
    settings = test_settings(data_dir, **overrides)
    if models is None and clock is None and moto is None and secrets is None:
        with open_platform(settings) as opened:
            yield opened
        return
    with ExitStack() as stack:
        backends = _backends(settings, stack, moto, clock)
        embedder = session_embedder() if settings.embeddings else None
        knowledge = LocalKnowledgeBase(HybridIndex(settings.knowledge_path, embedder=embedder))
        stack.callback(knowledge.close)
        platform = build_services(settings, backends, knowledge, model_factory=models, secrets=secrets)
        stack.callback(platform.ingestion.close)  # its workers must not outlive the store and index either
        stack.callback(platform.outbox.close)  # first out: its threads must not outlive the store they poll
        stack.callback(platform.handoff.close_briefs)  # the brief writer's thread too, before the outbox
        yield platform


def _backends(
    settings: Settings, stack: ExitStack, moto: MotoServer | None, clock: Callable[[], datetime] | None
) -> Backends:
    extra: dict[str, Any] = {} if clock is None else {"clock": clock}
    if moto is None:
        from oratio.blobs.local import LocalBlobStore
        from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore

        db = SqliteDatabase(settings.database_path)
        stack.callback(db.close)
        blobs = LocalBlobStore(settings.blob_root)
        return Backends(store=SqliteRecordStore(db), events=SqliteEventLog(db), blobs=blobs, **extra)
    from oratio.blobs.s3 import S3BlobStore
    from oratio.store.dynamodb import DynamoEventLog, DynamoRecordStore, create_dynamodb_tables

    assert settings.s3_bucket is not None
    prefix = settings.dynamodb_table_prefix
    dynamodb = moto.client("dynamodb")
    s3 = moto.client("s3")
    create_dynamodb_tables(dynamodb, prefix)
    s3.create_bucket(Bucket=settings.s3_bucket)
    store = DynamoRecordStore(dynamodb, prefix)
    events = DynamoEventLog(dynamodb, prefix)
    stack.callback(store.close)
    stack.callback(events.close)
    return Backends(store=store, events=events, blobs=S3BlobStore(s3, settings.s3_bucket), **extra)
