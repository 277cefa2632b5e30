"""`oratio serve` as a real child process: start it, read what it prints, kill -9 it or stop it.

Shared by the crash test and the secrets test. The server's stdout is pumped into a queue by a
thread, so waiting for a line is a bounded queue read, never a sleep; stderr goes to a file the
test can scan afterwards (logs included).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.crash import ROOT
from tests.net import free_port
from tests.support.processes import READY_TIMEOUT_S, stop_process, wait_for_http

LINE_TIMEOUT_S = 60.0
SERVE = (
    "import logging, sys\n"
    "if sys.argv[2] == 'debug':\n"
    "    logging.basicConfig(level=logging.DEBUG, format='%(levelname)s %(name)s %(message)s')\n"
    "from oratio_app.cli import main\n"
    "sys.exit(main(['serve', '--port', sys.argv[1]]))\n"
)


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any ORATIO_ setting, plus `settings`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")} | settings


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    stderr_path: Path
    lines: queue.Queue[str | None]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_line(self, prefix: str) -> str:
        """The first printed line starting with `prefix` (earlier ones are skipped); fail if it exits first."""
        while True:
            line = self.lines.get(timeout=LINE_TIMEOUT_S)
            if line is None:
                raise AssertionError(f"the server exited before printing {prefix!r}:\n{self.stderr_path.read_text()}")
            if line.startswith(prefix):
                return line

    def kill(self) -> None:
        """SIGKILL: nothing in the server can flush, close or say goodbye."""
        self.process.send_signal(signal.SIGKILL)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll /healthz until it answers (bounded; fails at once if the process exits first)."""
        wait_for_http(f"{self.base_url}/healthz", self.process, timeout_s)


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


@contextmanager
def oratio_serve(
    env: Mapping[str, str], stderr_path: Path, *, debug: bool = False, port: int | None = None, wait: bool = True
) -> Iterator[Server]:
    """`oratio serve` on a free port (or `port`, to restart a server where its clients will find it),
    answering /healthz before this yields (unless `wait` is False: then `Server.wait_ready` is the
    caller's); stopped (or reaped) on exit."""
    port = port or free_port()
    with stderr_path.open("a") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(port), "debug" if debug else "quiet"],
            cwd=ROOT,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    pump = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    pump.start()
    server = Server(process, port, stderr_path, lines)
    try:
        if wait:
            server.wait_ready()
        yield server
    finally:
        stop_process(process, timeout_s=LINE_TIMEOUT_S, drain=[pump])
