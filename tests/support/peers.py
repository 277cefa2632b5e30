"""A second platform on the same record store: another replica, as far as the store can tell.

`peer_platform(platform, data_dir)` opens its own store client on the same data (SQLite: a new
`SqliteDatabase` on the same file, so its own connections, as a second process has; DynamoDB: a new
boto3 client on the same tables) and wires its own services over it with `build_services`, so it has
its own lease owner id, its own in-memory caches and limiters. Blobs are shared; knowledge is its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3

from oratio.config import StoreBackend
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.platform import Platform, build_services
from oratio.services import Backends
from oratio.store.ports import EventLog, RecordStore
from tests.aws import REGION


@contextmanager
def peer_platform(platform: Platform, data_dir: Path) -> Iterator[Platform]:
    """Another replica of `platform` (same settings, clock and store; its own clients), closed on exit."""
    settings = platform.settings
    with ExitStack() as stack:
        store: RecordStore
        events: EventLog
        if settings.store is StoreBackend.SQLITE:
            from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore

            db = SqliteDatabase(settings.database_path)
            stack.callback(db.close)
            store, events = SqliteRecordStore(db), SqliteEventLog(db)
        else:
            from oratio.store.dynamodb import DynamoEventLog, DynamoRecordStore

            client = boto3.client(
                "dynamodb",
                region_name=REGION,
                endpoint_url=settings.aws_endpoint_url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            store = DynamoRecordStore(client, settings.dynamodb_table_prefix)
            events = DynamoEventLog(client, settings.dynamodb_table_prefix)
        backends = Backends(store=store, events=events, blobs=platform.backends.blobs, clock=platform.backends.clock)
        knowledge = LocalKnowledgeBase(HybridIndex(data_dir / "peer-knowledge.db", embedder=None))
        stack.callback(knowledge.close)
        peer = build_services(settings, backends, knowledge)
        stack.callback(peer.ingestion.close)
        stack.callback(peer.outbox.close)
        stack.callback(peer.handoff.close_briefs)
        yield peer
