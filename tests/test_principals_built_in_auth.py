"""Principals are built in one place (issue 16, item 2): `oratio/auth/principals.py`, enforced in CI.

Services, the local operator (`oratio mcp` over stdio, `oratio admin ...`), an admin acting as
itself and a principal read back from a verified token each have a factory there, so subject names
and scopes cannot drift between call sites. An AST scan of the source (nothing imported) finds any
`Principal(...)`, `Principal.model_validate(...)` or `Principal.model_construct(...)` elsewhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from oratio.auth.principals import (
    CLI_SUBJECT,
    OPERATOR_SUBJECT,
    admin_as_principal,
    local_operator,
    token_principal,
)
from schemas import Admin, Scope
from tests.test_layers import PACKAGES, ROOT

MAY_BUILD = ("oratio/auth/", "schemas/")
"""Where a `Principal` may be constructed: the auth package (its factories, token verification) and its model."""
BUILDERS = {"model_validate", "model_validate_json", "model_construct"}


def principal_constructions(source: str) -> list[int]:
    """Lines of `source` that construct a `Principal` directly."""
    lines: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "Principal":
            lines.append(node.lineno)
        elif isinstance(func, ast.Attribute) and func.attr == "Principal":
            lines.append(node.lineno)  # schemas.Principal(...)
        elif isinstance(func, ast.Attribute) and func.attr in BUILDERS and _names_principal(func.value):
            lines.append(node.lineno)
    return sorted(lines)


def _names_principal(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "Principal") or (
        isinstance(node, ast.Attribute) and node.attr == "Principal"
    )


def hand_built(root: Path) -> list[str]:
    found: list[str] = []
    for package in sorted(PACKAGES):
        for path in sorted((root / package).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            if where.startswith(MAY_BUILD):
                continue
            found += [f"{where}:{line}" for line in principal_constructions(path.read_text())]
    return found


def test_no_principal_is_hand_built_outside_oratio_auth() -> None:
    assert hand_built(ROOT) == []


def test_the_scan_finds_each_way_to_build_one() -> None:
    source = """
import schemas
from schemas import Principal
a = Principal(tenant_id="t", subject="s", scopes=frozenset())
b = schemas.Principal(tenant_id="t", subject="s", scopes=frozenset())
c = Principal.model_validate({})
d = schemas.Principal.model_construct()
e: Principal | None = None
f = isinstance(a, Principal)
"""
    assert principal_constructions(source) == [4, 5, 6, 7]


def test_the_operator_factories_keep_their_subjects_and_admin_scope() -> None:
    stdio = local_operator("ten_01hzzzzz")
    cli = local_operator("ten_01hzzzzz", CLI_SUBJECT)
    assert (stdio.subject, cli.subject) == (OPERATOR_SUBJECT, "oratio-cli")
    assert stdio.scopes == cli.scopes == frozenset({Scope.ADMIN})
    with pytest.raises(ValidationError):
        local_operator("not a tenant id")


def test_an_admin_acts_with_exactly_its_own_scopes() -> None:
    admin = Admin(
        tenant_id="ten_01hzzzzz",
        id="adm_01hzzzzz",
        email="a@example.com",
        name="A",
        scopes=(Scope.AGENTS_READ, Scope.SESSIONS_READ),
    )
    principal = admin_as_principal(admin)
    assert (principal.tenant_id, principal.subject) == (admin.tenant_id, admin.id)
    assert principal.scopes == frozenset({Scope.AGENTS_READ, Scope.SESSIONS_READ})


def test_a_token_principal_reads_scope_names_and_refuses_unknown_ones() -> None:
    principal = token_principal("ten_01hzzzzz", "adm_x", ["agents:read"])
    assert principal.scopes == frozenset({Scope.AGENTS_READ})
    with pytest.raises(ValueError):
        token_principal("ten_01hzzzzz", "adm_x", ["root"])
