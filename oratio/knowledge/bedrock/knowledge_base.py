"""Ingest, remove and search: the `KnowledgeBase` port on Amazon Bedrock Knowledge Bases (the AWS deployment).

One Bedrock knowledge base per (tenant, agent), made and found by `provisioning`: the knowledge base is
Bedrock's unit of retrieval, so an agent's search reaches only its own documents whatever a filter says.

- Bedrock reads, chunks and embeds the files itself, asynchronously: a sync (an "ingestion job")
  picks up what changed under the data source's prefix. So `ingest` writes the file, plus a
  `.metadata.json` sidecar carrying the document's ids, starts a sync and returns at once. The
  chunk count and pages are not known then: `IngestResult` says 0 for both, and the document is
  searchable when the sync finishes (`ingestion_status`). `remove` deletes the files and syncs;
  Bedrock drops the chunks of files that are gone.
- `remove` syncs even when no file was left to delete, so retrying a remove whose sync was refused
  (one sync at a time per data source) still takes the chunks out.
- Retrieval also filters on the tenant and agent metadata, and drops any result whose metadata names
  another tenant or agent: belt and braces, should an index ever be shared.
- A hit's location is "page N" when Bedrock reports the page (PDFs), else empty: the S3 URI would
  show callers the bucket's layout, and the document's name is in the hit already. Bedrock does not
  say where a chunk sits in its document, so the chunk's ordinal and offsets are 0.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError

from oratio.blobs.ports import validate_prefix
from oratio.errors import InvalidInput
from oratio.knowledge.bedrock.common import BedrockKnowledgeConfig, backend, check_ids, error_code
from oratio.knowledge.bedrock.provisioning import Provisioner
from oratio.knowledge.ports import IngestResult, KnowledgeHit
from schemas import CONTENT_TYPES, Chunk, Document, DocumentFormat

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent import AgentsforBedrockClient
    from mypy_boto3_bedrock_agent_runtime import AgentsforBedrockRuntimeClient
    from mypy_boto3_bedrock_agent_runtime.type_defs import (
        KnowledgeBaseRetrievalConfigurationTypeDef,
        KnowledgeBaseRetrievalResultTypeDef,
    )
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("oratio.knowledge.bedrock")

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


@dataclass(frozen=True)
class IngestionStatus:
    """The latest sync of an agent's knowledge base."""

    job_id: str
    status: str  # STARTING | IN_PROGRESS | COMPLETE | FAILED | STOPPING | STOPPED
    started_at: datetime
    documents_failed: int
    failure_reasons: tuple[str, ...]


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
        self._provisioner = Provisioner(
            agent_client, config, partition=s3_client.meta.partition, sleep=sleep, clock=clock
        )

    # -- the port --------------------------------------------------------------------------------

    def ingest(self, document: Document, content: bytes) -> IngestResult:
        """Store the file and its metadata, then start a sync. Chunk count and pages are unknown (0)."""
        tenant, agent, doc = document.tenant_id, document.agent_id, document.id
        check_ids(tenant, agent, doc)
        target = self._provisioner.ensure(tenant, agent)
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
        with backend("store the document"):
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
        job_id = self._provisioner.sync(tenant, agent, target)
        logger.info("tenant=%s agent=%s document=%s job=%s | stored, sync started", tenant, agent, doc, job_id)
        return IngestResult(chunk_count=0, pages=0)

    def remove(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        """Delete the document's files and sync; without a knowledge base nothing was ever indexed."""
        check_ids(tenant_id, agent_id, document_id)
        with backend("delete the document"):
            for key in self._keys(self._document_folder(tenant_id, agent_id, document_id)):
                self._s3.delete_object(Bucket=self._config.bucket, Key=key)
        target = self._provisioner.lookup(tenant_id, agent_id, trust_miss=False)
        if target is None:
            return
        target = self._provisioner.with_data_source(tenant_id, agent_id, target, create=False)
        if target.data_source_id is None:
            return  # no data source, so nothing of this agent was ever synced
        job_id = self._provisioner.sync(tenant_id, agent_id, target)
        logger.info(
            "tenant=%s agent=%s document=%s job=%s | removed, sync started", tenant_id, agent_id, document_id, job_id
        )

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        check_ids(tenant_id, agent_id)
        if not query.strip():
            raise InvalidInput("the search query is empty", field="query")
        if k < 1:
            return []
        target = self._provisioner.lookup(tenant_id, agent_id)
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
            with backend("search", passthrough=frozenset({"ResourceNotFoundException"})):
                out = self._runtime.retrieve(
                    knowledgeBaseId=target.knowledge_base_id,
                    retrievalQuery={"text": query},
                    retrievalConfiguration=configuration,
                )
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            logger.warning("tenant=%s agent=%s | knowledge base gone, forgetting it", tenant_id, agent_id)
            self._provisioner.forget(tenant_id, agent_id)
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
        self._provisioner.clear()

    # -- beyond the port -------------------------------------------------------------------------

    def ingestion_status(self, tenant_id: str, agent_id: str) -> IngestionStatus | None:
        """The latest sync of the agent's knowledge base (started by any process); None if none ran."""
        check_ids(tenant_id, agent_id)
        target = self._provisioner.lookup(tenant_id, agent_id, trust_miss=False)
        if target is None:
            return None
        target = self._provisioner.with_data_source(tenant_id, agent_id, target, create=False)
        if target.data_source_id is None:
            return None
        with backend("read the sync status"):
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
        with backend("read the sync status"):
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

    # -- folders ----------------------------------------------------------------------------------

    def _document_folder(self, tenant_id: str, agent_id: str, document_id: str) -> str:
        return f"{self._provisioner.agent_folder(tenant_id, agent_id)}{document_id}/"

    def _keys(self, folder: str) -> list[str]:
        keys: list[str] = []
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._config.bucket, Prefix=folder)
        for page in pages:
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        return keys

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
            check_ids(document_id)
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


__all__ = ["BedrockKnowledgeBase", "IngestionStatus"]
