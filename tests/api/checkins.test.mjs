// Door check-in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { Client, expectStatus, expectError } from './lib/client.mjs';
import { makeUser, makeOrg, makeVenue, makeEvent, publish, addMember, setupEvent, buy } from './lib/fixtures.mjs';

let c;
const srv = useServer('checkins', (s) => { c = new Client(s.base); });

const checkin = (u, eventId, code) => u.c.post(`/api/v1/events/${eventId}/checkins`, { code });

test('check-in: 200 {ticket_id, seat, checked_in_at} once, then 409 already_checked_in with the first time', async () => {
  const { owner, event } = await setupEvent(c);
  const buyer = await makeUser(c);
  const o = await buy(buyer, event.id, { seats: ['A-1-1', 'A-1-2'] });
  const t = o.tickets.find((x) => x.seat === 'A-1-1');
  const t0 = Date.now();
  const r = expectStatus(await checkin(owner, event.id, t.code), 200);
  assert.equal(r.ticket_id, t.id);
  assert.equal(r.seat, 'A-1-1');
  assert.match(r.checked_in_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.ok(Math.abs(Date.parse(r.checked_in_at) - t0) < 5000, `checked_in_at ${r.checked_in_at}`);
  const e = expectError(await checkin(owner, event.id, t.code), 409, 'already_checked_in');
  assert.equal(e.checked_in_at, r.checked_in_at);
  // the other ticket of the order is independent
  const t2 = o.tickets.find((x) => x.seat === 'A-1-2');
  expectStatus(await checkin(owner, event.id, t2.code), 200);
});

test('check-in of a GA ticket answers the tier', async () => {
  const { owner, event } = await setupEvent(c);
  const buyer = await makeUser(c);
  const o = await buy(buyer, event.id, { tier: 'ga', quantity: 1 });
  const r = expectStatus(await checkin(owner, event.id, o.tickets[0].code), 200);
  assert.equal(r.ticket_id, o.tickets[0].id);
  assert.equal(r.tier, 'ga');
});

test('check-in: refunded ticket 409 ticket_void; unknown code or another event\'s code 404 ticket_not_found', async () => {
  const owner = await makeUser(c);
  const org = await makeOrg(owner);
  const v = await makeVenue(owner, org.id);
  const e1 = await publish(owner, (await makeEvent(owner, org.id, v.id)).id);
  const e2 = await publish(owner, (await makeEvent(owner, org.id, v.id)).id);
  const buyer = await makeUser(c);
  const o = await buy(buyer, e1.id, { seats: ['B-1-1'] });
  const o2 = await buy(buyer, e2.id, { seats: ['B-1-1'] });
  expectError(await checkin(owner, e1.id, o2.tickets[0].code), 404, 'ticket_not_found');
  expectError(await checkin(owner, e1.id, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), 404, 'ticket_not_found');
  expectError(await checkin(owner, e1.id, ''), 422, 'invalid_field');
  expectStatus(await buyer.c.post(`/api/v1/orders/${o.id}/cancel`), 200);
  expectError(await checkin(owner, e1.id, o.tickets[0].code), 409, 'ticket_void');
  expectStatus(await checkin(owner, e2.id, o2.tickets[0].code), 200);
});

test('check-in: staff 200; non-members 403; anonymous 401; unknown event 404', async () => {
  const { owner, org, event } = await setupEvent(c);
  const staff = await makeUser(c);
  const admin = await makeUser(c);
  await addMember(owner, org.id, staff.email, 'staff');
  await addMember(owner, org.id, admin.email, 'admin');
  const buyer = await makeUser(c);
  const o = await buy(buyer, event.id, { seats: ['A-3-3', 'A-3-4'] });
  expectError(await checkin(buyer, event.id, o.tickets[0].code), 403, 'forbidden');
  const stranger = await makeUser(c);
  expectError(await checkin(stranger, event.id, o.tickets[0].code), 403, 'forbidden');
  expectError(await c.post(`/api/v1/events/${event.id}/checkins`, { code: o.tickets[0].code }), 401, 'unauthenticated');
  expectStatus(await checkin(staff, event.id, o.tickets[0].code), 200);
  expectStatus(await checkin(admin, event.id, o.tickets[1].code), 200);
  expectError(await checkin(owner, 'evt_doesnotexist00000000', o.tickets[0].code), 404, 'not_found');
  const got = expectStatus(await buyer.c.get(`/api/v1/orders/${o.id}`), 200);
  for (const t of got.tickets) assert.match(t.checked_in_at, /^\d{4}-\d\d-\d\dT/);
});

test('concurrent check-ins of one code: exactly one 200, the rest 409 already_checked_in with its time', async () => {
  const { owner, org, event } = await setupEvent(c);
  const staff = await makeUser(c);
  await addMember(owner, org.id, staff.email, 'staff');
  const o = await buy(await makeUser(c), event.id, { seats: ['A-2-7'] });
  const code = o.tickets[0].code;
  const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => checkin(i % 2 ? staff : owner, event.id, code)));
  const ok = rs.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, `statuses ${rs.map((r) => r.status)}`);
  for (const r of rs) {
    if (r.status === 200) continue;
    const e = expectError(r, 409, 'already_checked_in');
    assert.equal(e.checked_in_at, ok[0].json.checked_in_at);
  }
});
