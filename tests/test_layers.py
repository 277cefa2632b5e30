"""The layering rule, enforced in CI from the source alone (an AST import scan; nothing is imported).

schemas <- core (`oratio`) <- doors <- one composition root (`oratio_app`). The core imports no door,
no door imports another door or the root, and no two top-level packages import each other in a
cycle. Lazy imports inside functions count too: a door imported later is still a dependency.
See docs/architecture.md for what each layer may import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = {"schemas", "oratio"}
DOORS = {"mcp_server", "agentcore_apps", "voice_bridge", "creator_agent", "deploy", "dashboard"}
COMPOSITION = "oratio_app"
PACKAGES = CORE | DOORS | {COMPOSITION}
MAY_IMPORT: dict[str, set[str]] = {
    "schemas": set(),
    "oratio": {"schemas"},
    **dict.fromkeys(DOORS, CORE),
    COMPOSITION: CORE | DOORS,
}
"""Each top-level package and the other top-level packages it may import."""


def imported_modules(source: str) -> list[str]:
    """Every absolute module an `import` or `from ... import` names, at any depth (functions included)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def package_edges(root: Path) -> dict[str, dict[str, list[str]]]:
    """package -> imported top-level package -> the files (relative paths) that import it."""
    edges: dict[str, dict[str, list[str]]] = {}
    for package in sorted(PACKAGES):
        for path in sorted((root / package).rglob("*.py")):
            for name in imported_modules(path.read_text()):
                target = name.split(".")[0]
                if target in PACKAGES and target != package:
                    files = edges.setdefault(package, {}).setdefault(target, [])
                    files.append(path.relative_to(root).as_posix())
    return edges


def violations(edges: dict[str, dict[str, list[str]]]) -> list[str]:
    return [
        f"{package} may not import {target} ({', '.join(sorted(set(files)))})"
        for package, targets in sorted(edges.items())
        for target, files in sorted(targets.items())
        if target not in MAY_IMPORT[package]
    ]


def cycles(edges: dict[str, dict[str, list[str]]]) -> list[str]:
    def reaches(start: str, goal: str, seen: frozenset[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges.get(start, {}))

    return [package for package in sorted(edges) if reaches(package, package, frozenset())]


def test_every_package_imports_only_the_layers_below_it() -> None:
    assert violations(package_edges(ROOT)) == []


def test_no_two_top_level_packages_import_each_other() -> None:
    assert cycles(package_edges(ROOT)) == []


def test_the_packages_the_rule_names_exist() -> None:
    """A renamed or new top-level package must be placed in a layer here, not silently skipped."""
    found = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench", "scripts", "examples"}
    assert found == PACKAGES


@pytest.mark.parametrize(
    ("package", "source", "broken"),
    [
        ("oratio", "def f():\n    from mcp_server.http import create_mcp_http_app\n", True),
        ("mcp_server", "from creator_agent.models import attach_creator\n", True),
        ("dashboard", "import voice_bridge.app\n", True),
        ("agentcore_apps", "from oratio_app.web import create_app\n", True),
        ("oratio_app", "from dashboard import dashboard_routes\nfrom oratio.platform import Platform\n", False),
        ("dashboard", "from oratio.http_json import handles_errors\nfrom . import stats\n", False),
    ],
)
def test_the_scan_catches_a_layer_break(tmp_path: Path, package: str, source: str, broken: bool) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "module.py").write_text(source)
    assert bool(violations(package_edges(tmp_path))) is broken


def test_the_scan_catches_a_cycle() -> None:
    edges = {"oratio": {"mcp_server": ["oratio/web.py"]}, "mcp_server": {"oratio": ["mcp_server/http.py"]}}
    assert cycles(edges) == ["mcp_server", "oratio"]
