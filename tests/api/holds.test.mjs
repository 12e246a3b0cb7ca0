// Holds: seats and GA tiers, all-or-nothing, errors, release, expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, sleep } from './lib/server.mjs';
import { Client, expectStatus, expectError, eventually } from './lib/client.mjs';
import { makeUser, setupEvent, hold, holdOk, pay, seatMap, seatStatus, iso, HOUR, DAY } from './lib/fixtures.mjs';

let c;
const srv = useServer('holds', (s) => { c = new Client(s.base); });

test('POST /events/{id}/holds (seats): 201 {id, event_id, seats, total_cents, currency, expires_at}', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  const t0 = Date.now();
  const r = await hold(u, event.id, { seats: ['A-1-1', 'B-1-2'] });
  const h = expectStatus(r, 201);
  assert.equal(typeof h.id, 'string');
  assert.equal(h.event_id, event.id);
  assert.deepEqual([...h.seats].sort(), ['A-1-1', 'B-1-2']);
  assert.equal(h.total_cents, 8000);
  assert.equal(h.currency, 'EUR');
  assert.match(h.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const exp = Date.parse(h.expires_at);
  assert.ok(exp >= t0 + 600 * 1000 - 2000 && exp <= Date.now() + 600 * 1000 + 2000, `expires_at ${h.expires_at}`);
  const { byId } = await seatMap(c, event.id);
  assert.equal(byId.get('A-1-1').status, 'held');
  assert.equal(byId.get('B-1-2').status, 'held');
  assert.equal(byId.get('A-1-2').status, 'free');
});

test('POST holds (GA tier): 201 with tier/quantity; sold_out 409 beyond capacity', async () => {
  const { event } = await setupEvent(c, { over: { ga_tiers: [{ id: 'pit', name: 'Pit', price_cents: 1500, capacity: 5 }] } });
  const u = await makeUser(c);
  const h = await holdOk(u, event.id, { tier: 'pit', quantity: 3 });
  assert.equal(h.tier, 'pit');
  assert.equal(h.quantity, 3);
  assert.equal(h.total_cents, 4500);
  assert.equal(h.event_id, event.id);
  expectError(await hold(u, event.id, { tier: 'pit', quantity: 3 }), 409, 'sold_out');
  await holdOk(u, event.id, { tier: 'pit', quantity: 2 });
  expectError(await hold(u, event.id, { tier: 'pit', quantity: 1 }), 409, 'sold_out');
  const { view } = await seatMap(c, event.id);
  assert.equal(view.tiers[0].available, 0);
  expectStatus(await u.c.del(`/api/v1/holds/${h.id}`), 204);
  const { view: v2 } = await seatMap(c, event.id);
  assert.equal(v2.tiers[0].available, 3);
  await holdOk(u, event.id, { tier: 'pit', quantity: 3 });
  // an unknown tier is not found; a bad quantity is invalid
  const r = await hold(u, event.id, { tier: 'nope', quantity: 1 });
  assert.ok(r.status === 404 || r.status === 422, `unknown tier: ${r.status} ${r.text}`);
  for (const quantity of [0, -1, 'two']) {
    const e = expectError(await hold(u, event.id, { tier: 'pit', quantity }), 422, 'invalid_field');
    assert.equal(e.field, 'quantity');
  }
});

test('seat_unavailable 409 lists exactly the taken seats, and the hold is all-or-nothing', async () => {
  const { event } = await setupEvent(c);
  const a = await makeUser(c);
  const b = await makeUser(c);
  await holdOk(a, event.id, { seats: ['A-2-1', 'A-2-2'] });
  const e = expectError(await hold(b, event.id, { seats: ['A-2-3', 'A-2-2', 'A-2-4', 'A-2-1'] }), 409, 'seat_unavailable');
  assert.deepEqual([...e.seats].sort(), ['A-2-1', 'A-2-2']);
  const { byId } = await seatMap(c, event.id);
  assert.equal(byId.get('A-2-3').status, 'free', 'the free seats of a failed hold stay free');
  assert.equal(byId.get('A-2-4').status, 'free');
  // and they can be held at once by someone else
  await holdOk(b, event.id, { seats: ['A-2-3', 'A-2-4'] });
  // the same user holding the same seat again is also unavailable
  const e2 = expectError(await hold(a, event.id, { seats: ['A-2-1'] }), 409, 'seat_unavailable');
  assert.deepEqual(e2.seats, ['A-2-1']);
});

test('seat_not_found 404 for unknown seats and for seats of an unpriced section', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  for (const seats of [['Z-1-1'], ['A-1-11'], ['A-9-1'], ['C-1-1'], ['A-1-1', 'C-1-2']]) {
    const e = expectError(await hold(u, event.id, { seats }), 404, 'seat_not_found');
    if (e.seats) assert.ok(e.seats.every((s) => seats.includes(s) && s !== 'A-1-1'), JSON.stringify(e.seats));
  }
  assert.equal(await seatStatus(c, event.id, 'A-1-1'), 'free', 'nothing held after a 404');
  expectError(await hold(u, 'evt_doesnotexist00000000', { seats: ['A-1-1'] }), 404, 'not_found');
  const { event: draft } = await setupEvent(c, { draft: true });
  expectError(await hold(u, draft.id, { seats: ['A-1-1'] }), 404, 'not_found');
});

test('invalid hold bodies are 422 invalid_field', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  for (const body of [{}, { seats: [] }, { seats: 'A-1-1' }, { seats: [1, 2] }]) {
    expectError(await hold(u, event.id, body), 422, 'invalid_field');
  }
  const r = await hold(u, event.id, { seats: ['A-1-1', 'A-1-1'] });
  assert.ok([201, 422].includes(r.status), `a duplicated seat in one hold: ${r.status}`);
  if (r.status === 201) assert.equal(r.json.total_cents, 5000, 'a duplicate seat is counted once');
});

test('sale_not_open 403 before sale_starts_at and after sale_ends_at', async () => {
  const now = Date.now();
  const u = await makeUser(c);
  const { event: future } = await setupEvent(c, { over: { sale_starts_at: iso(now + DAY) } });
  expectError(await hold(u, future.id, { seats: ['A-1-1'] }), 403, 'sale_not_open');
  expectError(await hold(u, future.id, { tier: 'ga', quantity: 1 }), 403, 'sale_not_open');
  const { event: ended } = await setupEvent(c, { over: { sale_starts_at: iso(now - 2 * DAY), sale_ends_at: iso(now - HOUR) } });
  expectError(await hold(u, ended.id, { seats: ['A-1-1'] }), 403, 'sale_not_open');
  assert.equal(await seatStatus(c, future.id, 'A-1-1'), 'free');
});

test('limit_exceeded 422 over max_tickets_per_order (seats and tiers); 401 without a token', async () => {
  const { event } = await setupEvent(c, { over: { max_tickets_per_order: 3 } });
  const u = await makeUser(c);
  expectError(await hold(u, event.id, { seats: ['A-1-1', 'A-1-2', 'A-1-3', 'A-1-4'] }), 422, 'limit_exceeded');
  expectError(await hold(u, event.id, { tier: 'ga', quantity: 4 }), 422, 'limit_exceeded');
  await holdOk(u, event.id, { seats: ['A-1-1', 'A-1-2', 'A-1-3'] });
  await holdOk(u, event.id, { tier: 'ga', quantity: 3 });
  expectError(await c.post(`/api/v1/events/${event.id}/holds`, { seats: ['A-2-1'] }), 401, 'unauthenticated');
  expectError(await c.post(`/api/v1/events/${event.id}/holds`, { seats: ['A-2-1'] }, { token: 'not-a-token' }), 401, 'unauthenticated');
  assert.equal(await seatStatus(c, event.id, 'A-2-1'), 'free');
});

test('DELETE /holds/{id}: 204 frees the seats; someone else\'s, unknown or already released is 404', async () => {
  const { event } = await setupEvent(c);
  const a = await makeUser(c);
  const b = await makeUser(c);
  const h = await holdOk(a, event.id, { seats: ['B-1-1', 'B-1-2'] });
  expectError(await b.c.del(`/api/v1/holds/${h.id}`), 404, 'not_found');
  assert.equal(await seatStatus(c, event.id, 'B-1-1'), 'held');
  expectError(await c.del(`/api/v1/holds/${h.id}`), 401, 'unauthenticated');
  const r = await a.c.del(`/api/v1/holds/${h.id}`);
  expectStatus(r, 204);
  assert.equal(r.text, '');
  const { byId } = await seatMap(c, event.id);
  assert.equal(byId.get('B-1-1').status, 'free');
  assert.equal(byId.get('B-1-2').status, 'free');
  expectError(await a.c.del(`/api/v1/holds/${h.id}`), 404, 'not_found');
  expectError(await a.c.del('/api/v1/holds/hld_doesnotexist00000000'), 404, 'not_found');
  // a released hold cannot be paid
  const p = await pay(a, h.id);
  assert.ok([404, 409].includes(p.status), `paying a released hold: ${p.status} ${p.text}`);
  await holdOk(b, event.id, { seats: ['B-1-1', 'B-1-2'] });
});

test('hold expiry (hold_ttl_seconds 2): seats free again without any request; paying is 409 hold_expired', async () => {
  const { event } = await setupEvent(c, { over: { hold_ttl_seconds: 2 } });
  const u = await makeUser(c);
  const tStart = Date.now(); // the hold expires no earlier than tStart + 2 s
  const h = await holdOk(u, event.id, { seats: ['A-3-5', 'A-3-6'] });
  const g = await holdOk(u, event.id, { tier: 'ga', quantity: 2 });
  const t0 = Date.now();
  const exp = Date.parse(h.expires_at);
  assert.ok(exp - t0 <= 3000 && exp - t0 >= 500, `expires_at ${h.expires_at} for a 2 s ttl (second precision)`);
  const { view: v0 } = await seatMap(c, event.id);
  // no request but reads until the seats come back
  await sleep(Math.max(0, t0 + 1200 - Date.now()));
  const st = await seatStatus(c, event.id, 'A-3-5');
  if (Date.now() < tStart + 1900) assert.equal(st, 'held', 'not expired before its ttl');
  await eventually(async () => {
    const { byId } = await seatMap(c, event.id);
    return byId.get('A-3-5').status === 'free' && byId.get('A-3-6').status === 'free';
  }, { timeoutMs: 3500 - (Date.now() - t0), intervalMs: 100, what: 'the expired hold\'s seats are free' });
  const { view: v1 } = await seatMap(c, event.id);
  assert.ok(v1.version > v0.version, 'an expiry changes the version');
  await eventually(async () => (await seatMap(c, event.id)).view.tiers[0].available === 50,
    { timeoutMs: 1000, what: 'the expired GA hold is returned' });
  expectError(await pay(u, h.id), 409, 'hold_expired');
  expectError(await pay(u, g.id), 409, 'hold_expired');
  expectError(await u.c.del(`/api/v1/holds/${h.id}`), 404, 'not_found');
  const ev = expectStatus(await c.get(`/api/v1/events/${event.id}`), 200);
  assert.equal(ev.availability.seats_held, 0);
});
