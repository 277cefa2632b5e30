"""Service accounts in the dashboard API: `GET|POST /api/v1/service-accounts`, `POST .../{id}/revoke`.

The same service as the MCP tools (`oratio.services.service_accounts`): tenant and scope rules live
there. The admin is the bearer token's or the signed-in person's (CSRF-checked on POST, as every
dashboard write). A created account's client secret is in the 201 answer only; lists never show it.
"""

from __future__ import annotations

from typing import Protocol

import anyio.to_thread
from pydantic import Field, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard.credentials import SignInAccess, request_principal
from oratio.errors import InvalidInput
from oratio.http_json import PayloadTooLarge, handles_errors, parse_json
from oratio.services.service_accounts import ServiceAccountService
from schemas import Identifier, Model, Scope
from schemas.oauth import ServiceAccountView

MAX_BODY_BYTES = 4 * 1024
_identifier: TypeAdapter[str] = TypeAdapter(Identifier)


class ServiceAccountAccess(SignInAccess, Protocol):
    @property
    def service_accounts(self) -> ServiceAccountService: ...


class NewServiceAccount(Model):
    """The body of `POST /api/v1/service-accounts`."""

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=16)


def service_account_routes(platform: ServiceAccountAccess, public_url: str | None = None) -> list[BaseRoute]:
    api = _ServiceAccountApi(platform, public_url)
    return [
        Route("/api/v1/service-accounts", handles_errors(api.accounts), methods=["GET", "POST"]),
        Route("/api/v1/service-accounts/{account_id}/revoke", handles_errors(api.revoke), methods=["POST"]),
    ]


class _ServiceAccountApi:
    def __init__(self, platform: ServiceAccountAccess, public_url: str | None) -> None:
        self._p = platform
        self._public_url = public_url

    async def accounts(self, request: Request) -> Response:
        principal = await request_principal(self._p, request, self._public_url)
        accounts = self._p.service_accounts
        if request.method == "POST":
            body = await _body(request)
            made = await anyio.to_thread.run_sync(
                lambda: accounts.create(principal, body.name, [s.value for s in body.scopes])
            )
            # The one time the secret leaves the platform.
            view = ServiceAccountView.of(made.account).model_dump(mode="json")
            return JSONResponse({"service_account": view, "client_secret": made.client_secret}, status_code=201)
        found = await anyio.to_thread.run_sync(lambda: accounts.list(principal))
        return JSONResponse({"service_accounts": [ServiceAccountView.of(a).model_dump(mode="json") for a in found]})

    async def revoke(self, request: Request) -> Response:
        principal = await request_principal(self._p, request, self._public_url)
        raw = str(request.path_params["account_id"])
        try:
            account_id = _identifier.validate_python(raw)
        except ValidationError:
            raise InvalidInput(f"'{raw[:80]}' is not a valid id", field="account_id") from None
        revoked = await anyio.to_thread.run_sync(lambda: self._p.service_accounts.revoke(principal, account_id))
        return JSONResponse(ServiceAccountView.of(revoked).model_dump(mode="json"))


async def _body(request: Request) -> NewServiceAccount:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge.of(MAX_BODY_BYTES, "a service account is a name and a few scopes")
    try:
        return NewServiceAccount.model_validate(parse_json(bytes(body)))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"{field or 'input'}: {first['msg']}", field=field) from None
