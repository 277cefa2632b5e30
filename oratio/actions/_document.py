"""Reading a tenant's spec document (JSON or YAML) with every cost bounded before it is paid.

An OpenAPI document is pasted or uploaded by a tenant, so it is hostile input: its size is capped
before parsing, its nesting depth and node count while parsing. YAML is read with the safe loader
after a pass over its events that refuses anchors and aliases (the "billion laughs" bomb expands a
few kilobytes of aliases into gigabytes) and explicit tags (`!!python/object`, `!!binary`, `!!set`):
an OpenAPI document needs none of them. Both passes are libyaml's when it is installed, linear in
the text. Errors say where (line and column) and never echo the document.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any, Final

import yaml

from oratio.errors import InvalidInput

DOCUMENT_BYTES_MAX: Final = 2_000_000
"""The largest spec document accepted (UTF-8 bytes)."""
DEPTH_MAX: Final = 64
"""Nesting of mappings and sequences; real specs stay under 20."""
NODES_MAX: Final = 300_000
"""Values (scalars, mappings, sequences) in one document."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_document(text: str, *, max_bytes: int = DOCUMENT_BYTES_MAX) -> dict[str, Any]:
    """The document as plain JSON data (str keys; no dates, sets or binary). Raises InvalidInput."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidInput(f"the document is {size} bytes; at most {max_bytes} are accepted", field="spec")
    stripped = text.lstrip()
    if not stripped:
        raise InvalidInput("the document is empty: paste an OpenAPI 3.x document (JSON or YAML)", field="spec")
    value = _load_json(text) if stripped[0] in "{[" else _load_yaml(text)
    if not isinstance(value, dict):
        raise InvalidInput("the document must be a mapping (an OpenAPI object) at its top level", field="spec")
    plain: dict[str, Any] = _plain(value, "", 0, [0])
    return plain


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", field="spec") from None
    except RecursionError:
        raise InvalidInput(f"the document is nested deeper than {DEPTH_MAX} levels", field="spec") from None
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        raise InvalidInput(f"not valid JSON: {str(exc)[:120]}", field="spec") from None


def _where(mark: Any) -> str:
    return f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else "an unknown place"


def _check_events(text: str) -> None:
    """One pass over the YAML events: no anchor, alias or explicit tag; one document; bounded depth and size."""
    depth = nodes = documents = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise InvalidInput(f"{_where(event.start_mark)}: give one YAML document, not several", field="spec")
        if isinstance(event, yaml.AliasEvent):
            raise InvalidInput(
                f"{_where(event.start_mark)}: YAML aliases (*{event.anchor}) are not accepted; write the value out",
                field="spec",
            )
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > NODES_MAX:
                raise InvalidInput(f"the document has more than {NODES_MAX} values", field="spec")
            if event.anchor is not None:
                raise InvalidInput(
                    f"{_where(event.start_mark)}: YAML anchors (&{event.anchor}) are not accepted; write the value out",
                    field="spec",
                )
            tag = getattr(event, "tag", None)
            if tag is not None:
                raise InvalidInput(
                    f"{_where(event.start_mark)}: YAML tags ({tag[:40]}) are not accepted in a spec document",
                    field="spec",
                )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > DEPTH_MAX:
                raise InvalidInput(f"the document is nested deeper than {DEPTH_MAX} levels", field="spec")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _load_yaml(text: str) -> Any:
    try:
        _check_events(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - the safe loader, after the event check above
    except yaml.MarkedYAMLError as exc:
        problem = (exc.problem or "invalid syntax")[:120]
        raise InvalidInput(f"not valid YAML at {_where(exc.problem_mark)}: {problem}", field="spec") from None
    except yaml.YAMLError:
        raise InvalidInput("not valid YAML", field="spec") from None
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        raise InvalidInput(f"not valid YAML: {str(exc)[:120]}", field="spec") from None


def _plain(value: Any, place: str, depth: int, count: list[int]) -> Any:
    """A copy with str keys, dates as ISO strings and no non-finite numbers; depth and nodes bounded."""
    count[0] += 1
    if count[0] > NODES_MAX:
        raise InvalidInput(f"the document has more than {NODES_MAX} values", field="spec")
    if depth > DEPTH_MAX:
        raise InvalidInput(f"the document is nested deeper than {DEPTH_MAX} levels", field="spec")
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{place}.{k}", depth + 1, count) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{place}[{i}]", depth + 1, count) for i, v in enumerate(value)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{place.lstrip('.') or 'document'}: numbers must be finite", field="spec")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise InvalidInput(f"{place.lstrip('.') or 'document'}: unsupported value", field="spec")
