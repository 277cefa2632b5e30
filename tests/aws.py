"""A real `moto_server` process on 127.0.0.1 for the AWS adapters' tests.

The process speaks the AWS wire protocol over HTTP, so boto3 goes through its real
serialisation, signing and error parsing; only the endpoint differs from production.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from tests.net import free_port
from tests.support.processes import running

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


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", _SERIAL_MOTO, "127.0.0.1", str(port)]
    ready = f"{url}/moto-api/data.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    with running(command, ready_url=ready, ready_timeout_s=START_TIMEOUT_S, **quiet):
        yield MotoServer(endpoint_url=url)
