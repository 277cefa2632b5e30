"""Model specs: parsed whole or refused with a message naming the problem; each provider builds its model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from pydantic import SecretStr
from strands.models import BedrockModel
from strands.models.llamacpp import LlamaCppModel

from oratio.config import Settings
from oratio.errors import ConfigError
from oratio.models import PROVIDERS, ModelCache, ModelSpec, ScriptedModel, create_model, parse_model_spec
from oratio.models.spec import OPTIONS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, jwt_secret=SecretStr("x" * 40), embeddings=False)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("scripted", ModelSpec("scripted", None, {})),
        (
            "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0?region=eu-west-1",
            ModelSpec("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", {"region": "eu-west-1"}),
        ),
        (
            "ollama:qwen2.5:7b?temperature=0.2&max_tokens=256",
            ModelSpec("ollama", "qwen2.5:7b", {"temperature": 0.2, "max_tokens": 256}),
        ),
        (
            " OpenAI:gpt-4o-mini?base_url=http://localhost:8000/v1/ ",
            ModelSpec("openai", "gpt-4o-mini", {"base_url": "http://localhost:8000/v1"}),
        ),
        ("llamacpp", ModelSpec("llamacpp", None, {})),
    ],
)
def test_a_spec_is_parsed_into_provider_model_and_options(spec: str, expected: ModelSpec) -> None:
    assert parse_model_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "provider:model_id"),
        ("gpt4", "unknown model provider 'gpt4'"),
        ("openai", "needs a model id"),
        ("ollama:llama3?temp=1", "unknown option 'temp' for ollama"),
        ("bedrock:x?temperature=7", "option 'temperature' must be between 0.0 and 2.0"),
        ("ollama:llama3?max_tokens=lots", "option 'max_tokens' is not a valid value"),
        ("openai:gpt?base_url=ftp://host", "option 'base_url' must be an http(s) URL"),
        ("anthropic:claude?base_url=http://x", "unknown option 'base_url' for anthropic"),
        ("scripted?delay", "options must look like"),
        ("x" * 201, "at most 200"),
    ],
)
def test_a_bad_spec_is_a_config_error_that_says_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_model_spec(spec, source="ORATIO_MODEL")
    assert caught.value.message.startswith("ORATIO_MODEL: ")
    assert message in caught.value.message


def test_every_provider_has_a_builder_and_a_list_of_options() -> None:
    assert PROVIDERS.keys() == OPTIONS.keys()


def test_bedrock_builds_with_the_region_and_sampling_options(settings: Settings) -> None:
    model = create_model("bedrock:amazon.nova-lite-v1:0?region=eu-west-1&temperature=0.3", settings)

    assert isinstance(model, BedrockModel)
    config = model.get_config()
    assert (config.get("model_id"), config.get("temperature")) == ("amazon.nova-lite-v1:0", 0.3)
    assert model.client.meta.region_name == "eu-west-1"


def test_llamacpp_talks_to_the_configured_server(settings: Settings) -> None:
    configured = settings.model_copy(update={"model_base_url": "http://127.0.0.1:9999"})

    model = create_model("llamacpp?max_tokens=128", configured)

    assert isinstance(model, LlamaCppModel)
    assert model.base_url == "http://127.0.0.1:9999"
    assert model.get_config().get("params") == {"max_tokens": 128}
    overridden = create_model("llamacpp?base_url=http://10.0.0.2:8080", configured)
    assert isinstance(overridden, LlamaCppModel) and overridden.base_url == "http://10.0.0.2:8080"


def test_scripted_is_the_offline_demo_model(settings: Settings) -> None:
    assert isinstance(create_model("scripted?delay=0", settings), ScriptedModel)


@pytest.mark.parametrize(
    ("spec", "extra", "sdk"),
    [
        ("anthropic:claude-x", "anthropic", "anthropic"),
        ("openai:gpt-x?base_url=http://localhost:1", "openai", "openai"),
        ("ollama:llama3", "ollama", "ollama"),
    ],
)
def test_a_missing_provider_sdk_names_the_extra_to_install(settings: Settings, spec: str, extra: str, sdk: str) -> None:
    if importlib.util.find_spec(sdk) is not None:
        pytest.skip(f"the {sdk} SDK is installed here")

    with pytest.raises(ConfigError) as caught:
        create_model(spec, settings)

    assert f"pip install 'strands-agents[{extra}]'" in caught.value.message


def test_the_cache_shares_only_models_that_hold_no_loop_bound_client(settings: Settings) -> None:
    models = ModelCache(settings)

    assert models("bedrock:amazon.nova-lite-v1:0") is models("bedrock:amazon.nova-lite-v1:0")
    assert models("bedrock:amazon.nova-lite-v1:0") is not models("bedrock:amazon.nova-pro-v1:0")
    assert models("llamacpp") is not models("llamacpp")  # its httpx client belongs to one event loop
    assert models("scripted") is not models("scripted")  # a scripted model records every call
