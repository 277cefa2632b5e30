"""`python -m creator_agent`: the AgentCreator as an AgentCore Runtime (port 8080), config from `ORATIO_*`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from creator_agent.app import create_creator_app
from creator_agent.models import creator_models
from creator_agent.pipeline import AgentCreator
from oratio.agentcore_ingress import AgentCoreIngress
from oratio.config import load_settings
from oratio.errors import OratioError
from oratio.platform import open_platform


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m creator_agent", description="Serve the AgentCreator (AgentCore)")
    parser.add_argument("--host", default=os.environ.get("ORATIO_CREATOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ORATIO_CREATOR_PORT", "8080")))
    parser.add_argument(
        "--agentcore", action="store_true", help="behind AgentCore: take the admin token from its custom header"
    )
    args = parser.parse_args(argv)
    import uvicorn

    try:
        settings = load_settings()
        with open_platform(settings) as platform:
            app = create_creator_app(platform, AgentCreator(platform, creator_models(settings)))
            served = AgentCoreIngress(app, args.host, args.port) if args.agentcore else app
            uvicorn.run(served, host=args.host, port=args.port, log_level="warning")
    except OratioError as exc:
        print(f"creator_agent: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
