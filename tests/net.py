"""Loopback helpers for tests that start real servers (processes: `tests.support.processes`)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp

from oratio.loopback import serving_on_loopback
from tests.support.processes import wait_for_http

__all__ = ["free_port", "uvicorn_in_thread", "wait_for_http"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def uvicorn_in_thread(build: Callable[[int], ASGIApp], timeout_s: float = 30.0, port: int = 0) -> Iterator[int]:
    """Serve the app `build(port)` returns with a real uvicorn on a free 127.0.0.1 port; yield the port.

    `port` asks for a given port instead (e.g. to restart a server where its clients will reconnect).
    """
    with serving_on_loopback(build, port=port, timeout_s=timeout_s) as bound:
        yield bound
