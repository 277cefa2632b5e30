"""Which models a tenant may pick for an agent: names the operator allows, never endpoints or files.

A spec string can carry a server address (`llamacpp?base_url=...`, `openai:...?base_url=...`) or a
path (`local:/srv/x.gguf`). Let a tenant write one and the server would post prompts and customers'
words (and the platform's API key) wherever it says, or probe which files exist. So a tenant writes
only a *name* from `ORATIO_MODELS_ALLOWED`; the operator binds each name to a spec
(`fast=openai:gpt-4o-mini?base_url=https://llm.internal`) or allows a plain spec as its own name
(`scripted`, `bedrock:anthropic.claude-3-haiku-20240307-v1:0`). Leaving `model` unset means the
platform's own model (`ORATIO_MODEL`).

Refusals name the allowed names only: a bare entry may not hold an option or a path (give it a
name instead), so no refusal can show a server address or path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from oratio.errors import ConfigError, InvalidInput
from oratio.models.spec import parse_model_spec

DEFAULT_ALLOWED = ("scripted",)
"""Allowed when ORATIO_MODELS_ALLOWED is unset, beside the platform's own model: the offline scripted
model (demos, tests) reaches no network and no file."""
PLATFORM_NAME = "platform"
"""The name the platform's own model goes by when its spec is not a presentable name."""
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-")


@dataclass(frozen=True)
class ModelAllowList:
    """Tenant-visible model name -> the spec the server runs for it."""

    entries: Mapping[str, str]

    @property
    def names(self) -> list[str]:
        return sorted(self.entries)

    def check(self, requested: str | None) -> None:
        """InvalidInput (field `model`) unless `requested` is None or an allowed name."""
        self.resolve(requested)

    def resolve(self, requested: str | None) -> str | None:
        """The spec to run for a tenant's `model` value; None means the platform's own model."""
        if requested is None:
            return None
        found = self.entries.get(requested.strip())
        if found is not None:
            return found
        choices = ", ".join(self.names) or "none"
        if any(c in requested for c in "?/\\") or "base_url" in requested:
            why = "a model's endpoint, files and options are set by the operator, not in an agent's spec"
        else:
            why = f"'{_shown(requested)}' is not one of the models this server allows"
        raise InvalidInput(
            f"model: {why}; choose one of: {choices} (or leave model unset for the platform's model)", field="model"
        )


def _shown(requested: str) -> str:
    """The tenant's own value, cut short and limited to name characters (it is echoed back)."""
    return "".join(c if c in _NAME_CHARS else "_" for c in requested[:60])


def _is_name(text: str) -> bool:
    return bool(text) and len(text) <= 100 and all(c in _NAME_CHARS for c in text)


def parse_allowed(raw: str | None, platform_model: str | None) -> ModelAllowList:
    """`name=spec` or bare `spec` entries, comma-separated; unset: the platform's model and `scripted`.

    Every spec is parsed now, so a typo fails at start. ConfigError names ORATIO_MODELS_ALLOWED.
    """
    source = "ORATIO_MODELS_ALLOWED"
    entries: dict[str, str] = {}
    if raw is None:
        for spec in DEFAULT_ALLOWED:
            entries[spec] = spec
        if platform_model is not None:
            name = platform_model if _is_name(platform_model) else PLATFORM_NAME
            entries[name] = platform_model
        return ModelAllowList(entries)
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, eq, spec = item.partition("=")
        if "?" in name:  # the `=` belongs to an option: a bare spec
            name, eq, spec = item, "", ""
        name, spec = name.strip(), spec.strip()
        if not eq:
            # A bare spec is its own name, so it must be presentable: no option, no path.
            spec = name
            if not _is_name(name):
                raise ConfigError(f"{source}: an entry with options or a path needs a name the tenants see: name=spec")
        elif not _is_name(name):
            raise ConfigError(f"{source}: model names are 1 to 100 of letters, digits and . _ : -")
        parse_model_spec(spec, source=source)
        if name in entries:
            raise ConfigError(f"{source}: the name '{name}' is given twice")
        entries[name] = spec
    return ModelAllowList(entries)


__all__ = ["DEFAULT_ALLOWED", "PLATFORM_NAME", "ModelAllowList", "parse_allowed"]
