"""The stdio transport for operator-registered MCP servers: one process per call, bounded and stopped on time.

mcp's own `stdio_client` reads the server's stdout without a line limit and, on shutdown, waits up
to 2 s for the server to exit after its stdin closes, then up to 2 s after SIGTERM, inside a
cancellation shield: a call cut at its timeout could come back seconds late, and a server that
writes one endless line could fill our memory. This transport speaks the same framing
(newline-delimited JSON-RPC) with:

- a cap on one line (`max_line_bytes`): past it the call fails with ResponseTooLarge;
- a shutdown that closes stdin and gives the server `grace_s` to exit when the call ended normally
  (never past the caller's deadline), and none when it was cancelled (timeout), then kills the
  server's whole process group (it runs in its own session) and reaps it, all within a small bound;
- mcp's minimal inherited environment (PATH, HOME, ...) plus the operator's `env`, so our own
  secrets (ORATIO_*, AWS_*) never reach the server.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

import anyio
from anyio.abc import Process
from mcp.client._transport import TransportStreams  # what mcp.client.Transport yields; no public alias
from mcp.client.stdio import get_default_environment
from mcp.shared.message import SessionMessage
from mcp.types import jsonrpc_message_adapter

from oratio.actions.mcp_errors import ResponseTooLarge

GRACE_S = 0.5
"""How long a server whose call ended normally has to exit after its stdin closes."""
REAP_S = 1.0
"""How long to wait for the kernel to report a killed server gone (only an unkillable one runs it out)."""


@asynccontextmanager
async def stdio_transport(
    command: Sequence[str], env: dict[str, str], *, max_line_bytes: int, grace_s: float = GRACE_S
) -> AsyncIterator[TransportStreams]:
    """Start `command` and talk MCP over its stdin/stdout; the process is gone when this exits."""
    # stderr is inherited: the operator's server logs where ours go.
    process = await anyio.open_process(
        list(command), env=get_default_environment() | env, stderr=None, start_new_session=True
    )
    # No await between the spawn and the try: a cancellation in the gap would leak the process.
    cancelled = True
    try:
        read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_read, process, read_writer, max_line_bytes)
            tg.start_soon(_write, process, write_reader)
            try:
                yield read_stream, write_stream
                cancelled = False
            finally:
                tg.cancel_scope.cancel()
                for stream in (read_stream, write_stream, read_writer, write_reader):
                    stream.close()
    finally:
        # The grace never runs past the caller's deadline (read here: inside the shield it is infinite).
        left = max(0.0, anyio.current_effective_deadline() - anyio.current_time())
        with anyio.CancelScope(shield=True):
            await _stop(process, 0.0 if cancelled else min(grace_s, left))


async def _read(
    process: Process, out: anyio.abc.ObjectSendStream[SessionMessage | Exception], max_line_bytes: int
) -> None:
    """Lines from stdout to messages. A line over the cap ends the call; a line that is not JSON-RPC
    is passed on as an error value (the session reports it), like mcp's own transport does."""
    assert process.stdout is not None
    buffer = bytearray()
    async with out:
        with suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            async for chunk in process.stdout:
                scanned = len(buffer)
                buffer += chunk
                start = 0
                while (end := buffer.find(b"\n", scanned)) >= 0:
                    line = bytes(buffer[start:end])
                    start = scanned = end + 1
                    await out.send(_message(line))
                del buffer[:start]
                if len(buffer) > max_line_bytes:
                    raise ResponseTooLarge("the MCP server sent a message over the size limit")


def _message(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        return exc


async def _write(process: Process, messages: anyio.abc.ObjectReceiveStream[SessionMessage]) -> None:
    assert process.stdin is not None
    async with messages:
        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            async for message in messages:
                data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                await process.stdin.send(data.encode())


async def _stop(process: Process, grace_s: float) -> None:
    """Close stdin, wait up to `grace_s` for the server to exit, then kill its process group and reap it."""
    assert process.stdin is not None
    with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.aclose()
    if grace_s > 0:
        with anyio.move_on_after(grace_s):
            await process.wait()
    if process.returncode is None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the server and anything it started
    # Closes the pipes and the subprocess transport (left open, it fails when collected after the loop
    # closes) and reaps the process.
    with anyio.move_on_after(REAP_S):
        await process.aclose()
