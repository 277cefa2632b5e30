"""Fixtures shared by every test package: real backends and the `platform` family, built from `tests.support`.

The `platform` family: `platform` is the embedded platform (SQLite, local blobs, BM25 knowledge) on
the test's tmp dir, opened by `tests.support.platforms.open_test_platform`. A package or a module
changes what it is by overriding the small fixtures it is built from, never `platform` itself:

- `platform_settings`: settings overrides (`{"admin_burst": 3}`), validated as in production;
- `platform_models`: a model factory for the conversation engine (`tests.support.models`), or
  None for the real one the settings name;
- `platform_clock`: a clock the test moves (`clock`, a `FakeClock`), or None for the wall clock;
- `platform_secrets`: what resolves `{{secret:NAME}}` in tool headers (`DictSecrets`), or None;
- `platform_backend`: "sqlite", or "aws" for DynamoDB + S3 on the session's moto_server
  (`tests/oratio` runs its services on both).

On top of it: `acme`/`globex` (a tenant with its admin principal each) and `world` (two tenants
with deployed agents and API keys, `tests.support.worlds.World`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from oratio.actions import SecretResolver
from oratio.blobs.ports import BlobStore
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from oratio.store.ports import EventLog, RecordStore
from tests.aws import MotoServer, moto_server
from tests.support.embedders import session_embedder
from tests.support.mcp_tools import tool_registrations_once
from tests.support.platforms import FakeClock, open_test_platform
from tests.support.tenants import Tenancy, new_tenancy
from tests.support.worlds import World, new_world

_unique = itertools.count()

# Property tests explore new examples on every developer run; CI replays a fixed, derandomized set so a
# red build is reproducible (and a failure found locally is fixed, then kept as an explicit example).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def one_embedding_model() -> Iterator[None]:
    """Every platform `open_platform` opens in this process embeds with the session's model
    (`tests.support.embedders.session_embedder`), as `open_test_platform`'s own wiring does: a model
    load per test platform was seconds each in every module with `embeddings=True`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("oratio.platform.load_default_embedder", session_embedder)
        yield


@pytest.fixture(scope="session", autouse=True)
def mcp_tools_derived_once() -> Iterator[None]:
    """Every MCP server built in this process reuses what the SDK derived from a tool's signature the first
    time (`tests.support.mcp_tools`): building one was ~0.3 s of CPU, paid by every MCP client and app."""
    with tool_registrations_once():
        yield


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


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    """Settings overrides for `platform` (override this fixture in a module that needs others)."""
    return {}


@pytest.fixture
def platform_models() -> ModelFactory | None:
    """The conversation engine's model factory for `platform`; None: the real one."""
    return None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def platform_clock() -> Callable[[], datetime] | None:
    """The clock of `platform`'s services; None: the wall clock (override with `clock` to move it by hand)."""
    return None


@pytest.fixture
def platform_secrets() -> SecretResolver | None:
    """What resolves `{{secret:NAME}}` in `platform`'s tool headers (a `DictSecrets`); None: no secret exists."""
    return None


@pytest.fixture
def platform_backend() -> str:
    """ "sqlite" (the embedded default) or "aws" (DynamoDB + S3 on moto_server)."""
    return "sqlite"


@pytest.fixture
def platform(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    platform_settings: dict[str, Any],
    platform_models: ModelFactory | None,
    platform_clock: Callable[[], datetime] | None,
    platform_backend: str,
    platform_secrets: SecretResolver | None,
) -> Iterator[Platform]:
    moto: MotoServer | None = request.getfixturevalue("moto") if platform_backend == "aws" else None
    with open_test_platform(
        tmp_path, models=platform_models, clock=platform_clock, moto=moto, secrets=platform_secrets, **platform_settings
    ) as opened:
        yield opened


@pytest.fixture
def acme(platform: Platform) -> Tenancy:
    return new_tenancy(platform, "Acme")


@pytest.fixture
def globex(platform: Platform) -> Tenancy:
    """A second tenant, to prove the first one's records are out of its reach."""
    return new_tenancy(platform, "Globex")


@pytest.fixture
def world(platform: Platform) -> World:
    return new_world(platform)
