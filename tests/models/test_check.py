"""check_model: what stops a spec from running here, found offline before a customer meets it (item 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oratio.config import Settings
from oratio.models.check import ModelProbes, check_model
from oratio.models.gate import start_line


def probes(*modules: str, aws: bool = False, **environ: str) -> ModelProbes:
    return ModelProbes(importable=lambda m: m in modules, aws_credentials=lambda: aws, environ=environ, catalog={})


SETTINGS = Settings(data_dir=Path("unused"))


@pytest.mark.parametrize(
    ("spec", "found", "problem"),
    [
        ("openai:gpt-4o-mini", probes(OPENAI_API_KEY="k"), "needs the OpenAI SDK"),
        ("openai:gpt-4o-mini", probes("openai"), "needs OPENAI_API_KEY"),
        ("anthropic:claude-x", probes(), "needs the Anthropic SDK"),
        ("anthropic:claude-x", probes("anthropic"), "needs ANTHROPIC_API_KEY"),
        ("ollama:qwen2.5:7b", probes(), "needs the Ollama SDK"),
        ("bedrock", probes(), "needs AWS credentials"),
        ("local", probes(), "needs llama-cpp-python"),
        ("local", probes("llama_cpp"), "no local GGUF model is installed"),
        ("local:/no/such/file.gguf", probes("llama_cpp"), "GGUF file is missing"),
        ("bedrok", probes(), "unknown model provider"),
    ],
)
def test_a_spec_that_cannot_run_says_what_is_missing(spec: str, found: ModelProbes, problem: str) -> None:
    message = check_model(spec, SETTINGS, found)
    assert message is not None and problem in message
    assert "/no/such" not in message


@pytest.mark.parametrize(
    ("spec", "found"),
    [
        ("scripted", probes()),
        ("llamacpp", probes()),
        ("openai:gpt-4o-mini?base_url=http://127.0.0.1:9", probes("openai")),
        ("openai:gpt-4o-mini", probes("openai", OPENAI_API_KEY="k")),
        ("anthropic:claude-x", probes("anthropic", ANTHROPIC_API_KEY="k")),
        ("bedrock", probes(aws=True)),
    ],
)
def test_a_spec_that_can_run_has_no_problem(spec: str, found: ModelProbes) -> None:
    assert check_model(spec, SETTINGS, found) is None


def test_a_local_file_that_exists_has_no_problem(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert check_model(f"local:{gguf}", SETTINGS, probes("llama_cpp")) is None


def test_the_start_line_names_a_problem_of_the_platform_model_only() -> None:
    line = start_line(Settings(data_dir=Path("unused"), model="openai:gpt-4o-mini"))
    assert line is not None and line.startswith("model problem: ") and "OpenAI SDK" in line
    assert start_line(Settings(data_dir=Path("unused"), model="scripted")) is None
    assert start_line(Settings(data_dir=Path("unused"))) is None  # the model choice line already says "none"
