"""Which model the platform runs when nobody said: the one place the automatic choice is made.

Order: a configured `ORATIO_MODEL` > AWS credentials and a region (Bedrock's default Claude) > a local
GGUF (llama-cpp-python importable and the packaged model installed, or ORATIO_LOCAL_MODEL_PATH) >
nothing, with the command to get one. The AWS probe never touches the network: it asks botocore's
credential chain without the instance and container metadata providers (and without running a
`credential_process`), so on EC2/ECS set ORATIO_MODEL=bedrock explicitly.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from oratio.config import Settings
from oratio.models.gguf_files import INSTALL_HINT, PACKAGED, PackagedGguf, packaged_available
from oratio.models.spec import parse_model_spec

logger = logging.getLogger("oratio.models")

Source = Literal["configured", "aws", "local", "fallback", "none"]
LOCAL_TURN_TIMEOUT = 180.0
"""Seconds a turn may take on the local model (unless ORATIO_TURN_TIMEOUT_SECONDS says otherwise): a
CPU reads a long system prompt and knowledge passages far slower than a hosted model."""
LOCAL_STAGE_TIMEOUT = 900.0
"""Seconds one AgentCreator call may take on the local model: a plan of ~600 tokens at a few tokens/s."""
NO_PROBE = ("container-role", "iam-role", "custom-process")
"""Credential providers that would call the network or run a program; the choice must do neither."""
GET_ONE = (
    f"to get one, run {INSTALL_HINT} (a model that runs on this machine) or set ORATIO_MODEL "
    "(bedrock, anthropic:<id>, openai:<id>, ollama:<model>, llamacpp, local)"
)

TRY_OFFLINE = "or ORATIO_MODEL=scripted to try Oratio offline with the demo's rule-following model"
"""Said when nothing runs: `oratio demo` falls back to `scripted` on its own, `oratio serve` does not, so a new
user who moves from the demo to the dashboard learns why New agent only stores and how to build anyway."""


@dataclass(frozen=True)
class ModelChoice:
    spec: str | None
    source: Source
    reason: str

    def line(self) -> str:
        """The one line that says which model is in use and why."""
        return f"model: {self.spec or 'none'} - {self.reason}"

    def apply(self, settings: Settings) -> Settings:
        """`settings` running this choice; a local model also gets longer turn and creator-stage timeouts
        (unless they were set)."""
        update: dict[str, object] = {"model": self.spec}
        if self.spec is not None and parse_model_spec(self.spec).provider == "local":
            for name, seconds in (
                ("turn_timeout_seconds", LOCAL_TURN_TIMEOUT),
                ("creator_stage_timeout_seconds", LOCAL_STAGE_TIMEOUT),
            ):
                if name not in settings.model_fields_set:
                    update[name] = max(getattr(settings, name), seconds)
        return settings.model_copy(update=update)


def aws_region(settings: Settings) -> str | None:
    """ORATIO_AWS_REGION if set, else the region AWS's own configuration names (env or config file)."""
    if "aws_region" in settings.model_fields_set:
        return settings.aws_region
    import botocore.session  # only when a model is chosen (serve, demo), not on every CLI start

    session = botocore.session.Session()
    found = os.environ.get("AWS_REGION") or session.get_config_variable("region")
    return str(found) if found else None


def aws_credentials_found() -> bool:
    """Whether botocore's chain finds credentials, from files and the environment only (no network)."""
    import botocore.session

    session = botocore.session.Session()
    resolver = session.get_component("credential_provider")
    for name in NO_PROBE:
        if resolver.get_provider(name) is not None:
            resolver.remove(name)
    # Deferred providers (assume-role, SSO) answer without calling STS; nothing here reads the keys.
    return resolver.load_credentials() is not None


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


@dataclass(frozen=True)
class Probes:
    """What the choice looks at. Tests swap in the parts a test cannot arrange for real either way on
    every machine (whether llama-cpp-python is installed, which packaged models exist)."""

    aws_credentials: Callable[[], bool] = aws_credentials_found
    llama_cpp: Callable[[], bool] = llama_cpp_installed
    catalog: Mapping[str, PackagedGguf] = field(default_factory=lambda: dict(PACKAGED))


def local_available(settings: Settings, probes: Probes) -> tuple[str | None, str]:
    """The local model that `local` would run, or None and why not."""
    if not probes.llama_cpp():
        return None, "llama-cpp-python is not installed"
    found = packaged_available(settings.local_model_path, probes.catalog)
    if found is None:
        where = f"no GGUF at {settings.local_model_path}" if settings.local_model_path else "no packaged GGUF installed"
        return None, f"{where} (or set ORATIO_LOCAL_MODEL_PATH)"
    return found, ""


def choose_model(settings: Settings, *, fallback: str | None = None, probes: Probes | None = None) -> ModelChoice:
    """The model to run, and why; `fallback` (e.g. `scripted`) when none is available."""
    choice = _choose(settings, fallback, probes or Probes())
    logger.info("%s", choice.line())
    return choice


def _choose(settings: Settings, fallback: str | None, probes: Probes) -> ModelChoice:
    if settings.model is not None:
        return ModelChoice(settings.model, "configured", "set by ORATIO_MODEL")
    skipped: list[str] = []
    if settings.aws_endpoint_url is not None:
        skipped.append("AWS: ORATIO_AWS_ENDPOINT_URL points at an emulator, which serves no models")
    elif probes.aws_credentials():
        region = aws_region(settings)
        if region is not None:
            why = f"Bedrock's default Claude (no ORATIO_MODEL; AWS credentials found, region {region})"
            return ModelChoice(f"bedrock?region={region}", "aws", why)
        skipped.append("AWS credentials found but no region (set AWS_REGION or ORATIO_AWS_REGION)")
    else:
        skipped.append("no AWS credentials")
    found, why_not = local_available(settings, probes)
    if found is not None:
        return ModelChoice("local", "local", f"{found} on this machine (no ORATIO_MODEL; {'; '.join(skipped)})")
    skipped.append(why_not)
    missing = f"no model available (no ORATIO_MODEL; {'; '.join(skipped)})"
    if fallback is not None:
        return ModelChoice(fallback, "fallback", f"{missing}, so the offline {fallback} model runs instead; {GET_ONE}")
    return ModelChoice(None, "none", f"{missing}, so agents are stored but not built; {GET_ONE}; {TRY_OFFLINE}")


__all__ = [
    "LOCAL_STAGE_TIMEOUT",
    "LOCAL_TURN_TIMEOUT",
    "ModelChoice",
    "Probes",
    "aws_credentials_found",
    "choose_model",
    "llama_cpp_installed",
    "local_available",
]
