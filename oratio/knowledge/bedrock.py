"""Amazon Bedrock Knowledge Bases behind the `KnowledgeBase` port (the AWS deployment's knowledge).

Why it looks like this:

- One Bedrock knowledge base per (tenant, agent), named `oratio-{tenant_id}-{agent_id}` and tagged
  with both ids. The knowledge base is Bedrock's unit of retrieval, so an agent's search reaches only
  its own documents whatever a filter says. It is found by name (names are unique per account and
  region) or created on the first ingest, with one S3 data source on
  `s3://{bucket}/{prefix}{tenant_id}/{agent_id}/`. Its ids never change, so they are cached in memory;
  "no knowledge base yet" is cached briefly, because finding one by name lists every knowledge base
  in the account.
- Bedrock reads, chunks and embeds the files itself, asynchronously: a sync (an "ingestion job")
  picks up what changed under the data source's prefix. So `ingest` writes the file, plus a
  `.metadata.json` sidecar carrying the document's ids, starts a sync and returns at once. The
  chunk count and pages are not known then: `IngestResult` says 0 for both, and the document is
  searchable when the sync finishes (`ingestion_status`). `remove` deletes the files and syncs;
  Bedrock drops the chunks of files that are gone.
- Bedrock runs one sync at a time per data source and refuses a second one. That is reported as
  BackendUnavailable: the files are already in place, so a retry (which starts a new sync) is safe.
  `remove` syncs even when no file was left to delete, so retrying a remove whose sync was refused
  still takes the chunks out.
- The vector store is the deployment's choice (`storage`). Bedrock does not create the vector index,
  and each knowledge base should have its own, so `storage` may be a function of (tenant, agent) that
  returns (and may provision) that agent's index: S3 Vectors suits many small per-agent indexes (no
  cluster to pay for); OpenSearch Serverless when hybrid search is wanted. A fixed mapping shares one
  index between all knowledge bases.
- Retrieval therefore also filters on the tenant and agent metadata, and drops any result whose
  metadata names another tenant or agent: belt and braces, should an index ever be shared.
- A hit's location is "page N" when Bedrock reports the page (PDFs), else empty: the S3 URI would
  show callers the bucket's layout, and the document's name is in the hit already. Bedrock does not
  say where a chunk sits in its document, so the chunk's ordinal and offsets are 0.
- AWS failures become BackendUnavailable carrying the error code only (AWS messages can name ARNs
  and request details the caller has no use for; credentials are never part of either). A
  ValidationException means this adapter sent a bad request: it is re-raised as is, except the one
  Bedrock sends for "a sync is already running".
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter, ValidationError

from oratio.blobs.ports import validate_prefix
from oratio.errors import BackendUnavailable, InvalidInput
from oratio.knowledge.ports import IngestResult, KnowledgeHit
from schemas import CONTENT_TYPES, Chunk, Document, DocumentFormat
from schemas._base import Identifier

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent import AgentsforBedrockClient
    from mypy_boto3_bedrock_agent.type_defs import (
        CreateDataSourceRequestTypeDef,
        KnowledgeBaseSummaryTypeDef,
        StorageConfigurationTypeDef,
        VectorIngestionConfigurationTypeDef,
    )
    from mypy_boto3_bedrock_agent_runtime import AgentsforBedrockRuntimeClient
    from mypy_boto3_bedrock_agent_runtime.type_defs import (
        KnowledgeBaseRetrievalConfigurationTypeDef,
        KnowledgeBaseRetrievalResultTypeDef,
    )
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("oratio.knowledge.bedrock")

NAME_PREFIX = "oratio"
NAME_MAX = 100  # Bedrock's limit on knowledge base names
DATA_SOURCE_NAME = "oratio-documents"
TENANT_TAG = "oratio:tenant_id"
AGENT_TAG = "oratio:agent_id"
RESULTS_MAX = 100  # Bedrock's ceiling on numberOfResults
CHUNK_TEXT_MAX = 20_000  # Chunk.text's bound
METADATA_SUFFIX = ".metadata.json"  # Bedrock's sidecar convention: `<file>.metadata.json` beside the file
PAGE_NUMBER_KEY = "x-amz-bedrock-kb-document-page-number"

# Bedrock decides how to read a file from its extension, so the stored name always ends with one.
_EXTENSIONS: dict[DocumentFormat, str] = {
    DocumentFormat.PDF: ".pdf",
    DocumentFormat.MARKDOWN: ".md",
    DocumentFormat.TEXT: ".txt",
    DocumentFormat.HTML: ".html",
}
_FILE_NAME_MAX = 200
_NOT_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")
_SYNC_RUNNING = re.compile(r"ongoing|running|in progress", re.IGNORECASE)
_WAITABLE = frozenset({"CREATING", "UPDATING"})
_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)

StorageFor = Callable[[str, str], "StorageConfigurationTypeDef"]
"""(tenant_id, agent_id) -> the `storageConfiguration` of that agent's knowledge base."""


@dataclass(frozen=True)
class BedrockKnowledgeConfig:
    """Where the documents go and how each agent's knowledge base is made."""

    bucket: str
    role_arn: str  # the role Bedrock assumes: read the bucket, invoke the embedding model, write the vectors
    embedding_model_arn: str
    storage: StorageConfigurationTypeDef | StorageFor
    prefix: str = "knowledge/"
    vector_ingestion: VectorIngestionConfigurationTypeDef | None = None  # chunking, parsing; None: Bedrock's
    active_timeout_s: float = 300.0  # how long the first ingest waits for a new knowledge base to be ACTIVE
    poll_interval_s: float = 2.0
    miss_ttl_s: float = 30.0  # how long "this agent has no knowledge base" is believed


@dataclass(frozen=True)
class IngestionStatus:
    """The latest sync of an agent's knowledge base."""

    job_id: str
    status: str  # STARTING | IN_PROGRESS | COMPLETE | FAILED | STOPPING | STOPPED
    started_at: datetime
    documents_failed: int
    failure_reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Target:
    knowledge_base_id: str
    data_source_id: str | None  # None: not looked up yet


def knowledge_base_name(tenant_id: str, agent_id: str) -> str:
    """`oratio-{tenant}-{agent}`; a digest of the pair when that would be over Bedrock's 100 characters.

    A digest name has no underscore, so it can never equal a plain name (ids always have one).
    """
    name = f"{NAME_PREFIX}-{tenant_id}-{agent_id}"
    if len(name) <= NAME_MAX:
        return name
    return f"{NAME_PREFIX}-{hashlib.sha256(f'{tenant_id}/{agent_id}'.encode()).hexdigest()[:40]}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown error"))


def _sync_refused(exc: ClientError) -> bool:
    """Bedrock refuses a second sync while one runs: ConflictException, or a ValidationException saying so."""
    if exc.operation_name != "StartIngestionJob":
        return False
    code = _code(exc)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return code == "ConflictException" or (code == "ValidationException" and bool(_SYNC_RUNNING.search(message)))


@contextmanager
def _backend(action: str, *, passthrough: frozenset[str] = frozenset()) -> Iterator[None]:
    """AWS failures -> BackendUnavailable; ValidationException (our bug) and `passthrough` codes as they are."""
    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        if _sync_refused(exc):
            raise BackendUnavailable(
                "the agent's knowledge base is already syncing other changes; retry in a minute"
            ) from exc
        if code == "ValidationException" or code in passthrough:
            raise
        raise BackendUnavailable(f"the knowledge base could not {action} ({code}); retry shortly") from exc
    except BotoCoreError as exc:  # endpoint down, timeouts, connection resets
        raise BackendUnavailable(f"the knowledge base did not answer while trying to {action}; retry shortly") from exc


def _check_ids(*ids: str) -> None:
    """Ids become S3 key segments and names: only platform ids are let through."""
    for value in ids:
        try:
            _IDENTIFIER.validate_python(value)
        except ValidationError:
            raise InvalidInput(f"{value[:80]!r} is not a valid id") from None


def _file_name(document: Document) -> str:
    """A plain S3 file name with the extension Bedrock needs; the real name travels in the metadata."""
    extension = _EXTENSIONS[document.format]
    stem = re.sub(r"\.{2,}", ".", _NOT_SAFE.sub("_", document.name)).lstrip("._=-")[:_FILE_NAME_MAX]
    stem = stem or "document"
    return stem if stem.lower().endswith(extension) else stem + extension


def _location(metadata: Mapping[str, object]) -> str:
    """`page N` when Bedrock reports the page (PDFs), else empty."""
    page = metadata.get(PAGE_NUMBER_KEY)
    if isinstance(page, bool) or not isinstance(page, int | float | str):
        return ""
    try:
        number = int(float(page))
    except (ValueError, OverflowError):
        return ""
    return f"page {number}" if number >= 1 else ""


class BedrockKnowledgeBase:
    """`KnowledgeBase` on Amazon Bedrock Knowledge Bases. The clients are the caller's."""

    def __init__(
        self,
        agent_client: AgentsforBedrockClient,
        runtime_client: AgentsforBedrockRuntimeClient,
        s3_client: S3Client,
        config: BedrockKnowledgeConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        validate_prefix(config.prefix)
        self._agent = agent_client
        self._runtime = runtime_client
        self._s3 = s3_client
        self._config = config
        self._prefix = config.prefix if config.prefix == "" or config.prefix.endswith("/") else f"{config.prefix}/"
        self._bucket_arn = f"arn:{s3_client.meta.partition}:s3:::{config.bucket}"
        self._sleep = sleep
        self._clock = clock
        self._targets: dict[tuple[str, str], _Target] = {}
        self._misses: dict[tuple[str, str], float] = {}  # key -> when the miss stops being believed
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    # -- the port --------------------------------------------------------------------------------

    def ingest(self, document: Document, content: bytes) -> IngestResult:
        """Store the file and its metadata, then start a sync. Chunk count and pages are unknown (0)."""
        tenant, agent, doc = document.tenant_id, document.agent_id, document.id
        _check_ids(tenant, agent, doc)
        target = self._ensure(tenant, agent)
        folder = self._document_folder(tenant, agent, doc)
        key = folder + _file_name(document)
        sidecar = key + METADATA_SUFFIX
        metadata = {
            "metadataAttributes": {
                "document_id": doc,
                "document_name": document.name,
                "tenant_id": tenant,
                "agent_id": agent,
            }
        }
        with _backend("store the document"):
            # The new files, then whatever else is in the document's folder (an earlier version's other name).
            self._s3.put_object(
                Bucket=self._config.bucket, Key=key, Body=content, ContentType=CONTENT_TYPES[document.format]
            )
            self._s3.put_object(
                Bucket=self._config.bucket,
                Key=sidecar,
                Body=json.dumps(metadata).encode(),
                ContentType="application/json",
            )
            for stale in self._keys(folder):
                if stale not in (key, sidecar):
                    self._s3.delete_object(Bucket=self._config.bucket, Key=stale)
        job_id = self._sync(tenant, agent, target)
        logger.info("tenant=%s agent=%s document=%s job=%s | stored, sync started", tenant, agent, doc, job_id)
        return IngestResult(chunk_count=0, pages=0)

    def remove(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        """Delete the document's files and sync; without a knowledge base nothing was ever indexed."""
        _check_ids(tenant_id, agent_id, document_id)
        with _backend("delete the document"):
            for key in self._keys(self._document_folder(tenant_id, agent_id, document_id)):
                self._s3.delete_object(Bucket=self._config.bucket, Key=key)
        target = self._lookup(tenant_id, agent_id, trust_miss=False)
        if target is None:
            return
        target = self._with_data_source(tenant_id, agent_id, target, create=False)
        if target.data_source_id is None:
            return  # no data source, so nothing of this agent was ever synced
        job_id = self._sync(tenant_id, agent_id, target)
        logger.info(
            "tenant=%s agent=%s document=%s job=%s | removed, sync started", tenant_id, agent_id, document_id, job_id
        )

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        _check_ids(tenant_id, agent_id)
        if not query.strip():
            raise InvalidInput("the search query is empty", field="query")
        if k < 1:
            return []
        target = self._lookup(tenant_id, agent_id)
        if target is None:
            return []  # no document was ever ingested for this agent
        configuration: KnowledgeBaseRetrievalConfigurationTypeDef = {
            "vectorSearchConfiguration": {
                "numberOfResults": min(k, RESULTS_MAX),
                "filter": {
                    "andAll": [
                        {"equals": {"key": "tenant_id", "value": tenant_id}},
                        {"equals": {"key": "agent_id", "value": agent_id}},
                    ]
                },
            }
        }
        try:
            with _backend("search", passthrough=frozenset({"ResourceNotFoundException"})):
                out = self._runtime.retrieve(
                    knowledgeBaseId=target.knowledge_base_id,
                    retrievalQuery={"text": query},
                    retrievalConfiguration=configuration,
                )
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            logger.warning("tenant=%s agent=%s | knowledge base gone, forgetting it", tenant_id, agent_id)
            self._forget(tenant_id, agent_id)
            return []
        hits: list[KnowledgeHit] = []
        for result in out["retrievalResults"]:
            hit = self._hit(tenant_id, agent_id, result)
            if hit is not None:
                hits.append(hit)
        return hits

    def interrupt(self) -> None:
        """Nothing to stop: Bedrock extracts and embeds on its side, after `ingest` returned."""

    def close(self) -> None:
        with self._guard:
            self._targets.clear()
            self._misses.clear()

    # -- beyond the port -------------------------------------------------------------------------

    def ingestion_status(self, tenant_id: str, agent_id: str) -> IngestionStatus | None:
        """The latest sync of the agent's knowledge base (started by any process); None if none ran."""
        _check_ids(tenant_id, agent_id)
        target = self._lookup(tenant_id, agent_id, trust_miss=False)
        if target is None:
            return None
        target = self._with_data_source(tenant_id, agent_id, target, create=False)
        if target.data_source_id is None:
            return None
        with _backend("read the sync status"):
            out = self._agent.list_ingestion_jobs(
                knowledgeBaseId=target.knowledge_base_id,
                dataSourceId=target.data_source_id,
                sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
                maxResults=1,
            )
        jobs = out["ingestionJobSummaries"]
        if not jobs:
            return None
        job = jobs[0]
        with _backend("read the sync status"):
            detail = self._agent.get_ingestion_job(
                knowledgeBaseId=target.knowledge_base_id,
                dataSourceId=target.data_source_id,
                ingestionJobId=job["ingestionJobId"],
            )["ingestionJob"]
        return IngestionStatus(
            job_id=detail["ingestionJobId"],
            status=detail["status"],
            started_at=detail["startedAt"],
            documents_failed=detail.get("statistics", {}).get("numberOfDocumentsFailed", 0),
            failure_reasons=tuple(detail.get("failureReasons", [])),
        )

    # -- knowledge base and data source --------------------------------------------------------

    def _agent_folder(self, tenant_id: str, agent_id: str) -> str:
        return f"{self._prefix}{tenant_id}/{agent_id}/"

    def _document_folder(self, tenant_id: str, agent_id: str, document_id: str) -> str:
        return f"{self._agent_folder(tenant_id, agent_id)}{document_id}/"

    def _keys(self, folder: str) -> list[str]:
        keys: list[str] = []
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._config.bucket, Prefix=folder)
        for page in pages:
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        return keys

    def _lock_for(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _remember(self, key: tuple[str, str], target: _Target) -> _Target:
        with self._guard:
            self._targets[key] = target
            self._misses.pop(key, None)
        return target

    def _forget(self, tenant_id: str, agent_id: str) -> None:
        with self._guard:
            self._targets.pop((tenant_id, agent_id), None)
            self._misses.pop((tenant_id, agent_id), None)

    def _lookup(self, tenant_id: str, agent_id: str, *, trust_miss: bool = True) -> _Target | None:
        """The agent's knowledge base, from the cache or by name; None if there is none."""
        key = (tenant_id, agent_id)
        with self._guard:
            cached = self._targets.get(key)
            until = self._misses.get(key)
        if cached is not None:
            return cached
        if trust_miss and until is not None and self._clock() < until:
            return None
        summary = self._find_by_name(knowledge_base_name(tenant_id, agent_id))
        if summary is None:
            with self._guard:
                self._misses[key] = self._clock() + self._config.miss_ttl_s
            return None
        return self._remember(key, _Target(summary["knowledgeBaseId"], None))

    def _find_by_name(self, name: str) -> KnowledgeBaseSummaryTypeDef | None:
        with _backend("list knowledge bases"):
            pages = self._agent.get_paginator("list_knowledge_bases").paginate(PaginationConfig={"PageSize": 1000})
            for page in pages:
                for summary in page["knowledgeBaseSummaries"]:
                    if summary["name"] == name:
                        return summary
        return None

    def _ensure(self, tenant_id: str, agent_id: str) -> _Target:
        """The agent's knowledge base and data source, created if missing (once per process at a time)."""
        key = (tenant_id, agent_id)
        with self._lock_for(key):
            target = self._lookup(tenant_id, agent_id, trust_miss=False)
            if target is None:
                target = self._remember(key, _Target(self._create_knowledge_base(tenant_id, agent_id), None))
            return self._with_data_source(tenant_id, agent_id, target, create=True)

    def _create_knowledge_base(self, tenant_id: str, agent_id: str) -> str:
        name = knowledge_base_name(tenant_id, agent_id)
        storage = self._config.storage
        try:
            with _backend("create the agent's knowledge base", passthrough=frozenset({"ConflictException"})):
                out = self._agent.create_knowledge_base(
                    name=name,
                    description=f"Oratio knowledge of agent {agent_id} (tenant {tenant_id})",
                    roleArn=self._config.role_arn,
                    knowledgeBaseConfiguration={
                        "type": "VECTOR",
                        "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": self._config.embedding_model_arn},
                    },
                    storageConfiguration=storage(tenant_id, agent_id) if callable(storage) else storage,
                    tags={TENANT_TAG: tenant_id, AGENT_TAG: agent_id},
                )
        except ClientError as exc:
            if _code(exc) != "ConflictException":
                raise  # a ValidationException: our request is wrong
            # Another process created it first (names are unique): use theirs.
            summary = self._find_by_name(name)
            if summary is None:
                raise BackendUnavailable(
                    f"the knowledge base could not be created ({_code(exc)}); retry shortly"
                ) from exc
            return summary["knowledgeBaseId"]
        knowledge_base_id = out["knowledgeBase"]["knowledgeBaseId"]
        logger.info("tenant=%s agent=%s kb=%s | knowledge base created", tenant_id, agent_id, knowledge_base_id)
        return knowledge_base_id

    def _with_data_source(self, tenant_id: str, agent_id: str, target: _Target, *, create: bool) -> _Target:
        if target.data_source_id is not None:
            return target
        if create:
            self._wait_until_active(target.knowledge_base_id)
        data_source_id = self._find_data_source(target.knowledge_base_id)
        if data_source_id is None and create:
            data_source_id = self._create_data_source(tenant_id, agent_id, target.knowledge_base_id)
        if data_source_id is None:
            return target
        return self._remember((tenant_id, agent_id), _Target(target.knowledge_base_id, data_source_id))

    def _wait_until_active(self, knowledge_base_id: str) -> None:
        deadline = self._clock() + self._config.active_timeout_s
        while True:
            with _backend("read the knowledge base's status"):
                knowledge_base = self._agent.get_knowledge_base(knowledgeBaseId=knowledge_base_id)["knowledgeBase"]
            status = knowledge_base["status"].upper()
            if status == "ACTIVE":
                return
            if status not in _WAITABLE:
                logger.error(
                    "kb=%s status=%s reasons=%s | knowledge base unusable",
                    knowledge_base_id,
                    status,
                    knowledge_base.get("failureReasons", []),
                )
                raise BackendUnavailable(
                    f"the agent's knowledge base is {status.lower()}; the operator must check the Bedrock setup"
                )
            if self._clock() >= deadline:
                raise BackendUnavailable("the agent's knowledge base is still being created; retry shortly")
            self._sleep(self._config.poll_interval_s)

    def _find_data_source(self, knowledge_base_id: str) -> str | None:
        with _backend("list data sources"):
            pages = self._agent.get_paginator("list_data_sources").paginate(knowledgeBaseId=knowledge_base_id)
            for page in pages:
                for summary in page["dataSourceSummaries"]:
                    if summary["name"] == DATA_SOURCE_NAME:
                        return summary["dataSourceId"]
        return None

    def _create_data_source(self, tenant_id: str, agent_id: str, knowledge_base_id: str) -> str:
        request: CreateDataSourceRequestTypeDef = {
            "knowledgeBaseId": knowledge_base_id,
            "name": DATA_SOURCE_NAME,
            "description": f"Documents of agent {agent_id} (tenant {tenant_id})",
            "dataSourceConfiguration": {
                "type": "S3",
                "s3Configuration": {
                    "bucketArn": self._bucket_arn,
                    "inclusionPrefixes": [self._agent_folder(tenant_id, agent_id)],
                },
            },
            "dataDeletionPolicy": "DELETE",  # deleting the data source deletes its vectors
        }
        if self._config.vector_ingestion is not None:
            request["vectorIngestionConfiguration"] = self._config.vector_ingestion
        try:
            with _backend("create the agent's data source", passthrough=frozenset({"ConflictException"})):
                out = self._agent.create_data_source(**request)
        except ClientError as exc:
            if _code(exc) != "ConflictException":
                raise  # a ValidationException: our request is wrong
            found = self._find_data_source(knowledge_base_id)  # created concurrently: use that one
            if found is None:
                raise BackendUnavailable(f"the data source could not be created ({_code(exc)}); retry shortly") from exc
            return found
        data_source_id = out["dataSource"]["dataSourceId"]
        logger.info("tenant=%s agent=%s data_source=%s | data source created", tenant_id, agent_id, data_source_id)
        return data_source_id

    def _sync(self, tenant_id: str, agent_id: str, target: _Target) -> str:
        assert target.data_source_id is not None
        try:
            with _backend("start a sync", passthrough=frozenset({"ResourceNotFoundException"})):
                out = self._agent.start_ingestion_job(
                    knowledgeBaseId=target.knowledge_base_id,
                    dataSourceId=target.data_source_id,
                    description="oratio: documents changed",
                )
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise  # a ValidationException: our request is wrong
            # Deleted behind our back: forget it, so the next ingest creates it anew.
            self._forget(tenant_id, agent_id)
            raise BackendUnavailable(
                f"the knowledge base could not start a sync ({_code(exc)}); retry shortly"
            ) from exc
        return out["ingestionJob"]["ingestionJobId"]

    # -- results -------------------------------------------------------------------------------

    def _hit(self, tenant_id: str, agent_id: str, result: KnowledgeBaseRetrievalResultTypeDef) -> KnowledgeHit | None:
        metadata = cast(Mapping[str, object], result.get("metadata") or {})
        if metadata.get("tenant_id") != tenant_id or metadata.get("agent_id") != agent_id:
            logger.warning("tenant=%s agent=%s | dropped a result from another tenant or agent", tenant_id, agent_id)
            return None
        document_id = metadata.get("document_id")
        text = (result["content"].get("text") or "")[:CHUNK_TEXT_MAX]
        if not isinstance(document_id, str) or not text.strip():
            logger.warning("tenant=%s agent=%s | dropped a result without document id or text", tenant_id, agent_id)
            return None
        try:
            _check_ids(document_id)
        except InvalidInput:
            logger.warning("tenant=%s agent=%s | dropped a result with a malformed document id", tenant_id, agent_id)
            return None
        name = metadata.get("document_name")
        chunk = Chunk(
            tenant_id=tenant_id,
            document_id=document_id,
            agent_id=agent_id,
            ordinal=0,  # Bedrock does not say where a chunk sits in its document
            text=text,
            location=_location(metadata),
            start_offset=0,
            end_offset=0,
        )
        return KnowledgeHit(
            chunk=chunk,
            document_name=name if isinstance(name, str) and name else document_id,
            score=float(result.get("score", 0.0)),
        )


__all__ = [
    "BedrockKnowledgeBase",
    "BedrockKnowledgeConfig",
    "IngestionStatus",
    "StorageFor",
    "knowledge_base_name",
]
