"""List caps: a model's over-long lists are merged or cut, and said so, instead of failing the schema.

A long SOP has more than 50 rules; a model answering for it used to fail creation with "the model's
ParsedSop did not fit the schema (1 errors)". Now the model answers into a copy of the schema without
list caps (`lenient`), and `fit_lists` folds each list over its cap: repeated and near-duplicate items
are merged (the longer wording kept), then the first N are kept; a note naming the field, the count
and the cap goes into `ambiguities` (when the schema has it), where the reviewer reports it as
`list_over_cap`. Whatever still does not fit is reported field by field (`schema_errors`).
"""

from __future__ import annotations

import copy
import json
import logging
from functools import cache
from typing import Any, TypeVar, get_origin

from pydantic import BaseModel, ValidationError, create_model
from pydantic.fields import FieldInfo

from creator_agent import coverage

logger = logging.getLogger("creator_agent")

T = TypeVar("T", bound=BaseModel)

NEAR_DUPLICATES_UP_TO = 400
"""Lists up to this long are compared pairwise for near-duplicates; longer ones only for repeats (bounded CPU)."""
ERRORS_SHOWN = 3
NOTES_FIELD = "ambiguities"


def _cap(info: FieldInfo) -> int | None:
    if get_origin(info.annotation) is not list:
        return None
    for meta in info.metadata:
        if (value := getattr(meta, "max_length", None)) is not None:
            return int(value)
    return None


@cache
def lenient(output: type[T]) -> type[T]:
    """`output` whose validation has no list caps (its JSON schema still shows them), or `output` if it has none."""
    fields: dict[str, Any] = {}
    for name, info in output.model_fields.items():
        cap = _cap(info)
        if cap is None:
            continue
        relaxed = copy.copy(info)
        relaxed.metadata = [meta for meta in info.metadata if getattr(meta, "max_length", None) is None]
        relaxed.description = f"{info.description or ''} (at most {cap} items; merge similar ones)".strip()
        # The schema a model is shown keeps `maxItems` (a local model's grammar is bounded by it); only
        # validation lets a longer answer through, to be folded by `fit_lists`.
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        relaxed.json_schema_extra = {**extra, "maxItems": cap}
        fields[name] = (info.annotation, relaxed)
    if not fields:
        return output
    model = create_model(output.__name__, __base__=output, __module__=output.__module__, **fields)
    return model


def _near(a: str, b: str) -> bool:
    """One item says the other and more ("be polite" / "be polite to everyone"). Items that differ in a word
    ("refunds over $100" / "refunds over $1000") are different rules, so similarity alone never merges."""
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


def merge_items(items: list[Any]) -> list[Any]:
    """Items without repeats; texts also without near-duplicates (the longer wording kept, in first place)."""
    if not all(isinstance(item, str) for item in items):
        seen: set[str] = set()
        unique = []
        for item in items:
            key = json.dumps(item, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                unique.append(item)
        return unique
    kept: list[str] = []
    keys: list[str] = []
    pairwise = len(items) <= NEAR_DUPLICATES_UP_TO
    for item in items:
        text = " ".join(item.split())
        key = coverage.normalize(text)
        if not key or key in keys:
            continue
        twin = next((j for j, other in enumerate(keys) if _near(key, other)), None) if pairwise else None
        if twin is None:
            kept.append(text)
            keys.append(key)
        elif len(key) > len(keys[twin]):
            kept[twin], keys[twin] = text, key
    return kept


def cap_list(field: str, items: list[Any], cap: int, source: str = "model") -> tuple[list[Any], str | None]:
    """`items` within `cap`: merged, then cut; with the note saying what happened, or None if it fitted."""
    if len(items) <= cap:
        return items, None
    merged = merge_items(items)
    kept = merged[:cap]
    said = [f"{len(items) - len(merged)} repeated or near-duplicate items merged"] if len(merged) < len(items) else []
    if len(merged) > cap:
        said.append(f"{len(merged) - cap} more omitted (the first {cap} kept: shorten or split the SOP to keep all)")
    return kept, f"{field}: the {source} gave {len(items)} items, over the cap of {cap}; " + ", ".join(said) + "."


def with_notes(own: list[Any], notes: list[str], cap: int, source: str = "model") -> list[Any]:
    """`ambiguities` within `cap` with the cap notes kept: its own items make room, and say so if cut."""
    room = max(0, cap - len(notes))
    if len(own) > room:
        own, note = cap_list(NOTES_FIELD, own, max(0, room - 1), source)
        notes = [*notes, note or ""]
    return [*own, *notes][:cap]


def fit_lists(answer: BaseModel, output: type[BaseModel]) -> dict[str, Any]:
    """The answer as data for `output`, each list within its cap, with notes in `ambiguities` if it has one."""
    payload = answer.model_dump()
    notes: list[str] = []
    for name, info in output.model_fields.items():
        cap, items = _cap(info), payload.get(name)
        if cap is None or not isinstance(items, list) or name == NOTES_FIELD:
            continue
        payload[name], note = cap_list(name, items, cap)
        if note is not None:
            notes.append(note)
    if NOTES_FIELD in output.model_fields:
        cap = _cap(output.model_fields[NOTES_FIELD]) or 0
        payload[NOTES_FIELD] = with_notes(list(payload.get(NOTES_FIELD) or []), notes, cap)
    elif notes:
        logger.warning("output=%s | lists over their cap: %s", output.__name__, " ".join(notes))
    return payload


def schema_errors(exc: ValidationError) -> str:
    """ "must_rules.3: String should have at most 1000 characters; tone: ...": every field named, input never
    quoted (it can be long, and it is the tenant's)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False)[:ERRORS_SHOWN]:
        where = ".".join(str(part) for part in error["loc"]) or "(the whole answer)"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


__all__ = ["cap_list", "fit_lists", "lenient", "merge_items", "schema_errors", "with_notes"]
