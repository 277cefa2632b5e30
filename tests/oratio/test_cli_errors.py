"""`oratio` as a real process: every mistake is one stderr line and exit 2, said before any URL.

Each case runs the real entry point in a subprocess (as a user types it) and checks what a user
sees: exactly one line on stderr, exit status 2, nothing on stdout that claims Oratio listens.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crash import ROOT

RUN_TIMEOUT_S = 120.0


def oratio(
    *args: str, data_dir: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")}
    if data_dir is not None:
        base["ORATIO_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "oratio_app.cli", *args],
        cwd=ROOT,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def assert_one_line_error(run: subprocess.CompletedProcess[str], *fragments: str) -> str:
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert len(lines) == 1, run.stderr
    assert "listening" not in run.stdout.lower() and "http://" not in run.stdout, run.stdout
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_serve_with_a_port_out_of_range(tmp_path: Path) -> None:
    assert_one_line_error(oratio("serve", "--port", "99999", data_dir=tmp_path), "99999", "1-65535")


def test_serve_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = oratio("serve", "--port", str(port), data_dir=tmp_path)
    assert_one_line_error(run, f"127.0.0.1:{port}", "cannot listen")
    assert not (tmp_path / "oratio.db").exists()  # nothing was opened, nothing recovered


@pytest.mark.parametrize("kind", ["a file", "under a file"])
def test_serve_with_an_unusable_data_dir(tmp_path: Path, kind: str) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    data_dir = blocker if kind == "a file" else blocker / "data"
    assert_one_line_error(oratio("serve", "--data-dir", str(data_dir)), str(data_dir))


def test_demo_with_a_missing_example_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-example"
    assert_one_line_error(oratio("demo", "--example", str(missing), data_dir=tmp_path / "d"), str(missing))


def test_demo_with_a_too_short_sop(tmp_path: Path) -> None:
    example = tmp_path / "tiny"
    (example / "knowledge").mkdir(parents=True)
    (example / "agent.json").write_text(json.dumps({"name": "Tiny"}))
    (example / "sop.md").write_text("Be nice.")
    assert_one_line_error(oratio("demo", "--example", str(example), data_dir=tmp_path / "d"), "sop", "20")


@pytest.mark.parametrize("ttl", ["0", "-5", "forever"])
def test_admin_token_with_a_bad_ttl(tmp_path: Path, ttl: str) -> None:
    run = oratio("admin", "token", "--tenant", "ten_x", "--admin", "adm_x", "--ttl", ttl, data_dir=tmp_path)
    assert_one_line_error(run, "--ttl")


@pytest.mark.parametrize(
    "command", [["admin", "token", "--tenant", "ten_x", "--admin", "adm_x"], ["mcp", "--tenant", "ten_x"]]
)
def test_admin_token_and_mcp_never_create_a_missing_data_dir_and_name_it(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nothing-here"
    assert_one_line_error(oratio(*command, data_dir=missing), str(missing))
    assert not missing.exists()


def test_admin_token_for_an_unknown_admin_names_the_data_dir(tmp_path: Path) -> None:
    assert oratio("init", data_dir=tmp_path).returncode == 0
    run = oratio("admin", "token", "--tenant", "ten_x", "--admin", "adm_x", data_dir=tmp_path)
    assert_one_line_error(run, "not found", str(tmp_path))


def test_serve_help_documents_every_option() -> None:
    run = oratio("serve", "--help")
    assert run.returncode == 0
    for option in ("--data-dir", "--host", "--port", "ORATIO_"):
        assert option in run.stdout
    assert "-h, --help" in run.stdout


def test_an_unknown_option_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(oratio("serve", "--prot", "8000", data_dir=tmp_path), "--prot")
