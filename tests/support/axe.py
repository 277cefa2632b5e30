"""Accessibility checks for a playwright page: axe-core's rules, a horizontal-overflow check and a keyboard walk.

axe-core is the engine browsers' own audits use; it runs inside the page. Its script comes from the
`axe-playwright-python` wheel (the `dev` extra), which ships `axe.min.js` (axe-core 4.12) as package data: no
Node.js, no download at test time, the version pinned by the wheel. Only the file is used: the wheel's Python
wrapper is untyped and builds its JS call by string formatting, so the call below is our own.

Call from any browser test, after the view to check is on screen:

    check_page(page, "history at 375 px")      # no serious or critical axe-core violation (impacts=... to widen)
    check_no_overflow(page, "history at 375 px")
    check_keyboard(page, "history at 375 px")  # every control that looks clickable takes the keyboard focus

Each raises AssertionError listing what failed, readably (rule, impact, help, the elements, a fix hint).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from playwright.sync_api import Page

BLOCKING = frozenset({"serious", "critical"})
"""The impacts that fail `check_page` by default (issue 22's bar)."""
EVERY_IMPACT = frozenset({"minor", "moderate", "serious", "critical"})
"""Stricter: also landmarks, heading order, empty headers... (the dashboard's own views meet it)."""

RUN = """async (context) => {
  const results = await axe.run(context || document, { resultTypes: ["violations"] });
  return results.violations;
}"""


@cache
def axe_script() -> str:
    """axe-core's browser bundle, as the `axe-playwright-python` wheel ships it."""
    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def violations(page: Page, context: str | None = None) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (or inside the CSS selector `context`), every impact.

    `page.evaluate` runs through the DevTools protocol, so the page's strict CSP (script-src 'self') does not
    stop the injected engine; hidden elements (other tabs' panels) are not checked, so check each view shown."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    found: list[dict[str, Any]] = page.evaluate(RUN, context)
    return found


def report(found: list[dict[str, Any]]) -> str:
    """Violations as a person reads them: rule (impact): help, then each element's selector, markup and fix."""
    lines: list[str] = []
    for rule in found:
        lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']} [{len(rule['nodes'])} element(s)]")
        for node in rule["nodes"][:8]:
            lines.append(f"    at {' '.join(str(t) for t in node['target'])}: {node['html'][:160]}")
            summary = str(node.get("failureSummary") or "").replace("\n", " ").strip()
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(rule["nodes"]) > 8:
            lines.append(f"    ... and {len(rule['nodes']) - 8} more")
    return "\n".join(lines)


def check_page(page: Page, what: str, context: str | None = None, *, impacts: frozenset[str] = BLOCKING) -> None:
    """Fail if axe-core finds a violation of one of `impacts` (by default serious or critical) on the page as
    shown, or inside the CSS selector `context`; `what` names the view in the message."""
    blocking = [rule for rule in violations(page, context) if rule.get("impact") in impacts]
    assert not blocking, f"axe-core on {what}: {len(blocking)} rule(s) broken ({'/'.join(sorted(impacts))})\n" + report(
        blocking
    )


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const node of document.body.querySelectorAll("*")) {
    const box = node.getBoundingClientRect();
    if (box.width && box.right > width + 1 && node.checkVisibility()) {
      wide.push(`${node.tagName.toLowerCase()}${node.id ? "#" + node.id : ""}` +
        `${node.classList.length ? "." + [...node.classList].join(".") : ""} right=${Math.round(box.right)}`);
    }
  }
  return { page: document.documentElement.scrollWidth, window: width, wide: wide.slice(0, 12) };
}"""


def check_no_overflow(page: Page, what: str) -> None:
    """Fail if the page scrolls sideways (wider than the window), naming the elements that stick out.

    A region that scrolls inside itself (a wide table in an `overflow-x: auto` wrapper) does not widen the
    page and is not reported: its elements are clipped, so the page's scroll width stays the window's."""
    measured: dict[str, Any] = page.evaluate(OVERFLOW)
    assert measured["page"] <= measured["window"], (
        f"{what}: the page is {measured['page']} px wide in a {measured['window']} px window; "
        f"sticking out: {', '.join(measured['wide']) or '(none found)'}"
    )


CONTROLS = """() => {
  const shown = (node) => node.checkVisibility({ visibilityProperty: true }) && node.getClientRects().length > 0;
  const focusable = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
    "select:not([disabled]), textarea:not([disabled]), summary, audio[controls], [tabindex]:not([tabindex='-1'])";
  const name = (node) => `${node.tagName.toLowerCase()}${node.id ? "#" + node.id : ""}` +
    `${node.classList.length ? "." + [...node.classList].join(".") : ""}` +
    ` "${(node.getAttribute("aria-label") || node.textContent || "").trim().slice(0, 30)}"`;
  const controls = [...document.querySelectorAll(focusable)].filter(shown);
  // What looks clickable (a pointer cursor) but takes no focus itself nor holds a control that does.
  const pointers = [...document.body.querySelectorAll("*")].filter((node) => shown(node) &&
    getComputedStyle(node).cursor === "pointer" && !node.matches(focusable) && !node.closest(focusable) &&
    !node.querySelector(focusable) &&
    !(node.parentElement && getComputedStyle(node.parentElement).cursor === "pointer"));
  controls.forEach((node, i) => { node.dataset.axeControl = String(i); });
  return { controls: controls.map(name), pointers: pointers.map(name) };
}"""
FOCUSED = "() => (document.activeElement && document.activeElement.dataset.axeControl) ?? null"
CLEAN = "() => document.querySelectorAll('[data-axe-control]').forEach((n) => delete n.dataset.axeControl)"


def check_keyboard(page: Page, what: str) -> None:
    """Fail unless Tab reaches every visible control, and nothing that looks clickable is mouse-only.

    Walks the page with the Tab key from the top (as a keyboard user does), up to twice as many presses as
    there are controls, and compares what took the focus with every visible focusable control."""
    listed: dict[str, list[str]] = page.evaluate(CONTROLS)
    controls = listed["controls"]
    try:
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
        reached: set[int] = set()
        for _ in range(2 * len(controls) + 2):
            page.keyboard.press("Tab")
            index = page.evaluate(FOCUSED)
            if index is not None:
                reached.add(int(index))
            if len(reached) == len(controls):
                break
    finally:
        page.evaluate(CLEAN)
    missed = [name for i, name in enumerate(controls) if i not in reached]
    problems = [f"not reached by Tab: {name}" for name in missed]
    problems += [f"clickable-looking but not focusable: {name}" for name in listed["pointers"]]
    assert not problems, f"keyboard on {what}:\n" + "\n".join(problems)
