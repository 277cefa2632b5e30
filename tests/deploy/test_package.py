"""The AgentCore code package: what goes in, what never does, and the same bytes every time."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from deploy.errors import DeployError
from deploy.package import LAUNCHERS, PACKAGES, PROJECT_ROOT, build_package, pinned_requirements


def _checkout(tmp_path: Path) -> Path:
    """A copy of this checkout's packages, with the litter a working tree collects."""
    root = tmp_path / "checkout"
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    litter = {
        "oratio/__pycache__/config.cpython-311.pyc": b"\0",
        "oratio/tests/test_x.py": b"assert False",
        "oratio/.oratio/jwt.key": b"secret-key",
        "oratio/.env": b"ORATIO_JWT_SECRET=x",
        "mcp_server/server.pem": b"-----BEGIN PRIVATE KEY-----",
        "schemas/oratio.db": b"SQLite",
        "creator_agent/.venv/lib/site.py": b"",
    }
    for name, data in litter.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_the_package_holds_the_packages_launchers_and_pins(tmp_path: Path) -> None:
    package = build_package(["anyio==4.6.0"], root=_checkout(tmp_path))
    names = set(package.names)
    assert set(LAUNCHERS) <= names
    assert {"oratio/config.py", "schemas/__init__.py", "oratio_app/doors.py", "agentcore_apps/app.py"} <= names
    assert "creator_agent/app.py" in names and "mcp_server/http.py" in names
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert archive.read("requirements.txt") == b"anyio==4.6.0\n"
        assert archive.namelist() == sorted(archive.namelist())
        for launcher in LAUNCHERS:
            compile(archive.read(launcher), launcher, "exec")  # valid Python at the zip root


def test_the_package_leaves_out_tests_caches_virtualenvs_and_secrets(tmp_path: Path) -> None:
    names = build_package([], root=_checkout(tmp_path)).names
    for name in names:
        assert "__pycache__" not in name and not name.endswith(".pyc")
        assert "/tests/" not in name and "/.venv/" not in name and "/.oratio/" not in name
        assert not name.endswith((".key", ".pem", ".db", "/.env"))


def test_the_same_sources_give_the_same_bytes_and_key(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    first, second = build_package(["a==1"], root=root), build_package(["a==1"], root=root)
    assert first.data == second.data and first.key == second.key
    (root / "oratio" / "config.py").write_text((root / "oratio" / "config.py").read_text() + "\n# changed\n")
    assert build_package(["a==1"], root=root).key != first.key


def test_dependencies_are_added_at_the_root_without_replacing_oratio(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "anyio").mkdir(parents=True)
    (site / "anyio" / "__init__.py").write_text("VERSION = 'x'\n")
    (site / "oratio").mkdir()
    (site / "oratio" / "config.py").write_text("shadow = True\n")
    package = build_package([], site, root=_checkout(tmp_path))
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert archive.read("anyio/__init__.py") == b"VERSION = 'x'\n"
        assert b"shadow" not in archive.read("oratio/config.py")


def test_pinned_requirements_are_the_installed_closure() -> None:
    pins = pinned_requirements()
    names = {pin.split("==")[0] for pin in pins}
    assert {"pydantic", "boto3", "botocore", "starlette", "mcp", "bedrock-agentcore"} <= names
    assert all(pin.count("==") == 1 for pin in pins)
    assert "pytest" not in names  # dev extra, not a runtime dependency


def test_a_missing_package_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="package schemas/ not found"):
        build_package([], root=tmp_path)
