// HTTP to the dashboard API with the admin token or the signed-in person's cookie (then every POST carries
// the session's CSRF token); a refusal signs the page out (through the handler the entry module registers,
// so this module depends on no view).

import { takeEarly } from "./early.js";
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
    this.field = (body && typeof body.field === "string") ? body.field : null;  // the input it names, if one
  }
}

function credentials(method) {
  if (state.token) return { Authorization: `Bearer ${state.token}` };
  return method !== "GET" && state.csrf ? { "X-CSRF-Token": state.csrf } : {};
}

export async function api(path, options = {}) {
  const method = options.method || "GET";
  const headers = credentials(method);
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  // A first read early.js started (signed in with a cookie, as this page is then) answers once; others are asked.
  const early = method === "GET" && !state.token ? takeEarly(path) : undefined;
  const response = await (early || fetch(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: "no-store",
  }));
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    unauthorized("You were signed out (expired or refused). Sign in again.");
    throw new ApiError(401, body);
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// A multipart upload (one file in `form`, a FormData): the browser sets the boundary; same credentials and errors.
export async function apiForm(path, form) {
  const response = await fetch(path, { method: "POST", headers: credentials("POST"), body: form, cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (response.status === 401) unauthorized("You were signed out (expired or refused). Sign in again.");
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// A file from the API (an export): the raw response, with the same token and error handling as `api`.
export async function fetchFile(path) {
  const response = await fetch(path, { headers: credentials("GET"), cache: "no-store" });
  if (response.ok) return response;
  const body = await response.json().catch(() => null);
  if (response.status === 401) unauthorized("You were signed out (expired or refused). Sign in again.");
  throw new ApiError(response.status, body);
}

// Requests made before anyone is signed in (sign-in, links, forgotten password): JSON only, no credentials.
export async function publicPost(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
  });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

// A token for the voice bridge's listen socket, which may be on another origin (no cookie goes there): the
// pasted token, or for a person signed in with a password one minted for 15 minutes (the listen socket's
// recheck ends it then; Listen again for another).
export async function listenToken() {
  if (state.token) return state.token;
  const minted = await api("/api/v1/auth/token", { method: "POST", body: { ttl_seconds: 900 } });
  return minted.token;
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
