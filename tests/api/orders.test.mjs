// Orders: pay, decline, double pay, view, cancel, QR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { Client, expectStatus, expectError } from './lib/client.mjs';
import { makeUser, addMember, setupEvent, holdOk, pay, buy, seatMap, seatStatus } from './lib/fixtures.mjs';

let c;
const srv = useServer('orders', (s) => { c = new Client(s.base); });

function checkOrder(o, { eventId, total, n }) {
  assert.equal(typeof o.id, 'string');
  assert.equal(o.status, 'paid');
  assert.equal(o.event_id, eventId);
  assert.equal(o.total_cents, total);
  assert.equal(o.currency, 'EUR');
  assert.equal(o.tickets.length, n);
  for (const t of o.tickets) {
    assert.equal(typeof t.id, 'string');
    assert.equal(typeof t.code, 'string');
    assert.ok(t.code.length >= 26, `ticket code ${t.code} is too short to be unguessable`);
  }
  assert.equal(new Set(o.tickets.map((t) => t.code)).size, n, 'codes are distinct');
}

test('POST /orders: 201 paid order with one ticket per seat; seats become sold', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  const h = await holdOk(u, event.id, { seats: ['A-1-1', 'A-1-2', 'B-1-1'] });
  const r = await pay(u, h.id);
  const o = expectStatus(r, 201);
  checkOrder(o, { eventId: event.id, total: 13000, n: 3 });
  assert.deepEqual(o.tickets.map((t) => t.seat).sort(), ['A-1-1', 'A-1-2', 'B-1-1']);
  const { byId } = await seatMap(c, event.id);
  for (const s of ['A-1-1', 'A-1-2', 'B-1-1']) assert.equal(byId.get(s).status, 'sold');
  // GA
  const g = await buy(u, event.id, { tier: 'ga', quantity: 2 });
  checkOrder(g, { eventId: event.id, total: 4000, n: 2 });
  for (const t of g.tickets) assert.equal(t.tier, 'ga');
  // codes are distinct across orders too
  const all = [...o.tickets, ...g.tickets].map((t) => t.code);
  assert.equal(new Set(all).size, all.length);
});

test('orders: 422 for a bad body, 404 for unknown or someone else\'s hold, 401 anonymous', async () => {
  const { event } = await setupEvent(c);
  const a = await makeUser(c);
  const b = await makeUser(c);
  const h = await holdOk(a, event.id, { seats: ['A-2-1'] });
  expectError(await pay(b, h.id), 404, 'not_found');
  expectError(await pay(a, 'hld_doesnotexist00000000'), 404, 'not_found');
  expectError(await c.post('/api/v1/orders', { hold_id: h.id, payment: { method: 'test', token: 'tok_visa' } }), 401, 'unauthenticated');
  const e1 = expectError(await a.c.post('/api/v1/orders', { payment: { method: 'test', token: 'tok_visa' } }), 422, 'invalid_field');
  assert.equal(e1.field, 'hold_id');
  const e2 = expectError(await a.c.post('/api/v1/orders', { hold_id: h.id }), 422, 'invalid_field');
  assert.match(e2.field, /^payment/);
  const e3 = expectError(await a.c.post('/api/v1/orders', { hold_id: h.id, payment: { method: 'bitcoin', token: 'tok_visa' } }), 422, 'invalid_field');
  assert.match(e3.field, /^payment/);
  assert.equal(await seatStatus(c, event.id, 'A-2-1'), 'held');
  expectStatus(await pay(a, h.id), 201);
});

test('payment_declined 402 keeps the hold; then tok_visa pays it; paying twice is 409 hold_already_used', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  const h = await holdOk(u, event.id, { seats: ['A-3-1', 'A-3-2'] });
  expectError(await pay(u, h.id, 'tok_declined'), 402, 'payment_declined');
  expectError(await pay(u, h.id, 'tok_anything_else'), 402, 'payment_declined');
  assert.equal(await seatStatus(c, event.id, 'A-3-1'), 'held', 'the hold is kept after a decline');
  const o = expectStatus(await pay(u, h.id, 'tok_visa'), 201);
  assert.equal(o.total_cents, 10000);
  expectError(await pay(u, h.id, 'tok_visa'), 409, 'hold_already_used');
  // deleting a paid hold is 404 and leaves the seats sold
  expectError(await u.c.del(`/api/v1/holds/${h.id}`), 404, 'not_found');
  assert.equal(await seatStatus(c, event.id, 'A-3-1'), 'sold');
  const mine = expectStatus(await u.c.get('/api/v1/me/orders'), 200);
  assert.equal(mine.items.length, 1, 'one order after a decline, a success and a second attempt');
});

test('GET /orders/{id}: the buyer and members of the organization 200; others 404 (no IDOR)', async () => {
  const { owner, org, event } = await setupEvent(c);
  const staff = await makeUser(c);
  await addMember(owner, org.id, staff.email, 'staff');
  const buyer = await makeUser(c);
  const other = await makeUser(c);
  const o = await buy(buyer, event.id, { seats: ['B-2-1'] });
  const got = expectStatus(await buyer.c.get(`/api/v1/orders/${o.id}`), 200);
  assert.equal(got.id, o.id);
  assert.equal(got.status, 'paid');
  assert.equal(got.total_cents, 3000);
  assert.deepEqual(got.tickets.map((t) => t.code), o.tickets.map((t) => t.code));
  expectStatus(await owner.c.get(`/api/v1/orders/${o.id}`), 200);
  expectStatus(await staff.c.get(`/api/v1/orders/${o.id}`), 200);
  expectError(await other.c.get(`/api/v1/orders/${o.id}`), 404, 'not_found');
  expectError(await buyer.c.get('/api/v1/orders/ord_doesnotexist00000000'), 404, 'not_found');
  expectError(await c.get(`/api/v1/orders/${o.id}`), 401, 'unauthenticated');
  // the owner of another organization is a stranger too
  const { owner: otherOwner } = await setupEvent(c);
  expectError(await otherOwner.c.get(`/api/v1/orders/${o.id}`), 404, 'not_found');
});

test('POST /orders/{id}/cancel: buyer 200 refunded, seats free again; twice 409 already_refunded', async () => {
  const { event } = await setupEvent(c);
  const buyer = await makeUser(c);
  const o = await buy(buyer, event.id, { seats: ['A-1-5', 'A-1-6'] });
  const g = await buy(buyer, event.id, { tier: 'ga', quantity: 3 });
  const r = expectStatus(await buyer.c.post(`/api/v1/orders/${o.id}/cancel`), 200);
  assert.equal(r.status, 'refunded');
  assert.equal(r.id, o.id);
  const { byId, view } = await seatMap(c, event.id);
  assert.equal(byId.get('A-1-5').status, 'free');
  assert.equal(byId.get('A-1-6').status, 'free');
  assert.equal(view.tiers[0].available, 47);
  const got = expectStatus(await buyer.c.get(`/api/v1/orders/${o.id}`), 200);
  assert.equal(got.status, 'refunded');
  for (const t of got.tickets) assert.equal(t.status, 'void');
  expectError(await buyer.c.post(`/api/v1/orders/${o.id}/cancel`), 409, 'already_refunded');
  // the GA order gives its tickets back
  expectStatus(await buyer.c.post(`/api/v1/orders/${g.id}/cancel`), 200);
  const { view: v2 } = await seatMap(c, event.id);
  assert.equal(v2.tiers[0].available, 50);
  // the freed seats can be bought again
  const again = await buy(await makeUser(c), event.id, { seats: ['A-1-5', 'A-1-6'] });
  assert.equal(again.status, 'paid');
});

test('cancel: owner/admin of the organization 200, staff 403, a stranger 404', async () => {
  const { owner, org, event } = await setupEvent(c);
  const admin = await makeUser(c);
  const staff = await makeUser(c);
  await addMember(owner, org.id, admin.email, 'admin');
  await addMember(owner, org.id, staff.email, 'staff');
  const buyer = await makeUser(c);
  const stranger = await makeUser(c);
  const o1 = await buy(buyer, event.id, { seats: ['A-2-5'] });
  const o2 = await buy(buyer, event.id, { seats: ['A-2-6'] });
  expectError(await staff.c.post(`/api/v1/orders/${o1.id}/cancel`), 403, 'forbidden');
  expectError(await stranger.c.post(`/api/v1/orders/${o1.id}/cancel`), 404, 'not_found');
  expectError(await c.post(`/api/v1/orders/${o1.id}/cancel`), 401, 'unauthenticated');
  assert.equal(await seatStatus(c, event.id, 'A-2-5'), 'sold');
  assert.equal(expectStatus(await admin.c.post(`/api/v1/orders/${o1.id}/cancel`), 200).status, 'refunded');
  assert.equal(expectStatus(await owner.c.post(`/api/v1/orders/${o2.id}/cancel`), 200).status, 'refunded');
  expectError(await owner.c.post('/api/v1/orders/ord_doesnotexist00000000/cancel'), 404, 'not_found');
});

test('GET /tickets/{id}/qr.svg: 200 image/svg+xml for the owner; 404 for anyone else', async () => {
  const { owner, event } = await setupEvent(c);
  const buyer = await makeUser(c);
  const other = await makeUser(c);
  const o = await buy(buyer, event.id, { seats: ['A-3-9'] });
  const t = o.tickets[0];
  const r = await buyer.c.get(`/api/v1/tickets/${t.id}/qr.svg`);
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.match(r.headers['content-type'], /^image\/svg\+xml/);
  assert.match(r.text.trimStart(), /^(<\?xml[^>]*>\s*)?(<!DOCTYPE[^>]*>\s*)?<svg/);
  assert.match(r.text, /<\/svg>\s*$/);
  assert.ok(r.text.length > 500, 'a QR code has many modules');
  expectError(await other.c.get(`/api/v1/tickets/${t.id}/qr.svg`), 404, 'not_found');
  expectError(await owner.c.get(`/api/v1/tickets/${t.id}/qr.svg`), 404, 'not_found');
  expectError(await buyer.c.get('/api/v1/tickets/tkt_doesnotexist00000000/qr.svg'), 404, 'not_found');
  expectError(await c.get(`/api/v1/tickets/${t.id}/qr.svg`), 401, 'unauthenticated');
});

test('concurrent payments of one hold: exactly one 201, the rest 409 hold_already_used', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  const h = await holdOk(u, event.id, { seats: ['A-2-9', 'A-2-10'] });
  const rs = await Promise.all(Array.from({ length: 10 }, () => pay(u, h.id)));
  const ok = rs.filter((r) => r.status === 201);
  assert.equal(ok.length, 1, `statuses ${rs.map((r) => r.status)}`);
  for (const r of rs) if (r.status !== 201) expectError(r, 409, 'hold_already_used');
  const mine = expectStatus(await u.c.get('/api/v1/me/orders'), 200);
  assert.deepEqual(mine.items.map((o) => o.id), [ok[0].json.id]);
});

test('concurrent cancels of one order: exactly one 200, the rest 409 already_refunded', async () => {
  const { owner, event } = await setupEvent(c);
  const u = await makeUser(c);
  const o = await buy(u, event.id, { seats: ['B-2-2'] });
  const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? owner : u).c.post(`/api/v1/orders/${o.id}/cancel`)));
  assert.equal(rs.filter((r) => r.status === 200).length, 1, `statuses ${rs.map((r) => r.status)}`);
  for (const r of rs) if (r.status !== 200) expectError(r, 409, 'already_refunded');
  assert.equal(await seatStatus(c, event.id, 'B-2-2'), 'free');
});
