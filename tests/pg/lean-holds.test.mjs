// The hot writes' shape on PostgreSQL (0006_lean_holds.sql):
//  1. a seat hold records its seats (holds.ords), and its release, payment
//     and expiry free or sell exactly those seats - also for a hold made
//     without ords (as the functions before 0006 made them), which is
//     found by its hold_id; both entry points (the batch, and tixin_op()
//     for a hold with an Idempotency-Key) record them;
//  2. no index of event_seats covers a column a hold or release changes,
//     so both stay HOT updates (an index on hold_id or status would quietly
//     make every write touch every index again);
//  3. a batch of holds and releases commits synchronously like every
//     other transaction (an asynchronous commit lost in a crash would
//     leave version numbers the seat maps already saw to be used again).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { useServer, EXTERNAL_SKIP } from '../api/lib/server.mjs';
import { Client, expectStatus, eventually } from '../api/lib/client.mjs';
import { makeUser, setupEvent, hold, holdOk, pay } from '../api/lib/fixtures.mjs';

const skip = EXTERNAL_SKIP || (!process.env.TIXIN_TEST_PG_URL ? 'needs TIXIN_TEST_PG_URL (PostgreSQL mode)' : false);

let c;
const srv = skip ? null : useServer('pg-lean-holds', (s) => { c = new Client(s.base); });
const VENUE = { sections: [{ id: 'A', name: 'Stalls', rows: [{ id: '1', seats: 20 }] }] };
const PRICES = [{ section: 'A', price_cents: 2500 }];

// psql output of a script (several statements, one session)
function psql(script) {
  return execFileSync('psql', [srv.dbUrl, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], { input: script, encoding: 'utf8' }).trim();
}

const seats = (eventId, ids) => srv.sql(`SELECT seat_id, status, hold_id, order_id IS NOT NULL AS sold FROM event_seats
    WHERE event_id = '${eventId}' AND seat_id IN (${ids.map((s) => `'${s}'`).join(',')}) ORDER BY ord`);
const holdRow = (id) => srv.sql(`SELECT status, ords FROM holds WHERE id = '${id}'`)[0];
// as a hold made by the functions before 0006: no ords
const forgetOrds = (id) => psql(`UPDATE holds SET ords = NULL WHERE id = '${id}';`);

test('a hold records its seats; release, payment and expiry find them, with or without the record', { skip, timeout: 60000 }, async () => {
  const { event } = await setupEvent(c, { venue: VENUE, over: { prices: PRICES } });
  const u = await makeUser(c);

  // batched hold (no Idempotency-Key), then its release
  const h1 = await holdOk(u, event.id, { seats: ['A-1-2', 'A-1-1'] });
  assert.deepEqual(holdRow(h1.id), { status: 'active', ords: [0, 1] });
  expectStatus(await u.c.del(`/api/v1/holds/${h1.id}`), 204);
  assert.deepEqual(seats(event.id, ['A-1-1', 'A-1-2']).map((s) => s.status), ['free', 'free']);
  assert.equal(holdRow(h1.id).status, 'released');

  // tixin_op()'s hold (with an Idempotency-Key) records them too
  const h2 = expectStatus(await hold(u, event.id, { seats: ['A-1-3', 'A-1-4'] }, { 'Idempotency-Key': 'lean-1' }), 201);
  assert.deepEqual(holdRow(h2.id), { status: 'active', ords: [2, 3] });
  expectStatus(await u.c.del(`/api/v1/holds/${h2.id}`), 204);
  assert.deepEqual(seats(event.id, ['A-1-3', 'A-1-4']).map((s) => s.status), ['free', 'free']);

  // holds without ords: released, paid, expired all the same
  const h3 = await holdOk(u, event.id, { seats: ['A-1-5', 'A-1-6'] });
  forgetOrds(h3.id);
  expectStatus(await u.c.del(`/api/v1/holds/${h3.id}`), 204);
  assert.deepEqual(seats(event.id, ['A-1-5', 'A-1-6']).map((s) => s.status), ['free', 'free']);

  const h4 = await holdOk(u, event.id, { seats: ['A-1-7', 'A-1-8'] });
  forgetOrds(h4.id);
  const order = expectStatus(await pay(u, h4.id), 201);
  assert.deepEqual(order.tickets.map((t) => t.seat), ['A-1-7', 'A-1-8']);
  assert.deepEqual(seats(event.id, ['A-1-7', 'A-1-8']).map((s) => [s.status, s.sold]), [['sold', true], ['sold', true]]);

  const h5 = await holdOk(u, event.id, { seats: ['A-1-9', 'A-1-10'] });
  const h6 = await holdOk(u, event.id, { seats: ['A-1-11', 'A-1-12'] });
  forgetOrds(h5.id);
  psql(`UPDATE holds SET expires_at = 0 WHERE id IN ('${h5.id}', '${h6.id}');`);
  await eventually(() => holdRow(h5.id).status === 'expired' && holdRow(h6.id).status === 'expired',
    { timeoutMs: 5000, what: 'the sweeper expires both holds' });
  assert.deepEqual(seats(event.id, ['A-1-9', 'A-1-10', 'A-1-11', 'A-1-12']).map((s) => [s.status, s.hold_id]),
    [['free', null], ['free', null], ['free', null], ['free', null]]);
  // and a hold's seats are never someone else's: the rest of the row is untouched
  assert.deepEqual(seats(event.id, ['A-1-7', 'A-1-8']).map((s) => s.status), ['sold', 'sold']);
});

test('no index of event_seats covers a column that holds and releases change (HOT updates)', { skip }, () => {
  const idx = srv.sql(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'event_seats'`);
  assert.ok(idx.length >= 2, 'event_seats has its primary key and seat id index');
  const hot = idx.filter((i) => /\b(hold_id|status)\b/.test(i.indexdef.replace(/^.*? ON /, '')));
  assert.deepEqual(hot, []);
});

test('a batch commits synchronously (no asynchronous commit hides in it)', { skip }, () => {
  const out = psql(`SHOW synchronous_commit;
BEGIN;
SELECT tixin_batch('[]'::jsonb, 0);
SHOW synchronous_commit;
COMMIT;`).split('\n');
  assert.deepEqual(out, ['on', '{"answers": [], "changes": []}', 'on']);
});
