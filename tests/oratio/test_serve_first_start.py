"""`oratio serve` on a fresh data directory sets up the operator's tenant and prints a working admin token."""

from __future__ import annotations

import os
from pathlib import Path

from oratio.config import load_settings
from oratio.platform import open_platform
from tests.crash import acknowledged_then_killed
from tests.net import free_port

SERVE = "import sys; from oratio_app.cli import main; sys.exit(main(['serve', '--port', sys.argv[1]]))"
INIT = "import sys; from oratio_app.cli import main; sys.exit(main(['init', '--tenant', 'Acme']))"


def _env(data_dir: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")} | {"ORATIO_DATA_DIR": str(data_dir)}


def _token(lines: list[str]) -> tuple[str, str]:
    (line,) = [line for line in lines if line.startswith("Admin token (")]
    tenant, _, token = line.removeprefix("Admin token (").partition("): ")
    return tenant, token


def serve_lines(data_dir: Path, count: int) -> list[str]:
    return acknowledged_then_killed(SERVE, count, args=[str(free_port())], env=_env(data_dir))


def test_first_start_creates_the_operator_tenant_once_and_prints_a_valid_token(tmp_path: Path) -> None:
    first = serve_lines(tmp_path, 8)
    assert first[0].startswith("Oratio listening on http://127.0.0.1:")
    assert any(line.endswith("/mcp") for line in first)
    assert any(line.endswith("/dashboard") for line in first)
    assert any("/voice/client" in line for line in first)
    assert any(line.startswith("First start: created tenant ") for line in first)
    tenant_id, token = _token(first)

    again = serve_lines(tmp_path, 7)
    assert not any(line.startswith("First start") for line in again)
    again_tenant, again_token = _token(again)
    assert again_tenant == tenant_id and again_token != token  # a fresh token for the same admin

    with open_platform(load_settings({"ORATIO_DATA_DIR": str(tmp_path)})) as platform:
        for printed in (token, again_token):
            assert platform.access.admin_principal(printed).tenant_id == tenant_id


def test_after_oratio_init_serve_prints_that_admins_token(tmp_path: Path) -> None:
    init = acknowledged_then_killed(INIT, 3, env=_env(tmp_path))
    tenant_id = init[0].split()[1]
    lines = serve_lines(tmp_path, 7)
    assert _token(lines)[0] == tenant_id
    assert not any(line.startswith("First start") for line in lines)
