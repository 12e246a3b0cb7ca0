// A batch of two or more seat holds and releases as one statement
// (0007_batch_set.sql): tixin_batch() called the way the instances call it,
// on a real event, checked answer by answer and against the rows.
//  1. Every kind of answer in one batch: holds that win, a hold of a seat
//     held by the hold a release of the same batch frees (seat_unavailable:
//     the hold came first), a hold sharing a seat with an earlier hold and a
//     second release of one hold (both retried alone), a missing seat,
//     seats named twice, no seats, too many seats, a bad token, another
//     user's hold, a hold of a seat an earlier hold of the batch took
//     (seat_unavailable, as if run after it); the event's version moves by one and the change lists
//     exactly the seats that changed.
//  2. A free seat locked by another session is skipped, not waited for:
//     its hold answers retry while the rest of the batch commits.
//  3. The retried jobs, run again alone (as the instances do), get the
//     answers a one-at-a-time run gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { useServer, EXTERNAL_SKIP, sleep } from '../api/lib/server.mjs';
import { Client } from '../api/lib/client.mjs';
import { makeUser, setupEvent } from '../api/lib/fixtures.mjs';

const skip = EXTERNAL_SKIP || (!process.env.TIXIN_TEST_PG_URL ? 'needs TIXIN_TEST_PG_URL (PostgreSQL mode)' : false);

let c;
const srv = skip ? null : useServer('pg-batch-set', (s) => { c = new Client(s.base); });
const VENUE = { sections: [{ id: 'A', name: 'Stalls', rows: [{ id: '1', seats: 20 }] }] };
const PRICES = [{ section: 'A', price_cents: 2500 }];

const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
function psql(script) {
  return execFileSync('psql', [srv.dbUrl, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], { input: script, encoding: 'utf8' }).trim();
}
// tixin_batch(jobs) in its own transaction, as the instances run it
const batch = (jobs) => JSON.parse(psql(`SELECT tixin_batch(${q(JSON.stringify(jobs))}::jsonb, ${Date.now()});`));
const tokenOf = (u) => srv.sql(`SELECT token_hash FROM sessions WHERE user_id = '${u.id}' AND revoked_at IS NULL`)[0].token_hash;
const version = (eventId) => Number(srv.sql(`SELECT version FROM events WHERE id = '${eventId}'`)[0].version);
const seatRows = (eventId) => Object.fromEntries(srv.sql(`SELECT seat_id, status, hold_id FROM event_seats
    WHERE event_id = '${eventId}' ORDER BY ord`).map((r) => [r.seat_id, r]));
const holdRow = (id) => srv.sql(`SELECT status, ords, user_id, total_cents FROM holds WHERE id = '${id}'`)[0];

async function setup() {
  const { event } = await setupEvent(c, { venue: VENUE, over: { prices: PRICES, max_tickets_per_order: 4 } });
  const u = await makeUser(c);
  const other = await makeUser(c);
  return { event, u, other, tok: tokenOf(u), otherTok: tokenOf(other) };
}

test('every kind of answer in one batch, and the rows and the change agree with them', { skip, timeout: 60000 }, async () => {
  const { event, u, other, tok, otherTok } = await setup();
  const H = (seats, token = tok) => ({ op: 'hold', token, event_id: event.id, seats });
  const R = (hold_id, token = tok) => ({ op: 'release', token, hold_id });

  const first = batch([H(['A-1-1', 'A-1-2']), H(['A-1-3']), H(['A-1-10'], otherTok)]);
  assert.deepEqual(first.answers.map((a) => a.status), [201, 201, 201]);
  const [h1, h2, hOther] = first.answers.map((a) => a.out);
  assert.equal(first.answers[0].user_id, u.id);
  assert.deepEqual(h1.seats, ['A-1-1', 'A-1-2']);
  assert.equal(h1.total_cents, 5000);
  assert.equal(h1.event_id, event.id);
  assert.deepEqual(holdRow(h1.id), { status: 'active', ords: [0, 1], user_id: u.id, total_cents: 5000 });
  assert.deepEqual(first.changes, [{ event_id: event.id, version: version(event.id),
    seats: [[0, 'h'], [1, 'h'], [2, 'h'], [9, 'h']], tiers: [] }]);

  const v0 = version(event.id);
  const r = batch([
    R(h1.id),                         // 0: frees A-1-1, A-1-2
    R(h1.id),                         // 1: the same hold again: retried alone
    R(h1.id, 'no-such-token'),        // 2: unauthenticated
    R(hOther.id),                     // 3: another user's hold: not found
    H(['A-1-1', 'A-1-4']),            // 4: A-1-1 is held (by h1) in this statement's snapshot
    H(['A-1-4', 'A-1-5']),            // 5: shares A-1-4 with job 4: retried alone
    H(['A-1-6', 'Z-9-9']),            // 6: no such seat
    H(['A-1-7', 'A-1-7']),            // 7: a seat named twice
    H([]),                            // 8: no seats
    H(['A-1-11', 'A-1-12', 'A-1-13', 'A-1-14', 'A-1-15']), // 9: over max_tickets_per_order
    H(['A-1-16'], 'no-such-token'),   // 10: unauthenticated
    H(['A-1-3', 'A-1-17']),           // 11: A-1-3 is h2's
    H(['A-1-18', 'A-1-19']),          // 12: wins
    H(['A-1-20', 'A-1-19']),          // 13: A-1-19 went to job 12: as if run after it
  ]);
  const brief = r.answers.map((a) => a.retry ? 'retry' : a.err || a.status);
  assert.deepEqual(brief, [204, 'retry', 'unauthenticated', 'not_found', 'seat_unavailable', 'retry', 'seat_not_found',
    'invalid_field', 'invalid_field', 'limit_exceeded', 'unauthenticated', 'seat_unavailable', 201, 'seat_unavailable']);
  assert.deepEqual(r.answers[4].out, { seats: ['A-1-1'] });
  assert.deepEqual(r.answers[6].out, { seats: ['Z-9-9'] });
  assert.deepEqual(r.answers[7].out, { field: 'seats', message: 'Name each seat once, at least one.' });
  assert.deepEqual(r.answers[11].out, { seats: ['A-1-3'] });
  assert.deepEqual(r.answers[13].out, { seats: ['A-1-19'] });
  assert.equal(r.answers[3].user_id, u.id);
  const won = r.answers[12].out;

  // one version, exactly the seats that changed
  assert.equal(version(event.id), v0 + 1);
  assert.deepEqual(r.changes, [{ event_id: event.id, version: v0 + 1, seats: [[0, 'f'], [1, 'f'], [17, 'h'], [18, 'h']], tiers: [] }]);
  const rows = seatRows(event.id);
  assert.deepEqual(['A-1-1', 'A-1-2', 'A-1-4', 'A-1-5', 'A-1-6', 'A-1-7', 'A-1-20'].map((s) => rows[s].status), Array(7).fill('free'));
  assert.deepEqual([rows['A-1-3'].hold_id, rows['A-1-10'].hold_id, rows['A-1-18'].hold_id, rows['A-1-19'].hold_id],
    [h2.id, hOther.id, won.id, won.id]);
  assert.equal(holdRow(h1.id).status, 'released');
  assert.equal(holdRow(hOther.id).status, 'active');
  assert.equal(srv.sql(`SELECT count(*)::int AS n FROM holds WHERE event_id = '${event.id}' AND status = 'active'`)[0].n, 3);

  // the retried jobs alone (the instances' next step): as one at a time
  const again1 = batch([R(h1.id)]);
  assert.equal(again1.answers[0].err, 'not_found');
  const again5 = batch([H(['A-1-4', 'A-1-5'])]);
  assert.equal(again5.answers[0].status, 201);

  // a batch that changes nothing leaves the version alone
  const v1 = version(event.id);
  const none = batch([H(['A-1-3']), R('hld_nothing')]);
  assert.deepEqual(none.answers.map((a) => a.err), ['seat_unavailable', 'not_found']);
  assert.deepEqual(none.changes, []);
  assert.equal(version(event.id), v1);
});

test('a free seat locked by another session is skipped, not waited for', { skip, timeout: 60000 }, async () => {
  const { event, tok } = await setup();
  const H = (seats) => ({ op: 'hold', token: tok, event_id: event.id, seats });
  // another session locks A-1-2's row and keeps it for a while
  const locker = spawn('psql', [srv.dbUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c',
    `BEGIN; SELECT 1 FROM event_seats WHERE event_id = '${event.id}' AND seat_id = 'A-1-2' FOR UPDATE; SELECT pg_sleep(4); COMMIT;`],
  { stdio: 'ignore' });
  const ended = new Promise((resolve) => locker.on('exit', resolve));
  try {
    for (let i = 0; i < 50; i++) {
      const n = srv.sql(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE a.query LIKE '%pg_sleep(4)%' AND l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock'`)[0].n;
      if (n > 0) break;
      await sleep(50);
    }
    const t0 = Date.now();
    const r = batch([H(['A-1-1', 'A-1-2']), H(['A-1-3'])]);
    assert.ok(Date.now() - t0 < 3000, 'the batch did not wait for the lock');
    assert.deepEqual(r.answers[0], { retry: true });
    assert.equal(r.answers[1].status, 201);
    const rows = seatRows(event.id);
    assert.deepEqual([rows['A-1-1'].status, rows['A-1-2'].status, rows['A-1-3'].status], ['free', 'free', 'held']);
  } finally {
    await ended;
  }
});
