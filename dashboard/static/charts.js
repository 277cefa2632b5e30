// The Charts tab: a range's figures from GET /api/v1/stats as inline SVG (no chart library, nothing from a
// CDN). Every chart is a <figure> whose SVG is labelled by its caption and has the same numbers as a table
// (under "Show as table") for screen readers and keyboard users. Links of the form #charts?agent=ID open the
// tab filtered to that agent (the agent page links here).

import { api } from "./api.js";
import { $, clear, el } from "./dom.js";
import { state } from "./state.js";

const SVG = "http://www.w3.org/2000/svg";
const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`);
const ms = (v) => (v === null || v === undefined ? "—" : `${Math.round(v)} ms`);
const count = (v) => String(Math.round(v));

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// A chart as a figure: caption, the SVG (role img, named by the caption) and a table of the same rows.
function figure(id, caption, rows, headers, plot) {
  const captionId = `${id}-caption`;
  plot.setAttribute("role", "img");
  plot.setAttribute("aria-labelledby", captionId);
  const table = el("table", { class: "chart-table" },
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, ...row.map((cell, i) =>
      i === 0 ? el("th", { scope: "row" }, cell) : el("td", {}, cell))))));
  return el("figure", { class: "card", id },
    el("figcaption", { id: captionId }, caption), plot,
    el("details", {}, el("summary", {}, "Show as table"), table));
}

// Vertical bars, one per item ({label, value}); labels on every nth bar so they never overlap.
function columns(items, format) {
  const width = 480, height = 180, left = 40, bottom = 22, top = 10;
  const max = Math.max(1, ...items.map((i) => i.value || 0));
  const step = (width - left - 8) / Math.max(1, items.length);
  const every = Math.max(1, Math.ceil(items.length / 8));
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart" });
  const y = (v) => height - bottom - (v / max) * (height - bottom - top);
  plot.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
  plot.append(svg("text", { x: left - 4, y: top + 8, class: "tick", "text-anchor": "end" }, format(max)));
  plot.append(svg("text", { x: left - 4, y: height - bottom, class: "tick", "text-anchor": "end" }, "0"));
  items.forEach((item, i) => {
    const x = left + i * step;
    if (i % every === 0) {
      plot.append(svg("text", { x: x + step / 2, y: height - 6, class: "tick", "text-anchor": "middle" }, item.label));
    }
    if (!item.value) return;
    const bar = svg("rect", { x: x + 1, y: y(item.value), width: Math.max(1, step - 2), height: height - bottom - y(item.value), class: "bar" });
    bar.append(svg("title", {}, `${item.label}: ${format(item.value)}`));
    plot.append(bar);
  });
  return plot;
}

// Horizontal bars with their names and values written out (reasons, latency percentiles).
function rows(items, format) {
  const width = 480, line = 26, labelWidth = 190;
  const height = Math.max(1, items.length) * line + 6;
  const max = Math.max(1, ...items.map((i) => i.value || 0));
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart" });
  items.forEach((item, i) => {
    const y = 4 + i * line;
    const label = item.label.length > 26 ? `${item.label.slice(0, 25)}…` : item.label;
    plot.append(svg("text", { x: 0, y: y + 15, class: "tick label" }, label));
    const w = item.value ? Math.max(2, ((width - labelWidth - 70) * item.value) / max) : 0;
    const bar = svg("rect", { x: labelWidth, y, width: w, height: line - 8, class: `bar ${item.kind || ""}` });
    bar.append(svg("title", {}, `${item.label}: ${format(item.value)}`));
    plot.append(bar);
    plot.append(svg("text", { x: labelWidth + w + 6, y: y + 15, class: "tick" }, item.value === null ? "no turns" : format(item.value)));
  });
  return plot;
}

function card(id, label, value, note) {
  return el("div", { class: "figure card", id }, el("span", {}, label), el("strong", {}, value),
    note ? el("small", { class: "muted" }, note) : null);
}

// What to do next when there is nothing to chart: create an agent, test-chat it, or widen the range.
function emptyState(stats) {
  if (!stats.has_agents) {
    return el("div", { class: "empty-state card" },
      el("p", {}, "No agents yet, so there is nothing to chart."),
      el("button", { type: "button", onclick: () => $("tabs").querySelector('button[data-tab="agents"]').click() },
        "Create your first agent"));
  }
  if (!stats.has_sessions) {
    return el("div", { class: "empty-state card" },
      el("p", {}, "No conversations yet. Test-chat your agent from the Agents tab (or connect a customer app with an API key); "
        + "its figures appear here once the conversation ends."),
      el("button", { type: "button", onclick: () => $("tabs").querySelector('button[data-tab="agents"]').click() },
        "Go to your agents"));
  }
  if (!stats.conversations) {
    return el("div", { class: "empty-state card" },
      el("p", {}, "No finished conversations in this range. Conversations count once they end (live ones are on the "
        + "Live tab); pick a wider range to see earlier ones."));
  }
  return null;
}

function linkedAgent() {
  const match = /^#charts\?(.*)$/.exec(location.hash);
  return match ? new URLSearchParams(match[1]).get("agent") : null;
}

async function loadAgentFilter() {
  const select = $("charts-agent");
  const body = await api("/api/v1/agents?limit=200");
  const keep = select.value;
  clear(select);
  select.append(el("option", { value: "" }, "All agents"));
  for (const agent of body.agents) select.append(el("option", { value: agent.id }, agent.name));
  select.value = keep;
}

let latestLoad = 0;  // a load that answers after a newer one began draws nothing: the newer one is the admin's view

// What the controls say: the range the figures show when nothing was chosen on this page yet (after sign-in).
function formRange() {
  const range = $("charts-range").value;
  if (range !== "custom") return { range };
  const custom = {};
  if ($("charts-since").value) custom.since = $("charts-since").value;
  if ($("charts-until").value) custom.until = $("charts-until").value;
  return custom;
}

function query(range) {
  const params = new URLSearchParams(range);
  if ($("charts-agent").value) params.set("agent_id", $("charts-agent").value);
  return params.toString();
}

// Opens the Charts tab when the address is a #charts link (on load, after sign-in, on hashchange).
export function openChartsLink() {
  if (!location.hash.startsWith("#charts") || $("app").hidden) return;
  $("tabs").querySelector('button[data-tab="charts"]').click();
}

export async function loadCharts() {
  if ($("panel-charts").hidden) return;  // live events ask for a reload; only a shown tab reads
  const load = ++latestLoad;
  state.chartsRange ??= formRange();
  const linked = linkedAgent();
  $("charts-custom").hidden = $("charts-range").value !== "custom";
  if (linked === null) {
    // The agent filter (each time: an agent created since is in it) and the figures of the filter's choice, read at
    // once: two round trips in sequence were most of this tab's first paint.
    const [stats] = await Promise.all([api(`/api/v1/stats?${query(state.chartsRange)}`), loadAgentFilter()]);
    if (load === latestLoad) render(stats);
    return;
  }
  await loadAgentFilter();  // a #charts link's agent is chosen once the filter lists it
  if ([...$("charts-agent").options].some((o) => o.value === linked)) $("charts-agent").value = linked;
  const stats = await api(`/api/v1/stats?${query(state.chartsRange)}`);
  if (load === latestLoad) render(stats);
}

function render(stats) {
  const figures = $("figures");
  const charts = $("charts");
  clear(figures);
  clear(charts);
  const span = stats.since === stats.until ? stats.since : `${stats.since} to ${stats.until}`;
  $("charts-note").textContent = `${span} (UTC days). Conversations count on the day they started, once they have ended.`;
  const empty = emptyState(stats);
  if (empty) {
    figures.append(empty);
    return;
  }
  const failed = stats.tool_failures ? `${stats.tool_failures} failed` : "none failed";
  figures.append(
    card("figure-conversations", "Conversations", count(stats.conversations)),
    card("figure-resolution", "Resolution rate", pct(stats.resolution_rate)),
    card("figure-handoffs", "Handoff rate", pct(stats.handoff_rate)),
    card("figure-handling", "Avg handling time", stats.avg_handling_s === null ? "—" : `${Math.round(stats.avg_handling_s)} s`),
    card("figure-tools", "Tool calls", count(stats.tool_calls), failed));
  const day = (d) => d.day.slice(5);
  charts.append(
    figure("chart-conversations", "Conversations per day", stats.days.map((d) => [d.day, count(d.conversations)]),
      ["Day", "Conversations"], columns(stats.days.map((d) => ({ label: day(d), value: d.conversations })), count)),
    figure("chart-handoff-rate", "Handoff rate per day", stats.days.map((d) => [d.day, d.conversations ? pct(d.handoffs / d.conversations) : "—"]),
      ["Day", "Handoff rate"], columns(stats.days.map((d) => ({ label: day(d), value: d.conversations ? d.handoffs / d.conversations : 0 })), pct)),
    figure("chart-latency", "Reply latency by channel (text: request to reply; voice: end of speech to first audio)",
      stats.latency.map((l) => [l.channel, ms(l.p50_ms), ms(l.p95_ms), count(l.turns)]),
      ["Channel", "p50", "p95", "Turns"],
      rows(stats.latency.flatMap((l) => [
        { label: `${l.channel} p50`, value: l.p50_ms, kind: "p50" },
        { label: `${l.channel} p95`, value: l.p95_ms, kind: "p95" },
      ]), ms)),
    figure("chart-reasons", "Top handoff reasons", stats.top_handoff_reasons.map((r) => [r.name, count(r.count)]),
      ["Reason", "Handoffs"], stats.top_handoff_reasons.length
        ? rows(stats.top_handoff_reasons.map((r) => ({ label: r.name, value: r.count })), count)
        : el("p", { class: "muted" }, "No handoffs in this range.")),
    figure("chart-tool-failures", "Tool-call failures per day (error, timeout, invalid, refused)",
      stats.days.map((d) => [d.day, count(d.tool_calls), count(d.tool_failures)]), ["Day", "Tool calls", "Failures"],
      columns(stats.days.map((d) => ({ label: day(d), value: d.tool_failures })), count)));
  if (stats.top_failing_tools.length) {
    charts.append(figure("chart-failing-tools", "Tools that failed most", stats.top_failing_tools.map((t) => [t.name, count(t.count)]),
      ["Tool", "Failures"], rows(stats.top_failing_tools.map((t) => ({ label: t.name, value: t.count })), count)));
  }
}

export function watchChartControls(onError) {
  const reload = () => loadCharts().catch(onError);
  // The range the figures show is state.chartsRange: a live reload (an ended session was analysed) asks again for it,
  // never for what the custom form holds at that moment ("From" filled, "To" not yet: a range the server refuses).
  // The admin's choice is the shown range at once (a load already under way must not put an older one back); a
  // range the server refuses is not kept, so the next live reload asks for the one before it.
  const choose = (range) => {
    const before = state.chartsRange;
    state.chartsRange = range;
    loadCharts().catch((error) => {
      if (state.chartsRange === range) state.chartsRange = before;
      onError(error);
    });
  };
  $("charts-range").addEventListener("change", () => {
    const range = $("charts-range").value;
    $("charts-custom").hidden = range !== "custom";
    if (range !== "custom") choose({ range });
  });
  $("charts-custom").addEventListener("submit", (event) => {
    event.preventDefault();
    choose(formRange());
  });
  $("charts-agent").addEventListener("change", () => {
    const agent = $("charts-agent").value;
    history.replaceState(null, "", agent ? `#charts?agent=${encodeURIComponent(agent)}` : "#charts");
    reload();
  });
  window.addEventListener("hashchange", openChartsLink);
}
