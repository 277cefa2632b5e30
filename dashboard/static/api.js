// HTTP to the dashboard API with the admin token; a refused token signs the page out (through the
// handler the entry module registers, so this module depends on no view).

import { state } from "./state.js";

let unauthorized = () => {};

// The entry module registers the sign-out here (a 401 from any request ends the session).
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `request failed (${status})`);
    this.status = status;
  }
}

export async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: "no-store",
  });
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    unauthorized("Your token was refused or has expired. Sign in again.");
    throw new ApiError(401, body);
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// A file from the API (an export): the raw response, with the same token and error handling as `api`.
export async function fetchFile(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` }, cache: "no-store" });
  if (response.ok) return response;
  const body = await response.json().catch(() => null);
  if (response.status === 401) unauthorized("Your token was refused or has expired. Sign in again.");
  throw new ApiError(response.status, body);
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

// Coalesce bursts of events into one reload per list.
export function reloadSoon(name, fn, delay = 300) {
  if (state.reloadTimers.has(name)) return;
  state.reloadTimers.set(name, setTimeout(() => {
    state.reloadTimers.delete(name);
    fn().catch(report);
  }, delay));
}

export function report(error) {
  if (!(error instanceof ApiError && error.status === 401)) console.error(error);
}
