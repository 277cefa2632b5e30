"""`oratio serve` says in one line, at start, when the platform's model cannot run here (issue 15, item 16)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from oratio.platform import Platform
from oratio_app import cli


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("ORATIO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ORATIO_DATA_DIR", str(tmp_path))
    return tmp_path


def serve_nothing(platform: Platform, args: argparse.Namespace) -> int:
    return 0


def test_serve_names_a_missing_provider_sdk_in_one_line_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORATIO_MODEL", "openai:gpt-4o-mini")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(cli, "_serve", serve_nothing)
    assert cli.main(["serve"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("model problem:")]
    assert len(lines) == 1 and "needs the OpenAI SDK" in lines[0]


def test_serve_with_a_usable_model_prints_no_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORATIO_MODEL", "scripted")
    monkeypatch.setattr(cli, "_serve", serve_nothing)
    assert cli.main(["serve"]) == 0
    assert "model problem" not in capsys.readouterr().err
