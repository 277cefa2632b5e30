"""Services are the only way to data (issue 16, item 2), enforced in CI from the source alone.

A door (MCP, AgentCore, voice, creator, deploy, dashboard) reaches records, blobs and events only
through the services on the platform: it imports no store adapter or table, no blob store, and never
touches `.backends`. Two imports are allowed by name, each for a reason: `oratio.store.ports.Page`
(the page type services return) and, in `deploy` only, `oratio.store.dynamodb.table_definitions`
with `expiring_tables` and `TTL_ATTRIBUTE` (the CloudFormation template declares the same tables, and
the same TTLs, the adapter uses). An AST scan, nothing imported.

Nor does a door import `oratio.platform` (the `Platform`, `open_platform`): each door declares the
services it uses as a Protocol of its own (`mcp_server._context.McpServices`,
`creator_agent.context`, `dashboard.context`, `agentcore_apps.context`, `voice_bridge.context`), and
only the composition root (`oratio_app`) holds a whole `Platform` and hands it over.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_layers import DOORS, ROOT

ALLOWED: dict[str, set[tuple[str, str]]] = {
    door: {("oratio.store.ports", "Page")}
    | (
        {("oratio.store.dynamodb", name) for name in ("table_definitions", "expiring_tables", "TTL_ATTRIBUTE")}
        if door == "deploy"
        else set()
    )
    for door in DOORS
}
"""Per door: the (module, name) pairs from the store it may import."""
FORBIDDEN_MODULES = ("oratio.store", "oratio.blobs", "oratio.platform")


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def data_access(source: str, allowed: set[tuple[str, str]]) -> list[str]:
    """Every forbidden import and every `.backends` attribute in `source`, as `line: what`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}"
                for a in node.names
                if any(_under(a.name, m) for m in FORBIDDEN_MODULES)
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if any(_under(node.module, m) for m in FORBIDDEN_MODULES):
                found += [
                    f"{node.lineno}: from {node.module} import {a.name}"
                    for a in node.names
                    if (node.module, a.name) not in allowed
                ]
            elif node.module == "oratio":
                found += [
                    f"{node.lineno}: from oratio import {a.name}"
                    for a in node.names
                    if a.name in ("store", "blobs", "platform")
                ]
        elif isinstance(node, ast.Attribute) and node.attr == "backends":
            found.append(f"{node.lineno}: .backends")
    return sorted(found, key=lambda hit: int(hit.split(":")[0]))  # ast.walk is breadth-first


def door_violations(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root).as_posix()}:{hit}"
        for door in sorted(DOORS)
        for path in sorted((root / door).rglob("*.py"))
        for hit in data_access(path.read_text(), ALLOWED[door])
    ]


def test_no_door_reaches_the_store_blobs_or_backends() -> None:
    assert door_violations(ROOT) == []


def test_the_scan_catches_each_way_around_the_services() -> None:
    source = """
from oratio.store.tables import AGENTS
from oratio.store.ports import Page, RecordStore
import oratio.blobs.local
from oratio import store
def f(platform):
    platform.backends.blobs.put("k", b"")
    return platform.keys.authenticate_for_agent("s", "a")
"""
    assert data_access(source, ALLOWED["agentcore_apps"]) == [
        "2: from oratio.store.tables import AGENTS",
        "3: from oratio.store.ports import RecordStore",
        "4: import oratio.blobs.local",
        "5: from oratio import store",
        "7: .backends",
    ]


def test_deploy_alone_may_read_the_table_definitions() -> None:
    source = "from oratio.store.dynamodb import table_definitions\n"
    assert data_access(source, ALLOWED["deploy"]) == []
    assert data_access(source, ALLOWED["voice_bridge"]) == ["1: from oratio.store.dynamodb import table_definitions"]


def test_the_scan_catches_a_door_importing_the_platform() -> None:
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from oratio.platform import Platform
from oratio.platform import open_platform
import oratio.platform
from oratio import platform
from oratio.http_json import admin_principal
"""
    assert data_access(source, ALLOWED["dashboard"]) == [
        "4: from oratio.platform import Platform",
        "5: from oratio.platform import open_platform",
        "6: import oratio.platform",
        "7: from oratio import platform",
    ]
