// Seat views: verbose and compact, versions, ETags, sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { useServer } from './lib/server.mjs';
import { Client, expectStatus, expectError, rawRequest } from './lib/client.mjs';
import { makeUser, setupEvent, holdOk, buy } from './lib/fixtures.mjs';

let c;
const srv = useServer('seats', (s) => { c = new Client(s.base); });

test('verbose view: shape, prices, statuses; unpriced section omitted', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  await holdOk(u, event.id, { seats: ['A-1-3', 'A-1-4'] });
  await buy(u, event.id, { seats: ['B-2-5'] });
  const r = await c.get(`/api/v1/events/${event.id}/seats`);
  const v = expectStatus(r, 200);
  assert.equal(v.event_id, event.id);
  assert.ok(Number.isInteger(v.version));
  assert.equal(v.seats.length, 40, 'A (30) + B (10); C is not on sale');
  assert.ok(!v.seats.some((s) => s.section === 'C' || s.id.startsWith('C-')));
  const a13 = v.seats.find((s) => s.id === 'A-1-3');
  assert.deepEqual({ ...a13 }, { id: 'A-1-3', section: 'A', row: '1', number: 3, price_cents: 5000, status: 'held' });
  const b25 = v.seats.find((s) => s.id === 'B-2-5');
  assert.deepEqual({ ...b25 }, { id: 'B-2-5', section: 'B', row: '2', number: 5, price_cents: 3000, status: 'sold' });
  const counts = { free: 0, held: 0, sold: 0 };
  for (const s of v.seats) counts[s.status] += 1;
  assert.deepEqual(counts, { free: 37, held: 2, sold: 1 });
  // layout order: sections, rows, numbers
  assert.deepEqual(v.seats.slice(0, 3).map((s) => s.id), ['A-1-1', 'A-1-2', 'A-1-3']);
  assert.equal(v.seats[10].id, 'A-2-1');
  assert.equal(v.seats[30].id, 'B-1-1');
  assert.equal(v.tiers.length, 1);
  assert.deepEqual({ ...v.tiers[0] }, { id: 'ga', name: 'Standing', price_cents: 2000, capacity: 50, available: 50 });
  expectError(await c.get('/api/v1/events/evt_doesnotexist00000000/seats'), 404, 'not_found');
});

test('compact view: rows of f/h/s/x with one character per seat', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  await holdOk(u, event.id, { seats: ['A-1-1', 'A-2-10'] });
  await buy(u, event.id, { seats: ['B-1-5', 'B-2-1'] });
  await holdOk(u, event.id, { tier: 'ga', quantity: 4 });
  const r = await c.get(`/api/v1/events/${event.id}/seats?view=compact`);
  const v = expectStatus(r, 200);
  assert.equal(v.event_id, event.id);
  assert.ok(Number.isInteger(v.version));
  const secs = Object.fromEntries(v.sections.map((s) => [s.id, s]));
  assert.equal(secs.A.price_cents, 5000);
  assert.equal(secs.B.price_cents, 3000);
  assert.deepEqual(secs.A.rows.map((x) => ({ ...x })), [
    { id: '1', status: 'hfffffffff' },
    { id: '2', status: 'fffffffffh' },
    { id: '3', status: 'ffffffffff' },
  ]);
  assert.deepEqual(secs.B.rows.map((x) => ({ ...x })), [
    { id: '1', status: 'ffffs' },
    { id: '2', status: 'sffff' },
  ]);
  if (secs.C) {
    assert.deepEqual(secs.C.rows.map((x) => x.status), ['xxxx'], 'an unpriced section is all x');
  }
  assert.equal(v.tiers[0].id, 'ga');
  assert.equal(v.tiers[0].available, 46);
  const verbose = expectStatus(await c.get(`/api/v1/events/${event.id}/seats`), 200);
  assert.equal(verbose.version, v.version, 'both views carry the same version');
});

test('version grows with every change; ETag + If-None-Match 304 on both views', async () => {
  const { event } = await setupEvent(c);
  const u = await makeUser(c);
  for (const path of [`/api/v1/events/${event.id}/seats`, `/api/v1/events/${event.id}/seats?view=compact`]) {
    const r1 = await c.get(path);
    const v1 = expectStatus(r1, 200);
    const etag = r1.headers.etag;
    assert.ok(etag, `${path} has an ETag`);
    const nm = await c.get(path, { headers: { 'if-none-match': etag } });
    assert.equal(nm.status, 304, `${path} with If-None-Match: ${nm.status}`);
    assert.equal(nm.text, '');
    assert.equal(nm.headers.etag, etag);

    const h = await holdOk(u, event.id, { seats: [path.includes('compact') ? 'A-3-1' : 'A-3-2'] });
    const r2 = await c.get(path, { headers: { 'if-none-match': etag } });
    const v2 = expectStatus(r2, 200);
    assert.ok(v2.version > v1.version, `version ${v1.version} -> ${v2.version} after a hold`);
    assert.notEqual(r2.headers.etag, etag);

    expectStatus(await u.c.del(`/api/v1/holds/${h.id}`), 204);
    const v3 = expectStatus(await c.get(path), 200);
    assert.ok(v3.version > v2.version, `version ${v2.version} -> ${v3.version} after a release`);
  }
  const vv = await c.get(`/api/v1/events/${event.id}/seats`);
  const cv = await c.get(`/api/v1/events/${event.id}/seats?view=compact`);
  assert.notEqual(vv.headers.etag, cv.headers.etag, 'the two views are different representations');
  // a tier change bumps the version too
  const before = expectStatus(await c.get(`/api/v1/events/${event.id}/seats?view=compact`), 200);
  await holdOk(u, event.id, { tier: 'ga', quantity: 1 });
  const after = expectStatus(await c.get(`/api/v1/events/${event.id}/seats?view=compact`), 200);
  assert.ok(after.version > before.version);
  assert.equal(after.tiers[0].available, before.tiers[0].available - 1);
});

test('a 10,000-seat map: compact view well under 40 KB (about 1 KB gzipped); verbose lists every seat', async () => {
  const rows = Array.from({ length: 100 }, (_, i) => ({ id: String(i + 1), seats: 50 }));
  const sections = [
    { id: 'L', name: 'Left', rows },
    { id: 'R', name: 'Right', rows },
  ];
  const { event, venue } = await setupEvent(c, {
    venue: { sections },
    over: { prices: [{ section: 'L', price_cents: 4500 }, { section: 'R', price_cents: 3500 }], ga_tiers: [] },
  });
  assert.equal(venue.seat_count, 10000);
  const path = `/api/v1/events/${event.id}/seats?view=compact`;
  const plain = await rawRequest(srv.base, { path, headers: { 'accept-encoding': 'identity' } });
  assert.equal(plain.status, 200);
  assert.ok(plain.body.length < 40 * 1024, `compact body is ${plain.body.length} bytes`);
  const v = JSON.parse(plain.body.toString());
  assert.equal(v.sections.length, 2);
  for (const s of v.sections) {
    assert.equal(s.rows.length, 100);
    for (const row of s.rows) assert.equal(row.status, 'f'.repeat(50));
  }
  const gz = await rawRequest(srv.base, { path, headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gz.body.length < 4096, `gzipped compact body is ${gz.body.length} bytes`);
  const verbose = expectStatus(await c.get(`/api/v1/events/${event.id}/seats`), 200);
  assert.equal(verbose.seats.length, 10000);
  assert.equal(verbose.seats[9999].id, 'R-100-50');
});

// Bodies of 1 KiB or less go out as they are, whatever the client accepts;
// they still say Vary, as the same URL is gzipped once the body grows.
test('a seat view of 1 KiB or less is sent plain, with Vary and its ETag', async () => {
  const { event } = await setupEvent(c);
  const path = `/api/v1/events/${event.id}/seats?view=compact`;
  const r = await rawRequest(srv.base, { path, headers: { 'accept-encoding': 'gzip, *' } });
  assert.equal(r.status, 200);
  assert.ok(r.body.length <= 1024, `compact view of 44 seats is ${r.body.length} bytes`);
  assert.equal(r.headers['content-encoding'], undefined);
  assert.match(r.headers.vary || '', /accept-encoding/i);
  assert.ok(r.headers.etag);
  assert.ok(JSON.parse(r.body.toString()), "a JSON body");
});

// The gzip copies are built from per-section deflate runs that are reused
// while a section does not change (core/gzip.c): after every change, in one
// section or several, each gzipped view must inflate to exactly the plain
// view of the same version, with a valid CRC and length. The event page
// keeps its fixed text deflated and sends what changes as a stored block;
// the listing is gzipped whole, once per content.
test('gzipped seat views, event page and listing inflate to exactly the plain bodies after every change', async () => {
  // big enough that every view is over the 1 KiB below which nothing is gzipped
  const rows = (n, seats) => Array.from({ length: n }, (_, i) => ({ id: String(i + 1), seats }));
  const venue = { sections: [{ id: 'A', name: 'Stalls', rows: rows(12, 40) }, { id: 'B', name: 'Balcony', rows: rows(6, 30) }] };
  const { event } = await setupEvent(c, { venue, over: { description: 'x'.repeat(1500) } });
  const u = await makeUser(c);
  const views = [`/api/v1/events/${event.id}/seats?view=compact`, `/api/v1/events/${event.id}/seats`,
    `/api/v1/events/${event.id}`, '/api/v1/events?limit=100'];
  // a listing over 1 KiB, with this event's availability in it
  for (;;) {
    const list = await rawRequest(srv.base, { path: views[3], headers: { 'accept-encoding': 'identity' } });
    const items = JSON.parse(list.body.toString()).items;
    if (list.body.length > 1500 && items.some((e) => e.id === event.id)) break;
    assert.ok(items.length < 100, 'the listing holds the event');
    await setupEvent(c);
  }
  const changes = [['A-1-1'], ['B-1-1'], ['A-1-2', 'B-1-2'], ['A-2-1']];
  let lastVersion = -1;
  for (const seats of [[], ...changes]) {
    if (seats.length) await holdOk(u, event.id, { seats });
    for (const path of views) {
      const plain = await rawRequest(srv.base, { path, headers: { 'accept-encoding': 'identity' } });
      const gz = await rawRequest(srv.base, { path, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(gz.headers['content-encoding'], 'gzip', path);
      assert.equal(gz.headers.etag, plain.headers.etag, 'same version in both');
      const inflated = zlib.gunzipSync(gz.body); // checks the CRC-32 and length
      assert.equal(inflated.toString(), plain.body.toString(), `${path} after holding ${seats}`);
      const v = JSON.parse(inflated.toString()).version;
      if (v !== undefined) assert.ok(v > lastVersion || (seats.length === 0 && v >= 0));
      for (const id of seats) {
        const body = JSON.parse(inflated.toString());
        if (body.seats) assert.equal(body.seats.find((s) => s.id === id).status, 'held');
      }
    }
    lastVersion = JSON.parse(zlib.gunzipSync((await rawRequest(srv.base, { path: views[0], headers: { 'accept-encoding': 'gzip' } })).body).toString()).version;
  }
});
