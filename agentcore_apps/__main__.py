"""`python -m agentcore_apps`: the agent runtime as a Bedrock AgentCore Runtime container (or locally).

AgentCore runs a container that listens on 0.0.0.0:8080 and answers `/invocations` and `/ping`.
Configuration is the platform's own, from `ORATIO_*` environment variables (the same store, blobs and
knowledge backends the admin side uses, so a deployed agent is served from where it was deployed).
The bind address may be overridden for local runs:

    python -m agentcore_apps                      # 127.0.0.1:8080, or 0.0.0.0:8080 inside a container
    python -m agentcore_apps --host 0.0.0.0 --port 9000

`ORATIO_RUNTIME_HOST` / `ORATIO_RUNTIME_PORT` do the same as the flags. A bad configuration exits
with status 2 and one line that says what to fix.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

AGENTCORE_PORT = 8080


def _default_host() -> str:
    """All interfaces in a container (AgentCore's proxy must reach the port), loopback elsewhere."""
    if os.environ.get("ORATIO_RUNTIME_HOST"):
        return os.environ["ORATIO_RUNTIME_HOST"]
    in_container = os.path.exists("/.dockerenv") or bool(os.environ.get("DOCKER_CONTAINER"))
    return "0.0.0.0" if in_container else "127.0.0.1"  # noqa: S104 - containers must expose the port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentcore_apps", description="Serve Oratio agents (AgentCore)")
    parser.add_argument("--host", default=_default_host())
    parser.add_argument("--port", type=int, default=int(os.environ.get("ORATIO_RUNTIME_PORT", AGENTCORE_PORT)))
    args = parser.parse_args(argv)

    import uvicorn

    from agentcore_apps.app import create_runtime_app
    from oratio.config import load_settings
    from oratio.errors import OratioError
    from oratio.platform import open_platform

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings()
        with open_platform(settings) as platform:
            app = create_runtime_app(platform)  # which keeps AgentCore's log lines from doubling
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    except OratioError as exc:
        print(f"oratio runtime: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
