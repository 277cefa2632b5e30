"""A real `moto_server` process on 127.0.0.1 for the AWS adapters' tests.

The process speaks the AWS wire protocol over HTTP, so boto3 goes through its real
serialisation, signing and error parsing; only the endpoint differs from production.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from tests.net import free_port

REGION = "us-east-1"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=REGION,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


# `python -m moto.server`, except that requests are handled one at a time. moto's threaded server
# runs DynamoDB transactions without a lock (check, write, roll back by restoring a table copy), so
# concurrent requests lose acknowledged writes; AWS applies each request atomically, and so must the
# fake, or the concurrency contract tests are flaky for moto's reasons, not the adapter's.
_SERIAL_MOTO = """
import os, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()

def serial(environ, start_response):
    with lock:
        return list(app(environ, start_response))

run_simple(host, port, serial, threaded=True, request_handler=MotoRequestHandler)
"""


def _wait_until_serving(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2):
                return
        except OSError:
            # Not serving yet. Wait on the process itself (returns early if it dies), briefly.
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
    raise RuntimeError(f"moto_server did not answer within {START_TIMEOUT_S}s")


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERIAL_MOTO, "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc)
        yield MotoServer(endpoint_url=url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
