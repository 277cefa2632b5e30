"""What the runtime logs per invocation: one line, streamed or not, and never a traceback.

The operator's logging is configured at the root (as `oratio serve` and `python -m oratio_app serve-door runtime`
do with `basicConfig`); AgentCore's app logger also writes through a handler of its own. A line is
one record written by one handler, so a record that both handlers write counts twice.
Streamed turns used to log OpenTelemetry's "Failed to detach context" with a traceback, several
times per turn: the agent's generator was resumed in two tasks (see `agentcore_apps._one_task`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from _pytest.logging import LogCaptureHandler

from agentcore_apps.app import create_runtime_app
from oratio.platform import Platform
from oratio_app.logs import AGENTCORE_LOGGER, configure_logging
from tests.agentcore_apps.test_turns import say, sse_events
from tests.support.worlds import World

CLIENT_LOGGERS = ("httpx", "httpcore")  # the test's own HTTP client, not the server


class Lines(logging.Filter):
    """Counts the records the handlers it is attached to write (a filter that lets all through)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(CLIENT_LOGGERS):
            self.records.append(record)
        return True

    def take(self) -> list[logging.LogRecord]:
        taken, self.records = self.records, []
        return taken


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lines]:
    """Every server log line at INFO and above, logging configured as `oratio serve` configures it:
    the root handler (what basicConfig installs) plus AgentCore's own handlers."""
    counter = Lines()
    root_handler = logging.StreamHandler()
    root_handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(root_handler)
    agentcore = logging.getLogger(AGENTCORE_LOGGER)
    monkeypatch.setattr(agentcore, "propagate", agentcore.propagate)  # put back on teardown
    configure_logging(logging.INFO, "%(levelname)s %(name)s %(message)s")  # basicConfig: a no-op, root has handlers
    agentcore_handlers = [
        h for h in agentcore.handlers if h.level <= logging.INFO and not isinstance(h, LogCaptureHandler)
    ]
    for handler in [root_handler, *agentcore_handlers]:
        handler.addFilter(counter)
    previous = root.level
    root.setLevel(logging.INFO)
    yield counter
    root.setLevel(previous)
    root.removeHandler(root_handler)
    for handler in agentcore_handlers:
        handler.removeFilter(counter)


def describe(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name} {r.levelname} {r.getMessage()}" for r in records]


def test_each_invocation_logs_one_line_and_no_traceback(http: httpx.Client, world: World, lines: Lines) -> None:
    assert say(http, world, "warm up").status_code == 200  # once-per-process lines (model clients) go here
    lines.take()

    streamed = sse_events(say(http, world, "where is my parcel", stream=True))
    assert streamed[-1]["type"] == "final"
    streamed_lines = lines.take()
    plain = say(http, world, "hello", stream=False)
    assert plain.status_code == 200
    plain_lines = lines.take()

    for logged in (streamed_lines, plain_lines):
        assert len(logged) == 1, describe(logged)
        assert not logged[0].exc_info, describe(logged)
        assert "Failed to detach context" not in logged[0].getMessage()


def logging_state() -> dict[str, tuple[bool, int, tuple[logging.Handler, ...]]]:
    """Every logger's propagate flag, level and handlers: what one app could leak into the next."""
    loggers = [
        logging.getLogger(),
        *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]
    return {lg.name: (lg.propagate, lg.level, tuple(lg.handlers)) for lg in loggers}


def test_building_the_runtime_app_leaves_the_process_logging_alone(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to turn AgentCore's logger non-propagating for the whole process, so every later test
    (and pytest's own capture) saw a different logging setup: test_logs failed after other files."""
    create_runtime_app(platform)  # AgentCore installs its handler once per process, on the first app
    monkeypatch.setattr(logging.getLogger(AGENTCORE_LOGGER), "propagate", True)
    before = logging_state()
    create_runtime_app(platform)
    assert logging_state() == before


def test_the_composition_root_sends_agentcore_records_to_its_own_handler_only(monkeypatch: pytest.MonkeyPatch) -> None:
    agentcore = logging.getLogger(AGENTCORE_LOGGER)
    monkeypatch.setattr(agentcore, "propagate", True)
    configure_logging(logging.WARNING, "%(message)s")
    assert agentcore.propagate is False
