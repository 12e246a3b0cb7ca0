// load-tests/lib/tixin.js - what every k6 scenario shares: the seed (events
// and bearer tokens written by `tixin demo --profile bench --out seed.json`,
// the same file bench/run uses), the bench/mix.lua request mix, and the
// buyer journey of a ticket drop. Requests to URLs with ids carry a `name`
// tag with the route template, so k6's metrics have one series per route
// (as tixin's own http_request_duration_seconds does).
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
// An absolute path: k6 resolves a relative one against this file's folder.
const SEED = __ENV.SEED;
if (!SEED) throw new Error('set SEED=/absolute/path/seed.json (tixin demo --profile bench --out ...)');

export const events = new SharedArray('events', () => JSON.parse(open(SEED)).events);
export const tokens = new SharedArray('tokens', () => JSON.parse(open(SEED)).tokens);

// 409 (seat taken by someone else, sold out) is an answer, not a failure:
// it must not count in http_req_failed.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 409));

export const holdsCreated = new Counter('tixin_holds_created');
export const holdsReleased = new Counter('tixin_holds_released');
export const seatConflicts = new Counter('tixin_seat_conflicts');
export const ordersPaid = new Counter('tixin_orders_paid');
export const ticketsSold = new Counter('tixin_tickets_sold');
export const journeyTime = new Trend('tixin_buyer_journey', true);

// The venue of the bench profile: sections A..T x 25 rows x 20 seats.
const SECTIONS = 'ABCDEFGHIJKLMNOPQRST';
const READ = { headers: { 'Accept-Encoding': 'gzip' } };

const pick = (arr) => arr[Math.floor(Math.random() * arr.length)];
const auth = (token, extra) => ({ 'Authorization': `Bearer ${token}`, ...extra });
const json = (token, key) => auth(token, { 'Content-Type': 'application/json', 'Idempotency-Key': key });
const key = (what) => `k6-${what}-${__VU}-${__ITER}-${Math.random().toString(36).slice(2, 10)}`;

export function listEvents() {
  const r = http.get(`${BASE_URL}/api/v1/events`, { ...READ, tags: { name: 'GET /api/v1/events' } });
  check(r, { 'events 200': (x) => x.status === 200 });
  return r;
}

export function getEvent(id) {
  const r = http.get(`${BASE_URL}/api/v1/events/${id}`, { ...READ, tags: { name: 'GET /api/v1/events/{id}' } });
  check(r, { 'event 200': (x) => x.status === 200 });
  return r;
}

export function getSeats(id) {
  const r = http.get(`${BASE_URL}/api/v1/events/${id}/seats?view=compact`,
    { ...READ, tags: { name: 'GET /api/v1/events/{id}/seats' } });
  check(r, { 'seats 200': (x) => x.status === 200 });
  return r;
}

// POST a hold on the given seats; returns the hold id, or null on 409.
export function hold(eventId, seats, token) {
  const r = http.post(`${BASE_URL}/api/v1/events/${eventId}/holds`, JSON.stringify({ seats }),
    { headers: json(token, key('hold')), tags: { name: 'POST /api/v1/events/{id}/holds' } });
  check(r, { 'hold 201 or 409': (x) => x.status === 201 || x.status === 409 });
  if (r.status === 201) {
    holdsCreated.add(1);
    return r.json('id');
  }
  if (r.status === 409) seatConflicts.add(1);
  return null;
}

export function release(holdId, token) {
  const r = http.del(`${BASE_URL}/api/v1/holds/${holdId}`, null,
    { headers: auth(token), tags: { name: 'DELETE /api/v1/holds/{id}' } });
  check(r, { 'release 204': (x) => x.status === 204 });
  if (r.status === 204) holdsReleased.add(1);
  return r;
}

export function pay(holdId, token) {
  const body = JSON.stringify({ hold_id: holdId, payment: { method: 'test', token: 'tok_visa' } });
  const r = http.post(`${BASE_URL}/api/v1/orders`, body,
    { headers: json(token, key('order')), tags: { name: 'POST /api/v1/orders' } });
  check(r, { 'order 201': (x) => x.status === 201 });
  if (r.status === 201) {
    ordersPaid.add(1);
    ticketsSold.add(r.json('tickets').length);
  }
  return r;
}

// Two adjacent seats anywhere in the venue, as bench/mix.lua picks them.
export function randomPair() {
  const sec = SECTIONS[Math.floor(Math.random() * SECTIONS.length)];
  const row = 1 + Math.floor(Math.random() * 25);
  const n = 1 + Math.floor(Math.random() * 19);
  return [`${sec}-${row}-${n}`, `${sec}-${row}-${n + 1}`];
}

// Two adjacent free seats read off a compact seat map, or null when none.
export function freePair(seatsResponse) {
  const sections = seatsResponse.json('sections') || [];
  const rows = [];
  for (const s of sections) for (const r of s.rows) rows.push([s.id, r]);
  for (let tries = 0; tries < 20 && rows.length > 0; tries++) {
    const [sec, r] = pick(rows);
    const at = r.status.indexOf('ff', Math.floor(Math.random() * r.status.length));
    const i = at >= 0 ? at : r.status.indexOf('ff');
    if (i >= 0) return [`${sec}-${r.id}-${i + 1}`, `${sec}-${r.id}-${i + 2}`];
  }
  return null;
}

// One step of the bench/mix.lua mix for this VU: 30% list, 20% event,
// 20% compact seat map, 30% writes - a 2-seat hold on random seats, and
// after each successful hold this VU's next write releases it (FIFO).
export function mixStep(state) {
  const r = Math.random() * 100;
  if (r < 30) return listEvents();
  if (r < 50) return getEvent(pick(events));
  if (r < 70) return getSeats(pick(events));
  if (state.holds.length > 0) {
    const h = state.holds.shift();
    return release(h.id, h.token);
  }
  const token = pick(tokens);
  const id = hold(pick(events), randomPair(), token);
  if (id) state.holds.push({ id, token });
  return null;
}

// One buyer of a ticket drop: look at the event and its seat map, hold two
// free seats (trying again on a fresh map when someone was faster), pay.
export function buyer(eventId) {
  const t0 = Date.now();
  const token = tokens[(__VU * 7919 + __ITER) % tokens.length];
  getEvent(eventId);
  for (let attempt = 0; attempt < 3; attempt++) {
    const pair = freePair(getSeats(eventId));
    if (!pair) break; // sold out
    const id = hold(eventId, pair, token);
    if (id) {
      pay(id, token);
      break;
    }
  }
  journeyTime.add(Date.now() - t0);
}

// Pause like bench's paced mode: PACE_MS (default 60) +-10% per request.
export function paceSeconds() {
  const ms = Number(__ENV.PACE_MS || 60);
  return (ms * (0.9 + 0.2 * Math.random())) / 1000;
}
