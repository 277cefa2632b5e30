// The History tab: search past sessions and read a transcript.

import { ApiError, api, fetchFile, query } from "./api.js";
import { $, clear, el, pill, when } from "./dom.js";
import { addTurn } from "./live.js";
import { agentName, state } from "./state.js";

function historyParams() {
  const from = $("h-from").value;
  const to = $("h-to").value;
  return {
    q: $("h-q").value.trim(),
    agent_id: $("h-agent").value,
    status: $("h-status").value,
    channel: $("h-channel").value,
    outcome: $("h-outcome").value,
    started_after: from ? `${from}T00:00:00Z` : "",
    started_before: to ? `${to}T23:59:59Z` : "",
  };
}

export async function loadHistory(more) {
  const params = { ...historyParams(), limit: "25" };
  if (more && state.historyCursor) params.cursor = state.historyCursor;
  $("history-error").textContent = "";
  let body;
  try {
    body = await api(`/api/v1/sessions${query(params)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) $("history-error").textContent = error.message;
    return;
  }
  const rows = $("history-rows");
  if (!more) clear(rows);
  for (const session of body.sessions) {
    rows.append(el("tr", { class: "clickable", dataset: { session: session.id }, onclick: () => openSession(session.id) },
      el("td", {}, when(session.started_at)),
      el("td", {}, agentName(session.agent_id)),
      el("td", {}, session.channel),
      el("td", {}, pill(session.status)),
      el("td", {}, String(session.message_count))));
  }
  if (!rows.children.length) rows.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No sessions match.")));
  state.historyCursor = body.next_cursor;
  $("history-more").hidden = !body.next_cursor;
}

// Download what the filters find (not the transcript search) as CSV or JSON: at most 31 days and 1000
// sessions, newest first; the note says how many rows the file holds and whether more matched.
export async function exportHistory(format) {
  const { q, ...filters } = historyParams();
  const note = $("history-export-note");
  $("history-error").textContent = "";
  note.textContent = "";
  if (q) {
    $("history-error").textContent = "Exports cannot filter on transcript text: clear the search to export.";
    return;
  }
  let response;
  try {
    response = await fetchFile(`/api/v1/sessions/export${query({ ...filters, format })}`);
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) $("history-error").textContent = error.message;
    return;
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : `sessions.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  const count = response.headers.get("X-Oratio-Export-Count");
  const more = response.headers.get("X-Oratio-Export-Truncated") === "true";
  note.textContent = `Exported ${count} session(s)${more ? " — more matched: narrow the dates to export the rest" : ""}.`;
}

export async function openSession(id) {
  const full = await api(`/api/v1/sessions/${encodeURIComponent(id)}`);
  const s = full.session;
  const detail = $("history-detail");
  clear(detail);
  const transcript = el("ol", { class: "transcript tall" });
  detail.append(...[
    el("h3", {}, agentName(s.agent_id), " ", pill(s.status)),
    el("div", { class: "meta" }, `${s.channel} · ${when(s.started_at)} → ${when(s.ended_at)} · `, el("code", {}, s.id)),
    s.end_reason ? el("div", { class: "muted" }, `Ended: ${s.end_reason}`) : null,
    Object.keys(s.collected || {}).length
      ? el("div", { class: "muted" }, "Collected: ", Object.entries(s.collected).map(([k, v]) => `${k}=${v}`).join(", "))
      : null,
    full.analysis ? analysisBlock(full.analysis) : null,
    (full.recordings || []).length
      ? el("div", { class: "muted" }, `Recordings (${full.recordings.length}): `, ...full.recordings.map((key, i) => [i ? ", " : "", el("code", {}, key)]))
      : null,
    transcript].filter(Boolean));
  state.historySelected = id;
  state.historyDetail = { transcript, seqs: new Set(), calls: new Map() };
  full.turns.forEach((turn) => addTurn(state.historyDetail, turn));
}

// The post-call analysis: outcome, sentiment, summary and the SOP checks with their evidence turn.
function analysisBlock(a) {
  const KINDS = { collect: "collected", scenario: "scenario", handoff_rule: "rule" };
  const checks = a.sop.map((c) => el("li", { class: c.met ? "" : "muted" },
    `${c.met ? "✓" : c.applies === false ? "–" : "·"} ${KINDS[c.kind] || c.kind} ${c.name}`,
    c.evidence_seq ? ` (turn ${c.evidence_seq})` : "",
    c.judged_by === "model" ? el("small", { class: "muted" }, " · judged by the model") : null,
    c.note ? el("small", { class: "muted" }, ` · ${c.note}`) : null));
  const extracted = Object.entries(a.extracted || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  return el("div", { class: "analysis card", id: "history-analysis" },
    el("div", {}, pill(a.outcome), ` sentiment ${a.sentiment} (${a.sentiment_score}) · `,
      el("small", { class: "muted" }, a.method === "model" ? `model-written (${a.written_by})` : "rule-based (offline)")),
    el("p", {}, a.summary),
    extracted ? el("div", { class: "muted" }, `Read from the conversation: ${extracted}`) : null,
    a.tools.calls ? el("div", { class: "muted" }, `Tools: ${a.tools.calls} call(s), ${a.tools.failures} failed, ${a.tools.writes_confirmed} confirmed write(s)`) : null,
    checks.length ? el("ul", { class: "checks" }, ...checks) : null);
}
