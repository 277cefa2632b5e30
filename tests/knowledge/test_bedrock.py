"""BedrockKnowledgeBase against a real moto_server (S3, and the knowledge-base operations moto serves).

moto 5.2 serves bedrock-agent's knowledge bases (create, get, list, delete, tags) but not data sources
or ingestion jobs, and no bedrock-agent-runtime at all. So:

- `SyncApiFake` answers CreateDataSource, ListDataSources, StartIngestionJob, GetIngestionJob and
  ListIngestionJobs on the moto-backed client through botocore's own hooks: botocore still validates
  and serialises each request against the real service model, only the HTTP round trip is replaced,
  and every answer is checked against the model's output shape (as `Stubber` does).
- `retrieve` is stubbed with `botocore.stub.Stubber`, asserting the exact request.
- The request sequences moto cannot play (a knowledge base still CREATING, FAILED, a name conflict,
  S3 Vectors storage, which moto rejects) run on a fully stubbed bedrock-agent client.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from oratio.errors import BackendUnavailable, InvalidInput
from oratio.knowledge.bedrock.common import BedrockKnowledgeConfig
from oratio.knowledge.bedrock.knowledge_base import BedrockKnowledgeBase
from oratio.knowledge.bedrock.provisioning import knowledge_base_name
from oratio.knowledge.ports import IngestResult, KnowledgeBase
from schemas import Document, DocumentFormat
from tests.aws import REGION, MotoServer

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent import AgentsforBedrockClient
    from mypy_boto3_bedrock_agent.type_defs import StorageConfigurationTypeDef
    from mypy_boto3_bedrock_agent_runtime import AgentsforBedrockRuntimeClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.aws

ROLE_ARN = "arn:aws:iam::123456789012:role/oratio-knowledge"
EMBEDDING_ARN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
OPENSEARCH: StorageConfigurationTypeDef = {
    "type": "OPENSEARCH_SERVERLESS",
    "opensearchServerlessConfiguration": {
        "collectionArn": "arn:aws:aoss:us-east-1:123456789012:collection/oratio",
        "vectorIndexName": "oratio-knowledge",
        "fieldMapping": {"vectorField": "vector", "textField": "text", "metadataField": "metadata"},
    },
}
SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzzzSECRET"
_unique = itertools.count()


def _pair() -> tuple[str, str]:
    """A fresh (tenant, agent): the moto server lives for the whole test session."""
    n = next(_unique)
    return f"tnt_{n}x{uuid.uuid4().hex[:8]}", f"agt_{n}"


def _document(
    tenant: str,
    agent: str,
    doc_id: str = "doc_1",
    name: str = "Refund policy.md",
    fmt: DocumentFormat = DocumentFormat.MARKDOWN,
) -> Document:
    return Document(
        id=doc_id,
        tenant_id=tenant,
        agent_id=agent,
        name=name,
        format=fmt,
        size_bytes=42,
        sha256="0" * 64,
        blob_key=f"{tenant}/documents/{agent}/{doc_id}/{'0' * 64}",
    )


def _runtime_client() -> AgentsforBedrockRuntimeClient:
    return boto3.client(
        "bedrock-agent-runtime", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key=SECRET
    )


def _agent_client() -> AgentsforBedrockClient:
    return boto3.client("bedrock-agent", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key=SECRET)


def _aws_time() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class SyncApiFake:
    """The data-source and ingestion-job operations moto does not serve, on the moto-backed client."""

    OPERATIONS = ("CreateDataSource", "ListDataSources", "StartIngestionJob", "GetIngestionJob", "ListIngestionJobs")

    def __init__(self, client: AgentsforBedrockClient) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.data_sources: dict[str, list[dict[str, Any]]] = {}  # knowledge base id -> data sources
        self.jobs: dict[str, list[dict[str, Any]]] = {}  # data source id -> ingestion jobs, oldest first
        self.errors: dict[str, list[tuple[str, str]]] = {}  # operation -> queued (code, message)
        self._model = client.meta.service_model
        for operation in self.OPERATIONS:
            client.meta.events.register(f"before-parameter-build.bedrock-agent.{operation}", self._capture)
            # A before-call handler that returns (http, parsed) replaces the HTTP round trip (the stubs say None).
            answer = cast(Callable[..., None], self._answer)
            client.meta.events.register(f"before-call.bedrock-agent.{operation}", answer)

    def called(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def fail_next(self, operation: str, code: str, message: str) -> None:
        self.errors.setdefault(operation, []).append((code, message))

    def finish_jobs(self, status: str = "COMPLETE") -> None:
        for jobs in self.jobs.values():
            for job in jobs:
                job["status"] = status

    def _capture(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["fake_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        operation: str = model.name
        params: dict[str, Any] = context["fake_params"]
        self.calls.append((operation, params))
        queued = self.errors.get(operation)
        if queued:
            code, message = queued.pop(0)
            status = 409 if code == "ConflictException" else 400
            return AWSResponse("", status, HTTPHeaders(), None), {"Error": {"Code": code, "Message": message}}
        response: dict[str, Any] = getattr(self, f"_{operation}")(params)
        shape = self._model.operation_model(operation).output_shape
        assert shape is not None
        validate_parameters(response, shape)
        return AWSResponse("", 200, HTTPHeaders(), None), response

    def _CreateDataSource(self, params: dict[str, Any]) -> dict[str, Any]:
        now = _aws_time()
        source = {
            "knowledgeBaseId": params["knowledgeBaseId"],
            "dataSourceId": uuid.uuid4().hex[:10].upper(),
            "name": params["name"],
            "status": "AVAILABLE",
            "dataSourceConfiguration": params["dataSourceConfiguration"],
            "dataDeletionPolicy": params.get("dataDeletionPolicy", "RETAIN"),
            "createdAt": now,
            "updatedAt": now,
        }
        self.data_sources.setdefault(params["knowledgeBaseId"], []).append(source)
        return {"dataSource": source}

    def _ListDataSources(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = ("knowledgeBaseId", "dataSourceId", "name", "status", "updatedAt")
        sources = self.data_sources.get(params["knowledgeBaseId"], [])
        return {"dataSourceSummaries": [{k: source[k] for k in keys} for source in sources]}

    def _StartIngestionJob(self, params: dict[str, Any]) -> dict[str, Any]:
        now = _aws_time()
        job = {
            "knowledgeBaseId": params["knowledgeBaseId"],
            "dataSourceId": params["dataSourceId"],
            "ingestionJobId": uuid.uuid4().hex[:10].upper(),
            "status": "STARTING",
            "startedAt": now,
            "updatedAt": now,
        }
        self.jobs.setdefault(params["dataSourceId"], []).append(job)
        return {"ingestionJob": dict(job)}

    def _GetIngestionJob(self, params: dict[str, Any]) -> dict[str, Any]:
        job = next(j for j in self.jobs[params["dataSourceId"]] if j["ingestionJobId"] == params["ingestionJobId"])
        detail = dict(job, statistics={"numberOfDocumentsScanned": 2, "numberOfDocumentsFailed": 0})
        return {"ingestionJob": detail}

    def _ListIngestionJobs(self, params: dict[str, Any]) -> dict[str, Any]:
        jobs = list(reversed(self.jobs.get(params["dataSourceId"], [])))  # newest first, as asked
        assert params["sortBy"] == {"attribute": "STARTED_AT", "order": "DESCENDING"}
        return {"ingestionJobSummaries": [dict(job) for job in jobs[: params.get("maxResults", 100)]]}


@dataclass
class Env:
    kb: BedrockKnowledgeBase
    agent_client: AgentsforBedrockClient
    s3: S3Client
    bucket: str
    fake: SyncApiFake
    retrieve: Stubber
    runtime: AgentsforBedrockRuntimeClient
    tenant: str
    agent: str
    sleeps: list[float] = field(default_factory=list)

    def adapter(self, **changes: Any) -> BedrockKnowledgeBase:
        """Another adapter on the same AWS (a second process: empty caches)."""
        settings: dict[str, Any] = {"bucket": self.bucket, **changes}
        return BedrockKnowledgeBase(self.agent_client, self.runtime, self.s3, _config(**settings))

    def objects(self) -> dict[str, bytes]:
        out = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"knowledge/{self.tenant}/{self.agent}/")
        keys = [obj["Key"] for obj in out.get("Contents", [])]
        prefix = f"knowledge/{self.tenant}/{self.agent}/"
        return {key[len(prefix) :]: self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read() for key in keys}

    def knowledge_bases(self) -> list[dict[str, Any]]:
        name = knowledge_base_name(self.tenant, self.agent)
        summaries = self.agent_client.list_knowledge_bases(maxResults=1000)["knowledgeBaseSummaries"]
        return [dict(summary) for summary in summaries if summary["name"] == name]

    def knowledge_base_id(self) -> str:
        [summary] = self.knowledge_bases()
        knowledge_base_id: str = summary["knowledgeBaseId"]
        return knowledge_base_id


def _config(**changes: Any) -> BedrockKnowledgeConfig:
    settings: dict[str, Any] = {
        "bucket": "unused",
        "role_arn": ROLE_ARN,
        "embedding_model_arn": EMBEDDING_ARN,
        "storage": OPENSEARCH,
        "miss_ttl_s": 0.0,
        **changes,
    }
    return BedrockKnowledgeConfig(**settings)


@pytest.fixture
def env(moto: MotoServer) -> Iterator[Env]:
    s3: S3Client = moto.client("s3")
    bucket = f"oratio-knowledge-{next(_unique)}"
    s3.create_bucket(Bucket=bucket)
    agent_client: AgentsforBedrockClient = moto.client("bedrock-agent")
    fake = SyncApiFake(agent_client)
    runtime = _runtime_client()
    tenant, agent = _pair()
    sleeps: list[float] = []
    kb = BedrockKnowledgeBase(agent_client, runtime, s3, _config(bucket=bucket), sleep=sleeps.append)
    with Stubber(runtime) as retrieve:
        yield Env(kb, agent_client, s3, bucket, fake, retrieve, runtime, tenant, agent, sleeps)
        retrieve.assert_no_pending_responses()
    kb.close()


def test_is_a_knowledge_base(env: Env) -> None:
    port: KnowledgeBase = env.kb  # structural check, by mypy
    assert port is env.kb


# -- creation and reuse ----------------------------------------------------------------------


def test_first_ingest_creates_the_knowledge_base_and_data_source(env: Env) -> None:
    result = env.kb.ingest(_document(env.tenant, env.agent), b"# Refunds\nWithin 14 days.")

    assert result == IngestResult(chunk_count=0, pages=0)
    [summary] = env.knowledge_bases()
    assert summary["name"] == f"oratio-{env.tenant}-{env.agent}"
    created = env.agent_client.get_knowledge_base(knowledgeBaseId=summary["knowledgeBaseId"])["knowledgeBase"]
    assert created["roleArn"] == ROLE_ARN
    assert created["knowledgeBaseConfiguration"] == {
        "type": "VECTOR",
        "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": EMBEDDING_ARN},
    }
    assert created["storageConfiguration"] == OPENSEARCH
    tags = env.agent_client.list_tags_for_resource(resourceArn=created["knowledgeBaseArn"])["tags"]
    assert tags == {"oratio:tenant_id": env.tenant, "oratio:agent_id": env.agent}

    [source] = env.fake.called("CreateDataSource")
    assert source["knowledgeBaseId"] == summary["knowledgeBaseId"]
    assert source["name"] == "oratio-documents"
    assert source["dataDeletionPolicy"] == "DELETE"
    assert source["dataSourceConfiguration"] == {
        "type": "S3",
        "s3Configuration": {
            "bucketArn": f"arn:aws:s3:::{env.bucket}",
            "inclusionPrefixes": [f"knowledge/{env.tenant}/{env.agent}/"],
        },
    }
    data_source_id = env.fake.data_sources[summary["knowledgeBaseId"]][0]["dataSourceId"]
    [sync] = env.fake.called("StartIngestionJob")
    assert (sync["knowledgeBaseId"], sync["dataSourceId"]) == (summary["knowledgeBaseId"], data_source_id)


def test_later_ingests_reuse_the_knowledge_base_and_data_source(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1"), b"one")
    env.kb.ingest(_document(env.tenant, env.agent, "doc_2", "Shipping.md"), b"two")

    assert len(env.knowledge_bases()) == 1
    assert len(env.fake.called("CreateDataSource")) == 1
    assert env.fake.called("ListDataSources") == [{"knowledgeBaseId": env.knowledge_base_id()}]  # once, then cached
    syncs = env.fake.called("StartIngestionJob")
    assert len(syncs) == 2 and syncs[0]["dataSourceId"] == syncs[1]["dataSourceId"]


def test_another_process_finds_the_knowledge_base_by_name(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1"), b"one")
    other = env.adapter()
    other.ingest(_document(env.tenant, env.agent, "doc_2", "Shipping.md"), b"two")

    assert len(env.knowledge_bases()) == 1
    assert len(env.fake.called("CreateDataSource")) == 1
    assert len(env.fake.called("StartIngestionJob")) == 2


def test_agents_get_separate_knowledge_bases(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent), b"one")
    env.kb.ingest(_document(env.tenant, "agt_other"), b"two")

    names = {s["name"] for s in env.agent_client.list_knowledge_bases(maxResults=1000)["knowledgeBaseSummaries"]}
    assert {f"oratio-{env.tenant}-{env.agent}", f"oratio-{env.tenant}-agt_other"} <= names
    prefixes = [
        c["dataSourceConfiguration"]["s3Configuration"]["inclusionPrefixes"]
        for c in env.fake.called("CreateDataSource")
    ]
    assert prefixes == [[f"knowledge/{env.tenant}/{env.agent}/"], [f"knowledge/{env.tenant}/agt_other/"]]


def test_storage_can_depend_on_the_agent(env: Env) -> None:
    seen: list[tuple[str, str]] = []

    def storage(tenant_id: str, agent_id: str) -> StorageConfigurationTypeDef:
        seen.append((tenant_id, agent_id))
        return {
            "type": "OPENSEARCH_SERVERLESS",
            "opensearchServerlessConfiguration": {
                "collectionArn": "arn:aws:aoss:us-east-1:123456789012:collection/oratio",
                "vectorIndexName": f"kb-{agent_id}",
                "fieldMapping": {"vectorField": "vector", "textField": "text", "metadataField": "metadata"},
            },
        }

    env.adapter(storage=storage).ingest(_document(env.tenant, env.agent), b"one")

    assert seen == [(env.tenant, env.agent)]
    created = env.agent_client.get_knowledge_base(knowledgeBaseId=env.knowledge_base_id())["knowledgeBase"]
    assert created["storageConfiguration"]["opensearchServerlessConfiguration"]["vectorIndexName"] == (
        f"kb-{env.agent}"
    )


# -- the files in S3 ---------------------------------------------------------------------------


def test_ingest_stores_the_file_and_its_metadata(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1", "Refund policy.md"), b"# Refunds")

    objects = env.objects()
    assert set(objects) == {"doc_1/Refund_policy.md", "doc_1/Refund_policy.md.metadata.json"}
    assert objects["doc_1/Refund_policy.md"] == b"# Refunds"
    assert json.loads(objects["doc_1/Refund_policy.md.metadata.json"]) == {
        "metadataAttributes": {
            "document_id": "doc_1",
            "document_name": "Refund policy.md",
            "tenant_id": env.tenant,
            "agent_id": env.agent,
        }
    }
    head = env.s3.head_object(Bucket=env.bucket, Key=f"knowledge/{env.tenant}/{env.agent}/doc_1/Refund_policy.md")
    assert head["ContentType"] == "text/markdown"


@pytest.mark.parametrize(
    ("name", "fmt", "stored"),
    [
        ("Refund policy", DocumentFormat.MARKDOWN, "Refund_policy.md"),
        ("Annual report.PDF", DocumentFormat.PDF, "Annual_report.PDF"),
        ("../../etc/passwd", DocumentFormat.TEXT, "etc_passwd.txt"),
        ("été", DocumentFormat.HTML, "t_.html"),
        ("...", DocumentFormat.TEXT, "document.txt"),
    ],
)
def test_stored_file_names_are_plain_and_carry_bedrocks_extension(
    env: Env, name: str, fmt: DocumentFormat, stored: str
) -> None:
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1", name, fmt), b"content")

    assert set(env.objects()) == {f"doc_1/{stored}", f"doc_1/{stored}.metadata.json"}


def test_reupload_replaces_the_earlier_files(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1", "Old name.md"), b"old")
    env.kb.ingest(_document(env.tenant, env.agent, "doc_2", "Other.md"), b"other")
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1", "New name.md"), b"new")

    objects = env.objects()
    assert set(objects) == {
        "doc_1/New_name.md",
        "doc_1/New_name.md.metadata.json",
        "doc_2/Other.md",
        "doc_2/Other.md.metadata.json",
    }
    assert objects["doc_1/New_name.md"] == b"new"
    assert json.loads(objects["doc_1/New_name.md.metadata.json"])["metadataAttributes"]["document_name"] == (
        "New name.md"
    )
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1", "New name.md"), b"newer")
    assert env.objects()["doc_1/New_name.md"] == b"newer"
    assert len(env.fake.called("StartIngestionJob")) == 4


# -- remove ------------------------------------------------------------------------------------


def test_remove_deletes_the_files_and_syncs(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1"), b"one")
    env.kb.ingest(_document(env.tenant, env.agent, "doc_2", "Other.md"), b"two")

    env.kb.remove(env.tenant, env.agent, "doc_1")

    assert set(env.objects()) == {"doc_2/Other.md", "doc_2/Other.md.metadata.json"}
    assert len(env.fake.called("StartIngestionJob")) == 3
    # Retrying (say the sync was refused the first time) syncs again, so the chunks do go.
    env.kb.remove(env.tenant, env.agent, "doc_1")
    assert len(env.fake.called("StartIngestionJob")) == 4


def test_remove_without_a_knowledge_base_creates_nothing(env: Env) -> None:
    env.kb.remove(env.tenant, env.agent, "doc_1")

    assert env.knowledge_bases() == []
    assert env.fake.calls == []


# -- search ------------------------------------------------------------------------------------


def _result(
    env: Env,
    text: str,
    score: float,
    *,
    document_id: str | None = "doc_1",
    tenant: str | None = None,
    page: float | None = None,
) -> dict[str, Any]:
    uri = f"s3://{env.bucket}/knowledge/{env.tenant}/{env.agent}/{document_id}/Refund_policy.pdf"
    metadata: dict[str, Any] = {
        "x-amz-bedrock-kb-source-uri": uri,
        "x-amz-bedrock-kb-chunk-id": "1%3A0%3AbXl4ZWhz",
        "x-amz-bedrock-kb-data-source-id": "DS12345678",
        "document_name": "Refund policy.pdf",
        "tenant_id": tenant or env.tenant,
        "agent_id": env.agent,
    }
    if document_id is not None:
        metadata["document_id"] = document_id
    if page is not None:
        metadata["x-amz-bedrock-kb-document-page-number"] = page
    return {
        "content": {"type": "TEXT", "text": text},
        "location": {"type": "S3", "s3Location": {"uri": uri}},
        "score": score,
        "metadata": metadata,
    }


def _expected_retrieve(env: Env, query: str, k: int) -> dict[str, Any]:
    return {
        "knowledgeBaseId": env.knowledge_base_id(),
        "retrievalQuery": {"text": query},
        "retrievalConfiguration": {
            "vectorSearchConfiguration": {
                "numberOfResults": k,
                "filter": {
                    "andAll": [
                        {"equals": {"key": "tenant_id", "value": env.tenant}},
                        {"equals": {"key": "agent_id", "value": env.agent}},
                    ]
                },
            }
        },
    }


def test_search_retrieves_with_the_tenant_filter_and_maps_results(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent, "doc_1", "Refund policy.pdf", DocumentFormat.PDF), b"%PDF-1.7")
    results = [
        _result(env, "Refunds are issued within 14 days of the return.", 0.82, page=3.0),
        _result(env, "Shipping is free above 50 EUR.", 0.61, document_id="doc_2"),
        _result(env, "Another tenant's secret.", 0.99, tenant="tnt_intruder"),
        _result(env, "A file nobody ingested.", 0.5, document_id=None),
    ]
    env.retrieve.add_response(
        "retrieve", {"retrievalResults": results}, _expected_retrieve(env, "how long do refunds take?", 4)
    )

    hits = env.kb.search(env.tenant, env.agent, "how long do refunds take?", k=4)

    assert [(h.chunk.document_id, h.document_name, h.chunk.location, h.score) for h in hits] == [
        ("doc_1", "Refund policy.pdf", "page 3", 0.82),
        ("doc_2", "Refund policy.pdf", "", 0.61),
    ]
    first = hits[0].chunk
    assert (first.tenant_id, first.agent_id, first.text) == (
        env.tenant,
        env.agent,
        "Refunds are issued within 14 days of the return.",
    )
    source = hits[0].to_source()
    assert (source.document_id, source.location, source.snippet) == ("doc_1", "page 3", first.text)


def test_search_asks_for_at_most_bedrocks_limit(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent), b"one")
    env.retrieve.add_response("retrieve", {"retrievalResults": []}, _expected_retrieve(env, "refunds", 100))

    assert env.kb.search(env.tenant, env.agent, "refunds", k=500) == []
    assert env.kb.search(env.tenant, env.agent, "refunds", k=0) == []  # no call at all


def test_search_on_an_agent_without_knowledge_base_is_empty(env: Env) -> None:
    assert env.kb.search(env.tenant, env.agent, "refunds") == []  # no retrieve: the stubber would refuse it
    assert env.knowledge_bases() == []


def test_no_knowledge_base_is_believed_for_a_while(env: Env) -> None:
    now = [0.0]
    kb = BedrockKnowledgeBase(
        env.agent_client, env.runtime, env.s3, _config(bucket=env.bucket, miss_ttl_s=30.0), clock=lambda: now[0]
    )
    listed: list[str] = []
    env.agent_client.meta.events.register(
        "before-call.bedrock-agent.ListKnowledgeBases", lambda **_: listed.append("list")
    )

    assert kb.search(env.tenant, env.agent, "refunds") == []
    assert kb.search(env.tenant, env.agent, "refunds") == []
    assert listed == ["list"]
    now[0] = 31.0
    assert kb.search(env.tenant, env.agent, "refunds") == []
    assert listed == ["list", "list"]
    kb.ingest(_document(env.tenant, env.agent), b"one")  # creating it is never held back by the miss
    assert len(env.knowledge_bases()) == 1


def test_search_after_the_knowledge_base_was_deleted_is_empty(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent), b"one")
    knowledge_base_id = env.knowledge_base_id()
    env.agent_client.delete_knowledge_base(knowledgeBaseId=knowledge_base_id)
    env.retrieve.add_client_error("retrieve", "ResourceNotFoundException", "Knowledge base not found", 404)

    assert env.kb.search(env.tenant, env.agent, "refunds") == []
    assert env.kb.search(env.tenant, env.agent, "refunds") == []  # looked up again: none, so no retrieve


def test_empty_query_is_invalid(env: Env) -> None:
    with pytest.raises(InvalidInput):
        env.kb.search(env.tenant, env.agent, "   ")


@pytest.mark.parametrize(("tenant", "agent"), [("../etc", "agt_1"), ("tnt_1", "agt_1/../agt_2"), ("TNT_1", "agt_1")])
def test_ids_that_are_not_platform_ids_are_refused(env: Env, tenant: str, agent: str) -> None:
    with pytest.raises(InvalidInput):
        env.kb.search(tenant, agent, "refunds")
    with pytest.raises(InvalidInput):
        env.kb.remove(tenant, agent, "doc_1")


# -- failures ----------------------------------------------------------------------------------


def test_s3_failure_is_backend_unavailable(env: Env) -> None:
    kb = env.adapter(bucket="oratio-no-such-bucket")

    with pytest.raises(BackendUnavailable, match="NoSuchBucket"):
        kb.ingest(_document(env.tenant, env.agent), b"one")
    assert env.fake.called("StartIngestionJob") == []


def test_unreachable_endpoint_is_backend_unavailable(env: Env) -> None:
    down: AgentsforBedrockClient = boto3.client(
        "bedrock-agent",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    kb = BedrockKnowledgeBase(down, env.runtime, env.s3, _config(bucket=env.bucket))

    with pytest.raises(BackendUnavailable, match="did not answer") as caught:
        kb.search(env.tenant, env.agent, "refunds")
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ValidationException", "There is an ongoing ingestion job for this data source. Try again later."),
        ("ConflictException", "Another ingestion job is running."),
    ],
)
def test_a_sync_already_running_is_backend_unavailable(env: Env, code: str, message: str) -> None:
    env.fake.fail_next("StartIngestionJob", code, message)

    with pytest.raises(BackendUnavailable, match="already syncing"):
        env.kb.ingest(_document(env.tenant, env.agent), b"one")
    assert "doc_1/Refund_policy.md" in env.objects()  # the file is in place: a retry just syncs
    env.kb.ingest(_document(env.tenant, env.agent), b"one")
    assert len(env.fake.called("StartIngestionJob")) == 2


def test_throttled_search_is_backend_unavailable_without_aws_details(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent), b"one")
    env.retrieve.add_client_error("retrieve", "ThrottlingException", f"Rate exceeded for key {SECRET}", 429)

    with pytest.raises(BackendUnavailable, match="ThrottlingException") as caught:
        env.kb.search(env.tenant, env.agent, "refunds")
    assert SECRET not in caught.value.message


def test_validation_exception_is_a_bug_and_raised_as_is(env: Env) -> None:
    env.kb.ingest(_document(env.tenant, env.agent), b"one")
    env.retrieve.add_client_error("retrieve", "ValidationException", "numberOfResults is out of range", 400)

    with pytest.raises(ClientError) as caught:
        env.kb.search(env.tenant, env.agent, "refunds")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


# -- the sync status ---------------------------------------------------------------------------


def test_ingestion_status_reports_the_latest_sync(env: Env) -> None:
    assert env.kb.ingestion_status(env.tenant, env.agent) is None
    env.kb.ingest(_document(env.tenant, env.agent), b"one")
    env.kb.ingest(_document(env.tenant, env.agent, "doc_2", "Other.md"), b"two")

    status = env.kb.ingestion_status(env.tenant, env.agent)
    assert status is not None and status.status == "STARTING"
    assert status.job_id == env.fake.jobs[next(iter(env.fake.jobs))][-1]["ingestionJobId"]
    env.fake.finish_jobs()
    status = env.adapter().ingestion_status(env.tenant, env.agent)
    assert status is not None
    assert (status.status, status.documents_failed, status.failure_reasons) == ("COMPLETE", 0, ())


# -- sequences moto cannot play: a fully stubbed bedrock-agent ---------------------------------


@dataclass
class Stubbed:
    kb: BedrockKnowledgeBase
    agent: Stubber
    bucket: str
    sleeps: list[float]


@pytest.fixture
def stubbed(moto: MotoServer) -> Iterator[Stubbed]:
    s3: S3Client = moto.client("s3")
    bucket = f"oratio-knowledge-{next(_unique)}"
    s3.create_bucket(Bucket=bucket)
    client = _agent_client()
    sleeps: list[float] = []

    def storage(tenant_id: str, agent_id: str) -> StorageConfigurationTypeDef:
        return {
            "type": "S3_VECTORS",
            "s3VectorsConfiguration": {
                "indexArn": f"arn:aws:s3vectors:us-east-1:123456789012:bucket/oratio-vectors/index/{agent_id}"
            },
        }

    kb = BedrockKnowledgeBase(
        client, _runtime_client(), s3, _config(bucket=bucket, storage=storage, poll_interval_s=0.5), sleep=sleeps.append
    )
    with Stubber(client) as agent:
        yield Stubbed(kb, agent, bucket, sleeps)
        agent.assert_no_pending_responses()


def _summary(name: str, status: str = "ACTIVE") -> dict[str, Any]:
    return {"knowledgeBaseId": "KB12345678", "name": name, "status": status, "updatedAt": _aws_time()}


def _knowledge_base(status: str) -> dict[str, Any]:
    now = _aws_time()
    return {
        "knowledgeBase": {
            "knowledgeBaseId": "KB12345678",
            "name": "oratio-tnt_s-agt_s",
            "knowledgeBaseArn": "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678",
            "roleArn": ROLE_ARN,
            "knowledgeBaseConfiguration": {"type": "VECTOR"},
            "status": status,
            "createdAt": now,
            "updatedAt": now,
            "failureReasons": ["The vector index does not exist"] if status == "FAILED" else [],
        }
    }


def _data_source() -> dict[str, Any]:
    now = _aws_time()
    return {
        "dataSource": {
            "knowledgeBaseId": "KB12345678",
            "dataSourceId": "DS12345678",
            "name": "oratio-documents",
            "status": "AVAILABLE",
            "dataSourceConfiguration": {"type": "S3"},
            "createdAt": now,
            "updatedAt": now,
        }
    }


def _job() -> dict[str, Any]:
    now = _aws_time()
    return {
        "ingestionJob": {
            "knowledgeBaseId": "KB12345678",
            "dataSourceId": "DS12345678",
            "ingestionJobId": "JOB1234567",
            "status": "STARTING",
            "startedAt": now,
            "updatedAt": now,
        }
    }


def test_first_ingest_waits_for_the_new_knowledge_base(stubbed: Stubbed) -> None:
    agent = stubbed.agent
    name = "oratio-tnt_s-agt_s"
    agent.add_response("list_knowledge_bases", {"knowledgeBaseSummaries": []}, {"maxResults": 1000})
    agent.add_response(
        "create_knowledge_base",
        _knowledge_base("CREATING"),
        {
            "name": name,
            "description": "Oratio knowledge of agent agt_s (tenant tnt_s)",
            "roleArn": ROLE_ARN,
            "knowledgeBaseConfiguration": {
                "type": "VECTOR",
                "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": EMBEDDING_ARN},
            },
            "storageConfiguration": {
                "type": "S3_VECTORS",
                "s3VectorsConfiguration": {
                    "indexArn": "arn:aws:s3vectors:us-east-1:123456789012:bucket/oratio-vectors/index/agt_s"
                },
            },
            "tags": {"oratio:tenant_id": "tnt_s", "oratio:agent_id": "agt_s"},
        },
    )
    agent.add_response("get_knowledge_base", _knowledge_base("CREATING"), {"knowledgeBaseId": "KB12345678"})
    agent.add_response("get_knowledge_base", _knowledge_base("ACTIVE"), {"knowledgeBaseId": "KB12345678"})
    agent.add_response("list_data_sources", {"dataSourceSummaries": []}, {"knowledgeBaseId": "KB12345678"})
    agent.add_response(
        "create_data_source",
        _data_source(),
        {
            "knowledgeBaseId": "KB12345678",
            "name": "oratio-documents",
            "description": "Documents of agent agt_s (tenant tnt_s)",
            "dataSourceConfiguration": {
                "type": "S3",
                "s3Configuration": {
                    "bucketArn": f"arn:aws:s3:::{stubbed.bucket}",
                    "inclusionPrefixes": ["knowledge/tnt_s/agt_s/"],
                },
            },
            "dataDeletionPolicy": "DELETE",
        },
    )
    agent.add_response(
        "start_ingestion_job",
        _job(),
        {
            "knowledgeBaseId": "KB12345678",
            "dataSourceId": "DS12345678",
            "description": "oratio: documents changed",
        },
    )

    assert stubbed.kb.ingest(_document("tnt_s", "agt_s"), b"one") == IngestResult(chunk_count=0, pages=0)
    assert stubbed.sleeps == [0.5]


def test_a_failed_knowledge_base_is_reported(stubbed: Stubbed) -> None:
    stubbed.agent.add_response("list_knowledge_bases", {"knowledgeBaseSummaries": [_summary("oratio-tnt_s-agt_s")]})
    stubbed.agent.add_response("get_knowledge_base", _knowledge_base("FAILED"))

    with pytest.raises(BackendUnavailable, match="failed; the operator must check"):
        stubbed.kb.ingest(_document("tnt_s", "agt_s"), b"one")


def test_a_knowledge_base_that_stays_creating_times_out(moto: MotoServer) -> None:
    client = _agent_client()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    kb = BedrockKnowledgeBase(
        client,
        _runtime_client(),
        moto.client("s3"),
        _config(active_timeout_s=5.0, poll_interval_s=2.0),
        sleep=sleep,
        clock=lambda: now[0],
    )
    with Stubber(client) as agent:
        agent.add_response("list_knowledge_bases", {"knowledgeBaseSummaries": [_summary("oratio-tnt_s-agt_s")]})
        for _ in range(4):  # at 0, 2, 4 and 6 s
            agent.add_response("get_knowledge_base", _knowledge_base("CREATING"))
        with pytest.raises(BackendUnavailable, match="still being created"):
            kb.ingest(_document("tnt_s", "agt_s"), b"one")
        agent.assert_no_pending_responses()


def test_a_knowledge_base_created_concurrently_is_adopted(stubbed: Stubbed) -> None:
    agent = stubbed.agent
    agent.add_response("list_knowledge_bases", {"knowledgeBaseSummaries": []})
    agent.add_client_error(
        "create_knowledge_base", "ConflictException", "KnowledgeBase with name oratio-tnt_s-agt_s already exists", 409
    )
    agent.add_response("list_knowledge_bases", {"knowledgeBaseSummaries": [_summary("oratio-tnt_s-agt_s")]})
    agent.add_response("get_knowledge_base", _knowledge_base("ACTIVE"))
    agent.add_response(
        "list_data_sources",
        {
            "dataSourceSummaries": [
                {
                    "knowledgeBaseId": "KB12345678",
                    "dataSourceId": "DS12345678",
                    "name": "oratio-documents",
                    "status": "AVAILABLE",
                    "updatedAt": _aws_time(),
                }
            ]
        },
    )
    agent.add_response("start_ingestion_job", _job())

    stubbed.kb.ingest(_document("tnt_s", "agt_s"), b"one")


def test_access_denied_is_backend_unavailable(stubbed: Stubbed) -> None:
    stubbed.agent.add_response("list_knowledge_bases", {"knowledgeBaseSummaries": []})
    stubbed.agent.add_client_error("create_knowledge_base", "AccessDeniedException", "not authorized", 403)

    with pytest.raises(BackendUnavailable, match="AccessDeniedException"):
        stubbed.kb.ingest(_document("tnt_s", "agt_s"), b"one")


# -- names -------------------------------------------------------------------------------------

_BEDROCK_NAME = r"([0-9a-zA-Z][_-]?){1,100}"


def test_knowledge_base_names_fit_bedrock() -> None:
    short = knowledge_base_name("tnt_01jd8x", "agt_01jd9y")
    assert short == "oratio-tnt_01jd8x-agt_01jd9y"
    long = knowledge_base_name("tnt_" + "a" * 60, "agt_" + "b" * 60)
    assert long != knowledge_base_name("tnt_" + "a" * 60, "agt_" + "b" * 59 + "c")
    for name in (short, long):
        assert len(name) <= 100 and re.fullmatch(_BEDROCK_NAME, name)
