"""Request bodies of the agent-creation routes, read within a cap: JSON, and one file from a multipart form.

Why a module: the page sends documents and SOP files as `multipart/form-data` (what `FormData` and a file
drop give a browser without a build step), and a body past the cap must be refused before it is read
(413, `PayloadTooLarge`), never buffered whole. The whole body is read up to the cap first (a declared
Content-Length past it is refused at once), then Starlette's multipart parser reads those bytes, with at
most one file and a few fields: an odd form is a 422 with the reason, never a 500.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from oratio.errors import InvalidInput
from oratio.http_json import PayloadTooLarge, parse_json

__all__ = ["Upload", "json_body", "one_file"]

FIELDS_MAX = 8
FIELD_BYTES_MAX = 4 * 1024


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes


async def read_capped(request: Request, limit: int, advice: str) -> bytes:
    """The body, up to `limit` bytes; PayloadTooLarge as soon as it is known to be larger."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge.of(limit, advice)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge.of(limit, advice)
    return bytes(body)


async def json_body(request: Request, limit: int) -> Any:
    """The request's JSON object, read within `limit` bytes."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise InvalidInput("send the body as JSON (Content-Type: application/json)")
    return parse_json(await read_capped(request, limit, "the agent's settings and SOP fit well within it"))


async def one_file(request: Request, limit: int, field: str = "file") -> Upload:
    """The one file of a `multipart/form-data` body under `field`, with its name; 4xx for anything else."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(f"send the file as multipart/form-data with the file in the '{field}' field", field=field)
    body = await read_capped(request, limit, "upload one file at a time, within this server's limit")

    async def replay() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        request.headers, replay(), max_files=1, max_fields=FIELDS_MAX, max_part_size=FIELD_BYTES_MAX
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(f"the form could not be read: {exc.message}", field=field) from None
    try:
        found = form.get(field)
        if not isinstance(found, UploadFile):
            raise InvalidInput(f"no file in the form's '{field}' field", field=field)
        name = (found.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not name:
            raise InvalidInput("the file has no name; its name says its format (.pdf, .md, .txt...)", field=field)
        return Upload(name, await found.read())
    finally:
        await form.close()
