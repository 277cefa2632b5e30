"""Field-by-field difference between two plans, for `diff_agent_plan` (and the record of an admin edit).

Scalars show before/after; lists show the items added and removed (compared as JSON, so a handoff rule
changed in place shows as the old rule removed and the new one added); the system prompt, the one long
text, also gets a unified diff (difflib, line-based: a 20,000-character prompt diffs in milliseconds).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from schemas.plan import AgentPlan
from schemas.plan_view import FieldChange

__all__ = ["TEXT_FIELDS", "changed_fields", "diff_plans"]

TEXT_FIELDS = frozenset({"system_prompt"})
"""Fields long enough that a before/after pair is unreadable: they get a unified diff instead."""


def _key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


def changed_fields(before: AgentPlan, after: AgentPlan) -> list[str]:
    """The plan fields whose values differ, in the plan's field order."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return [name for name in AgentPlan.model_fields if old[name] != new[name]]


def diff_plans(
    before: AgentPlan, after: AgentPlan, *, labels: tuple[str, str] = ("before", "after")
) -> list[FieldChange]:
    """One `FieldChange` per field that differs, in the plan's field order."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    changes: list[FieldChange] = []
    for name in changed_fields(before, after):
        was, now = old[name], new[name]
        if isinstance(was, list) and isinstance(now, list):
            gone = {_key(item) for item in now}
            came = {_key(item) for item in was}
            changes.append(
                FieldChange(
                    field=name,
                    added=[item for item in now if _key(item) not in came],
                    removed=[item for item in was if _key(item) not in gone],
                )
            )
        elif name in TEXT_FIELDS:
            lines = difflib.unified_diff(
                str(was).splitlines(), str(now).splitlines(), fromfile=labels[0], tofile=labels[1], lineterm=""
            )
            changes.append(FieldChange(field=name, unified_diff="\n".join(lines)))
        else:
            changes.append(FieldChange(field=name, before=was, after=now))
    return changes
