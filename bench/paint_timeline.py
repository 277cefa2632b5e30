"""Where a dashboard load's time goes, read from Chromium's performance timeline (bench/dashboard_paint.py).

Why: a paint figure alone does not say what to cut. Each load also keeps its timeline: the navigation entry
(the HTML, and DOMContentLoaded: the modules fetched, parsed and run), the moment the signed-in page shows, the
live WebSocket's first frame (its `ready`), and every API request made before the paint (Resource Timing:
start, time to first byte = the server's time on loopback, end). From them, per load, ms:

    html      navigation start to the HTML's last byte
    scripts   the HTML's last byte to DOMContentLoaded (module fetches, parse and run)
    signin    DOMContentLoaded to the signed-in page shown (the sign-in check, when the HTML does not carry it)
    ws        navigation start to the live socket's first frame (its `ready`), if before the paint
    api       API requests made before the paint
    chain     the longest run of API requests each started after the previous one ended (round trips in
              sequence), and `server`: the sum of their times to first byte
    render    the last API answer before the paint to the paint (JSON, DOM building, layout, the frame)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WS_HOOK = """(() => {
  const Base = window.WebSocket;
  window.WebSocket = class extends Base {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => {
        if (window.__wsFirst === undefined) window.__wsFirst = performance.now();
      });
    }
  };
})();"""
"""Runs before the page's scripts: notes the live socket's first frame (Resource Timing does not list sockets)."""

COLLECT = """(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const api = performance.getEntriesByType("resource")
    .filter((r) => new URL(r.name).pathname.startsWith("/api/") && r.startTime < window.__paint)
    .map((r) => ({ path: new URL(r.name).pathname, start: r.startTime,
                   ttfb: r.responseStart - (r.requestStart || r.startTime), end: r.responseEnd }));
  return { paint: window.__paint, shown: window.__shown ?? null, ws: window.__wsFirst ?? null,
           html: nav.responseEnd, dcl: nav.domContentLoadedEventEnd, api };
})()"""
"""Evaluated after the paint: the load's timeline as plain numbers."""

FIELDS = ("html", "scripts", "signin", "ws", "api", "chain", "server", "render")


@dataclass(frozen=True)
class Request:
    path: str
    start: float
    ttfb: float
    end: float


def split(timeline: dict[str, Any]) -> dict[str, float]:
    """One load's timeline (COLLECT's answer) as FIELDS; NaN for a part the load did not have."""
    nan = float("nan")
    paint = float(timeline["paint"])
    requests = [Request(str(r["path"]), float(r["start"]), float(r["ttfb"]), float(r["end"])) for r in timeline["api"]]
    done = [r for r in requests if r.end <= paint]
    depth, server = _chain(done)
    shown, ws = timeline.get("shown"), timeline.get("ws")
    return {
        "html": float(timeline["html"]),
        "scripts": float(timeline["dcl"]) - float(timeline["html"]),
        "signin": float(shown) - float(timeline["dcl"]) if shown is not None else nan,
        "ws": float(ws) if ws is not None and ws <= paint else nan,
        "api": float(len(requests)),
        "chain": float(depth),
        "server": server,
        "render": paint - max((r.end for r in done), default=float(timeline["dcl"])),
    }


def _chain(requests: list[Request]) -> tuple[int, float]:
    """The longest sequence of requests each started after the one before ended: (its length, its server ms)."""
    best: list[tuple[int, float]] = []
    ordered = sorted(requests, key=lambda r: r.start)
    for i, request in enumerate(ordered):
        before = [best[j] for j in range(i) if ordered[j].end <= request.start]
        depth, server = max(before, default=(0, 0.0))
        best.append((depth + 1, server + max(request.ttfb, 0.0)))
    return max(best, default=(0, 0.0))
