"""DynamoDB adapters for the record store and the event log (the AWS deployment's backends).

Why the shapes below:

- One DynamoDB table per logical table, keyed by plain `pk`/`sk` strings, with one sparse GSI per
  `Index`: an index attribute pair is written only when the index's partition function gives a
  value, so e.g. the `open` sessions index holds active sessions only.
- Uniqueness within a partition cannot be a DynamoDB constraint, so each unique value owns a marker
  item in `{prefix}uniques`, written in the same TransactWriteItems as the record. Either both land
  or neither does, so two concurrent "Support" agents can never both exist.
- Optimistic concurrency is a condition on the stored `version` attribute; a failed condition (or a
  transaction that collided with another) is a `Conflict`, never a crash, because to the caller it
  is the same thing as losing a race.
- The event log splits each tenant's log into `EVENT_SHARDS` shards, an event's shard chosen by its
  subject (so a session's events are in one shard, in order), and keeps a head counter per shard. An
  append moves its shard's head from N to N+1 and puts event N+1 in one transaction, so event N is
  committed before N+1 can be written. Appends of one shard waiting at the same moment in this
  process go in one transaction (N to N+k, k events: `oratio.store.group_commit`), so a counter item
  caps its shard at up to 99 events per round trip, and a tenant's sessions spread over the shards
  append in parallel. A reader first reads the heads (one consistent BatchGetItem; each GetItem is
  serializable with transactions) and only asks each shard for seqs up to its head, so it can never
  observe N+1 of a shard while N is still in flight: "seen N" implies "nothing below N appears later"
  in that shard. Shard 0 keeps the key the single-counter log had (the tenant id), so events and
  cursors from before shards are shard 0's.

`table_definitions` is the single source of the physical schema: `create_dynamodb_tables` uses it
for development and tests, and the CloudFormation template is meant to be generated from it.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import itertools
import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from oratio.errors import BackendUnavailable, Conflict, InvalidInput
from oratio.store.event_cursor import EventCursor
from oratio.store.group_commit import GroupCommit
from oratio.store.ports import (
    DeleteOutcome,
    Insert,
    Page,
    Table,
    Unchanged,
    Write,
    check_writes,
    cursor_of,
    expiry_second,
    shard_of,
)
from oratio.store.tables import ALL_TABLES
from schemas import STORE_CONTEXT, Event, Limits, NewEvent, Record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.literals import ScalarAttributeTypeType
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        AttributeValueTypeDef,
        ConditionCheckTypeDef,
        CreateTableInputTypeDef,
        DeleteTypeDef,
        KeySchemaElementTypeDef,
        PutTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
    )

    Item = dict[str, AttributeValueTypeDef]

R = TypeVar("R", bound=Record)

UNIQUES = "uniques"
EVENTS = "events"
EVENT_HEADS = "event_heads"

# Reasons a transaction (or a conditional write) fails that mean "another writer got there first".
_RACE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_RACE_ERRORS = frozenset(
    {"ConditionalCheckFailedException", "TransactionConflictException", "TransactionInProgressException"}
)
_STALE = "the record was changed or removed since it was read; read it again and retry"
# Attribute names are always aliased: several common words are DynamoDB reserved words.
_NAMES = {"#pk": "pk", "#v": "version", "#owner": "owner"}
_ABSENT = "attribute_not_exists(#pk)"
_RETRIES = 50
_BACKOFF_BASE_S = 0.005
_BACKOFF_CAP_S = 0.2
EVENT_SHARDS = 8
"""Shards of each tenant's event log (each with its own head counter). Fixed: a session's shard is
its subject's hash modulo this, and client cursors carry one position per shard."""
_SHARDS_MAX = 64
_KNOWN_HEADS_MAX = 10_000
"""Shard heads a process remembers (tenants x shards it appended to) before it forgets them all."""
_EVENTS_PER_COMMIT = 99
"""Events per append transaction: DynamoDB takes 100 items in one, and the head counter is one of them."""
_TRANSACTION_MAX_BYTES = 3_000_000
"""Event bodies per append transaction (DynamoDB allows 4 MB per transaction; keys and overhead aside)."""
TTL_ATTRIBUTE = "expires_at"
"""The TTL attribute (epoch seconds) of every table whose `Table.expires` is set (`expiring_tables`)."""
# DynamoDB refuses items over 400 KB; refuse earlier, with a message the caller can act on.
_BODY_MAX_BYTES = 380_000


def table_definitions(prefix: str) -> list[CreateTableInputTypeDef]:
    """CreateTable arguments (plain dicts) for every table, in creation order.

    They map one to one onto AWS::DynamoDB::Table properties, except that CloudFormation's
    StreamSpecification has no `StreamEnabled` key.
    """
    definitions = [
        _definition(f"{prefix}{table.name}", [index.name for index in table.indexes], stream=True)
        for table in ALL_TABLES
    ]
    definitions.append(_definition(f"{prefix}{UNIQUES}"))
    definitions.append(_definition(f"{prefix}{EVENTS}", sort_type="N", stream=True))
    definitions.append(_definition(f"{prefix}{EVENT_HEADS}", sort_type=None))
    return definitions


def expiring_tables(prefix: str) -> list[str]:
    """The tables with a TTL on `TTL_ATTRIBUTE` (CreateTable cannot say so: it is a separate call,
    and a separate CloudFormation property)."""
    return [f"{prefix}{table.name}" for table in ALL_TABLES if table.expires is not None]


def _definition(
    name: str,
    indexes: Sequence[str] = (),
    *,
    sort_type: ScalarAttributeTypeType | None = "S",
    stream: bool = False,
) -> CreateTableInputTypeDef:
    """A table keyed by `pk` (S) and, unless sort_type is None, `sk`; one GSI per index name."""
    string_keys = ["pk"] + [f"{index}_{part}" for index in indexes for part in ("pk", "sk")]
    attributes: list[AttributeDefinitionTypeDef] = [{"AttributeName": key, "AttributeType": "S"} for key in string_keys]
    if sort_type is not None:
        attributes.append({"AttributeName": "sk", "AttributeType": sort_type})
    definition: CreateTableInputTypeDef = {
        "TableName": name,
        "AttributeDefinitions": attributes,
        "KeySchema": _key_schema("pk", "sk" if sort_type else None),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": _key_schema(f"{index}_pk", f"{index}_sk"),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in indexes
        ]
    if stream:  # change feeds for whatever reacts to writes (projections, notifications)
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return definition


def _key_schema(hash_key: str, range_key: str | None) -> list[KeySchemaElementTypeDef]:
    schema: list[KeySchemaElementTypeDef] = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key is not None:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def create_dynamodb_tables(client: DynamoDBClient, prefix: str) -> None:
    """Create every table that does not exist yet and wait until all are ACTIVE.

    Idempotent, but it does not migrate: an existing table keeps the schema it was created with.
    """
    definitions = table_definitions(prefix)
    with _backend("create the tables"):
        for definition in definitions:
            try:
                client.create_table(**definition)
            except client.exceptions.ResourceInUseException:
                pass  # exists already, or is being created by another process: wait for it below
        waiter = client.get_waiter("table_exists")
        for definition in definitions:
            waiter.wait(TableName=definition["TableName"], WaiterConfig={"Delay": 2, "MaxAttempts": 150})
        for name in expiring_tables(prefix):
            ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
                continue
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
            )


@contextmanager
def _backend(action: str, why: Sequence[str] = ()) -> Iterator[None]:
    """Turn a botocore failure into the core's errors: races into Conflict, outages into 503.

    `why[i]` is the Conflict message for a failed condition on action i of a transaction.
    """
    try:
        yield
    except ClientError as exc:
        _raise_for(exc, action, why)
    except BotoCoreError as exc:  # endpoint down, timeouts, connection resets
        raise BackendUnavailable(f"the database did not answer while trying to {action}; retry shortly") from exc


def _raise_for(exc: ClientError, action: str, why: Sequence[str]) -> NoReturn:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "TransactionCanceledException":
        reasons = [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]
        for i, reason in enumerate(reasons):
            if reason == "ConditionalCheckFailed":
                raise Conflict(why[i] if i < len(why) else _STALE) from exc
        if not reasons or any(reason in _RACE_REASONS for reason in reasons):
            raise Conflict("another write to this record happened at the same time; retry") from exc
        if "ValidationError" in reasons:
            raise exc  # a malformed request is a bug in this adapter, not an outage
    elif code in _RACE_ERRORS:
        raise Conflict(why[0] if why else _STALE) from exc
    elif code == "ValidationException":
        raise exc
    raise BackendUnavailable(f"the database could not {action} ({code or 'unknown error'}); retry shortly") from exc


def _condition_failed(exc: Conflict) -> bool:
    """Whether a Conflict from `_backend` was a failed condition (not a collision with another transaction)."""
    cause = exc.__cause__
    if not isinstance(cause, ClientError):
        return False
    reasons = [reason.get("Code") for reason in cause.response.get("CancellationReasons", [])]
    return "ConditionalCheckFailed" in reasons or cause.response.get("Error", {}).get("Code") == (
        "ConditionalCheckFailedException"
    )


def _transact(client: DynamoDBClient, actions: list[TransactWriteItemTypeDef], why: Sequence[str]) -> None:
    with _backend("save the change", why):
        client.transact_write_items(TransactItems=actions)


def _backoff(attempt: int) -> None:
    """Full jitter, so writers that collided do not collide again in lockstep."""
    time.sleep(random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))


def _put(table_name: str, item: Item, condition: str, values: Item | None = None) -> TransactWriteItemTypeDef:
    """A conditional Put. Conditions name attributes as #pk, #v (version) and #owner."""
    put: PutTypeDef = {"TableName": table_name, "Item": item, "ConditionExpression": condition}
    put["ExpressionAttributeNames"] = {name: _NAMES[name] for name in _NAMES if name in condition}
    if values:
        put["ExpressionAttributeValues"] = values
    return {"Put": put}


def _delete(table_name: str, key: Item, condition: str, values: Item | None = None) -> TransactWriteItemTypeDef:
    delete: DeleteTypeDef = {"TableName": table_name, "Key": key, "ConditionExpression": condition}
    delete["ExpressionAttributeNames"] = {name: _NAMES[name] for name in _NAMES if name in condition}
    if values:
        delete["ExpressionAttributeValues"] = values
    return {"Delete": delete}


class DynamoRecordStore:
    """`RecordStore` on DynamoDB. The client is the caller's: `close` leaves it open."""

    def __init__(self, client: DynamoDBClient, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def insert(self, table: Table[R], item: R) -> R:
        stored, actions, why = self._insert_actions(table, item)
        _transact(self._client, actions, why)
        return stored

    def _insert_actions(self, table: Table[R], item: R) -> tuple[R, list[TransactWriteItemTypeDef], list[str]]:
        stored = item.model_copy(update={"version": 1})
        attrs, unique = self._encode(table, stored)
        actions = [_put(self._name(table), attrs, _ABSENT)]
        why = [f"a {table.name} record with this key already exists"]
        if unique is not None:
            actions.append(self._claim(table, attrs, unique))
            why.append(self._taken(table, unique))
        return stored, actions, why

    def get(self, table: Table[R], partition: str, sort: str) -> R | None:
        raw = self._get_raw(self._name(table), {"pk": {"S": partition}, "sk": {"S": sort}})
        return None if raw is None else table.model.model_validate_json(raw["body"]["S"])

    def get_unique(self, table: Table[R], partition: str, value: str) -> R | None:
        marker = self._get_raw(self._uniques, {"pk": {"S": f"{table.name}#{partition}"}, "sk": {"S": value}})
        if marker is None:
            return None
        record = self.get(table, partition, marker["owner"]["S"])
        # Between the two reads the record may have been renamed or deleted: then nobody holds `value`.
        if record is None or table.unique is None or table.unique(record) != value:
            return None
        return record

    def replace(self, table: Table[R], item: R) -> R:
        stored, actions, why = self._replace_actions(table, item)
        _transact(self._client, actions, why)
        return stored

    def compare_and_set(self, table: Table[R], item: R) -> R:
        """One PutItem conditioned on the version (or on absence): no read, no transaction."""
        if table.unique is not None:
            raise InvalidInput(f"compare_and_set does not serve {table.name}: it has a unique value")
        stored = item.model_copy(update={"version": item.version + 1})
        attrs, _ = self._encode(table, stored)
        put = _put(self._name(table), attrs, _ABSENT) if item.version == 0 else None
        if put is None:
            put = _put(self._name(table), attrs, "#v = :v", {":v": {"N": str(item.version)}})
        with _backend("save the change", [_STALE]):
            self._client.put_item(**put["Put"])
        return stored

    def transact(self, writes: Sequence[Write]) -> list[Any]:
        check_writes(writes)
        stored: list[Any] = []
        actions: list[TransactWriteItemTypeDef] = []
        why: list[str] = []
        for write in writes:
            if isinstance(write, Unchanged):
                stored.append(write.item)
                actions.append(self._unchanged_action(write.table, write.item))
                why.append(_STALE)
                continue
            build = self._insert_actions if isinstance(write, Insert) else self._replace_actions
            item, more, reasons = build(write.table, write.item)
            stored.append(item)
            actions += more
            why += reasons
        _transact(self._client, actions, why)
        return stored

    def _unchanged_action(self, table: Table[R], item: R) -> TransactWriteItemTypeDef:
        """A ConditionCheck: the record is still at `item.version` (no read first; the condition decides)."""
        key: Item = {"pk": {"S": table.partition(item)}, "sk": {"S": table.sort(item)}}
        check: ConditionCheckTypeDef = {
            "TableName": self._name(table),
            "Key": key,
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": _NAMES["#v"]},
            "ExpressionAttributeValues": {":v": {"N": str(item.version)}},
        }
        return {"ConditionCheck": check}

    def _replace_actions(self, table: Table[R], item: R) -> tuple[R, list[TransactWriteItemTypeDef], list[str]]:
        key: Item = {"pk": {"S": table.partition(item)}, "sk": {"S": table.sort(item)}}
        current = self._get_raw(self._name(table), key)
        if current is None or int(current["version"]["N"]) != item.version:
            raise Conflict(_STALE)
        stored = item.model_copy(update={"version": item.version + 1})
        attrs, new_unique = self._encode(table, stored)
        # The version condition makes the unique value read above still true when the write lands.
        actions = [_put(self._name(table), attrs, "#v = :v", {":v": {"N": str(item.version)}})]
        why = [_STALE]
        old_unique = current["unique_value"]["S"] if "unique_value" in current else None
        if old_unique != new_unique:
            if old_unique is not None:
                actions.append(self._release(table, attrs, old_unique))
                why.append(_STALE)
            if new_unique is not None:
                actions.append(self._claim(table, attrs, new_unique))
                why.append(self._taken(table, new_unique))
        return stored, actions, why

    def delete(self, table: Table[R], partition: str, sort: str) -> bool:
        key: Item = {"pk": {"S": partition}, "sk": {"S": sort}}
        for attempt in range(_RETRIES):
            current = self._get_raw(self._name(table), key)
            if current is None:
                return False
            actions = [_delete(self._name(table), key, "#v = :v", {":v": current["version"]})]
            if "unique_value" in current:
                actions.append(self._release(table, current, current["unique_value"]["S"]))
            try:
                _transact(self._client, actions, [_STALE] * len(actions))
            except Conflict:
                _backoff(attempt)  # changed under us: read it again and delete what is there now
                continue
            return True
        raise Conflict("the record kept changing while it was being deleted; retry")

    def delete_unchanged(self, table: Table[R], item: R) -> DeleteOutcome:
        """One transaction: the Delete conditioned on `version` (and the TTL attribute, `expires_at`, for an
        expiring table) plus the unique marker's release. A failed condition is read back once, to tell
        ABSENT from CONDITION_FAILED; a transaction that collided with another is retried."""
        key: Item = {"pk": {"S": table.partition(item)}, "sk": {"S": table.sort(item)}}
        condition = "#v = :v"
        names = {"#v": _NAMES["#v"]}
        values: Item = {":v": {"N": str(item.version)}}
        expiry = expiry_second(table, item)
        if expiry is not None:  # `_encode` writes it as the second after the expiry
            condition += " AND #exp = :exp"
            names["#exp"] = TTL_ATTRIBUTE
            values[":exp"] = {"N": str(expiry + 1)}
        delete: DeleteTypeDef = {
            "TableName": self._name(table),
            "Key": key,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        actions: list[TransactWriteItemTypeDef] = [{"Delete": delete}]
        unique = table.unique(item) if table.unique is not None else None
        if unique is not None:
            actions.append(self._release(table, key, unique))
        for attempt in range(_RETRIES):
            try:
                with _backend("delete a record"):
                    self._client.transact_write_items(TransactItems=actions)
            except Conflict as exc:
                if _condition_failed(exc):
                    found = self._get_raw(self._name(table), key)
                    return DeleteOutcome.ABSENT if found is None else DeleteOutcome.CONDITION_FAILED
                _backoff(attempt)  # collided with another transaction on the item: try again
                continue
            return DeleteOutcome.DELETED
        raise Conflict("the record kept changing while it was being deleted; retry")

    def query(
        self,
        table: Table[R],
        partition: str,
        *,
        index: str | None = None,
        sort_from: str | None = None,
        sort_to: str | None = None,
        descending: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[R]:
        if not 1 <= limit <= Limits.PAGE_SIZE_MAX:
            raise InvalidInput(f"limit must be between 1 and {Limits.PAGE_SIZE_MAX}", field="limit")
        if sort_from is not None and sort_to is not None and sort_from > sort_to:
            return Page()  # an empty range; DynamoDB would reject BETWEEN with reversed bounds
        if index is not None:
            table.index(index)  # KeyError for an index the table does not have
        pk, sk = (f"{index}_pk", f"{index}_sk") if index else ("pk", "sk")
        key_names = (pk, sk, "pk", "sk") if index else (pk, sk)
        fingerprint = hashlib.sha256(
            json.dumps([table.name, index, partition, descending, sort_from, sort_to]).encode()
        ).hexdigest()[:24]
        condition = "#pk = :pk"
        values: Item = {":pk": {"S": partition}}
        if sort_from is not None:
            values[":lo"] = {"S": sort_from}
        if sort_to is not None:
            values[":hi"] = {"S": sort_to}
        if sort_from is not None and sort_to is not None:
            condition += " AND #sk BETWEEN :lo AND :hi"
        elif sort_from is not None:
            condition += " AND #sk >= :lo"
        elif sort_to is not None:
            condition += " AND #sk <= :hi"
        names = {"#pk": pk, "#sk": sk} if "#sk" in condition else {"#pk": pk}
        # One item more than asked tells whether another page exists, so the last page has no cursor.
        request: QueryInputTypeDef = {
            "TableName": self._name(table),
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not descending,
            "Limit": limit + 1,
        }
        if index is not None:
            request["IndexName"] = index
        else:
            request["ConsistentRead"] = True  # GSIs are eventually consistent and refuse this flag
        if cursor is not None:
            request["ExclusiveStartKey"] = _decode_cursor(cursor, fingerprint, key_names, pk, partition)
        with _backend("list records"):
            out = self._client.query(**request)
        raw_items = out["Items"]
        next_key: Item | None = out.get("LastEvaluatedKey")
        if len(raw_items) > limit:
            raw_items = raw_items[:limit]
            next_key = {name: raw_items[-1][name] for name in key_names}
        items = [table.model.model_validate_json(raw["body"]["S"]) for raw in raw_items]
        return Page(items=items, next_cursor=None if next_key is None else _encode_cursor(next_key, fingerprint))

    def close(self) -> None:
        """Nothing to release: the client belongs to whoever made it."""

    @property
    def _uniques(self) -> str:
        return f"{self._prefix}{UNIQUES}"

    def _name(self, table: Table[R]) -> str:
        return f"{self._prefix}{table.name}"

    @staticmethod
    def _taken(table: Table[R], value: str) -> str:
        return f"{value!r} is already taken in {table.name}; choose another"

    def _encode(self, table: Table[R], item: R) -> tuple[Item, str | None]:
        body = item.model_dump_json(context=STORE_CONTEXT)
        if len(body.encode()) > _BODY_MAX_BYTES:
            raise InvalidInput(f"the {table.name} record is too large to store ({len(body)} characters)")
        attrs: Item = {
            "pk": {"S": table.partition(item)},
            "sk": {"S": table.sort(item)},
            "body": {"S": body},
            "version": {"N": str(item.version)},
        }
        for index in table.indexes:
            index_partition = index.partition(item)
            if index_partition is not None:  # sparse: no attributes, no index entry
                attrs[f"{index.name}_pk"] = {"S": index_partition}
                attrs[f"{index.name}_sk"] = {"S": index.sort(item)}
        unique = table.unique(item) if table.unique is not None else None
        if unique is not None:
            attrs["unique_value"] = {"S": unique}
        if table.expires is not None:
            attrs[TTL_ATTRIBUTE] = {"N": str(int(table.expires(item).timestamp()) + 1)}
        return attrs, unique

    def _claim(self, table: Table[R], attrs: Item, value: str) -> TransactWriteItemTypeDef:
        marker: Item = {
            "pk": {"S": f"{table.name}#{attrs['pk']['S']}"},
            "sk": {"S": value},
            "owner": attrs["sk"],
        }
        return _put(self._uniques, marker, _ABSENT)

    def _release(self, table: Table[R], attrs: Item, value: str) -> TransactWriteItemTypeDef:
        key: Item = {"pk": {"S": f"{table.name}#{attrs['pk']['S']}"}, "sk": {"S": value}}
        return _delete(self._uniques, key, f"{_ABSENT} OR #owner = :owner", {":owner": attrs["sk"]})

    def _get_raw(self, table_name: str, key: Item) -> Item | None:
        with _backend("read a record"):
            out = self._client.get_item(TableName=table_name, Key=key, ConsistentRead=True)
        return out.get("Item")


def _encode_cursor(key: Item, fingerprint: str) -> str:
    payload = json.dumps({"f": fingerprint, "k": {name: value["S"] for name, value in key.items()}})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str, key_names: Sequence[str], pk: str, partition: str) -> Item:
    """The ExclusiveStartKey in `cursor`, if this query issued it. The partition is checked too, so
    a hand-made cursor can never start a query inside another tenant's partition."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        payload = None
    key = payload.get("k") if isinstance(payload, dict) and payload.get("f") == fingerprint else None
    if (
        not isinstance(key, dict)
        or set(key) != set(key_names)
        or not all(isinstance(value, str) for value in key.values())
        or key[pk] != partition
    ):
        raise InvalidInput("this cursor does not belong to this query; start again without it", field="cursor")
    return {name: {"S": value} for name, value in key.items()}


class DynamoEventLog:
    """`EventLog` on DynamoDB: per tenant, `shards` head counters plus one item per event (see module doc)."""

    def __init__(self, client: DynamoDBClient, prefix: str, *, shards: int = EVENT_SHARDS) -> None:
        if not 1 <= shards <= _SHARDS_MAX:
            raise ValueError(f"an event log has 1 to {_SHARDS_MAX} shards, not {shards}")
        self._client = client
        self._events = f"{prefix}{EVENTS}"
        self._heads = f"{prefix}{EVENT_HEADS}"
        self.shards = shards
        # Appends of one shard waiting at the same moment share one transaction (see group_commit).
        self.appends: GroupCommit[NewEvent, Event] = GroupCommit(self._append_batch, _EVENTS_PER_COMMIT)
        self.conflicts = 0
        """Append transactions lost to another writer of the same shard and retried (for benchmarks)."""
        self._known_heads: dict[str, int] = {}
        """Each shard's head after this process's last commit to it: the next commit's condition, without
        reading the head first (one round trip, not two, while no other replica appends to the shard).
        Only ever a head that was committed, and heads only grow: a stale one fails the condition and
        the head is read again. Written only by the shard's group-commit leader (one at a time)."""

    def _partition(self, tenant_id: str, shard: int) -> str:
        """Shard 0 is the tenant id itself (the single-counter log's key); tenant ids never hold '#'."""
        return tenant_id if shard == 0 else f"{tenant_id}#{shard}"

    def append(self, event: NewEvent) -> Event:
        shard = shard_of(event.subject, self.shards)
        return self.appends.submit(self._partition(event.tenant_id, shard), event)

    def _append_batch(self, partition: str, events: list[NewEvent]) -> list[Event]:
        """Commit `events` (all of one shard) in order, each transaction within DynamoDB's item and size limits."""
        stored: list[Event] = []
        chunk: list[NewEvent] = []
        size = 0
        for event in events:
            body = len(event.model_dump_json())
            if chunk and size + body > _TRANSACTION_MAX_BYTES:
                stored += self._append_chunk(partition, chunk)
                chunk, size = [], 0
            chunk.append(event)
            size += body
        return stored + self._append_chunk(partition, chunk)

    def _append_chunk(self, partition: str, events: list[NewEvent]) -> list[Event]:
        """Move the shard's head from N to N+k and put its events N+1..N+k in one transaction: all visible, or none."""
        key: AttributeValueTypeDef = {"S": partition}
        shard = shard_of(events[0].subject, self.shards)
        for attempt in range(_RETRIES):
            known = self._known_heads.pop(partition, None)
            head = known if known is not None else self._shard_head(partition)
            stored = [
                Event.model_validate({**e.model_dump(), "seq": head + 1 + i, "shard": shard})
                for i, e in enumerate(events)
            ]
            move_head: TransactWriteItemTypeDef = {
                "Update": {
                    "TableName": self._heads,
                    "Key": {"pk": key},
                    "UpdateExpression": "SET #head = :next",
                    "ConditionExpression": "#head = :head" if head else "attribute_not_exists(#head)",
                    "ExpressionAttributeNames": {"#head": "head"},
                    "ExpressionAttributeValues": {":next": {"N": str(head + len(events))}}
                    | ({":head": {"N": str(head)}} if head else {}),
                }
            }
            puts = [
                _put(
                    self._events,
                    {"pk": key, "sk": {"N": str(event.seq)}, "body": {"S": event.model_dump_json()}},
                    _ABSENT,
                )
                for event in stored
            ]
            try:
                _transact(self._client, [move_head, *puts], ())
            except Conflict:
                self.conflicts += 1  # not exact under threads: a figure for benchmarks, not a guarantee
                if known is None:
                    _backoff(attempt)  # another writer took seq head + 1: read the head again
                continue  # (a remembered head went stale: read it at once)
            if len(self._known_heads) >= _KNOWN_HEADS_MAX:
                self._known_heads.clear()  # only hints: a forgotten head is read again
            self._known_heads[partition] = head + len(events)
            return stored
        raise Conflict("too many concurrent writers to this tenant's event log; retry")

    def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
        if limit < 1:
            raise InvalidInput("limit must be at least 1", field="limit")
        cursor = cursor_of(after, self.shards)
        heads = self.head(tenant_id).positions
        # Each shard: every seq up to its head was committed before the head moved past it, so ask for
        # no more. Then merge the shards by time, each shard's events kept in seq order, and keep a
        # prefix of `limit`: each shard's part of it is a prefix of what follows its position.
        shards = [
            self._read_shard(
                tenant_id, shard, cursor.positions[shard], min(heads[shard], cursor.positions[shard] + limit)
            )
            for shard in range(self.shards)
            if heads[shard] > cursor.positions[shard]
        ]
        return list(itertools.islice(heapq.merge(*shards, key=lambda event: event.at), limit))

    def _read_shard(self, tenant_id: str, shard: int, after: int, last: int) -> list[Event]:
        events: list[Event] = []
        start: Item | None = None
        while len(events) < last - after:
            request: QueryInputTypeDef = {
                "TableName": self._events,
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
                "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
                "ExpressionAttributeValues": {
                    ":pk": {"S": self._partition(tenant_id, shard)},
                    ":lo": {"N": str(after + 1)},
                    ":hi": {"N": str(last)},
                },
                "ConsistentRead": True,
            }
            if start is not None:
                request["ExclusiveStartKey"] = start
            with _backend("read events"):
                out = self._client.query(**request)
            # Events stored before shards have no `shard` in their body: they are shard 0's.
            events += [Event.model_validate_json(raw["body"]["S"]) for raw in out["Items"]]
            start = out.get("LastEvaluatedKey")
            if start is None:  # the 1 MB page limit did not cut this read short
                break
        return events

    def head(self, tenant_id: str) -> EventCursor:
        """Every shard's head in one consistent BatchGetItem (a shard never written to is at 0)."""
        partitions = {self._partition(tenant_id, shard): shard for shard in range(self.shards)}
        positions = [0] * self.shards
        keys: list[Item] = [{"pk": {"S": partition}} for partition in partitions]
        for _ in range(_RETRIES):
            with _backend("read the event log"):
                out = self._client.batch_get_item(RequestItems={self._heads: {"Keys": keys, "ConsistentRead": True}})
            for item in out.get("Responses", {}).get(self._heads, []):
                positions[partitions[str(item["pk"]["S"])]] = int(item["head"]["N"])
            left = out.get("UnprocessedKeys", {}).get(self._heads)
            keys = list(left["Keys"]) if left is not None else []
            if not keys:
                return EventCursor(tuple(positions))
        raise BackendUnavailable("the event log's heads could not be read (throttled); retry")

    def _shard_head(self, partition: str) -> int:
        with _backend("read the event log"):
            out = self._client.get_item(TableName=self._heads, Key={"pk": {"S": partition}}, ConsistentRead=True)
        item = out.get("Item")
        return int(item["head"]["N"]) if item is not None else 0

    def close(self) -> None:
        """Nothing to release: the client belongs to whoever made it."""


__all__ = [
    "TTL_ATTRIBUTE",
    "EVENT_SHARDS",
    "DynamoEventLog",
    "DynamoRecordStore",
    "create_dynamodb_tables",
    "expiring_tables",
    "table_definitions",
]
