"""Loopback helpers for tests that start real servers."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.types import ASGIApp

from oratio.loopback import serving_on_loopback


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, process: subprocess.Popen[Any], timeout_s: float = 30.0) -> httpx.Response:
    """GET `url` until the server in `process` answers; fail if it exits or `timeout_s` passes.

    Between tries it waits on the process itself (returning at once if it dies), never a blind sleep.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before answering {url}")
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout_s:g}s") from None
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass


@contextmanager
def uvicorn_in_thread(build: Callable[[int], ASGIApp], timeout_s: float = 30.0, port: int = 0) -> Iterator[int]:
    """Serve the app `build(port)` returns with a real uvicorn on a free 127.0.0.1 port; yield the port.

    `port` asks for a given port instead (e.g. to restart a server where its clients will reconnect).
    """
    with serving_on_loopback(build, port=port, timeout_s=timeout_s) as bound:
        yield bound
