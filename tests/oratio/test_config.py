"""Configuration is validated at start, with messages that name the variable to fix."""

from __future__ import annotations

import json
from pathlib import Path

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


SHARED_REPLICA_STATE = {
    "ORATIO_STORE": "dynamodb",
    "ORATIO_BLOBS": "s3",
    "ORATIO_S3_BUCKET": "oratio-data",
    "ORATIO_KNOWLEDGE": "bedrock",
    "ORATIO_BEDROCK_KB_ROLE_ARN": "arn:aws:iam::123456789012:role/oratio-kb",
    "ORATIO_BEDROCK_EMBEDDING_MODEL_ARN": TITAN,
    "ORATIO_BEDROCK_KB_STORAGE": json.dumps({"type": "S3_VECTORS"}),
    "ORATIO_JWT_SECRET": "j" * 32,
    "ORATIO_WEBHOOK_SECRET": "w" * 32,
    "ORATIO_MCP_REQUEST_STATE_KEYS": "r" * 32 + "," + "o" * 32,
    "ORATIO_KMS_KEY_ID": "alias/oratio",
    "ORATIO_RATE_LIMIT_STATE": "store",
}


def test_replicas_start_when_every_piece_of_state_is_shared() -> None:
    settings = load_settings({**SHARED_REPLICA_STATE, "ORATIO_REPLICAS": "3"})
    assert settings.replicas == 3
    assert settings.resolved_request_state_keys() == ["r" * 32, "o" * 32]


@pytest.mark.parametrize(
    ("dropped", "named"),
    [
        ("ORATIO_STORE", "ORATIO_STORE=dynamodb"),
        ("ORATIO_BLOBS", "ORATIO_BLOBS=s3"),
        ("ORATIO_KNOWLEDGE", "ORATIO_KNOWLEDGE=bedrock"),
        ("ORATIO_JWT_SECRET", "ORATIO_JWT_SECRET"),
        ("ORATIO_WEBHOOK_SECRET", "ORATIO_WEBHOOK_SECRET"),
        ("ORATIO_MCP_REQUEST_STATE_KEYS", "ORATIO_MCP_REQUEST_STATE_KEYS"),
        ("ORATIO_KMS_KEY_ID", "ORATIO_KMS_KEY_ID or ORATIO_SECRETS_KEY"),
        ("ORATIO_RATE_LIMIT_STATE", "ORATIO_RATE_LIMIT_STATE=store"),
    ],
)
def test_replicas_refuse_state_that_lives_in_one_process(dropped: str, named: str) -> None:
    env = {key: value for key, value in SHARED_REPLICA_STATE.items() if key != dropped}
    assert load_settings(env).replicas == 1  # one process is fine with it
    with pytest.raises(ConfigError) as caught:
        load_settings({**env, "ORATIO_REPLICAS": "2"})
    assert named in caught.value.message and "ORATIO_REPLICAS=2" in caught.value.message


def test_the_default_is_one_replica_with_everything_generated_locally(tmp_path: Path) -> None:
    settings = load_settings({"ORATIO_DATA_DIR": str(tmp_path)})
    (key,) = settings.resolved_request_state_keys()
    assert len(key) == 64 and settings.resolved_request_state_keys() == [key]  # kept across calls and restarts
    assert (tmp_path / "mcp-request-state.key").stat().st_mode & 0o777 == 0o600


def test_a_short_request_state_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"ORATIO_MCP_REQUEST_STATE_KEYS": "k" * 32 + ",tooshort-secret"})
    assert "ORATIO_MCP_REQUEST_STATE_KEYS" in caught.value.message and "tooshort" not in caught.value.message


OIDC = {
    "ORATIO_OIDC_DISCOVERY_URL": "https://issuer.example/.well-known/openid-configuration",
    "ORATIO_OIDC_CLIENT_ID": "dashboard",
}


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ORATIO_OIDC_CLIENT_ID": "dashboard"}, "go together"),
        ({**OIDC, "ORATIO_OIDC_DISCOVERY_URL": "http://issuer.example/.well-known/openid-configuration"}, "https"),
        ({**OIDC, "ORATIO_OIDC_DISCOVERY_URL": "https://issuer.example/"}, "ending in /.well-known"),
        ({"ORATIO_SIGNIN_PASSWORDS": "false"}, "nobody could sign in"),
        ({**OIDC, "ORATIO_OIDC_NAME": "<script>"}, "ORATIO_OIDC_NAME"),
        ({"ORATIO_OIDC_CLIENT_SECRET": "s3cret-value-here"}, "needs ORATIO_OIDC_DISCOVERY_URL"),
    ],
)
def test_oidc_sign_in_settings_are_checked_and_the_secret_never_shows(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert says in caught.value.message and "s3cret" not in caught.value.message
    settings = load_settings({**OIDC, "ORATIO_OIDC_CLIENT_SECRET": "s3cret-value-here", "ORATIO_SIGNIN_PASSWORDS": "0"})
    assert "s3cret" not in repr(settings) and settings.signin_passwords is False
    local = "http://127.0.0.1:9400/.well-known/openid-configuration"  # a developer's issuer on loopback
    assert load_settings({**OIDC, "ORATIO_OIDC_DISCOVERY_URL": local}).oidc_discovery_url == local
