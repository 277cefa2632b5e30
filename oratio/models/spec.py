"""Model specs: one string names a provider, a model and its options, e.g. `ollama:qwen2.5:7b?temperature=0.2`.

A single string fits an environment variable (`ORATIO_MODEL`) and a per-agent override (`AgentPlan.model`)
alike, and parsing it apart from building the model lets a typo fail when the platform starts, not on a
customer's first message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from oratio.errors import ConfigError

SPEC_MAX = 200


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def convert(raw: str) -> float:
        value = float(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return convert


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a positive whole number")
    return value


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def convert(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return convert


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")) or any(c.isspace() for c in raw):
        raise ValueError("must be an http(s) URL")
    return raw.rstrip("/")


def _text(raw: str) -> str:
    if not raw or len(raw) > 100:
        raise ValueError("must be 1 to 100 characters")
    return raw


OptionValue = float | int | str
SAMPLING: dict[str, Callable[[str], OptionValue]] = {
    "temperature": _float_between(0.0, 2.0),
    "top_p": _float_between(0.0, 1.0),
    "max_tokens": _positive_int,
}
OPTIONS: dict[str, dict[str, Callable[[str], OptionValue]]] = {
    "bedrock": {**SAMPLING, "region": _text},
    "anthropic": SAMPLING,
    "openai": {**SAMPLING, "base_url": _url},
    "ollama": {**SAMPLING, "base_url": _url},
    "llamacpp": {**SAMPLING, "base_url": _url},
    "local": {
        **SAMPLING,
        "n_ctx": _bounded_int(256, 131_072),
        "threads": _bounded_int(1, 256),
        "search_first": _bounded_int(0, 1),
    },
    "scripted": {"delay": _float_between(0.0, 10.0)},
}
"""Every provider and the options its spec may carry; anything else is refused."""

NEEDS_MODEL_ID = frozenset({"anthropic", "openai", "ollama"})


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    model_id: str | None
    options: Mapping[str, OptionValue] = field(default_factory=dict)

    def option(self, name: str) -> OptionValue | None:
        return self.options.get(name)


def parse_model_spec(spec: str, *, source: str = "model spec") -> ModelSpec:
    """`provider[:model_id][?name=value&...]`, checked against OPTIONS; ConfigError naming `source` if wrong.

    Only the first `:` separates the provider, so Bedrock ids such as `...-v1:0` and Ollama tags
    such as `qwen2.5:7b` stay whole.
    """
    text = spec.strip()
    if not text or len(text) > SPEC_MAX:
        raise ConfigError(f"{source}: give provider:model_id, at most {SPEC_MAX} characters")
    head, _, query = text.partition("?")
    provider, _, model_id = head.partition(":")
    provider = provider.lower()
    if provider not in OPTIONS:
        raise ConfigError(f"{source}: unknown model provider '{provider}'; use one of {', '.join(OPTIONS)}")
    if provider in NEEDS_MODEL_ID and not model_id:
        raise ConfigError(f"{source}: the {provider} provider needs a model id, e.g. {provider}:<model id>")
    allowed = OPTIONS[provider]
    options: dict[str, OptionValue] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"{source}: options must look like ?name=value&name=value") from None
    for name, raw in pairs:
        if name not in allowed:
            known = ", ".join(allowed) or "none"
            raise ConfigError(f"{source}: unknown option '{name}' for {provider} (known: {known})")
        try:
            options[name] = allowed[name](raw)
        except ValueError as exc:
            raise ConfigError(f"{source}: option '{name}' {_reason(exc)}") from None
    return ModelSpec(provider=provider, model_id=model_id or None, options=options)


def _reason(exc: ValueError) -> str:
    message = str(exc)
    return message if message.startswith("must") else "is not a valid value"
