"""CLI start-up: `oratio --help` and `oratio mcp` (spawn -> MCP initialize response), beside `python -c pass`.

Claude Desktop and IDEs spawn `oratio mcp` on every start and wait for its initialize response, so
that wait is import time: the target is <= 0.5 s. Each figure is the median of `--runs` spawns,
measured in this run beside a bare interpreter's start (`python -c pass`) on the same machine; the
ratio is the comparable part on a shared machine. The MCP SDK's own imports are printed too: `import mcp`
is the floor of any server built on the SDK, the low-level `mcp.server.lowlevel.Server` included,
because `mcp/__init__.py` (mcp 2.1) imports the client, the server, both protocol versions' pydantic
models, httpx, starlette and uvicorn before any submodule; `import mcp_types` is the types package alone.

Then `oratio mcp`'s own share, phase by phase, in CPU seconds of a fresh interpreter (median of the
same runs; CPU, not wall, so a busy machine moves it less): importing the SDK, importing the MCP door
(the core, `schemas`), opening the platform and checking the tenant, building the server (the SDK
derives each tool's input and output JSON schema from its signature with pydantic).

    .venv/bin/python -m bench.cli_startup                     # this checkout
    .venv/bin/python -m bench.cli_startup --repo /work/main   # another checkout (before/after)

The MCP client is a real one (`mcp.client.stdio`) over a data directory initialised with `oratio init`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parent.parent


def command(repo: Path) -> list[str]:
    """How to run the `oratio` command from `repo` (`oratio_app` after the composition root; `oratio.cli` before)."""
    module = "oratio_app" if (repo / "oratio_app" / "__main__.py").exists() else "oratio.cli"
    return [sys.executable, "-m", module]


def environment(repo: Path, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(repo), "ORATIO_DATA_DIR": str(data_dir), "ORATIO_EMBEDDINGS": "false"}


def timed_run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


async def mcp_initialize(argv: list[str], env: dict[str, str], cwd: Path, tenant: str, errlog: TextIO) -> float:
    """Seconds from spawning `oratio mcp` to its initialize response (the session is then closed)."""
    params = StdioServerParameters(command=argv[0], args=[*argv[1:], "mcp", "--tenant", tenant], env=env, cwd=cwd)
    started = time.perf_counter()
    async with Client(stdio_client(params, errlog=errlog)):
        elapsed = time.perf_counter() - started
    return elapsed


PHASES = """
import json, sys, time
cpu = time.process_time
marks = [cpu()]
import mcp
marks.append(cpu())
import mcp_server.stdio
from mcp_server.server import build_server
from oratio_app.cli import main
marks.append(cpu())
def serve(platform, principal):
    marks.append(cpu())
    build_server(platform, mcp_server.stdio.OperatorPrincipal(principal))
    marks.append(cpu())
mcp_server.stdio.serve_stdio = serve
main(["mcp", "--tenant", sys.argv[1]])
print(json.dumps([b - a for a, b in zip(marks, marks[1:])]))
"""
"""`oratio mcp` up to serving stdio, in a fresh interpreter; prints the CPU seconds of each phase."""
PHASE_NAMES = (
    "import mcp (the SDK floor)",
    "import the MCP door (core, schemas)",
    "settings, platform open, tenant check",
    "build the server (tool schemas)",
)


def phase_times(env: dict[str, str], cwd: Path, tenant: str) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", PHASES, tenant],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    times: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def init_tenant(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([*argv, "init"], env=env, cwd=cwd, check=True, capture_output=True, text=True, timeout=120)
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("tenant"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose `oratio` is timed")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    repo = args.repo.resolve()
    argv = command(repo)
    with tempfile.TemporaryDirectory(prefix="oratio-startup-") as tmp, open(os.devnull, "w") as errlog:
        env = environment(repo, Path(tmp) / "data")
        tenant = init_tenant(argv, env, repo)
        bare = [timed_run([sys.executable, "-c", "pass"], env, repo) for _ in range(args.runs)]
        sdk = [timed_run([sys.executable, "-c", "import mcp.server.mcpserver"], env, repo) for _ in range(args.runs)]
        package = [timed_run([sys.executable, "-c", "import mcp"], env, repo) for _ in range(args.runs)]
        types = [timed_run([sys.executable, "-c", "import mcp_types"], env, repo) for _ in range(args.runs)]
        helps = [timed_run([*argv, "--help"], env, repo) for _ in range(args.runs)]
        mcps = [anyio.run(mcp_initialize, argv, env, repo, tenant, errlog) for _ in range(args.runs)]
        phases = [phase_times(env, repo, tenant) for _ in range(args.runs)] if argv[-1] == "oratio_app" else []
    floor = statistics.median(bare)
    print(f"{' '.join(argv[1:])} in {repo}, median of {args.runs} spawns:")
    print(f"  {'python -c pass':<39} {floor * 1000:7.0f} ms")
    rows = (
        ("python -c 'import mcp_types'", types),  # the protocol types package alone
        ("python -c 'import mcp'", package),  # the SDK package: the floor of any SDK server, lowlevel included
        ("python -c 'import mcp.server.mcpserver'", sdk),
        ("oratio --help", helps),
        ("oratio mcp -> initialize response", mcps),
    )
    for name, times in rows:
        median = statistics.median(times)
        target = "" if name.startswith("python") else "   (target <= 500 ms)"
        print(f"  {name:<39} {median * 1000:7.0f} ms   {median / floor:5.1f}x python -c pass{target}")
    if phases:
        print(f"oratio mcp up to serving stdio, CPU ms per phase (median of {args.runs} fresh interpreters):")
        for index, name in enumerate(PHASE_NAMES):
            print(f"  {name:<39} {statistics.median(run[index] for run in phases) * 1000:7.0f} ms")
        print(f"  {'total':<39} {statistics.median(sum(run) for run in phases) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
