"""First meaningful paint of each dashboard view in headless Chromium, with 10k sessions in the store.

Issue 22's target: each page's first meaningful paint <= 300 ms on this machine with 10k sessions in the store.
The store is the embedded default (SQLite, local blobs), seeded in bulk (`bench.paint_seed`): sessions with
a customer and an agent turn, ended and analysed (every tenth handed off, so there are notifications), and
LIVE sessions still open (through the services). `oratio serve`'s app (`oratio_app.web.create_app`) runs under
uvicorn in this process; the browser signs in with a password (cookie), as an admin does.

What "meaningful" means per view: the element that shows the view's data is visible. One load per figure: a
script Chromium adds before the page's own (it needs no change to the page) clicks the view's tab on the first
frame the signed-in page shows, as the fastest admin would, and notes the frame the element is visible:

    live           a live card with its transcript         #live-sessions .session-card .turn
    history        a session row                           #history-rows tr[data-session]
    session        a transcript turn of a session's page   #history-detail .turn (History, then its first row)
    agents         an agent row                            #agent-rows tr
    notifications  a notification                          #notes li
    keys           a key row                               #key-rows tr
    charts         the conversations chart                 #chart-conversations svg
    account        the MCP-token form                      #token-form

A figure is ms from navigation start (the request for /dashboard) to that frame: the HTML, the modules, the
sign-in check, the API reads and the rendering. Loads are "warm" (a returning admin: the same browser context,
its HTTP cache kept) and "cold" (a new context: nothing cached, half as many loads).

The baseline, in the same run and the same process: a store with BASELINE sessions of the same shape.

    .venv/bin/python -m bench.dashboard_paint --store /tmp/paint   # 10k sessions, 15 warm loads per view
    .venv/bin/python -m bench.dashboard_paint --quick              # 2k sessions, 5 warm loads per view

Seeding 10k sessions takes seconds (through the services, one call per turn, it took ~8 minutes): `--store DIR`
keeps the seeded stores and reuses them (`--seed-only` seeds and stops). Each run also prints where each view's
time goes (`bench.paint_timeline`) and the query plans of the first-paint reads (`bench.paint_plans`). Sessions
are seeded "now": after a day the Charts' 24-hour window is empty, so reseed for figures comparable with the ones
in the report.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, sync_playwright

from bench.paint_plans import Plan, plans
from bench.paint_plans import report as plan_report
from bench.paint_seed import EMAIL, seed
from bench.paint_timeline import COLLECT, FIELDS, WS_HOOK, split
from bench.stats import percentile_or_nan as pctl
from oratio.platform import Platform
from oratio_app.web import create_app
from tests.net import uvicorn_in_thread
from tests.support.models import handoff_agent
from tests.support.platforms import open_test_platform
from tests.support.signin import PASSWORD
from tests.system import HEADLESS_CHROMIUM_ARGS, require_program

TARGET_MS = 300.0
BASELINE = 100
VIEWS = {
    "live": ("live", "#live-sessions .session-card .turn"),
    "history": ("history", "#history-rows tr[data-session]"),
    "session": ("history", "#history-detail .turn"),
    "agents": ("agents", "#agent-rows tr"),
    "notifications": ("notifications", "#notes li"),
    "keys": ("keys", "#key-rows tr"),
    "charts": ("charts", "#chart-conversations svg"),
    "account": ("account", "#token-form"),
}
"""Each view: the tab an admin clicks, and the element that shows its data (visible)."""
WATCH = """(() => {
  const [tab, selector, session] = %s;
  const ready = (node) => node && node.checkVisibility();
  let clicked = false, opened = false;
  const look = () => {
    const app = document.getElementById("app");
    if (!clicked && app && !app.hidden) {
      window.__shown = performance.now();
      document.querySelector(`#tabs button[data-tab="${tab}"]`).click();
      clicked = true;
    }
    if (clicked && session && !opened) {
      const row = document.querySelector("#history-rows tr[data-session] button[data-open]");
      if (ready(row)) { row.click(); opened = true; }
    }
    if (clicked && ready(document.querySelector(selector))) { window.__paint = performance.now(); return; }
    if (performance.now() < 30000) requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();"""
"""Runs before the page's scripts on every frame: clicks the view's tab the frame the signed-in page shows (the
session page: then the first History row), and notes the frame the view's element is visible."""


@dataclass(frozen=True)
class Store:
    platform: Platform
    sessions: int
    seeded_s: float


@contextmanager
def store(root: Path, sessions: int) -> Iterator[Store]:
    """The platform on `root`, seeded with `sessions` unless an earlier run did (its marker file says so:
    `--store` keeps them between runs)."""
    marker = root / f"seeded-{sessions}"
    # The bench loads the dashboard ~60 times a minute, far above one admin: the admin rate limit would answer
    # 429s and time those instead of the page.
    with open_test_platform(
        root, models=handoff_agent, password_memory_kib=8 * 1024, admin_rate_per_minute=1e6, admin_burst=100_000
    ) as platform:
        if marker.exists():
            seeded = float(marker.read_text())
        else:
            seeded = seed(platform, sessions)
            marker.write_text(f"{seeded:.1f}")
        yield Store(platform, sessions, seeded)


def signed_in(browser: Browser, base: str) -> dict[str, Any]:
    """A signed-in browser's storage state (the session cookie), for new contexts."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/dashboard")
    page.fill("#signin-email", EMAIL)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    state: dict[str, Any] = dict(context.storage_state())
    context.close()
    return state


def load_once(context: BrowserContext, base: str, view: str) -> tuple[float, dict[str, float]]:
    """One load of the dashboard, clicking through to `view` at once: ms from navigation start to its paint,
    and where that time went (`bench.paint_timeline.split`)."""
    tab, selector = VIEWS[view]
    page = context.new_page()
    try:
        page.add_init_script(WS_HOOK)
        page.add_init_script(WATCH % json.dumps([tab, selector, view == "session"]))
        page.goto(f"{base}/dashboard", wait_until="commit")
        page.wait_for_function("() => window.__paint !== undefined", timeout=60_000)
        timeline = page.evaluate(COLLECT)
        return float(timeline["paint"]), split(timeline)
    finally:
        page.close()


@dataclass
class Figures:
    """Paint ms per mode ("warm", "cold") and view, and the warm loads' splits per view and FIELDS."""

    paint: dict[str, dict[str, list[float]]] = field(default_factory=lambda: {"warm": {}, "cold": {}})
    parts: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    plans: list[Plan] = field(default_factory=list)

    def add(self, mode: str, view: str, load: tuple[float, dict[str, float]]) -> None:
        self.paint[mode].setdefault(view, []).append(load[0])
        if mode == "warm":
            for name, ms in load[1].items():
                self.parts.setdefault(view, {}).setdefault(name, []).append(ms)


def measure(browser: Browser, platform: Platform, loads: int) -> Figures:
    """Warm and cold loads against `platform` served by `oratio serve`'s app."""
    figures = Figures()
    with uvicorn_in_thread(lambda port: create_app(platform, host="127.0.0.1", port=port)) as port:
        base = f"http://127.0.0.1:{port}"
        state = signed_in(browser, base)
        figures.plans = plans(base, {c["name"]: c["value"] for c in state["cookies"]})
        warm = browser.new_context(storage_state=state)  # type: ignore[arg-type]
        try:
            load_once(warm, base, "live")  # fills the HTTP cache; not counted
            for _ in range(loads):
                for view in VIEWS:
                    figures.add("warm", view, load_once(warm, base, view))
        finally:
            warm.close()
        for _ in range(max(1, loads // 2)):
            for view in VIEWS:
                cold = browser.new_context(storage_state=state)  # type: ignore[arg-type]
                try:
                    figures.add("cold", view, load_once(cold, base, view))
                finally:
                    cold.close()
    return figures


def report(label: str, seeded: Store, figures: Figures) -> None:
    load = os.getloadavg()[0]
    print(f"\n== {label}: {seeded.sessions} sessions (seeded in {seeded.seeded_s:.0f} s); load average {load:.1f} ==")
    print(f"{'view':<14} {'warm p50':>9} {'warm p95':>9} {'cold p50':>9} {'cold p95':>9}  target {TARGET_MS:.0f} ms")
    for view in VIEWS:
        warm, cold = figures.paint["warm"].get(view, []), figures.paint["cold"].get(view, [])
        w50, w95, c50, c95 = pctl(warm, 50), pctl(warm, 95), pctl(cold, 50), pctl(cold, 95)
        verdict = "meets" if max(w95, c95) <= TARGET_MS else "p50 only" if max(w50, c50) <= TARGET_MS else "misses"
        print(f"{view:<14} {w50:9.0f} {w95:9.0f} {c50:9.0f} {c95:9.0f}  {verdict}")
    print("\nwhere a warm load's time goes (p50 of each part, ms; api/chain are counts; bench.paint_timeline)")
    print(f"{'view':<14}" + "".join(f"{name:>8}" for name in FIELDS))
    for view in VIEWS:
        parts = figures.parts.get(view, {})
        print(f"{view:<14}" + "".join(f"{pctl(parts.get(name, []), 50):8.0f}" for name in FIELDS))
    plan_report(figures.plans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k sessions, 5 loads per figure")
    parser.add_argument("--sessions", type=int, default=None)
    parser.add_argument("--loads", type=int, default=None)
    parser.add_argument("--store", type=Path, default=None, help="keep the seeded stores here, reuse them next run")
    parser.add_argument("--seed-only", action="store_true", help="seed the stores (into --store) and stop")
    args = parser.parse_args()
    sessions = args.sessions or (2_000 if args.quick else 10_000)
    loads = args.loads or (5 if args.quick else 15)
    if args.seed_only and args.store is None:
        parser.error("--seed-only needs --store (where the seeded stores are kept)")
    if args.seed_only:
        for label, count in (("baseline", BASELINE), ("large", sessions)):
            with store(args.store / f"{label}-{count}", count) as seeded:
                print(f"{label}: {count} sessions seeded in {seeded.seeded_s:.0f} s")
        return
    chromium = require_program("chromium")
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        root = args.store or Path(tmp)
        browser = playwright.chromium.launch(executable_path=chromium, args=list(HEADLESS_CHROMIUM_ARGS))
        try:
            for label, count in (("baseline", BASELINE), ("large", sessions)):
                with store(root / f"{label}-{count}", count) as seeded:
                    report(label, seeded, measure(browser, seeded.platform, loads))
        finally:
            browser.close()
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
