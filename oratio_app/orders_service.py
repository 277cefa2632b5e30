"""The `orders_desk` example's order system: a small HTTP service its tools call (`examples/orders_desk/tools.json`).

It stands in for a shop's own order API, so `oratio demo --example orders_desk` can show an agent
acting on something real: the demo serves it on 127.0.0.1 (a free port), and the agent's HTTP tools
reach it through the same runner, address policy and confirmation gate as any tenant's API. It
lives in the composition root, not in `examples/` (which is data, not an importable package) and
not in the core (no platform code depends on it).

The order book is in memory, with dates relative to when it starts, so the demo tells the same
story any day: an order on its way (A1001), one not shipped yet (A1002, can be cancelled), one
delivered 40 days ago (A1003, outside the 30-day return window: a return is refused with HTTP 409
and the reason), and recent deliveries that can be returned (A1004; A1005, whose refund is over $200).

    GET  /orders/{order_id}          the order
    POST /orders/{order_id}/return   {"reason": ...}: a return number and label, or 409 with the reason
    POST /orders/{order_id}/cancel   the cancellation, or 409 (already shipped or cancelled)

To keep the demo's agent acting after the demo: `python -m oratio_app.orders_service` (port 8799,
what tools.json names) beside `ORATIO_WEBHOOK_ALLOWED_HOSTS=127.0.0.1 oratio serve`.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from oratio.http_json import json_http_errors

RETURN_DAYS: Final = 30
BODY_MAX: Final = 4_096
ORDER_ID = re.compile(r"A[0-9]{4}")
REASONS: Final = ("damaged", "wrong item", "too small", "too large", "not needed")


@dataclass
class Order:
    id: str
    status: str
    """processing (not shipped), shipped, delivered, cancelled or returning."""
    placed: date
    items: list[str]
    total: float
    carrier: str | None = None
    tracking: str | None = None
    shipped: date | None = None
    delivered: date | None = None
    return_id: str | None = None

    def view(self) -> dict[str, Any]:
        """What the order API answers about it."""
        shown: dict[str, Any] = {"order_id": self.id, "status": self.status, "placed": self.placed.isoformat()}
        if self.shipped:
            shown["shipped"] = self.shipped.isoformat()
        if self.delivered:
            shown["delivered"] = self.delivered.isoformat()
        if self.carrier:
            shown["carrier"], shown["tracking"] = self.carrier, self.tracking
        shown["items"] = [{"name": item} for item in self.items]
        shown["total"] = f"${self.total:.2f}"
        if self.return_id:
            shown["return_id"] = self.return_id
        return shown


@dataclass
class OrderBook:
    """The shop's orders; `today` fixes the story's dates (the demo passes the current day)."""

    today: date
    orders: dict[str, Order] = field(default_factory=dict)
    _return_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5001))

    @classmethod
    def sample(cls, today: date | None = None) -> OrderBook:
        day = today or datetime.now(UTC).date()

        def ago(days: int) -> date:
            return day - timedelta(days=days)

        book = cls(today=day)
        for order in (
            Order("A1001", "shipped", ago(2), ["Rain jacket"], 129.0, "UPS", "1Z999AA10123456784", shipped=ago(1)),
            Order("A1002", "processing", ago(0), ["Trail socks (3-pack)"], 24.0),
            Order("A1003", "delivered", ago(45), ["Hiking boots"], 179.0, "DHL", "JD0142", ago(43), ago(40)),
            Order("A1004", "delivered", ago(9), ["Fleece pullover"], 89.0, "UPS", "1Z999AA10123456791", ago(8), ago(5)),
            Order("A1005", "delivered", ago(6), ["Two-person tent"], 349.0, "DHL", "JD0177", ago(5), ago(3)),
        ):
            book.orders[order.id] = order
        return book

    def start_return(self, order: Order, reason: str) -> tuple[int, dict[str, Any]]:
        if order.return_id:
            return 409, {"error": f"A return ({order.return_id}) is already open for order {order.id}."}
        if order.delivered is None:
            return 409, {"error": f"Order {order.id} has not been delivered yet; a return can start once it arrives."}
        days = (self.today - order.delivered).days
        if days > RETURN_DAYS:
            return 409, {
                "error": f"Order {order.id} was delivered {days} days ago; returns are accepted within "
                f"{RETURN_DAYS} days of delivery."
            }
        order.return_id, order.status = f"R-{next(self._return_ids)}", "returning"
        review = " A member of staff checks refunds over $200 before they are paid." if order.total > 200 else ""
        message = (
            f"Return {order.return_id} started for order {order.id} ({reason}). A prepaid label is on its way by "
            f"email; the refund of ${order.total:.2f} follows within 5 business days of the parcel arriving back."
        )
        return 200, {
            "order_id": order.id,
            "return_id": order.return_id,
            "status": "return_started",
            "refund": f"${order.total:.2f}",
            "message": message + review,
        }

    def cancel(self, order: Order) -> tuple[int, dict[str, Any]]:
        if order.status == "cancelled":
            return 409, {"error": f"Order {order.id} is already cancelled."}
        if order.status != "processing":
            return 409, {
                "error": f"Order {order.id} has already shipped and cannot be cancelled; it can be returned once "
                "delivered."
            }
        order.status = "cancelled"
        message = f"Order {order.id} is cancelled; the ${order.total:.2f} payment is released to the card."
        return 200, {"order_id": order.id, "status": "cancelled", "message": message}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any] | None:
    """The JSON object body (empty body: {}), or None when it is over BODY_MAX, not JSON or not an object."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > BODY_MAX:
            return None
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def orders_app(book: OrderBook) -> Starlette:
    """The order API over `book`."""

    def find(request: Request) -> Order | JSONResponse:
        order_id = str(request.path_params["order_id"])
        if not ORDER_ID.fullmatch(order_id):
            return _error(422, "an order id is the letter A and four digits, like A1001")
        order = book.orders.get(order_id)
        return order if order is not None else _error(404, f"There is no order {order_id}.")

    async def lookup(request: Request) -> JSONResponse:
        found = find(request)
        return found if isinstance(found, JSONResponse) else JSONResponse(found.view())

    async def start_return(request: Request) -> JSONResponse:
        found, body = find(request), await _body(request)
        if isinstance(found, JSONResponse):
            return found
        if body is None:
            return _error(400, f"the body must be a JSON object of at most {BODY_MAX} bytes")
        reason = body.get("reason")
        if reason not in REASONS:
            return _error(422, f"reason must be one of: {', '.join(REASONS)}")
        status, answer = book.start_return(found, str(reason))
        return JSONResponse(answer, status_code=status)

    async def cancel(request: Request) -> JSONResponse:
        found = find(request)
        if isinstance(found, JSONResponse):
            return found
        status, answer = book.cancel(found)
        return JSONResponse(answer, status_code=status)

    return Starlette(
        routes=[
            Route("/orders/{order_id}", lookup, methods=["GET"]),
            Route("/orders/{order_id}/return", start_return, methods=["POST"]),
            Route("/orders/{order_id}/cancel", cancel, methods=["POST"]),
        ],
        exception_handlers={
            HTTPException: json_http_errors("the order API serves /orders/{order_id}[/return|/cancel]")
        },
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the sample order book on 127.0.0.1 (`--port`, default 8799) until interrupted."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m oratio_app.orders_service", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8799, help="TCP port on 127.0.0.1 (default 8799)")
    port = parser.parse_args(argv).port
    print(f"orders service on http://127.0.0.1:{port}/orders/A1001", flush=True)
    uvicorn.run(orders_app(OrderBook.sample()), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()


__all__ = ["OrderBook", "main", "orders_app"]
