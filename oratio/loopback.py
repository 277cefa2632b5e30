"""Serve an ASGI app with a real uvicorn on 127.0.0.1 in a background thread (the demo, benchmarks, tests).

The socket is listening before uvicorn starts, so early connections wait in the backlog until it
accepts them: nothing polls for startup. On exit the server is stopped and checked stopped.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


@contextmanager
def serving_on_loopback(build: Callable[[int], ASGIApp], *, port: int = 0, timeout_s: float = 30.0) -> Iterator[int]:
    """Serve the app `build(port)` returns on 127.0.0.1 (`port` 0: a free one); yield the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    bound: int = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build(bound), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield bound
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"uvicorn on 127.0.0.1:{bound} did not stop within {timeout_s:g}s")
