"""Whether a model spec can run here, asked before a customer does: SDK importable, credentials present.

Nothing here touches the network or loads weights: importability is `importlib.util.find_spec`,
credentials are environment variables or botocore's file/env chain (as `choice` probes them). A
server the spec points at may still be down; that is a turn-time failure, answered with an apology.
The answer is one sentence for an operator's start-up line and a tenant's refused creation alike, so
it names no server path or address.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from oratio.config import Settings
from oratio.errors import ConfigError
from oratio.models.choice import aws_credentials_found
from oratio.models.gguf_files import INSTALL_HINT, PACKAGED, PackagedGguf, parts_installed
from oratio.models.spec import parse_model_spec

SDKS = {"anthropic": ("anthropic", "Anthropic"), "openai": ("openai", "OpenAI"), "ollama": ("ollama", "Ollama")}
"""Providers whose SDK is an optional extra: module to find, name to show."""
KEYS = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@dataclass(frozen=True)
class ModelProbes:
    """What the check looks at; tests swap the parts a machine cannot arrange both ways for real."""

    importable: Callable[[str], bool] = importable
    aws_credentials: Callable[[], bool] = aws_credentials_found
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    catalog: Mapping[str, PackagedGguf] = field(default_factory=lambda: dict(PACKAGED))


def check_model(spec: str, settings: Settings, probes: ModelProbes | None = None) -> str | None:
    """None if `spec` can run on this machine as far as can be told offline, else what is missing."""
    probes = probes or ModelProbes()
    try:
        parsed = parse_model_spec(spec)
    except ConfigError as exc:
        return exc.message
    provider = parsed.provider
    if provider in SDKS:
        module, shown = SDKS[provider]
        if not probes.importable(module):
            return (
                f"the {provider} model provider needs the {shown} SDK, which is not installed "
                f"(pip install 'strands-agents[{provider}]')"
            )
    if provider == "anthropic" and not probes.environ.get(KEYS["anthropic"]):
        return "the anthropic model provider needs ANTHROPIC_API_KEY, which is not set"
    if provider == "openai":
        has_url = parsed.option("base_url") is not None or settings.model_base_url is not None
        if not has_url and not probes.environ.get(KEYS["openai"]):
            return "the openai model provider needs OPENAI_API_KEY (or a base_url for an OpenAI-compatible server)"
    if provider == "bedrock" and settings.aws_endpoint_url is None and not probes.aws_credentials():
        return "the bedrock model provider needs AWS credentials, and none were found (environment or ~/.aws)"
    if provider == "local":
        return _local_problem(parsed.model_id, settings, probes)
    return None


def _local_problem(model_id: str | None, settings: Settings, probes: ModelProbes) -> str | None:
    if not probes.importable("llama_cpp"):
        return f"the local model provider needs llama-cpp-python, which is not installed ({INSTALL_HINT})"
    if model_id:
        packaged = probes.catalog.get(model_id)
        if packaged is not None:
            return None if parts_installed(packaged) else f"the packaged model '{model_id}' is not installed"
        return None if os.path.isfile(os.path.expanduser(model_id)) else "the local model's GGUF file is missing"
    if settings.local_model_path is not None:
        return None if settings.local_model_path.expanduser().is_file() else "ORATIO_LOCAL_MODEL_PATH names no file"
    if any(parts_installed(model) for model in probes.catalog.values()):
        return None
    return f"no local GGUF model is installed ({INSTALL_HINT}, or set ORATIO_LOCAL_MODEL_PATH)"


__all__ = ["ModelProbes", "check_model", "importable"]
