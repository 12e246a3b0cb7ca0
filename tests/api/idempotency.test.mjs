// Idempotency-Key on holds and orders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useServer } from './lib/server.mjs';
import { Client, expectStatus, expectError } from './lib/client.mjs';
import { makeUser, setupEvent, hold, holdOk, pay, seatMap } from './lib/fixtures.mjs';

let c;
const srv = useServer('idempotency', (s) => { c = new Client(s.base); });

const key = () => `key-${crypto.randomUUID()}`;
const tierAvailable = async (eventId) => (await seatMap(c, eventId)).view.tiers[0].available;

test('same key + same body replays the status and body and creates no second hold', async () => {
  const { event } = await setupEvent(c, { over: { ga_tiers: [{ id: 'ga', name: 'GA', price_cents: 1000, capacity: 100 }] } });
  const u = await makeUser(c);
  const k = key();
  const r1 = await hold(u, event.id, { tier: 'ga', quantity: 2 }, { 'idempotency-key': k });
  expectStatus(r1, 201);
  const r2 = await hold(u, event.id, { tier: 'ga', quantity: 2 }, { 'idempotency-key': k });
  expectStatus(r2, 201);
  assert.equal(r2.text, r1.text, 'the replay is byte-identical');
  assert.equal(await tierAvailable(event.id), 98, 'one hold of 2, not two');
  // without a key the same body creates a new hold
  const r3 = await hold(u, event.id, { tier: 'ga', quantity: 2 });
  assert.notEqual(expectStatus(r3, 201).id, r1.json.id);
  assert.equal(await tierAvailable(event.id), 96);
  // seats: the replay is a 201 with the same hold, not a 409 seat_unavailable
  const ks = key();
  const s1 = await hold(u, event.id, { seats: ['A-1-1', 'A-1-2'] }, { 'idempotency-key': ks });
  expectStatus(s1, 201);
  const s2 = await hold(u, event.id, { seats: ['A-1-1', 'A-1-2'] }, { 'idempotency-key': ks });
  assert.equal(s2.status, 201);
  assert.equal(s2.text, s1.text);
});

test('same key + different body is 422 idempotency_key_reused', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  const k = key();
  expectStatus(await hold(u, event.id, { seats: ['A-2-1'] }, { 'idempotency-key': k }), 201);
  expectError(await hold(u, event.id, { seats: ['A-2-2'] }, { 'idempotency-key': k }), 422, 'idempotency_key_reused');
  expectError(await hold(u, event.id, { tier: 'ga', quantity: 1 }, { 'idempotency-key': k }), 422, 'idempotency_key_reused');
  const { byId, view } = await seatMap(c, event.id);
  assert.equal(byId.get('A-2-2').status, 'free');
  assert.equal(view.tiers[0].available, 50);
});

test('a 409 answer is replayed for the same key even after the seats come free', async () => {
  const { event } = await setupEvent(c);
  const a = await makeUser(c);
  const b = await makeUser(c);
  const ha = await holdOk(a, event.id, { seats: ['A-3-1'] });
  const k = key();
  const r1 = await hold(b, event.id, { seats: ['A-3-1', 'A-3-2'] }, { 'idempotency-key': k });
  expectError(r1, 409, 'seat_unavailable');
  expectStatus(await a.c.del(`/api/v1/holds/${ha.id}`), 204);
  const r2 = await hold(b, event.id, { seats: ['A-3-1', 'A-3-2'] }, { 'idempotency-key': k });
  expectError(r2, 409, 'seat_unavailable');
  assert.equal(r2.text, r1.text);
  const { byId } = await seatMap(c, event.id);
  assert.equal(byId.get('A-3-1').status, 'free', 'the replay held nothing');
  // a fresh key does the work
  expectStatus(await hold(b, event.id, { seats: ['A-3-1', 'A-3-2'] }, { 'idempotency-key': key() }), 201);
});

test('orders: replay of a 201 returns the same order; a 402 is replayed; a new key pays', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  const h = await holdOk(u, event.id, { seats: ['B-1-1'] });
  const kd = key();
  const d1 = await pay(u, h.id, 'tok_declined', { 'idempotency-key': kd });
  expectError(d1, 402, 'payment_declined');
  const d2 = await pay(u, h.id, 'tok_declined', { 'idempotency-key': kd });
  expectError(d2, 402, 'payment_declined');
  assert.equal(d2.text, d1.text);
  const k = key();
  const o1 = await pay(u, h.id, 'tok_visa', { 'idempotency-key': k });
  expectStatus(o1, 201);
  const o2 = await pay(u, h.id, 'tok_visa', { 'idempotency-key': k });
  assert.equal(o2.status, 201, `replayed order: ${o2.status} ${o2.text}`);
  assert.equal(o2.text, o1.text);
  expectError(await pay(u, h.id, 'tok_visa', { 'idempotency-key': key() }), 409, 'hold_already_used');
  const mine = expectStatus(await u.c.get('/api/v1/me/orders'), 200);
  assert.equal(mine.items.length, 1);
});

test('keys are scoped to the caller: another user with the same key gets their own result', async () => {
  const { event } = await setupEvent(c);
  const a = await makeUser(c);
  const b = await makeUser(c);
  const k = key();
  const ra = await hold(a, event.id, { tier: 'ga', quantity: 1 }, { 'idempotency-key': k });
  const rb = await hold(b, event.id, { tier: 'ga', quantity: 1 }, { 'idempotency-key': k });
  expectStatus(ra, 201);
  expectStatus(rb, 201);
  assert.notEqual(ra.json.id, rb.json.id);
  assert.equal(await tierAvailable(event.id), 48);
  // and b cannot use a's hold through the replay: b's own key, different body
  const rb2 = await hold(b, event.id, { tier: 'ga', quantity: 2 }, { 'idempotency-key': k });
  expectError(rb2, 422, 'idempotency_key_reused');
});

test('concurrent retries with the same key create exactly one hold (and one order)', async () => {
  const { event } = await setupEvent(c, { over: { ga_tiers: [{ id: 'ga', name: 'GA', price_cents: 1000, capacity: 100 }] } });
  const u = await makeUser(c);
  const k = key();
  const rs = await Promise.all(Array.from({ length: 8 }, () => hold(u, event.id, { tier: 'ga', quantity: 3 }, { 'idempotency-key': k })));
  const ok = rs.filter((r) => r.status === 201);
  assert.ok(ok.length >= 1, `statuses ${rs.map((r) => r.status)}`);
  for (const r of rs) {
    if (r.status !== 201) expectError(r, 409, 'idempotency_in_progress');
  }
  assert.equal(new Set(ok.map((r) => r.json.id)).size, 1, 'every 201 is the same hold');
  assert.equal(await tierAvailable(event.id), 97, 'exactly one hold of 3');

  const ks = key();
  const seatRs = await Promise.all(Array.from({ length: 8 }, () => hold(u, event.id, { seats: ['A-1-7', 'A-1-8'] }, { 'idempotency-key': ks })));
  for (const r of seatRs) {
    if (r.status !== 201) expectError(r, 409, 'idempotency_in_progress');
  }
  const seatOk = seatRs.filter((r) => r.status === 201);
  assert.ok(seatOk.length >= 1);
  assert.equal(new Set(seatOk.map((r) => r.json.id)).size, 1);

  const ko = key();
  const holdId = ok[0].json.id;
  const os = await Promise.all(Array.from({ length: 8 }, () => pay(u, holdId, 'tok_visa', { 'idempotency-key': ko })));
  for (const r of os) {
    if (r.status !== 201) expectError(r, 409, 'idempotency_in_progress');
  }
  const okOrders = os.filter((r) => r.status === 201);
  assert.ok(okOrders.length >= 1);
  assert.equal(new Set(okOrders.map((r) => r.json.id)).size, 1);
  const mine = expectStatus(await u.c.get('/api/v1/me/orders'), 200);
  assert.equal(mine.items.length, 1);
});

test('answers other than 2xx/402/409 are not stored: the key works again after a 404 or 422; keys over 255 chars are 422', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  const k = key();
  expectError(await hold(u, event.id, { seats: ['Z-9-9'] }, { 'idempotency-key': k }), 404, 'seat_not_found');
  expectError(await hold(u, event.id, { seats: [] }, { 'idempotency-key': k }), 422, 'invalid_field');
  const ok = await hold(u, event.id, { seats: ['B-2-3'] }, { 'idempotency-key': k });
  expectStatus(ok, 201);
  const again = await hold(u, event.id, { seats: ['B-2-3'] }, { 'idempotency-key': k });
  assert.equal(again.status, 201);
  assert.equal(again.text, ok.text);
  expectError(await hold(u, event.id, { seats: ['B-2-4'] }, { 'idempotency-key': 'k'.repeat(256) }), 422, 'invalid_field');
  expectStatus(await hold(u, event.id, { seats: ['B-2-4'] }, { 'idempotency-key': 'k'.repeat(255) }), 201);
});
