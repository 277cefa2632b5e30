"""The customer-agent runtime's entry function, `main`, as a generated `agent.py` imports it.

The AgentCreator's template (`creator_agent.template`) names exactly `from oratio_app.agent_runtime
import main` (its validator refuses import aliases), so this is `serve-door runtime` under that name.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from oratio_app.doors import main as serve_door


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m oratio_app serve-door runtime [argv]`: /invocations and /ping, 8080 in a container."""
    return serve_door(["runtime", *(sys.argv[1:] if argv is None else argv)])
