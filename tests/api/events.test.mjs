// Events: create, patch, publish, event page, listings, stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, sleep } from './lib/server.mjs';
import { Client, expectStatus, expectError } from './lib/client.mjs';
import {
  makeUser, makeOrg, addMember, makeVenue, makeEvent, eventBody, publish, setupEvent,
  holdOk, buy, uniq, iso, DAY, HOUR,
} from './lib/fixtures.mjs';

let c;
const srv = useServer('events', (s) => { c = new Client(s.base); });

test('POST /organizations/{org}/events: 201 draft with defaults; 422 for bad fields', async () => {
  const owner = await makeUser(c);
  const org = await makeOrg(owner);
  const v = await makeVenue(owner, org.id);
  const body = eventBody(v.id);
  delete body.max_tickets_per_order;
  delete body.hold_ttl_seconds;
  const r = await owner.c.post(`/api/v1/organizations/${org.id}/events`, body);
  const ev = expectStatus(r, 201);
  assert.equal(typeof ev.id, 'string');
  assert.equal(ev.status, 'draft');
  assert.equal(ev.title, body.title);
  assert.equal(ev.starts_at, body.starts_at);
  assert.equal(ev.sale_starts_at, body.sale_starts_at);
  assert.equal(ev.currency, 'EUR');
  assert.equal(ev.max_tickets_per_order, 10);
  assert.equal(ev.hold_ttl_seconds, 600);
  assert.equal(ev.venue.id, v.id);

  const post = (b) => owner.c.post(`/api/v1/organizations/${org.id}/events`, b);
  const cases = [
    [{ title: undefined }, 'title'],
    [{ title: '' }, 'title'],
    [{ starts_at: 'next tuesday' }, 'starts_at'],
    [{ sale_starts_at: undefined }, 'sale_starts_at'],
    [{ currency: 'euros' }, 'currency'],
    [{ max_tickets_per_order: 0 }, 'max_tickets_per_order'],
    [{ hold_ttl_seconds: -5 }, 'hold_ttl_seconds'],
    [{ venue_id: 'ven_doesnotexist00000000' }, 'venue_id'],
    [{ prices: [{ section: 'Z', price_cents: 100 }] }, 'prices'],
    [{ prices: [{ section: 'A', price_cents: -1 }] }, 'prices'],
  ];
  for (const [over, field] of cases) {
    const b = JSON.parse(JSON.stringify(eventBody(v.id, over)));
    const e = expectError(await post(b), 422, 'invalid_field');
    assert.match(e.field, new RegExp(`^${field}`), `field for ${JSON.stringify(over)}`);
  }
  // a venue of another organization
  const other = await makeUser(c);
  const otherOrg = await makeOrg(other);
  const otherVenue = await makeVenue(other, otherOrg.id);
  const e = expectError(await post(eventBody(otherVenue.id)), 422, 'invalid_field');
  assert.equal(e.field, 'venue_id');
  expectError(await c.post(`/api/v1/organizations/${org.id}/events`, eventBody(v.id)), 401, 'unauthenticated');
});

test('staff cannot create, patch or publish events (403); admins can', async () => {
  const owner = await makeUser(c);
  const admin = await makeUser(c);
  const staff = await makeUser(c);
  const org = await makeOrg(owner);
  await addMember(owner, org.id, admin.email, 'admin');
  await addMember(owner, org.id, staff.email, 'staff');
  const v = await makeVenue(owner, org.id);
  expectError(await staff.c.post(`/api/v1/organizations/${org.id}/events`, eventBody(v.id)), 403, 'forbidden');
  const ev = await makeEvent(admin, org.id, v.id);
  expectError(await staff.c.patch(`/api/v1/events/${ev.id}`, { title: 'Staff edit' }), 403, 'forbidden');
  expectError(await staff.c.post(`/api/v1/events/${ev.id}/publish`), 403, 'forbidden');
  expectStatus(await admin.c.patch(`/api/v1/events/${ev.id}`, { title: 'Admin edit' }), 200);
  await publish(admin, ev.id);
});

test('PATCH a draft: 200 with the change; publish 200 published (twice ok); PATCH published 409 event_published', async () => {
  const { owner, event } = await setupEvent(c, { draft: true });
  const newTitle = uniq('Renamed ');
  const p = expectStatus(await owner.c.patch(`/api/v1/events/${event.id}`, { title: newTitle, max_tickets_per_order: 4 }), 200);
  assert.equal(p.title, newTitle);
  assert.equal(p.max_tickets_per_order, 4);
  assert.equal(p.status, 'draft');
  const e = expectError(await owner.c.patch(`/api/v1/events/${event.id}`, { hold_ttl_seconds: 'long' }), 422, 'invalid_field');
  assert.equal(e.field, 'hold_ttl_seconds');
  const got = expectStatus(await owner.c.get(`/api/v1/events/${event.id}`), 200);
  assert.equal(got.title, newTitle);
  const pub = expectStatus(await owner.c.post(`/api/v1/events/${event.id}/publish`), 200);
  assert.equal(pub.status, 'published');
  assert.equal(pub.title, newTitle);
  expectStatus(await owner.c.post(`/api/v1/events/${event.id}/publish`), 200);
  expectError(await owner.c.patch(`/api/v1/events/${event.id}`, { title: 'Too late' }), 409, 'event_published');
  expectError(await owner.c.patch('/api/v1/events/evt_doesnotexist00000000', { title: 'x' }), 404, 'not_found');
  expectError(await owner.c.post('/api/v1/events/evt_doesnotexist00000000/publish'), 404, 'not_found');
  const stranger = await makeUser(c);
  const { event: draft2 } = await setupEvent(c, { draft: true, owner });
  const r = await stranger.c.patch(`/api/v1/events/${draft2.id}`, { title: 'Stranger' });
  assert.ok([403, 404].includes(r.status), `stranger PATCH: ${r.status} ${r.text}`);
  const r2 = await stranger.c.post(`/api/v1/events/${draft2.id}/publish`);
  assert.ok([403, 404].includes(r2.status), `stranger publish: ${r2.status} ${r2.text}`);
  expectError(await c.patch(`/api/v1/events/${draft2.id}`, { title: 'anon' }), 401, 'unauthenticated');
});

test('GET /events/{id}: drafts are 404 for anonymous and strangers, 200 for members', async () => {
  const { owner, org, event } = await setupEvent(c, { draft: true });
  const staff = await makeUser(c);
  await addMember(owner, org.id, staff.email, 'staff');
  const stranger = await makeUser(c);
  expectError(await c.get(`/api/v1/events/${event.id}`), 404, 'not_found');
  expectError(await stranger.c.get(`/api/v1/events/${event.id}`), 404, 'not_found');
  const m = expectStatus(await staff.c.get(`/api/v1/events/${event.id}`), 200);
  assert.equal(m.status, 'draft');
  expectStatus(await owner.c.get(`/api/v1/events/${event.id}`), 200);
  expectError(await c.get(`/api/v1/events/${event.id}/seats`), 404, 'not_found');
  expectError(await c.get('/api/v1/events/evt_doesnotexist00000000'), 404, 'not_found');
});

test('GET /events/{id} (published, public): venue summary and availability that follows holds and sales', async () => {
  const { event, venue } = await setupEvent(c);
  const ev = expectStatus(await c.get(`/api/v1/events/${event.id}`), 200);
  assert.equal(ev.id, event.id);
  assert.equal(ev.status, 'published');
  assert.equal(ev.venue.id, venue.id);
  assert.equal(ev.venue.name, venue.name);
  assert.equal(ev.venue.city, venue.city);
  assert.deepEqual(ev.availability, { seats_free: 40, seats_held: 0, seats_sold: 0 });
  const u = await makeUser(c);
  await holdOk(u, event.id, { seats: ['A-1-1', 'A-1-2', 'B-2-5'] });
  await buy(u, event.id, { seats: ['A-3-10'] });
  const ev2 = expectStatus(await c.get(`/api/v1/events/${event.id}`), 200);
  assert.deepEqual(ev2.availability, { seats_free: 36, seats_held: 3, seats_sold: 1 });
});

function checkItem(it) {
  assert.equal(typeof it.id, 'string');
  assert.equal(typeof it.title, 'string');
  assert.match(it.starts_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(typeof it.venue.id, 'string');
  assert.equal(typeof it.venue.name, 'string');
  assert.equal(typeof it.venue.city, 'string');
  assert.equal(typeof it.min_price_cents, 'number');
  assert.equal(typeof it.currency, 'string');
  assert.ok(Number.isInteger(it.available), `available is an integer: ${it.available}`);
}

test('GET /events: published & upcoming only, soonest first, city/q/from/to filters, available, pagination', async () => {
  const owner = await makeUser(c);
  const org = await makeOrg(owner);
  const city = uniq('Citta');
  const v = await makeVenue(owner, org.id, { city });
  const other = await makeVenue(owner, org.id, { city: uniq('Elsewhere') });
  const now = Date.now();
  const token = uniq('zebra');
  const tiers = [{ id: 'ga', name: 'Standing', price_cents: 4000, capacity: 50 }];
  const mk = async (venue, days, title, pub = true) => {
    const ev = await makeEvent(owner, org.id, venue.id, { title, starts_at: iso(now + days * DAY), ga_tiers: tiers });
    return pub ? publish(owner, ev.id) : ev;
  };
  const e30 = await mk(v, 30, `Late show ${uniq()}`);
  const e10 = await mk(v, 10, `Early show ${uniq()}`);
  const e20 = await mk(v, 20, `The ${token.toUpperCase()} Night`);
  const draft = await mk(v, 5, `Draft ${token}`, false);
  const elsewhere = await mk(other, 15, `Elsewhere ${token}`);

  const list = async (qs) => expectStatus(await c.get(`/api/v1/events?${qs}`), 200);
  const l = await list(`city=${encodeURIComponent(city)}`);
  assert.deepEqual(l.items.map((i) => i.id), [e10.id, e20.id, e30.id]);
  assert.equal(l.next_cursor, null);
  l.items.forEach(checkItem);
  const item = l.items[0];
  assert.equal(item.title, e10.title);
  assert.equal(item.starts_at, e10.starts_at);
  assert.deepEqual({ id: item.venue.id, name: item.venue.name, city: item.venue.city }, { id: v.id, name: v.name, city });
  assert.equal(item.min_price_cents, 3000);
  assert.equal(item.currency, 'EUR');
  assert.equal(item.available, 40 + 50);
  assert.ok(!l.items.some((i) => i.id === draft.id), 'drafts are not listed');

  // city is case-insensitive
  const up = await list(`city=${encodeURIComponent(city.toUpperCase())}`);
  assert.deepEqual(up.items.map((i) => i.id), [e10.id, e20.id, e30.id]);
  // q matches the title case-insensitively anywhere
  const q = await list(`q=${encodeURIComponent(token.toLowerCase())}`);
  assert.deepEqual(q.items.map((i) => i.id), [elsewhere.id, e20.id]);
  const q2 = await list(`q=${encodeURIComponent(token.slice(2, 9).toUpperCase())}&city=${encodeURIComponent(city)}`);
  assert.deepEqual(q2.items.map((i) => i.id), [e20.id]);
  // from / to bound starts_at
  const ft = await list(`city=${encodeURIComponent(city)}&from=${iso(now + 15 * DAY)}&to=${iso(now + 25 * DAY)}`);
  assert.deepEqual(ft.items.map((i) => i.id), [e20.id]);
  const f = await list(`city=${encodeURIComponent(city)}&from=${iso(now + 15 * DAY)}`);
  assert.deepEqual(f.items.map((i) => i.id), [e20.id, e30.id]);
  const t = await list(`city=${encodeURIComponent(city)}&to=${iso(now + 25 * DAY)}`);
  assert.deepEqual(t.items.map((i) => i.id), [e10.id, e20.id]);
  // pagination
  const p1 = await list(`city=${encodeURIComponent(city)}&limit=2`);
  assert.deepEqual(p1.items.map((i) => i.id), [e10.id, e20.id]);
  assert.equal(typeof p1.next_cursor, 'string');
  const p2 = await list(`city=${encodeURIComponent(city)}&limit=2&cursor=${encodeURIComponent(p1.next_cursor)}`);
  assert.deepEqual(p2.items.map((i) => i.id), [e30.id]);
  assert.equal(p2.next_cursor, null);
  for (const lim of ['0', '101', 'x']) {
    const e = expectError(await c.get(`/api/v1/events?limit=${lim}`), 422, 'invalid_field');
    assert.equal(e.field, 'limit');
  }
  assert.equal(expectError(await c.get('/api/v1/events?cursor=forged'), 422, 'invalid_field').field, 'cursor');
  assert.equal(expectError(await c.get('/api/v1/events?from=yesterday'), 422, 'invalid_field').field, 'from');
  // available follows holds (seats and GA)
  const u = await makeUser(c);
  await holdOk(u, e10.id, { seats: ['A-1-1', 'A-1-2'] });
  await holdOk(u, e10.id, { tier: 'ga', quantity: 3 });
  const after = await list(`city=${encodeURIComponent(city)}&limit=1`);
  assert.equal(after.items[0].id, e10.id);
  assert.equal(after.items[0].available, 40 + 50 - 5);
});

test('GET /events leaves out events that have started', async () => {
  const owner = await makeUser(c);
  const org = await makeOrg(owner);
  const city = uniq('Soon');
  const v = await makeVenue(owner, org.id, { city });
  const now = Date.now();
  const soon = await makeEvent(owner, org.id, v.id, { starts_at: iso(now + 3000), sale_starts_at: iso(now - HOUR) });
  await publish(owner, soon.id);
  const later = await makeEvent(owner, org.id, v.id, { starts_at: iso(now + DAY) });
  await publish(owner, later.id);
  const before = expectStatus(await c.get(`/api/v1/events?city=${city}`), 200);
  assert.deepEqual(before.items.map((i) => i.id), [soon.id, later.id]);
  await sleep(Math.max(0, Date.parse(soon.starts_at) - Date.now()) + 1200);
  const afterStart = expectStatus(await c.get(`/api/v1/events?city=${city}`), 200);
  assert.deepEqual(afterStart.items.map((i) => i.id), [later.id]);
  // sale_ends_at defaults to the start: the sale is over
  const u = await makeUser(c);
  expectError(await u.c.post(`/api/v1/events/${soon.id}/holds`, { seats: ['A-1-1'] }), 403, 'sale_not_open');
  expectStatus(await u.c.post(`/api/v1/events/${later.id}/holds`, { seats: ['A-1-1'] }), 201);
});

test('GET /events/{id}/stats: members 200 with correct numbers; 403 strangers; 401 anonymous', async () => {
  const sections = [
    { id: 'A', name: 'Stalls', rows: [{ id: '1', seats: 10 }, { id: '2', seats: 10 }, { id: '3', seats: 10 }] },
    { id: 'B', name: 'Balcony', rows: [{ id: '1', seats: 5 }, { id: '2', seats: 5 }] },
  ];
  const { owner, org, event } = await setupEvent(c, { venue: { sections } });
  const staff = await makeUser(c);
  const admin = await makeUser(c);
  await addMember(owner, org.id, staff.email, 'staff');
  await addMember(owner, org.id, admin.email, 'admin');
  const s0 = expectStatus(await owner.c.get(`/api/v1/events/${event.id}/stats`), 200);
  // docs/openapi.yaml: seats_* count seats and GA tickets alike (40 seats + a GA tier of 50)
  assert.deepEqual(s0, { seats_total: 90, seats_sold: 0, seats_held: 0, tickets_sold: 0, revenue_cents: 0, checked_in: 0 });

  const u = await makeUser(c);
  const o1 = await buy(u, event.id, { seats: ['A-1-1', 'A-1-2'] });
  await holdOk(u, event.id, { seats: ['B-1-1'] });
  await holdOk(u, event.id, { tier: 'ga', quantity: 2 });
  await buy(u, event.id, { tier: 'ga', quantity: 3 });
  const refunded = await buy(u, event.id, { seats: ['A-3-1'] });
  expectStatus(await u.c.post(`/api/v1/orders/${refunded.id}/cancel`), 200);
  const want = { seats_total: 90, seats_sold: 5, seats_held: 3, tickets_sold: 5, revenue_cents: 16000, checked_in: 0 };
  assert.deepEqual(expectStatus(await staff.c.get(`/api/v1/events/${event.id}/stats`), 200), want);
  assert.deepEqual(expectStatus(await admin.c.get(`/api/v1/events/${event.id}/stats`), 200), want);

  expectStatus(await staff.c.post(`/api/v1/events/${event.id}/checkins`, { code: o1.tickets[0].code }), 200);
  const s2 = expectStatus(await owner.c.get(`/api/v1/events/${event.id}/stats`), 200);
  assert.equal(s2.checked_in, 1);

  const stranger = await makeUser(c);
  expectError(await stranger.c.get(`/api/v1/events/${event.id}/stats`), 403, 'forbidden');
  expectError(await u.c.get(`/api/v1/events/${event.id}/stats`), 403, 'forbidden');
  expectError(await c.get(`/api/v1/events/${event.id}/stats`), 401, 'unauthenticated');
  expectError(await owner.c.get('/api/v1/events/evt_doesnotexist00000000/stats'), 404, 'not_found');
});

test('GET /events: limit defaults to 20, max 100', async () => {
  const owner = await makeUser(c);
  const org = await makeOrg(owner);
  const city = uniq('Many');
  const v = await makeVenue(owner, org.id, { city });
  const now = Date.now();
  const ids = [];
  for (let i = 0; i < 23; i++) {
    const ev = await makeEvent(owner, org.id, v.id, { starts_at: iso(now + (i + 1) * HOUR) });
    await publish(owner, ev.id);
    ids.push(ev.id);
  }
  const p1 = expectStatus(await c.get(`/api/v1/events?city=${city}`), 200);
  assert.deepEqual(p1.items.map((i) => i.id), ids.slice(0, 20));
  assert.equal(typeof p1.next_cursor, 'string');
  const p2 = expectStatus(await c.get(`/api/v1/events?city=${city}&cursor=${encodeURIComponent(p1.next_cursor)}`), 200);
  assert.deepEqual(p2.items.map((i) => i.id), ids.slice(20));
  assert.equal(p2.next_cursor, null);
  const all = expectStatus(await c.get(`/api/v1/events?city=${city}&limit=100`), 200);
  assert.deepEqual(all.items.map((i) => i.id), ids);
});
