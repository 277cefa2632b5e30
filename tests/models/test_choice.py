"""The automatic model choice: ORATIO_MODEL > AWS credentials (files/env, never the network) > local GGUF > none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oratio.config import load_settings
from oratio.models.choice import (
    LOCAL_STAGE_TIMEOUT,
    LOCAL_TURN_TIMEOUT,
    Probes,
    aws_credentials_found,
    choose_model,
)
from oratio.models.gguf_files import GGUF_MAGIC


@pytest.fixture(autouse=True)
def no_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with no AWS configuration at all: empty credential and config files, no AWS env."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ORATIO_")):
            monkeypatch.delenv(name)
    aws = tmp_path / "aws"
    aws.mkdir()
    (aws / "credentials").write_text("")
    (aws / "config").write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return aws


def _gguf(tmp_path: Path) -> Path:
    path = tmp_path / "mine.gguf"
    path.write_bytes(GGUF_MAGIC + b"weights")
    return path


NO_LOCAL = Probes(llama_cpp=lambda: False)
WITH_LLAMA_CPP = Probes(llama_cpp=lambda: True, catalog={})


def test_a_configured_model_wins_over_everything(no_aws: Path, tmp_path: Path) -> None:
    (no_aws / "credentials").write_text("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n")
    settings = load_settings({"ORATIO_MODEL": "ollama:qwen2.5:7b", "ORATIO_LOCAL_MODEL_PATH": str(_gguf(tmp_path))})

    choice = choose_model(settings, probes=WITH_LLAMA_CPP)

    assert (choice.spec, choice.source) == ("ollama:qwen2.5:7b", "configured")
    assert choice.line() == "model: ollama:qwen2.5:7b - set by ORATIO_MODEL"
    assert choice.apply(settings) == settings


def test_aws_credentials_in_a_file_and_a_region_choose_bedrock(no_aws: Path, tmp_path: Path) -> None:
    (no_aws / "credentials").write_text("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n")
    (no_aws / "config").write_text("[default]\nregion = eu-west-3\n")
    settings = load_settings({"ORATIO_LOCAL_MODEL_PATH": str(_gguf(tmp_path))})

    choice = choose_model(settings, probes=WITH_LLAMA_CPP)

    assert (choice.spec, choice.source) == ("bedrock?region=eu-west-3", "aws")
    assert "AWS credentials found, region eu-west-3" in choice.line()
    assert choice.apply(settings).model == "bedrock?region=eu-west-3"


def test_aws_credentials_from_the_environment_use_oratio_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")

    choice = choose_model(load_settings({"ORATIO_AWS_REGION": "us-west-2"}), probes=NO_LOCAL)

    assert (choice.spec, choice.source) == ("bedrock?region=us-west-2", "aws")


def test_aws_credentials_without_a_region_fall_through_and_say_why(no_aws: Path, tmp_path: Path) -> None:
    (no_aws / "credentials").write_text("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n")
    settings = load_settings({"ORATIO_LOCAL_MODEL_PATH": str(_gguf(tmp_path))})

    choice = choose_model(settings, probes=WITH_LLAMA_CPP)

    assert (choice.spec, choice.source) == ("local", "local")
    assert "AWS credentials found but no region" in choice.reason


def test_an_aws_emulator_endpoint_is_not_taken_for_bedrock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = load_settings({"ORATIO_AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "ORATIO_AWS_REGION": "us-east-1"})

    choice = choose_model(settings, probes=NO_LOCAL)

    assert choice.source == "none"
    assert "emulator" in choice.reason


def test_no_credentials_is_seen_as_none() -> None:
    assert aws_credentials_found() is False


def test_a_local_gguf_is_chosen_without_aws_and_gets_longer_timeouts(tmp_path: Path) -> None:
    settings = load_settings({"ORATIO_LOCAL_MODEL_PATH": str(_gguf(tmp_path))})

    choice = choose_model(settings, probes=WITH_LLAMA_CPP)

    assert (choice.spec, choice.source) == ("local", "local")
    assert choice.line().startswith(f"model: local - {tmp_path / 'mine.gguf'} on this machine")
    applied = choice.apply(settings)
    assert (applied.model, applied.turn_timeout_seconds) == ("local", LOCAL_TURN_TIMEOUT)
    assert applied.creator_stage_timeout_seconds == LOCAL_STAGE_TIMEOUT


def test_explicit_timeouts_are_kept_for_a_local_model(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "ORATIO_LOCAL_MODEL_PATH": str(_gguf(tmp_path)),
            "ORATIO_TURN_TIMEOUT_SECONDS": "45",
            "ORATIO_CREATOR_STAGE_TIMEOUT_SECONDS": "60",
        }
    )

    applied = choose_model(settings, probes=WITH_LLAMA_CPP).apply(settings)

    assert (applied.turn_timeout_seconds, applied.creator_stage_timeout_seconds) == (45, 60)


def test_a_gguf_without_llama_cpp_is_not_enough(tmp_path: Path) -> None:
    settings = load_settings({"ORATIO_LOCAL_MODEL_PATH": str(_gguf(tmp_path))})

    choice = choose_model(settings, probes=NO_LOCAL)

    assert (choice.spec, choice.source) == (None, "none")
    assert "llama-cpp-python is not installed" in choice.reason


def test_llama_cpp_without_any_gguf_is_not_enough(tmp_path: Path) -> None:
    choice = choose_model(load_settings({}), probes=WITH_LLAMA_CPP)

    assert choice.source == "none"
    assert "no packaged GGUF installed" in choice.reason


def test_nothing_available_says_how_to_get_a_model() -> None:
    choice = choose_model(load_settings({}), probes=NO_LOCAL)

    assert (choice.spec, choice.source) == (None, "none")
    line = choice.line()
    assert line.startswith("model: none - no model available (no ORATIO_MODEL; no AWS credentials;")
    assert "pip install 'oratio[local-model]'" in line and "ORATIO_MODEL" in line
    # `oratio serve` prints this line: a new user coming from `oratio demo` learns why New agent only stores.
    assert "agents are stored but not built" in line and "ORATIO_MODEL=scripted" in line
    assert choice.apply(load_settings({})).model is None


def test_the_demo_falls_back_to_the_scripted_model_and_says_so() -> None:
    choice = choose_model(load_settings({}), fallback="scripted", probes=NO_LOCAL)

    assert (choice.spec, choice.source) == ("scripted", "fallback")
    assert "the offline scripted model runs instead" in choice.line()
    assert "pip install 'oratio[local-model]'" in choice.line()
