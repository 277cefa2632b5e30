"""Start a process a test needs, wait for it within a bound, and stop it for sure.

Every test that starts a server or a writer process goes through `running` (or `stop_process` in
its own `finally`): SIGTERM, a bounded wait, SIGKILL, a bounded wait, then its pipes closed. A test
that fails halfway leaves no process, no zombie and no open pipe behind, and never hangs on one
that ignores SIGTERM. Readiness is waited on the process itself, never with a blind sleep.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

STOP_TIMEOUT_S = 10.0
"""How long a process has to exit after SIGTERM (and then after SIGKILL)."""
READY_TIMEOUT_S = 30.0

T = TypeVar("T")


def stop_process(
    process: subprocess.Popen[Any], *, timeout_s: float = STOP_TIMEOUT_S, drain: Sequence[threading.Thread] = ()
) -> int:
    """Stop `process` (SIGTERM, wait, SIGKILL, wait; each wait bounded) and close its pipes; its exit code.

    `drain`: threads reading its pipes, joined (bounded) once it is gone and before the pipes close.
    A process already gone is only reaped. Raises if it outlives SIGKILL by `timeout_s`.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)
    for thread in drain:
        thread.join(timeout=timeout_s)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return process.returncode


def wait_until_ready(
    probe: Callable[[], T], process: subprocess.Popen[Any], *, what: str, timeout_s: float = READY_TIMEOUT_S
) -> T:
    """Call `probe` until it returns (it raises `OSError`/`httpx.TransportError` while `process` is not
    ready); fail at once if `process` exits, or after `timeout_s`.

    Between tries it waits on the process itself (returning at once if it dies), never a blind sleep.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the process exited with {process.returncode} before {what} answered")
        try:
            return probe()
        except (OSError, httpx.TransportError):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not answer within {timeout_s:g}s") from None
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass


def wait_for_http(url: str, process: subprocess.Popen[Any], timeout_s: float = READY_TIMEOUT_S) -> httpx.Response:
    """GET `url` until the server in `process` answers (any status); its first answer."""
    return wait_until_ready(lambda: httpx.get(url, timeout=1.0), process, what=url, timeout_s=timeout_s)


@contextmanager
def running(
    command: Sequence[str],
    *,
    ready_url: str | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
    stop_timeout_s: float = STOP_TIMEOUT_S,
    **popen: Any,
) -> Iterator[subprocess.Popen[Any]]:
    """`command` started with `popen` (env, stdout, ...), answering `ready_url` before this yields
    (if given), stopped with `stop_process` on exit whatever happened."""
    process: subprocess.Popen[Any] = subprocess.Popen(list(command), **popen)
    try:
        if ready_url is not None:
            wait_for_http(ready_url, process, ready_timeout_s)
        yield process
    finally:
        stop_process(process, timeout_s=stop_timeout_s)
