// The Charts tab: the last 24 hours as inline SVG (no chart library, nothing from a CDN).

import { api } from "./api.js";
import { $, clear, el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function chart(container, hours, value, format, kind, fixedMax) {
  clear(container);
  const width = 480, height = 180, left = 40, bottom = 22, top = 10;
  const values = hours.map(value);
  const max = fixedMax || Math.max(1, ...values.filter((v) => v !== null));
  const step = (width - left - 8) / hours.length;
  // role=img needs a name: the figure's caption and the largest value (each bar's <title> holds its own).
  const caption = container.closest("figure")?.querySelector("figcaption")?.textContent || "Chart";
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": `${caption}: highest ${format(max)}` });
  const y = (v) => height - bottom - (v / max) * (height - bottom - top);
  plot.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
  plot.append(svg("text", { x: left - 4, y: top + 8, class: "tick", "text-anchor": "end" }, format(max)));
  plot.append(svg("text", { x: left - 4, y: height - bottom, class: "tick", "text-anchor": "end" }, "0"));
  const points = [];
  hours.forEach((hour, i) => {
    const v = values[i];
    const x = left + i * step;
    if (i % 6 === 0) {
      plot.append(svg("text", { x: x + step / 2, y: height - 6, class: "tick", "text-anchor": "middle" },
        hour.start.slice(11, 13) + "h"));
    }
    if (v === null || (kind === "bar" && v === 0)) return;
    if (kind === "bar") {
      const bar = svg("rect", { x: x + 1, y: y(v), width: Math.max(1, step - 2), height: height - bottom - y(v), class: "bar" });
      bar.append(svg("title", {}, `${hour.start.slice(11, 16)}: ${format(v)}`));
      plot.append(bar);
    } else {
      points.push(`${x + step / 2},${y(v)}`);
      const dot = svg("circle", { cx: x + step / 2, cy: y(v), r: 3, class: "dot" });
      dot.append(svg("title", {}, `${hour.start.slice(11, 16)}: ${format(v)}`));
      plot.append(dot);
    }
  });
  if (points.length > 1) plot.prepend(svg("polyline", { points: points.join(" "), class: "line" }));
  container.append(plot);
}

export async function loadCharts() {
  const stats = await api("/api/v1/stats");
  const pct = (v) => `${Math.round(v * 100)}%`;
  const ms = (v) => `${Math.round(v)} ms`;
  chart($("chart-sessions"), stats.hours, (h) => h.sessions, (v) => String(Math.round(v)), "bar");
  chart($("chart-handoffs"), stats.hours, (h) => (h.sessions ? h.handoffs / h.sessions : null), pct, "bar", 1);
  chart($("chart-latency"), stats.hours, (h) => h.avg_latency_ms, ms, "line");
  chart($("chart-tools"), stats.hours, (h) => h.tool_calls, (v) => String(Math.round(v)), "bar");
  chart($("chart-tool-failures"), stats.hours, (h) => h.tool_failures, (v) => String(Math.round(v)), "bar");
  const figures = $("figures");
  clear(figures);
  figures.append(
    el("div", { class: "figure card" }, el("span", {}, "Sessions (24 h)"), el("strong", {}, String(stats.sessions))),
    el("div", { class: "figure card" }, el("span", {}, "Handoff rate"),
      el("strong", {}, stats.handoff_rate === null ? "—" : pct(stats.handoff_rate))),
    el("div", { class: "figure card" }, el("span", {}, "Avg turn latency"),
      el("strong", {}, stats.avg_latency_ms === null ? "—" : ms(stats.avg_latency_ms))),
    el("div", { class: "figure card", id: "figure-tools" }, el("span", {}, "Tool calls (24 h)"),
      el("strong", {}, String(stats.tool_calls)),
      el("small", { class: stats.tool_failures ? "bad" : "muted" }, ` ${stats.tool_failures} failed`)),
    el("div", { class: "figure card", id: "figure-resolution" }, el("span", {}, "Resolution rate"),
      el("strong", {}, stats.resolution_rate === null ? "—" : pct(stats.resolution_rate)),
      el("small", { class: "muted" }, ` of ${stats.analysed} analysed`)),
    el("div", { class: "figure card" }, el("span", {}, "Avg handling time"),
      el("strong", {}, stats.avg_handling_s === null ? "—" : `${Math.round(stats.avg_handling_s)} s`)),
    el("div", { class: "figure card", id: "figure-reasons" }, el("span", {}, "Top handoff reasons"),
      ...(stats.top_handoff_reasons.length
        ? stats.top_handoff_reasons.map(([reason, n]) => el("small", {}, `${n} × ${reason}`))
        : [el("small", { class: "muted" }, "none")])));
  $("charts-note").textContent = stats.truncated
    ? "Busy day: the figures use the newest sessions only (a capped number per request)."
    : "";
}
