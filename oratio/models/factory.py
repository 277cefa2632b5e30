"""Builds the Strands model a spec names. The provider registry is the only place providers are known.

Provider SDKs other than boto3 and httpx are optional: each is imported when its provider is first
used, and a missing one is a ConfigError that names the extra to install, so a platform that only
talks to Bedrock or a local llama.cpp server never needs the others.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from strands.models import BedrockModel, Model
from strands.models.llamacpp import LlamaCppModel

from oratio.errors import ConfigError
from oratio.models.demo import demo_model
from oratio.models.gguf_files import ModelFiles, default_cache_dir, resolve_gguf
from oratio.models.local_gguf import LocalGgufModel
from oratio.models.spec import ModelSpec, parse_model_spec

if TYPE_CHECKING:
    from oratio.config import Settings

ANTHROPIC_MAX_TOKENS = 1024
"""Anthropic's API requires max_tokens; a spoken or chat reply fits well within this."""
OLLAMA_URL = "http://localhost:11434"
LLAMACPP_URL = "http://localhost:8080"

Builder = Callable[[ModelSpec, "Settings"], Model]


def _missing(provider: str, sdk: str) -> ConfigError:
    return ConfigError(
        f"the {provider} model provider needs the {sdk} SDK, which is not installed: "
        f"pip install 'strands-agents[{provider}]'"
    )


def _sampling(spec: ModelSpec, *names: str) -> dict[str, Any]:
    wanted = names or ("temperature", "top_p", "max_tokens")
    return {name: spec.options[name] for name in wanted if name in spec.options}


def _base_url(spec: ModelSpec, settings: Settings, default: str | None) -> str | None:
    given = spec.option("base_url") or settings.model_base_url or default
    return None if given is None else str(given)


def _bedrock(spec: ModelSpec, settings: Settings) -> Model:
    region = str(spec.option("region") or settings.aws_region)
    config = _sampling(spec)
    if spec.model_id:
        config["model_id"] = spec.model_id
    # Without a model id Strands picks its region-appropriate default Claude and logs that it did.
    return BedrockModel(region_name=region, **config)


def _anthropic(spec: ModelSpec, settings: Settings) -> Model:
    try:
        from strands.models.anthropic import AnthropicModel
    except ImportError:
        raise _missing("anthropic", "Anthropic") from None
    assert spec.model_id is not None  # parse_model_spec requires it for this provider
    params = _sampling(spec, "temperature", "top_p")
    max_tokens = int(spec.option("max_tokens") or ANTHROPIC_MAX_TOKENS)
    return AnthropicModel(model_id=spec.model_id, max_tokens=max_tokens, params=params or None)


def _openai(spec: ModelSpec, settings: Settings) -> Model:
    try:
        from strands.models.openai import OpenAIModel
    except ImportError:
        raise _missing("openai", "OpenAI") from None
    assert spec.model_id is not None
    base_url = _base_url(spec, settings, None)
    api_key = os.environ.get("OPENAI_API_KEY")
    if base_url is None and not api_key:
        raise ConfigError("the openai provider needs OPENAI_API_KEY, or a base_url for an OpenAI-compatible server")
    client_args: dict[str, Any] = {"api_key": api_key or "not-needed"}
    if base_url is not None:
        client_args["base_url"] = base_url
    params = _sampling(spec)
    return OpenAIModel(client_args=client_args, model_id=spec.model_id, params=params or None)


def _ollama(spec: ModelSpec, settings: Settings) -> Model:
    try:
        from strands.models.ollama import OllamaModel
    except ImportError:
        raise _missing("ollama", "Ollama") from None
    assert spec.model_id is not None
    return OllamaModel(_base_url(spec, settings, OLLAMA_URL), model_id=spec.model_id, **_sampling(spec))


def _llamacpp(spec: ModelSpec, settings: Settings) -> Model:
    """llama.cpp's own server (`llama-server`), through Strands' native client (httpx, no extra SDK)."""
    base_url = _base_url(spec, settings, LLAMACPP_URL) or LLAMACPP_URL
    params = _sampling(spec)
    return LlamaCppModel(base_url=base_url, model_id=spec.model_id or "default", params=params or None)


def _local(spec: ModelSpec, settings: Settings) -> Model:
    """A GGUF run in this process by llama.cpp: the packaged model, a named packaged model, or a file."""
    files = ModelFiles(settings.model_cache_dir or default_cache_dir())
    path = resolve_gguf(spec.model_id, settings.local_model_path, files)
    options: dict[str, Any] = {name: spec.options[name] for name in ("n_ctx", "threads") if name in spec.options}
    if "search_first" in spec.options:
        options["search_first"] = bool(spec.options["search_first"])
    return LocalGgufModel(path, **options, **_sampling(spec))


def _scripted(spec: ModelSpec, settings: Settings) -> Model:
    return demo_model(delay=float(spec.option("delay") or 0.0))


PROVIDERS: dict[str, Builder] = {
    "bedrock": _bedrock,
    "anthropic": _anthropic,
    "openai": _openai,
    "ollama": _ollama,
    "llamacpp": _llamacpp,
    "local": _local,
    "scripted": _scripted,
}


def create_model(spec: str, settings: Settings) -> Model:
    """The Strands model for `provider:model_id[?options]`; ConfigError if the spec or its SDK is wrong."""
    parsed = parse_model_spec(spec)
    return PROVIDERS[parsed.provider](parsed, settings)


SHARED = frozenset({"bedrock", "openai", "ollama", "local"})
"""Providers whose model objects hold no event-loop-bound client, so one object serves every turn on any
thread or loop (a local model's weights are shared process-wide in any case). Anthropic's and llama.cpp
server's keep an async HTTP client bound to the loop it first ran on, and a scripted model records every
call, so those are built afresh for each turn."""


class ModelCache:
    """`create_model` that reuses shareable models: building a Bedrock client takes ~150 ms, per turn too much."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._models: dict[str, Model] = {}
        self._lock = threading.Lock()

    def __call__(self, spec: str) -> Model:
        parsed = parse_model_spec(spec)
        build = PROVIDERS[parsed.provider]
        if parsed.provider not in SHARED:
            return build(parsed, self._settings)
        with self._lock:
            model = self._models.get(spec)
            if model is None:
                model = self._models[spec] = build(parsed, self._settings)
            return model
