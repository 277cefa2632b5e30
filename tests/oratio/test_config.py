"""Configuration is validated at start, with messages that name the variable to fix."""

from __future__ import annotations

import json

import pytest

from oratio.config import KnowledgeBackend, load_settings
from oratio.errors import ConfigError


def test_defaults_are_the_embedded_platform() -> None:
    settings = load_settings({})
    assert (settings.store.value, settings.blobs.value, settings.knowledge.value) == ("sqlite", "local", "local")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ORATIO_STORE": "mongo"}, "ORATIO_STORE"),
        ({"ORATIO_BLOBS": "s3"}, "ORATIO_S3_BUCKET"),
        ({"ORATIO_JWT_SECRET": "short"}, "ORATIO_JWT_SECRET"),
        ({"ORATIO_KEY_BURST": "0"}, "ORATIO_KEY_BURST"),
        ({"ORATIO_KNOWLEDGE": "bedrock"}, "ORATIO_BEDROCK_KB_ROLE_ARN"),
        ({"ORATIO_BEDROCK_KB_STORAGE": "{not json"}, "ORATIO_BEDROCK_KB_STORAGE"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert named in caught.value.message


def test_a_refused_secret_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"ORATIO_JWT_SECRET": "hunter2-hunter2"})
    assert "hunter2" not in caught.value.message


TITAN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"


def test_bedrock_knowledge_needs_its_settings_and_takes_storage_as_json() -> None:
    storage = {"type": "S3_VECTORS", "s3VectorsConfiguration": {"indexArn": "arn:aws:s3vectors:us-east-1:1:x"}}
    settings = load_settings(
        {
            "ORATIO_KNOWLEDGE": "bedrock",
            "ORATIO_S3_BUCKET": "oratio-kb",
            "ORATIO_BEDROCK_KB_ROLE_ARN": "arn:aws:iam::123456789012:role/oratio-kb",
            "ORATIO_BEDROCK_EMBEDDING_MODEL_ARN": TITAN,
            "ORATIO_BEDROCK_KB_STORAGE": json.dumps(storage),
        }
    )
    assert settings.knowledge is KnowledgeBackend.BEDROCK
    assert settings.bedrock_kb_storage == storage


def test_secrets_do_not_show_in_repr() -> None:
    secret = "s" * 40
    assert secret not in repr(load_settings({"ORATIO_JWT_SECRET": secret}))


@pytest.mark.parametrize(
    "env",
    [
        {"ORATIO_INGEST_TIMEOUT_SECONDS": "0"},
        {"ORATIO_INGEST_WORKERS": "0"},
        {"ORATIO_INGEST_WORKERS": "2", "ORATIO_INGEST_WORKERS_PER_TENANT": "3"},
        {"ORATIO_INGEST_MEMORY_MB": "-1"},
        {"ORATIO_INGEST_QUEUE_TOTAL": "2", "ORATIO_INGEST_QUEUE_PER_TENANT": "3"},
    ],
)
def test_extraction_limits_are_checked_at_start(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert list(env)[-1] in caught.value.message
