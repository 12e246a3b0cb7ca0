// api.js - every call to the Tixin API, the session, and the human text of
// every error code.
//
// Session: the token from POST /api/v1/sessions is kept in the
// tixin_session cookie (Path=/, SameSite=Strict), not in localStorage,
// because ticket QR codes are <img> tags and an image request can carry a
// cookie but no Authorization header. The server reads the cookie on GETs;
// on other methods only with an X-Requested-With header and a same-origin
// Origin (its CSRF rule), so every call here sends X-Requested-With.
// Writes that create money-bearing state (holds, orders) carry an
// Idempotency-Key and are retried with the same key on a network failure:
// a retry can never hold twice or charge twice.

const COOKIE = 'tixin_session';

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let clockSkewMs = 0; // server time minus local time, from the Date header

/** The server's idea of "now", in ms since the epoch. */
export const serverNow = () => Date.now() + clockSkewMs;

const list = (a) => (Array.isArray(a) && a.length ? a.join(', ') : '');
const plural = (a, one, many) => (Array.isArray(a) && a.length === 1 ? one : many);
const clock = (iso) => (iso ? new Date(iso).toLocaleString() : '');

// One clear sentence per error code of the contract (docs/openapi.yaml).
const MESSAGES = {
  seat_unavailable: (d) => `Sorry, ${plural(d.seats, 'seat', 'seats')} ${list(d.seats)} ${plural(d.seats, 'was', 'were')} just taken by someone else. Please pick other seats.`,
  sold_out: () => 'Not enough tickets left in this tier. Try a smaller quantity or another tier.',
  seat_not_found: (d) => `${list(d.seats) || 'Some seats'} ${plural(d.seats, 'is', 'are')} not on sale.`,
  sale_not_open: () => 'Tickets for this event are not on sale right now.',
  limit_exceeded: () => 'That is more tickets than one order allows.',
  hold_expired: () => 'Your hold expired and the seats were released. Please pick your seats again.',
  hold_already_used: () => 'This hold has already been paid: your tickets are in My tickets.',
  payment_declined: () => 'Your card was declined. Your seats are still held: try another card.',
  already_refunded: () => 'This order has already been refunded.',
  already_checked_in: (d) => `Already checked in${d.checked_in_at ? ` at ${clock(d.checked_in_at)}` : ''}.`,
  ticket_void: () => 'Void ticket: its order was refunded.',
  ticket_not_found: () => 'Unknown ticket: no ticket of this event has this code.',
  unauthenticated: () => 'Please sign in first (your session may have ended).',
  invalid_credentials: () => 'Wrong email or password.',
  email_taken: () => 'An account with this email already exists. Sign in instead.',
  user_not_found: () => 'No account has this email.',
  already_member: () => 'This person is already a member of the organization.',
  forbidden: () => 'You are not allowed to do this with your account.',
  not_found: () => 'Not found: it may not exist (or not be published yet).',
  event_published: () => 'This event is published and can no longer be changed.',
  invalid_field: (d, m) => (d.field ? `Please check “${d.field}”: ${m}` : m),
  invalid_json: () => 'The app sent a request the server could not read. Please reload the page.',
  payload_too_large: () => 'That is too much data for one request.',
  method_not_allowed: () => 'This action is not available. Please reload the page.',
  rate_limited: (d) => `Too many attempts. Please wait ${d.retry_after || 'a few'} seconds and try again.`,
  idempotency_in_progress: () => 'Still working on your previous request: one moment, then try again.',
  idempotency_key_reused: () => 'That request was already sent with different details. Please try again.',
  upgrade_required: () => 'The live seat map needs a WebSocket connection.',
  unavailable: () => 'Tixin is briefly unavailable. Please try again in a moment.',
  internal: () => 'Something went wrong on our side. Please try again.',
  network: () => 'Cannot reach Tixin. Check your connection and try again.',
};

/** The sentence to show a person for an API error body. */
export function humanMessage(code, details = {}, serverMessage = '') {
  const f = MESSAGES[code];
  return f ? f(details, serverMessage) : serverMessage || `Unexpected error (${code}).`;
}

/** Every code this file explains (the UI test checks the list). */
export const KNOWN_CODES = Object.keys(MESSAGES);

function noteClock(res) {
  const d = Date.parse(res.headers.get('date') || '');
  if (!Number.isNaN(d)) clockSkewMs = d - Date.now();
}

async function errorFrom(res) {
  let body = {};
  try { body = await res.json(); } catch { /* not JSON */ }
  const e = body.error || { code: res.status >= 500 ? 'internal' : 'not_found', message: res.statusText };
  const details = { ...e };
  if (res.status === 429) details.retry_after = res.headers.get('retry-after');
  return new ApiError(res.status, e.code, humanMessage(e.code, details, e.message), details);
}

/** Turn a fetch() promise into the API's answer: the JSON body (null for
 * 204), or an ApiError. */
export async function settle(fetching) {
  let res;
  try {
    res = await fetching;
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', humanMessage('network'));
  }
  noteClock(res);
  if (!res.ok) throw await errorFrom(res);
  return res.status === 204 ? null : res.json();
}

/** One API call; resolves to the JSON body (null for 204), throws ApiError. */
export function api(method, path, body, { idempotencyKey, signal } = {}) {
  const headers = { Accept: 'application/json', 'X-Requested-With': 'tixin-web' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  return settle(fetch(path, {
    method, headers, signal, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  }));
}

/** A random key: crypto.randomUUID needs a secure context, this does not. */
export function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A POST with an Idempotency-Key, retried with the same key when the
 * network failed or the first try is still running. */
export async function postOnce(path, body) {
  const key = randomKey();
  for (let attempt = 0; ; attempt++) {
    try {
      return await api('POST', path, body, { idempotencyKey: key });
    } catch (e) {
      const retry = e.code === 'network' || e.code === 'idempotency_in_progress' || e.code === 'unavailable';
      if (!retry || attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 400 * (attempt + 1)));
    }
  }
}

/* --- session ------------------------------------------------------------ */

export function hasSession() {
  return document.cookie.split(';').some((c) => c.trim().startsWith(COOKIE + '='));
}

function setCookie(value, maxAge) {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${COOKIE}=${value}; Path=/; Max-Age=${maxAge}; SameSite=Strict${secure}`;
}

let userPromise = null;
const listeners = new Set();

/** The signed-in user, or null (asks GET /me once per page load). */
export function currentUser() {
  if (!userPromise) {
    userPromise = hasSession()
      ? api('GET', '/api/v1/me').catch((e) => {
        if (e.status === 401) setCookie('', 0);
        return null;
      })
      : Promise.resolve(null);
  }
  return userPromise;
}

export function onUserChange(fn) {
  listeners.add(fn);
}

function setUser(user) {
  userPromise = Promise.resolve(user);
  for (const fn of listeners) fn(user);
}

export async function signIn(email, password) {
  const s = await api('POST', '/api/v1/sessions', { email, password });
  setCookie(s.token, 30 * 24 * 3600);
  setUser(s.user);
  return s.user;
}

export async function signUp(name, email, password) {
  await api('POST', '/api/v1/users', { name, email, password });
  return signIn(email, password);
}

export async function signOut() {
  try { await api('DELETE', '/api/v1/sessions/current'); } catch { /* gone already */ }
  setCookie('', 0);
  setUser(null);
}
