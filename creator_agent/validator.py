"""The gate in front of blob storage: only a file that is the vetted template plus one plan is deployed.

Why two layers. The decisive check is the shape check: the file's syntax tree must equal the tree of
the template rendered with a placeholder, with the single data string constant the only difference.
That alone refuses every change to the code. The deny-list walk before it exists for the people who
read the refusal: an added `import os` is reported as a forbidden import, not as "statement 4
differs", and a bug in the shape comparison still would not let the classic escapes through.

Everything runs iteratively (`ast.walk`) or on trees already bounded by the template's node count,
so a hostile, deeply nested file costs a refusal, never a crash; the source size is capped before
parsing. Comments are invisible to the tree, which is safe with one exception handled here: a PEP
263 encoding declaration changes how the bytes on disk are decoded (`# coding: utf-7` can hide a
newline and a statement inside a comment), so any encoding declaration is refused.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from typing import Final

from pydantic import ValidationError

from creator_agent.template import AGENT_ID_MARK, AGENT_TEMPLATE, DATA_NAME, PLAN_LITERAL, VERSION_MARK
from oratio.errors import InvalidInput
from schemas.plan import AgentPlan

MAX_SOURCE_BYTES: Final = 1024 * 1024
"""1 MiB: room for the largest plan the schema allows in plain text, far less than a parser bomb needs."""

ALLOWED_MODULES: Final = ("json", "schemas", "oratio_app.agent_runtime", "oratio.runtime")
"""Import roots a generated agent may name (the roots and their submodules), checked before the shape."""

FORBIDDEN_NAMES: Final = frozenset(
    {
        "__builtins__",
        "__import__",
        "__loader__",
        "__spec__",
        "breakpoint",
        "compile",
        "delattr",
        "eval",
        "exec",
        "getattr",
        "globals",
        "importlib",
        "input",
        "locals",
        "memoryview",
        "open",
        "os",
        "setattr",
        "socket",
        "subprocess",
        "sys",
        "vars",
    }
)
"""Builtins and modules that reach code, files, processes or the network; none appears in the template.

`getattr`/`setattr`/`delattr` are refused outright, literal name or not: the template never needs them.
"""

ALLOWED_DUNDER_NAMES: Final = frozenset({"__name__"})
"""The only dunder the template reads (`if __name__ == "__main__"`)."""

_FORBIDDEN_NODES: Final[dict[type[ast.AST], str]] = {
    ast.Lambda: "a lambda",
    ast.FunctionDef: "a function definition",
    ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.Try: "a try statement",
    ast.TryStar: "a try statement",
    ast.JoinedStr: "an f-string",
    ast.Global: "a global statement",
    ast.Nonlocal: "a nonlocal statement",
    ast.With: "a with statement",
    ast.AsyncWith: "a with statement",
    ast.For: "a loop",
    ast.AsyncFor: "a loop",
    ast.While: "a loop",
    ast.Delete: "a del statement",
    ast.Await: "an await",
    ast.Yield: "a yield",
    ast.YieldFrom: "a yield",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Match: "a match statement",
}

# PEP 263: a comment on line 1 or 2 matching this sets the source encoding.
_ENCODING_DECLARATION: Final = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


class UnsafeAgentCode(InvalidInput):
    """The generated agent file is not the vetted template plus one valid plan.

    `reason` is a stable slug a test or a caller can branch on (`forbidden_import`, `shape_mismatch`,
    ...); the message says, for a person, what was found and where.
    """

    code = "unsafe_agent_code"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"the generated agent code was refused ({reason}): {detail}", field="agent.py")
        self.reason = reason
        self.detail = detail


def validate_agent_source(source: str | bytes) -> None:
    """Raise `UnsafeAgentCode` unless `source` is the template with one plan JSON that is a valid AgentPlan.

    Bytes are accepted so what is read back from storage can be checked as stored (strict UTF-8).
    """
    embedded_plan_json(source)


def embedded_plan(source: str | bytes) -> AgentPlan:
    """The plan a generated agent carries, after the same checks as `validate_agent_source`."""
    return AgentPlan.model_validate_json(embedded_plan_json(source))


def embedded_plan_json(source: str | bytes) -> str:
    """The plan JSON text a generated agent carries, after every check of `validate_agent_source`."""
    text = _decoded(source)
    _check_text(text)
    tree = _parsed(text)
    _check_denylist(tree)
    data = _check_shape(tree)
    try:
        AgentPlan.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the plan"
        raise UnsafeAgentCode(
            "invalid_plan", f"the embedded plan is not a valid AgentPlan: {where}: {first['msg']}"
        ) from None
    return data


def _decoded(source: str | bytes) -> str:
    if isinstance(source, bytes):
        if len(source) > MAX_SOURCE_BYTES:
            raise UnsafeAgentCode("too_large", f"{len(source)} bytes, the limit is {MAX_SOURCE_BYTES}")
        try:
            return source.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnsafeAgentCode("not_utf8", f"byte {exc.start} is not UTF-8") from None
    if not isinstance(source, str):
        raise UnsafeAgentCode("not_text", f"expected source text, got {type(source).__name__}")
    return source


def _check_text(text: str) -> None:
    if len(text) > MAX_SOURCE_BYTES:  # cheap bound first: a character is at least one byte
        raise UnsafeAgentCode("too_large", f"{len(text)} characters, the limit is {MAX_SOURCE_BYTES} bytes")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise UnsafeAgentCode("not_utf8", f"character {exc.start} cannot be written as UTF-8") from None
    if size > MAX_SOURCE_BYTES:
        raise UnsafeAgentCode("too_large", f"{size} bytes, the limit is {MAX_SOURCE_BYTES}")
    if "\x00" in text:
        raise UnsafeAgentCode("nul_byte", f"a NUL character at offset {text.index(chr(0))}")
    for number, line in enumerate(text.lstrip("\ufeff").splitlines()[:2], start=1):
        if _ENCODING_DECLARATION.match(line):
            raise UnsafeAgentCode("encoding_declaration", f"line {number} declares a source encoding")


def _parsed(text: str) -> ast.Module:
    try:
        return ast.parse(text, filename="agent.py", mode="exec")
    except SyntaxError as exc:
        raise UnsafeAgentCode("syntax", f"line {exc.lineno}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise UnsafeAgentCode("too_deep", "the code is nested too deeply to parse") from None
    except ValueError as exc:  # e.g. NUL bytes on some Python versions; already refused above
        raise UnsafeAgentCode("syntax", str(exc)) from None


def _line(node: ast.AST) -> str:
    return f"line {getattr(node, 'lineno', '?')}"


def _allowed_module(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in ALLOWED_MODULES)


def _check_denylist(tree: ast.Module) -> None:
    """Refuse known escapes with a specific reason. `ast.walk` is iterative: depth cannot crash it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise UnsafeAgentCode("relative_import", f"{_line(node)}: a relative import")
            if any(alias.name == "*" for alias in node.names):
                raise UnsafeAgentCode("star_import", f"{_line(node)}: from {node.module} import *")
            if not _allowed_module(node.module or ""):
                raise UnsafeAgentCode("forbidden_import", f"{_line(node)}: imports {node.module}")
            for alias in node.names:
                if alias.name in FORBIDDEN_NAMES or alias.name.startswith("__"):
                    raise UnsafeAgentCode("forbidden_import", f"{_line(node)}: imports {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if not _allowed_module(alias.name):
                    raise UnsafeAgentCode("forbidden_import", f"{_line(node)}: imports {alias.name}")
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES:
                raise UnsafeAgentCode("forbidden_name", f"{_line(node)}: uses {node.id}")
            if node.id.startswith("__") and node.id not in ALLOWED_DUNDER_NAMES:
                raise UnsafeAgentCode("dunder_name", f"{_line(node)}: uses {node.id}")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__") and node.attr.endswith("__"):
                raise UnsafeAgentCode("dunder_attribute", f"{_line(node)}: reads .{node.attr}")
            if node.attr in FORBIDDEN_NAMES:
                raise UnsafeAgentCode("forbidden_name", f"{_line(node)}: uses .{node.attr}")
        elif isinstance(node, ast.alias) and node.asname is not None:
            raise UnsafeAgentCode("import_alias", f"{_line(node)}: renames {node.name} to {node.asname}")
        else:
            decorated = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.decorator_list
            if decorated:
                raise UnsafeAgentCode("decorator", f"{_line(node)}: a decorated definition")
            construct = _FORBIDDEN_NODES.get(type(node))
            if construct is not None:
                raise UnsafeAgentCode("forbidden_construct", f"{_line(node)}: {construct}")


@cache
def _template_shape() -> tuple[int, int, list[str]]:
    """(index of the data statement, node count, per-statement dumps) of the template with a placeholder."""
    source = (
        AGENT_TEMPLATE.replace(AGENT_ID_MARK, "agt_placeholder").replace(VERSION_MARK, "1").replace(PLAN_LITERAL, "''")
    )
    tree = ast.parse(source)
    index = next(i for i, stmt in enumerate(tree.body) if _data_value(stmt) is not None)
    return index, _count(tree), [ast.dump(_blank(stmt)) for stmt in tree.body]


def _data_value(stmt: ast.stmt) -> ast.Constant | None:
    """The string constant of `PLAN_JSON = '...'`, or None if `stmt` is not exactly that."""
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and stmt.targets[0].id == DATA_NAME
        and isinstance(stmt.value, ast.Constant)
        and type(stmt.value.value) is str
        and stmt.value.kind is None
    ):
        return stmt.value
    return None


def _blank(stmt: ast.stmt) -> ast.stmt:
    """The statement with its data constant (if it is the data statement) replaced by ''."""
    if _data_value(stmt) is None:
        return stmt
    assert isinstance(stmt, ast.Assign)
    return ast.Assign(targets=stmt.targets, value=ast.Constant(value=""), type_comment=stmt.type_comment)


def _count(tree: ast.AST) -> int:
    return sum(1 for _ in ast.walk(tree))


def _check_shape(tree: ast.Module) -> str:
    """Compare with the template statement by statement, ignoring only the data constant; return the data."""
    index, nodes, expected = _template_shape()
    body = tree.body
    if len(body) != len(expected):
        raise UnsafeAgentCode("statement_count", f"{len(body)} top-level statements, the template has {len(expected)}")
    data = _data_value(body[index])
    if data is None:
        raise UnsafeAgentCode("shape_mismatch", f"{_line(body[index])}: {DATA_NAME} is not one plain string constant")
    # Equal node counts bound every tree compared below by the template's size, so the recursive
    # `ast.dump` runs only on small, shallow trees.
    if _count(tree) != nodes:
        raise UnsafeAgentCode("shape_mismatch", "the code has more or fewer parts than the template")
    for number, (stmt, want) in enumerate(zip(body, expected, strict=True), start=1):
        if ast.dump(_blank(stmt)) != want:
            raise UnsafeAgentCode("shape_mismatch", f"statement {number} ({_line(stmt)}) differs from the template")
    value = data.value
    assert isinstance(value, str)
    return value


__all__ = [
    "ALLOWED_MODULES",
    "FORBIDDEN_NAMES",
    "MAX_SOURCE_BYTES",
    "UnsafeAgentCode",
    "embedded_plan",
    "embedded_plan_json",
    "validate_agent_source",
]
