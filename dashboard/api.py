"""The dashboard's JSON admin API under /api/v1: agents and their documents, sessions, notifications,
deliveries, keys, stats.

A thin door: every route resolves the admin's Principal from the bearer token or the signed-in person's
cookie (with CSRF checks on every POST, `dashboard.credentials`), validates its
query or body against a schema with explicit limits, and calls the services in a worker thread.
Tenancy and scopes are the services' business; errors are OratioErrors, rendered as 4xx JSON by
`oratio.http_json.handles_errors`. Lists are pages: `limit` (1..200) and an opaque `cursor`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard import export, recording
from dashboard.agent_http import path_id
from dashboard.context import DashboardServices
from dashboard.credentials import request_principal
from oratio.errors import InvalidInput, NotFound
from oratio.http_json import PayloadTooLarge, handles_errors, parse_json
from oratio.services.outbox import view
from oratio.services.sessions import SEARCH_TEXT_MAX
from oratio.store.ports import Page
from schemas import (
    Agent,
    AgentStatus,
    Channel,
    DeliveryStatus,
    Document,
    DocumentStatus,
    Identifier,
    Limits,
    MintKeyRequest,
    Model,
    NotificationStatus,
    Principal,
    Session,
    SessionFilter,
    SessionStatus,
    SessionWithTranscript,
)
from schemas._base import UtcDatetime
from schemas.analysis import Outcome
from schemas.stats import StatsQuery

MAX_BODY_BYTES = 16 * 1024
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class PageQuery(Model):
    limit: int = Field(default=50, ge=1, le=Limits.PAGE_SIZE_MAX)
    cursor: str | None = Field(default=None, max_length=512)


class AgentQuery(PageQuery):
    status: AgentStatus | None = None


class SessionQuery(PageQuery):
    agent_id: Identifier | None = None
    status: SessionStatus | None = None
    channel: Channel | None = None
    started_after: UtcDatetime | None = None  # UtcDatetime: a time out of range once in UTC is a 422
    started_before: UtcDatetime | None = None
    outcome: Outcome | None = None
    q: str | None = Field(default=None, max_length=SEARCH_TEXT_MAX, description="Text the transcript contains")


LIVE_TURNS_MAX = 50
"""The most turns `GET /api/v1/sessions/live?turns=N` returns per session (a live card shows the latest)."""


class LiveQuery(PageQuery):
    turns: int = Field(default=0, ge=0, le=LIVE_TURNS_MAX, description="Each session's last N turns, oldest first")


class NotificationQuery(PageQuery):
    status: NotificationStatus | None = None


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None


class KeyQuery(PageQuery):
    agent_id: Identifier | None = None


class NoQuery(Model):
    pass


class HumanMessage(Model):
    """The body of `POST /api/v1/sessions/{id}/messages`: what the person says to the customer."""

    text: str = Field(min_length=1, max_length=Limits.TURN_TEXT_MAX)


def api_routes(platform: DashboardServices, public_url: str | None = None) -> list[BaseRoute]:
    api = DashboardApi(platform, public_url)
    return [
        Route("/api/v1/agents", handles_errors(api.agents)),
        Route("/api/v1/agents/{agent_id}/documents", handles_errors(api.documents)),
        Route("/api/v1/sessions", handles_errors(api.sessions)),
        Route("/api/v1/sessions/live", handles_errors(api.live_sessions)),
        Route("/api/v1/sessions/export", handles_errors(api.export_sessions)),
        Route("/api/v1/sessions/{session_id}", handles_errors(api.session)),
        Route("/api/v1/sessions/{session_id}/recordings/{index}", handles_errors(api.recording)),
        Route("/api/v1/sessions/{session_id}/handoff/{move}", handles_errors(api.move_handoff), methods=["POST"]),
        Route("/api/v1/sessions/{session_id}/messages", handles_errors(api.send_message), methods=["POST"]),
        Route("/api/v1/notifications", handles_errors(api.notifications)),
        Route("/api/v1/notifications/{notification_id}/read", handles_errors(api.mark_read), methods=["POST"]),
        Route("/api/v1/notifications/{notification_id}/acknowledge", handles_errors(api.acknowledge), methods=["POST"]),
        Route("/api/v1/deliveries", handles_errors(api.deliveries)),
        Route("/api/v1/deliveries/{delivery_id}/retry", handles_errors(api.retry_delivery), methods=["POST"]),
        Route("/api/v1/keys", handles_errors(api.keys), methods=["GET", "POST"]),
        Route("/api/v1/keys/{key_id}/revoke", handles_errors(api.revoke), methods=["POST"]),
        Route("/api/v1/stats", handles_errors(api.stats)),
    ]


class DashboardApi:
    def __init__(self, platform: DashboardServices, public_url: str | None = None) -> None:
        self._p = platform
        self._public_url = public_url

    async def agents(self, request: Request) -> Response:
        principal, query = await self._begin(request, AgentQuery)
        page = await _run(lambda: self._p.agents.list(principal, status=query.status, **_paging(query)))
        return _page(page, "agents", agent_summary)

    async def documents(self, request: Request) -> Response:
        """An agent's knowledge documents by page, with their indexing status and progress."""
        principal, query = await self._begin(request, PageQuery)
        agent_id = path_id(request, "agent_id")
        page = await _run(lambda: self._p.documents.list(principal, agent_id, **_paging(query)))
        return _page(page, "documents", document_summary)

    async def sessions(self, request: Request) -> Response:
        principal, query = await self._begin(request, SessionQuery)
        fields = query.model_dump(exclude={"q"})
        found = SessionFilter.model_validate(fields)
        if query.q is not None and query.q.strip():
            text = query.q
            page = await _run(lambda: self._p.sessions.search(principal, found, text))
        else:
            page = await _run(lambda: self._p.sessions.list(principal, found))
        return _page(page, "sessions", _dump)

    async def export_sessions(self, request: Request) -> Response:
        """History's filters as a CSV or JSON download (`dashboard.export`)."""
        principal, query = await self._begin(request, export.ExportQuery)
        found = query.session_filter()
        made = await _run(lambda: self._p.analyses.export(principal, found, query.format))
        return export.download(query, found, made.content, made.count, made.truncated)

    async def live_sessions(self, request: Request) -> Response:
        """Conversations in progress: `active` ones and those waiting for a person (`handoff_requested`).

        With `turns=N` each session comes with its last N turns (`turns`, oldest first): the Live tab's cards
        are filled from this one answer rather than one request per card (each of them a round trip the first
        paint waited for). `SessionService.live` reads them in a bounded number of queries."""
        principal, query = await self._begin(request, LiveQuery)
        found = await _run(lambda: self._p.sessions.live(principal, limit=query.limit, turns=query.turns))
        shown = [_with_turns(read) if query.turns else _dump(read.session) for read in found]
        return JSONResponse({"sessions": shown})

    async def session(self, request: Request) -> Response:
        principal, _ = await self._begin(request, NoQuery)
        session_id = path_id(request, "session_id")
        found = await _run(lambda: self._p.sessions.get(principal, session_id))
        return JSONResponse(_dump(found))

    async def recording(self, request: Request) -> Response:
        """The session's n-th call recording (0 = oldest) for the session page's player, with Range for seeking."""
        principal, _ = await self._begin(request, NoQuery)
        session_id = path_id(request, "session_id")
        index = recording.position(session_id, request.path_params["index"])
        _, data = await _run(lambda: self._p.sessions.recording(principal, session_id, index))
        return recording.audio_response(data, request.headers.get("range"))

    async def notifications(self, request: Request) -> Response:
        principal, query = await self._begin(request, NotificationQuery)
        page = await _run(lambda: self._p.notifications.list(principal, status=query.status, **_paging(query)))
        return _page(page, "notifications", _dump)

    async def mark_read(self, request: Request) -> Response:
        principal, _ = await self._begin(request, NoQuery)
        notification_id = path_id(request, "notification_id")
        return JSONResponse(_dump(await _run(lambda: self._p.notifications.mark_read(principal, notification_id))))

    async def acknowledge(self, request: Request) -> Response:
        principal, _ = await self._begin(request, NoQuery)
        notification_id = path_id(request, "notification_id")
        acknowledge = self._p.handoff.acknowledge_notification  # a handoff's also moves its live card
        return JSONResponse(_dump(await _run(lambda: acknowledge(principal, notification_id))))

    async def move_handoff(self, request: Request) -> Response:
        """The live card's buttons: acknowledge, take-over, return, close (HandoffService, as MCP's tools)."""
        principal, _ = await self._begin(request, NoQuery)
        session_id = path_id(request, "session_id")
        handoff = self._p.handoff
        moves: dict[str, Callable[[Principal, str], Session]] = {
            "acknowledge": handoff.acknowledge,
            "take-over": handoff.take_over,
            "return": handoff.return_to_agent,
            "close": handoff.close_session,
        }
        move = moves.get(request.path_params["move"])
        if move is None:
            raise NotFound(f"no such handoff action; use one of {', '.join(moves)}")
        return JSONResponse(_dump(await _run(lambda: move(principal, session_id))))

    async def send_message(self, request: Request) -> Response:
        """The live card's compose box: the person who took the session over speaks to its customer
        (`HandoffService.say`, as MCP's `send_human_message`); answers the stored human turn, 201."""
        principal, _ = await self._begin(request, NoQuery)
        session_id = path_id(request, "session_id")
        message = _parse(HumanMessage, await _json_body(request))
        turn = await _run(lambda: self._p.handoff.say(principal, session_id, message.text))
        return JSONResponse(_dump(turn), status_code=201)

    async def deliveries(self, request: Request) -> Response:
        """Handoff emails and webhooks and how they went; `?status=dead` lists the dead letters."""
        principal, query = await self._begin(request, DeliveryQuery)
        page = await _run(lambda: self._p.deliveries.list(principal, status=query.status, **_paging(query)))
        return _page(page, "deliveries", lambda d: _dump(view(d)))

    async def retry_delivery(self, request: Request) -> Response:
        principal, _ = await self._begin(request, NoQuery)
        delivery_id = path_id(request, "delivery_id")
        revived = await _run(lambda: self._p.deliveries.retry(principal, delivery_id))
        self._p.outbox.wake()
        return JSONResponse(_dump(view(revived)))

    async def keys(self, request: Request) -> Response:
        if request.method == "POST":
            principal, _ = await self._begin(request, NoQuery)
            mint = _parse(MintKeyRequest, await _json_body(request))
            minted = await _run(lambda: self._p.keys.mint(principal, mint))
            # The one time the secret leaves the platform; the page shows it once and forgets it.
            return JSONResponse({"key": _dump(minted.key), "secret": minted.reveal()}, status_code=201)
        principal, query = await self._begin(request, KeyQuery)
        page = await _run(lambda: self._p.keys.list(principal, agent_id=query.agent_id, **_paging(query)))
        return _page(page, "keys", _dump)

    async def revoke(self, request: Request) -> Response:
        principal, _ = await self._begin(request, NoQuery)
        key_id = path_id(request, "key_id")
        return JSONResponse(_dump(await _run(lambda: self._p.keys.revoke(principal, key_id))))

    async def stats(self, request: Request) -> Response:
        principal, query = await self._begin(request, StatsQuery)
        return JSONResponse(_dump(await _run(lambda: self._p.stats.report(principal, query))))

    async def _begin(self, request: Request, query: type[M]) -> tuple[Principal, M]:
        """Authenticate first (a bad token is 401 whatever the query), then validate the query string."""
        principal = await request_principal(self._p, request, self._public_url)
        params = request.query_params
        repeated = sorted({k for k in params if len(params.getlist(k)) > 1})
        if repeated:
            raise InvalidInput(f"query parameter '{repeated[0]}' is given more than once", field=repeated[0])
        return principal, _parse(query, dict(params))


def agent_summary(agent: Agent) -> dict[str, Any]:
    """What a list needs: status and identity, not the SOP (up to 100 kB per agent)."""
    return {
        "id": agent.id,
        "name": agent.name,
        "agent_type": agent.spec.agent_type.value,
        "status": agent.status.value,
        "status_reason": agent.status_reason,
        "artifact_version": agent.artifact_version,
        "created_at": agent.created_at.isoformat(),
        "updated_at": agent.updated_at.isoformat(),
    }


def document_summary(document: Document) -> dict[str, Any]:
    """A document as the knowledge tab shows it: `progress` is chunks embedded of total while `ingesting`."""
    progress = (
        {"done": document.chunks_done, "total": document.chunks_total}
        if document.status is DocumentStatus.INGESTING and document.chunks_total
        else None
    )
    return {
        "id": document.id,
        "name": document.name,
        "format": document.format.value,
        "size_bytes": document.size_bytes,
        "status": document.status.value,
        "status_reason": document.status_reason,
        "chunk_count": document.chunk_count,
        "progress": progress,
        "updated_at": document.updated_at.isoformat(),
    }


async def _run(call: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(call)


def _paging(query: PageQuery) -> dict[str, Any]:
    return {"limit": query.limit, "cursor": query.cursor}


def _with_turns(read: SessionWithTranscript) -> dict[str, Any]:
    """A session as the live list shows it, with the turns read with it."""
    return {**_dump(read.session), "turns": [_dump(turn) for turn in read.turns]}


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _page(page: Page[Any], name: str, render: Callable[[Any], dict[str, Any]]) -> JSONResponse:
    return JSONResponse({name: [render(item) for item in page.items], "next_cursor": page.next_cursor})


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"{field or 'input'}: {first['msg']}", field=field) from None


async def _json_body(request: Request) -> Any:
    """The request's JSON, read up to MAX_BODY_BYTES (a larger body is refused, not buffered)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge.of(MAX_BODY_BYTES, "the dashboard API takes small JSON bodies only")
    return parse_json(bytes(body))
