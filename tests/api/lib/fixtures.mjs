// Builders for the state a test needs, all through the public API:
// users (+ sessions), organizations, members, venues, events, holds, orders.
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { Client, expectStatus } from './client.mjs';

let counter = 0;
export function uniq(prefix = 'x') {
  counter += 1;
  return `${prefix}${process.pid}${counter}${crypto.randomBytes(3).toString('hex')}`;
}
export function uniqueEmail(prefix = 'user') {
  return `${uniq(prefix)}@example.com`;
}

/** RFC 3339 UTC with seconds, e.g. 2026-12-01T19:30:00Z. */
export function iso(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
export const HOUR = 3600 * 1000;
export const DAY = 24 * HOUR;

export const PASSWORD = 'correct horse battery';

/** POST /users then POST /sessions. Answers {id, email, name, password, token, c}. */
export async function makeUser(c, { email = uniqueEmail(), name = 'Test User', password = PASSWORD } = {}) {
  const r = await c.post('/api/v1/users', { email, password, name });
  const user = expectStatus(r, 201);
  const s = await c.post('/api/v1/sessions', { email, password });
  const sess = expectStatus(s, 201);
  assert.equal(typeof sess.token, 'string');
  return { ...user, password, token: sess.token, c: c.as(sess.token) };
}

export async function makeOrg(owner, name = uniq('Org ')) {
  return expectStatus(await owner.c.post('/api/v1/organizations', { name }), 201);
}

export async function addMember(owner, orgId, email, role) {
  return expectStatus(await owner.c.post(`/api/v1/organizations/${orgId}/members`, { email, role }), 201);
}

/** A: 3 rows x 10 seats, B: 2 rows x 5 seats (44 seats with C). C: 1 row x 4 (left unpriced by default). */
export const SMALL_LAYOUT = [
  { id: 'A', name: 'Stalls', rows: [{ id: '1', seats: 10 }, { id: '2', seats: 10 }, { id: '3', seats: 10 }] },
  { id: 'B', name: 'Balcony', rows: [{ id: '1', seats: 5 }, { id: '2', seats: 5 }] },
  { id: 'C', name: 'Boxes', rows: [{ id: '1', seats: 4 }] },
];
export const DEFAULT_PRICES = [{ section: 'A', price_cents: 5000 }, { section: 'B', price_cents: 3000 }];

export function venueBody(over = {}) {
  return {
    name: uniq('Hall '),
    city: 'Lisbon',
    address: '1 Test Street',
    timezone: 'Europe/Lisbon',
    sections: SMALL_LAYOUT,
    ...over,
  };
}

export async function makeVenue(owner, orgId, over = {}) {
  return expectStatus(await owner.c.post(`/api/v1/organizations/${orgId}/venues`, venueBody(over)), 201);
}

export function eventBody(venueId, over = {}) {
  const now = Date.now();
  return {
    venue_id: venueId,
    title: uniq('Concert '),
    description: 'A test event',
    starts_at: iso(now + 30 * DAY),
    sale_starts_at: iso(now - HOUR),
    currency: 'EUR',
    max_tickets_per_order: 10,
    hold_ttl_seconds: 600,
    prices: DEFAULT_PRICES,
    ga_tiers: [{ id: 'ga', name: 'Standing', price_cents: 2000, capacity: 50 }],
    ...over,
  };
}

export async function makeEvent(owner, orgId, venueId, over = {}) {
  return expectStatus(await owner.c.post(`/api/v1/organizations/${orgId}/events`, eventBody(venueId, over)), 201);
}

export async function publish(owner, eventId) {
  const ev = expectStatus(await owner.c.post(`/api/v1/events/${eventId}/publish`), 200);
  assert.equal(ev.status, 'published');
  return ev;
}

/**
 * Owner + org + venue + published event. over: event fields; venue: venue
 * fields; draft: true to skip publishing.
 */
export async function setupEvent(c, { over = {}, venue = {}, draft = false, owner } = {}) {
  owner = owner || await makeUser(c, { name: 'Owner' });
  const org = await makeOrg(owner);
  const v = await makeVenue(owner, org.id, venue);
  let ev = await makeEvent(owner, org.id, v.id, over);
  if (!draft) ev = await publish(owner, ev.id);
  return { owner, org, venue: v, event: ev };
}

export async function hold(user, eventId, body, headers) {
  return user.c.post(`/api/v1/events/${eventId}/holds`, body, { headers });
}

export async function holdOk(user, eventId, body) {
  return expectStatus(await hold(user, eventId, body), 201);
}

export async function pay(user, holdId, token = 'tok_visa', headers) {
  return user.c.post('/api/v1/orders', { hold_id: holdId, payment: { method: 'test', token } }, { headers });
}

/** Hold the seats (or tier) and pay; answers the order. */
export async function buy(user, eventId, body) {
  const h = await holdOk(user, eventId, body);
  return expectStatus(await pay(user, h.id), 201);
}

/** Verbose seat view as a Map id -> seat. */
export async function seatMap(c, eventId) {
  const r = await c.get(`/api/v1/events/${eventId}/seats`);
  const v = expectStatus(r, 200);
  return { view: v, byId: new Map(v.seats.map((s) => [s.id, s])), etag: r.headers.etag };
}

export async function seatStatus(c, eventId, id) {
  const { byId } = await seatMap(c, eventId);
  return byId.get(id)?.status;
}
