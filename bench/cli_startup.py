"""CLI start-up: `oratio --help` and `oratio mcp` (spawn -> MCP initialize response), beside `python -c pass`.

Claude Desktop and IDEs spawn `oratio mcp` on every start and wait for its initialize response, so
that wait is import time: the target is <= 0.5 s. Each figure is the median of `--runs` spawns,
measured in this run beside a bare interpreter's start (`python -c pass`) on the same machine; the
ratio is the comparable part on a shared machine. `import mcp.server.mcpserver` alone (the MCP SDK
builds ~700 pydantic models at import) is printed too: it is the floor `oratio mcp` cannot go below.

    .venv/bin/python -m bench.cli_startup                     # this checkout
    .venv/bin/python -m bench.cli_startup --repo /work/main   # another checkout (before/after)

The MCP client is a real one (`mcp.client.stdio`) over a data directory initialised with `oratio init`.
"""

from __future__ import annotations

import argparse
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
        helps = [timed_run([*argv, "--help"], env, repo) for _ in range(args.runs)]
        mcps = [anyio.run(mcp_initialize, argv, env, repo, tenant, errlog) for _ in range(args.runs)]
    floor = statistics.median(bare)
    print(f"{' '.join(argv[1:])} in {repo}, median of {args.runs} spawns:")
    print(f"  {'python -c pass':<39} {floor * 1000:7.0f} ms")
    rows = (
        ("python -c 'import mcp.server.mcpserver'", sdk),  # the MCP SDK alone: the floor of `oratio mcp`
        ("oratio --help", helps),
        ("oratio mcp -> initialize response", mcps),
    )
    for name, times in rows:
        median = statistics.median(times)
        target = "" if name.startswith("python") else "   (target <= 500 ms)"
        print(f"  {name:<39} {median * 1000:7.0f} ms   {median / floor:5.1f}x python -c pass{target}")


if __name__ == "__main__":
    main()
