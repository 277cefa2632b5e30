"""Process-wide logging, configured once by the composition root.

Logging is process state: an app factory that changed it (as `create_runtime_app` once set
AgentCore's logger to stop propagating) changed every later app and test in the process. Only the
entry points that own the process (`oratio`, `python -m oratio_app serve-door`) configure it.
"""

from __future__ import annotations

import logging

AGENTCORE_LOGGER = "bedrock_agentcore.app"
"""AgentCore's app logger: it installs a JSON handler of its own (request and session ids, as CloudWatch expects)."""


def configure_logging(level: int, fmt: str) -> None:
    """The root handler at `level`, and AgentCore's records written by its own handler only.

    Were AgentCore's records to reach the root handler too, every invocation would be logged twice.
    """
    logging.basicConfig(level=level, format=fmt)
    logging.getLogger(AGENTCORE_LOGGER).propagate = False
