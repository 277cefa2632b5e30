"""`python -m mcp_server`: the MCP server alone over streamable HTTP (an AgentCore MCP runtime, or any host).

AgentCore's MCP contract: listen on 0.0.0.0:8000 and answer `POST /mcp`. `oratio serve` stays the way
to run everything in one process locally; this entry point runs the MCP door on its own:

    python -m mcp_server --host 127.0.0.1 --port 8000
    python -m mcp_server --host 0.0.0.0 --port 8000 --agentcore   # what the AgentCore package launches

Configuration is the platform's own (`ORATIO_*`). A bad configuration exits with status 2 and one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvicorn

from creator_agent.models import attach_creator
from mcp_server.http import create_mcp_http_app, default_public_url
from oratio.agentcore_ingress import AgentCoreIngress
from oratio.config import load_settings
from oratio.errors import OratioError
from oratio.platform import open_platform

MCP_PORT = 8000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcp_server", description="Serve Oratio's MCP tools over HTTP")
    parser.add_argument("--host", default=os.environ.get("ORATIO_MCP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ORATIO_MCP_PORT", MCP_PORT)))
    parser.add_argument(
        "--agentcore", action="store_true", help="behind AgentCore: take the admin token from its custom header"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        with open_platform(settings) as opened:
            platform = attach_creator(opened)
            public_url = settings.public_url or default_public_url(args.host, args.port)
            app = create_mcp_http_app(platform, public_url=public_url, host=args.host, port=args.port)
            served = AgentCoreIngress(app, args.host, args.port) if args.agentcore else app
            uvicorn.run(served, host=args.host, port=args.port, log_level="warning")
    except OratioError as exc:
        print(f"mcp_server: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
