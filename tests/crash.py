"""Kill -9 harness: run a writer script, collect the lines it acknowledged, then SIGKILL it.

The writer prints a line only after a write returned, so every line read is an acknowledged write.
It is killed mid-loop, so nothing on its side can flush or close: the test then checks that every
acknowledged write is still there. Waits are bounded reads from a pump thread, never sleeps.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from tests.support.processes import stop_process

ROOT = Path(__file__).resolve().parents[1]
LINE_TIMEOUT_S = 60.0


class WriterDied(AssertionError):
    """The writer exited before it acknowledged enough writes (its stderr is the message)."""


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.strip())
    lines.put(None)  # end of output: the writer died


def acknowledged_then_killed(
    script: str,
    count: int,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    before_kill: Callable[[], None] | None = None,
) -> list[str]:
    """Run `python -c script *args`, read `count` lines, SIGKILL it, and return those lines.

    `before_kill` runs after the lines are read and before the kill (e.g. to wait until the writer's
    work is visibly under way outside the process).
    """
    writer = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    pump = threading.Thread(target=_pump, args=(writer.stdout, lines), daemon=True)
    pump.start()
    received: list[str] = []
    try:
        while len(received) < count:
            line = lines.get(timeout=LINE_TIMEOUT_S)
            if line is None:
                writer.wait(timeout=LINE_TIMEOUT_S)
                raise WriterDied(f"the writer exited early:\n{writer.stderr.read()}")
            received.append(line)
        if before_kill is not None:
            before_kill()
    finally:
        writer.send_signal(signal.SIGKILL)  # the test itself: nothing on the writer's side can flush
        stop_process(writer, timeout_s=LINE_TIMEOUT_S, drain=[pump])  # reaped; its pipes at EOF, then closed
    assert writer.returncode == -signal.SIGKILL
    return received
