"""How tests are built, enforced from the source (an AST scan of tests/; nothing is imported).

- No test module imports a conftest: what several packages share lives in `tests/support`
  (plain modules), and a conftest holds fixtures only.
- Every `platform` fixture is the one family's: it opens its platform with
  `tests.support.platforms.open_test_platform` or wraps the `platform` it overrides; a module
  that needs other settings or models overrides `platform_settings` / `platform_models`.
- Processes are stopped by `tests.support.processes` only: no test terminates a process by hand
  (killing one with SIGKILL is what crash tests do on purpose), and every module that starts one
  with `Popen` stops it with `stop_process`/`running`.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
BUILDERS = {"open_test_platform", "reliability_platform"}
"""The family's builder, and the reliability tests' one over it (the demo's agent, no rate limits)."""
SUPPORT = TESTS / "support"
HAND_STARTED_OK = {"tests/oratio/test_service_leases.py"}
"""Starts `python -c pass` and waits for it to exit (to get the pid of a dead process): nothing to stop."""


def sources() -> list[tuple[str, ast.Module]]:
    """Every test source outside tests/support, parsed, by its path from the repository root."""
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.parent != SUPPORT:
            found.append((path.relative_to(TESTS.parent).as_posix(), ast.parse(path.read_text())))
    return found


def is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
    return False


def calls(node: ast.AST) -> set[str]:
    """The names of the functions and methods `node` calls."""
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            names.add(func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else "")
    return names


def test_no_test_module_imports_a_conftest() -> None:
    offenders = [
        f"{path}: from {node.module} import ..."
        for path, tree in sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[-1] == "conftest"
    ]
    assert offenders == [], "shared helpers belong in tests/support, not a conftest"


def test_no_test_module_imports_another_packages_test_module() -> None:
    """What two packages share is support, not a test: importing another package's test module runs
    its fixtures' imports and ties the packages together (a moved helper broke a distant package)."""
    offenders = []
    for path, tree in sources():
        own = path.split("/")[1] if path.count("/") > 1 else ""
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests."):
                parts = node.module.split(".")
                if len(parts) == 3 and parts[2].startswith("test_") and parts[1] != own:
                    offenders.append(f"{path}: from {node.module} import ...")
    assert offenders == [], "move what both packages need into tests/support"


def test_every_platform_fixture_is_built_by_the_one_family() -> None:
    offenders = []
    for path, tree in sources():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name == "platform"
                and is_fixture(node)
            ):
                wraps = "platform" in {arg.arg for arg in node.args.args}
                if not wraps and not calls(node) & BUILDERS:
                    offenders.append(f"{path}:{node.lineno}")
    assert offenders == [], "override platform_settings/platform_models, or build with open_test_platform"


def test_processes_are_stopped_by_the_one_helper() -> None:
    by_hand = []
    unstopped = []
    for path, tree in sources():
        called = calls(tree)
        if "terminate" in called:
            by_hand.append(path)
        if "Popen" in called and path not in HAND_STARTED_OK and not called & {"stop_process", "running"}:
            unstopped.append(path)
    assert by_hand == [], "stop processes with tests.support.processes.stop_process or running"
    assert unstopped == [], "a process started with Popen must be stopped with stop_process or running"
