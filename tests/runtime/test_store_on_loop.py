"""Where a turn's store calls run: on the turn's own event loop for embedded SQLite and local blobs (no
worker-thread hop per call), in worker threads for any store that does not say its calls are brief
(DynamoDB, S3). A model is built off the loop until one build of its spec has proved quick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from oratio.blobs.local import LocalBlobStore
from oratio.blobs.ports import BlobStore
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.models import Say, ScriptedModel
from oratio.platform import Platform, build_services
from oratio.services import Backends
from oratio.store.ports import EventLog, RecordStore, calls_are_brief
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from schemas import Channel
from tests.support.engine import deployed_agent, engine_over
from tests.support.platforms import test_settings
from tests.support.tenants import new_principal

pytestmark = pytest.mark.anyio


class Threads:
    """A real port that notes the thread of every call (each call goes through to the adapter)."""

    def __init__(self, inner: object, seen: set[int], *, brief: bool) -> None:
        self._inner, self._seen, self.brief_calls = inner, seen, brief

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value

        def noted(*args: Any, **kwargs: Any) -> Any:
            self._seen.add(threading.get_ident())
            return value(*args, **kwargs)

        return noted


def platform_over(tmp_path: Path, seen: set[int], *, brief: bool) -> Iterator[Platform]:
    settings = test_settings(tmp_path)
    db = SqliteDatabase(settings.database_path, synchronous="normal")
    backends = Backends(
        store=cast(RecordStore, Threads(SqliteRecordStore(db), seen, brief=brief)),
        events=cast(EventLog, Threads(SqliteEventLog(db), seen, brief=brief)),
        blobs=cast(BlobStore, Threads(LocalBlobStore(settings.blob_root), seen, brief=brief)),
    )
    knowledge = LocalKnowledgeBase(HybridIndex(settings.knowledge_path, embedder=None))
    platform = build_services(settings, backends, knowledge)
    try:
        yield platform
    finally:
        platform.handoff.close()
        knowledge.close()
        db.close()


async def two_turns(platform: Platform, seen: set[int], factory: Callable[[str], Any]) -> None:
    principal = new_principal(platform, "Acme")
    agent = deployed_agent(platform, principal)
    engine = engine_over(platform, factory)
    seen.clear()
    first = await engine.turn_async(principal.tenant_id, agent.id, None, "hello", Channel.TEXT)
    second = await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "again", Channel.TEXT)
    assert second.reply == "Noted."


def test_the_embedded_stores_say_their_calls_are_brief(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "o.db")
    try:
        assert calls_are_brief(SqliteRecordStore(db)) and calls_are_brief(SqliteEventLog(db))
        assert calls_are_brief(LocalBlobStore(tmp_path / "blobs"))
        assert not calls_are_brief(object())
    finally:
        db.close()


async def test_with_sqlite_a_turns_store_calls_run_on_its_event_loop(tmp_path: Path) -> None:
    seen: set[int] = set()
    model = ScriptedModel(rules=[lambda prompt: Say("Noted.")])
    for platform in platform_over(tmp_path, seen, brief=True):
        await two_turns(platform, seen, lambda spec: model)
    assert seen == {threading.get_ident()}


async def test_a_store_that_is_not_brief_is_called_from_worker_threads(tmp_path: Path) -> None:
    seen: set[int] = set()
    model = ScriptedModel(rules=[lambda prompt: Say("Noted.")])
    for platform in platform_over(tmp_path, seen, brief=False):
        await two_turns(platform, seen, lambda spec: model)
    assert seen and threading.get_ident() not in seen


async def test_a_model_is_built_off_the_loop_until_a_build_proved_quick(tmp_path: Path) -> None:
    built_in: list[int] = []
    model = ScriptedModel(rules=[lambda prompt: Say("Noted.")])

    def factory(spec: str) -> ScriptedModel:
        built_in.append(threading.get_ident())
        return model

    seen: set[int] = set()
    for platform in platform_over(tmp_path, seen, brief=True):
        await two_turns(platform, seen, factory)
    loop_thread = threading.get_ident()
    assert built_in[0] != loop_thread  # the first build may load a model file: a worker thread's job
    assert built_in[1:] == [loop_thread]  # that build took microseconds: in place from then on
