"""Provisioning: finding or creating each agent's Bedrock knowledge base and its S3 data source, and syncing it.

One Bedrock knowledge base per (tenant, agent), named `oratio-{tenant_id}-{agent_id}` and tagged
with both ids. It is found by name (names are unique per account and region) or created on the first
ingest, with one S3 data source on `s3://{bucket}/{prefix}{tenant_id}/{agent_id}/`. Its ids never
change, so they are cached in memory; "no knowledge base yet" is cached briefly, because finding one
by name lists every knowledge base in the account.

The vector store is the deployment's choice (`storage`). Bedrock does not create the vector index,
and each knowledge base should have its own, so `storage` may be a function of (tenant, agent) that
returns (and may provision) that agent's index: S3 Vectors suits many small per-agent indexes (no
cluster to pay for); OpenSearch Serverless when hybrid search is wanted. A fixed mapping shares one
index between all knowledge bases.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from oratio.errors import BackendUnavailable
from oratio.knowledge.bedrock.common import BedrockKnowledgeConfig, Target, backend, error_code

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent import AgentsforBedrockClient
    from mypy_boto3_bedrock_agent.type_defs import CreateDataSourceRequestTypeDef, KnowledgeBaseSummaryTypeDef

logger = logging.getLogger("oratio.knowledge.bedrock")

NAME_PREFIX = "oratio"
NAME_MAX = 100  # Bedrock's limit on knowledge base names
DATA_SOURCE_NAME = "oratio-documents"
TENANT_TAG = "oratio:tenant_id"
AGENT_TAG = "oratio:agent_id"
_WAITABLE = frozenset({"CREATING", "UPDATING"})


def knowledge_base_name(tenant_id: str, agent_id: str) -> str:
    """`oratio-{tenant}-{agent}`; a digest of the pair when that would be over Bedrock's 100 characters.

    A digest name has no underscore, so it can never equal a plain name (ids always have one).
    """
    name = f"{NAME_PREFIX}-{tenant_id}-{agent_id}"
    if len(name) <= NAME_MAX:
        return name
    return f"{NAME_PREFIX}-{hashlib.sha256(f'{tenant_id}/{agent_id}'.encode()).hexdigest()[:40]}"


class Provisioner:
    """Each agent's knowledge base and data source: found by name or created once, their ids cached in memory."""

    def __init__(
        self,
        agent_client: AgentsforBedrockClient,
        config: BedrockKnowledgeConfig,
        *,
        partition: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._agent = agent_client
        self._config = config
        self._prefix = config.prefix if config.prefix == "" or config.prefix.endswith("/") else f"{config.prefix}/"
        self._bucket_arn = f"arn:{partition}:s3:::{config.bucket}"
        self._sleep = sleep
        self._clock = clock
        self._targets: dict[tuple[str, str], Target] = {}
        self._misses: dict[tuple[str, str], float] = {}  # key -> when the miss stops being believed
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def clear(self) -> None:
        """Forget every cached id (on close)."""
        with self._guard:
            self._targets.clear()
            self._misses.clear()

    def agent_folder(self, tenant_id: str, agent_id: str) -> str:
        return f"{self._prefix}{tenant_id}/{agent_id}/"

    def _lock_for(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _remember(self, key: tuple[str, str], target: Target) -> Target:
        with self._guard:
            self._targets[key] = target
            self._misses.pop(key, None)
        return target

    def forget(self, tenant_id: str, agent_id: str) -> None:
        with self._guard:
            self._targets.pop((tenant_id, agent_id), None)
            self._misses.pop((tenant_id, agent_id), None)

    def lookup(self, tenant_id: str, agent_id: str, *, trust_miss: bool = True) -> Target | None:
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
        return self._remember(key, Target(summary["knowledgeBaseId"], None))

    def _find_by_name(self, name: str) -> KnowledgeBaseSummaryTypeDef | None:
        with backend("list knowledge bases"):
            pages = self._agent.get_paginator("list_knowledge_bases").paginate(PaginationConfig={"PageSize": 1000})
            for page in pages:
                for summary in page["knowledgeBaseSummaries"]:
                    if summary["name"] == name:
                        return summary
        return None

    def ensure(self, tenant_id: str, agent_id: str) -> Target:
        """The agent's knowledge base and data source, created if missing (once per process at a time)."""
        key = (tenant_id, agent_id)
        with self._lock_for(key):
            target = self.lookup(tenant_id, agent_id, trust_miss=False)
            if target is None:
                target = self._remember(key, Target(self._create_knowledge_base(tenant_id, agent_id), None))
            return self.with_data_source(tenant_id, agent_id, target, create=True)

    def _create_knowledge_base(self, tenant_id: str, agent_id: str) -> str:
        name = knowledge_base_name(tenant_id, agent_id)
        storage = self._config.storage
        try:
            with backend("create the agent's knowledge base", passthrough=frozenset({"ConflictException"})):
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
            if error_code(exc) != "ConflictException":
                raise  # a ValidationException: our request is wrong
            # Another process created it first (names are unique): use theirs.
            summary = self._find_by_name(name)
            if summary is None:
                raise BackendUnavailable(
                    f"the knowledge base could not be created ({error_code(exc)}); retry shortly"
                ) from exc
            return summary["knowledgeBaseId"]
        knowledge_base_id = out["knowledgeBase"]["knowledgeBaseId"]
        logger.info("tenant=%s agent=%s kb=%s | knowledge base created", tenant_id, agent_id, knowledge_base_id)
        return knowledge_base_id

    def with_data_source(self, tenant_id: str, agent_id: str, target: Target, *, create: bool) -> Target:
        if target.data_source_id is not None:
            return target
        if create:
            self._wait_until_active(target.knowledge_base_id)
        data_source_id = self._find_data_source(target.knowledge_base_id)
        if data_source_id is None and create:
            data_source_id = self._create_data_source(tenant_id, agent_id, target.knowledge_base_id)
        if data_source_id is None:
            return target
        return self._remember((tenant_id, agent_id), Target(target.knowledge_base_id, data_source_id))

    def _wait_until_active(self, knowledge_base_id: str) -> None:
        deadline = self._clock() + self._config.active_timeout_s
        while True:
            with backend("read the knowledge base's status"):
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
        with backend("list data sources"):
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
                    "inclusionPrefixes": [self.agent_folder(tenant_id, agent_id)],
                },
            },
            "dataDeletionPolicy": "DELETE",  # deleting the data source deletes its vectors
        }
        if self._config.vector_ingestion is not None:
            request["vectorIngestionConfiguration"] = self._config.vector_ingestion
        try:
            with backend("create the agent's data source", passthrough=frozenset({"ConflictException"})):
                out = self._agent.create_data_source(**request)
        except ClientError as exc:
            if error_code(exc) != "ConflictException":
                raise  # a ValidationException: our request is wrong
            found = self._find_data_source(knowledge_base_id)  # created concurrently: use that one
            if found is None:
                raise BackendUnavailable(
                    f"the data source could not be created ({error_code(exc)}); retry shortly"
                ) from exc
            return found
        data_source_id = out["dataSource"]["dataSourceId"]
        logger.info("tenant=%s agent=%s data_source=%s | data source created", tenant_id, agent_id, data_source_id)
        return data_source_id

    def sync(self, tenant_id: str, agent_id: str, target: Target) -> str:
        assert target.data_source_id is not None
        try:
            with backend("start a sync", passthrough=frozenset({"ResourceNotFoundException"})):
                out = self._agent.start_ingestion_job(
                    knowledgeBaseId=target.knowledge_base_id,
                    dataSourceId=target.data_source_id,
                    description="oratio: documents changed",
                )
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise  # a ValidationException: our request is wrong
            # Deleted behind our back: forget it, so the next ingest creates it anew.
            self.forget(tenant_id, agent_id)
            raise BackendUnavailable(
                f"the knowledge base could not start a sync ({error_code(exc)}); retry shortly"
            ) from exc
        return out["ingestionJob"]["ingestionJobId"]


__all__ = ["Provisioner", "knowledge_base_name"]
