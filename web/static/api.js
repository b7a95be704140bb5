// Requests to orderd. Every answer is JSON; an error's message is the
// server's own {"error": ...} when there is one.

import { parseJSON } from './json.js';

const REQUEST_TIMEOUT_MS = 10000; // the server gives up after 10 s itself

export class ApiError extends Error {
  constructor(status, message, { superseded = false, body = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0: no HTTP answer
    this.superseded = superseded;
    this.body = body;
  }
}

// latestOnly hands out a fresh AbortSignal per call and aborts the one
// before it, so a slow old answer can never overwrite a newer one.
export function latestOnly() {
  let ctrl = null;
  return () => {
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    return ctrl.signal;
  };
}

// api fetches JSON from orderd. It resolves with the parsed body and its
// exact text, or rejects with an ApiError. With exact, the body is read by
// parseJSON, so int64 values keep their digits.
export async function api(path, { method = 'GET', body, token, signal, timeoutMs = REQUEST_TIMEOUT_MS, exact = false } = {}) {
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, timeoutMs);
  const forward = () => ctrl.abort();
  if (signal) {
    if (signal.aborted) ctrl.abort();
    else signal.addEventListener('abort', forward, { once: true });
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;

  let res;
  let text;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
      cache: 'no-store',
      credentials: 'same-origin',
    });
    text = await res.text();
  } catch (err) {
    if (signal && signal.aborted) throw new ApiError(0, 'superseded', { superseded: true });
    if (timedOut) throw new ApiError(0, `network error: orderd did not answer within ${timeoutMs / 1000} s`);
    throw new ApiError(0, `network error: could not reach orderd (${err.message})`);
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', forward);
  }

  let data;
  try {
    data = exact ? parseJSON(text) : JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const msg = data && typeof data.error === 'string' && data.error !== ''
      ? data.error
      : `HTTP ${res.status} ${res.statusText}`.trim();
    throw new ApiError(res.status, msg, { body: data });
  }
  if (data === undefined || data === null || typeof data !== 'object') {
    throw new ApiError(res.status, 'orderd answered with something that is not a JSON object');
  }
  return { data, text };
}
