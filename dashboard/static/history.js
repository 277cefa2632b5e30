// The History tab: search past sessions (a row opens its session page, session.js), export them.

import { ApiError, api, fetchFile, query } from "./api.js";
import { $, clear, el, pill, when } from "./dom.js";
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

// The Search button: the form becomes the filters the rows show (state.historyFilters). Live reloads and "Load more"
// ask with those: a search half typed is not the admin's choice yet, and a cursor only means something for the query
// that made it.
export function searchHistory() {
  state.historyFilters = historyParams();
  return loadHistory(false);
}

export async function loadHistory(more) {
  state.historyFilters ??= historyParams();
  const params = { ...state.historyFilters, limit: "25" };
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
    // A click opens the session page (app.js listens on the table: this module knows no other view).
    // The row's first cell is a button, so the keyboard and screen readers reach what a click on the row does.
    rows.append(el("tr", { class: "clickable", dataset: { session: session.id, open: session.id } },
      el("td", {}, el("button", { type: "button", class: "link", dataset: { open: session.id },
        "aria-label": `Open the session of ${when(session.started_at)}, ${agentName(session.agent_id)}` },
      when(session.started_at))),
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
