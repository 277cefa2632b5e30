"""The one process helper (`tests.support.processes`): a test's process never outlives it.

Real child processes; the bounds are generous and nothing here measures time.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.net import free_port
from tests.support.processes import running, stop_process, wait_for_http

STUBBORN = (
    "import signal, sys, threading\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ignoring SIGTERM', flush=True)\n"
    "threading.Event().wait()\n"
)
"""A child that ignores SIGTERM and would wait forever."""
WAITS = "import threading; print('up', flush=True); threading.Event().wait()"


def test_a_process_that_ignores_sigterm_is_killed_and_reaped_and_its_pipes_closed() -> None:
    process = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"ignoring SIGTERM\n"  # its handler is in place

    code = stop_process(process, timeout_s=2.0)

    assert code == -signal.SIGKILL
    assert process.returncode == -signal.SIGKILL
    assert process.stdout.closed and process.stderr.closed


def test_a_process_that_exits_on_sigterm_is_not_killed() -> None:
    process = subprocess.Popen([sys.executable, "-c", WAITS], stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"up\n"
    assert stop_process(process) == -signal.SIGTERM


def test_a_process_already_gone_is_only_reaped() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.read() == b""  # EOF: it has exited
    assert stop_process(process) == 0
    assert process.stdout.closed


def test_running_stops_the_process_when_the_test_fails_inside() -> None:
    with pytest.raises(RuntimeError, match="the test failed"), running([sys.executable, "-c", WAITS]) as process:
        raise RuntimeError("the test failed")
    assert process.returncode == -signal.SIGTERM


def test_a_server_that_dies_before_it_answers_fails_at_once_with_its_exit_code() -> None:
    url = f"http://127.0.0.1:{free_port()}/healthz"
    with pytest.raises(AssertionError, match="exited with 3 before"):
        with running([sys.executable, "-c", "raise SystemExit(3)"], ready_url=url, ready_timeout_s=600.0):
            pass  # pragma: no cover (never ready)


def test_running_waits_for_a_real_server_to_answer() -> None:
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}/"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    with running(command, ready_url=url, **quiet) as process:
        assert wait_for_http(url, process).status_code == 200
    assert process.returncode is not None
