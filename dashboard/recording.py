"""A session's recording as the dashboard's <audio> player asks for it: whole (200) or by byte range (206).

The route names a session and the recording's position in it (`/api/v1/sessions/{id}/recordings/{n}`);
the blob key is looked up by `SessionService.recording` for the admin's own tenant, never taken from the
client. Browsers seek with `Range: bytes=a-b` (one range only); anything else unsatisfiable is a 416
with the size, as RFC 9110 says, and a malformed header is ignored (the whole file), as it allows.
"""

from __future__ import annotations

import re

from starlette.responses import Response

from oratio.errors import NotFound

__all__ = ["audio_response", "position"]

_POSITION = re.compile(r"[0-9]{1,9}")

_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")  # anchored by fullmatch; bounded digits, linear


def position(session_id: str, raw: str) -> int:
    """The `{n}` of the path as a position, or the same NotFound as a position past the session's last recording.

    Read here rather than by Starlette's `{n:int}` convertor, whose `int()` of more than 4,300 digits raised
    ValueError while routing, before any handler or authentication: a 500 for anyone."""
    if not _POSITION.fullmatch(raw):
        raise NotFound(f"session '{session_id}' has no recording {raw[:20]}")
    return int(raw)


def audio_response(data: bytes, range_header: str | None) -> Response:
    """`data` (a WAV) whole, or the one byte range the header asks for."""
    size = len(data)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    found = _RANGE.fullmatch(range_header.strip()) if range_header else None
    if found is None or (not found.group(1) and not found.group(2)):
        return Response(data, media_type="audio/wav", headers=headers)
    first, last = found.group(1), found.group(2)
    if not first:  # a suffix: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data[start : end + 1], status_code=206, media_type="audio/wav", headers=headers)
