// Batched seat writes on PostgreSQL (store/pg: the queued holds and
// releases of one event run as one tixin_batch() statement in one
// transaction; a job whose rows another transaction has locked is taken
// out of its batch and run alone afterwards, where it waits).
//  1. A burst of holds (several racing for each seat) and releases: every
//     seat goes to exactly one holder, exactly the released ones are free
//     again, and the in-memory seat map ends at the database's version
//     with the database's statuses (a change lost or published out of
//     order would leave it behind or different).
//  2. A seat row locked by another session: the hold that needs it waits
//     and gets the seat once the lock is gone, while holds of other seats
//     of the same event (batched with it or not) are answered meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { useServer, EXTERNAL_SKIP, sleep } from '../api/lib/server.mjs';
import { Client, expectStatus } from '../api/lib/client.mjs';
import { makeUser, setupEvent, hold, seatMap } from '../api/lib/fixtures.mjs';

const skip = EXTERNAL_SKIP || (!process.env.TIXIN_TEST_PG_URL ? 'needs TIXIN_TEST_PG_URL (PostgreSQL mode)' : false);

let c;
const srv = skip ? null : useServer('pg-batch', (s) => { c = new Client(s.base); });
const VENUE = { sections: [{ id: 'A', name: 'Stalls', rows: Array.from({ length: 10 }, (_, i) => ({ id: String(i + 1), seats: 10 })) }] };
const PRICES = [{ section: 'A', price_cents: 2500 }];
const seatId = (i) => `A-${Math.floor(i / 10) + 1}-${(i % 10) + 1}`;

// the seat map (after pubsub delivered the last change) against the database
async function assertMapIsDatabase(eventId) {
  const [ev] = srv.sql(`SELECT version FROM events WHERE id = '${eventId}'`);
  const rows = srv.sql(`SELECT seat_id, status FROM event_seats WHERE event_id = '${eventId}'`);
  let map;
  for (let i = 0; i < 40; i++) {
    map = await seatMap(c, eventId);
    if (map.view.version >= Number(ev.version)) break;
    await sleep(50);
  }
  assert.equal(map.view.version, Number(ev.version), 'the seat map is at the database version');
  const differ = rows.filter((r) => map.byId.get(r.seat_id)?.status !== r.status).map((r) => r.seat_id);
  assert.deepEqual(differ, [], 'seats whose status differs between the map and the database');
}

test('a burst of holds and releases: one holder per seat, releases free, the seat map equals the database', { skip, timeout: 90000 }, async () => {
  const { event } = await setupEvent(c, { venue: VENUE, over: { prices: PRICES, max_tickets_per_order: 4 } });
  const users = await Promise.all(Array.from({ length: 40 }, () => makeUser(c)));
  // 40 users x 6 holds of 2 adjacent seats among 100 seats, all at once
  const tries = [];
  for (let k = 0; k < 6; k++) {
    users.forEach((u, i) => {
      const first = ((i * 7 + k * 13) % 50) * 2;
      tries.push({ u, seats: [seatId(first), seatId(first + 1)] });
    });
  }
  const answers = await Promise.all(tries.map((t) => hold(t.u, event.id, { seats: t.seats })));
  const won = [];
  answers.forEach((r, i) => {
    if (r.status === 201) won.push({ ...tries[i], id: r.json.id });
    else assert.equal(r.json?.error?.code, 'seat_unavailable', `hold ${tries[i].seats}: ${r.status} ${r.text}`);
  });
  const held = won.flatMap((w) => w.seats);
  assert.equal(new Set(held).size, held.length, 'no seat held twice');
  assert.equal(won.length, 50, 'every pair of seats held once');

  // release every other hold, and hold what they free again, all at once
  const release = won.filter((_, i) => i % 2 === 0);
  const rel = await Promise.all(release.map((w) => w.u.c.del(`/api/v1/holds/${w.id}`)));
  rel.forEach((r) => expectStatus(r, 204));
  const again = await Promise.all(release.slice(0, 10).map((w, i) => hold(users[i], event.id, { seats: w.seats })));
  again.forEach((r) => expectStatus(r, 201));

  const [st] = srv.sql(`SELECT COUNT(*) FILTER (WHERE status = 'held') AS held, COUNT(*) FILTER (WHERE status = 'free') AS free
      FROM event_seats WHERE event_id = '${event.id}'`);
  assert.deepEqual(st, { held: 2 * (50 - release.length + 10), free: 100 - 2 * (50 - release.length + 10) });
  const [h] = srv.sql(`SELECT COUNT(*) FILTER (WHERE status = 'active') AS active, COUNT(*) FILTER (WHERE status = 'released') AS released
      FROM holds WHERE event_id = '${event.id}'`);
  assert.deepEqual(h, { active: 50 - release.length + 10, released: release.length });
  await assertMapIsDatabase(event.id);
});

// psql in a session of its own holding a row lock until release()
function lockRow(dbUrl, query) {
  const p = spawn('psql', [dbUrl, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const locked = new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('LOCKED')) resolve();
    });
    p.on('exit', (code) => reject(new Error(`psql exited (${code}) before locking: ${out}`)));
  });
  p.stdin.write(`BEGIN;\n${query};\n\\echo LOCKED\n`);
  return {
    locked,
    release: () => new Promise((resolve) => {
      p.removeAllListeners('exit');
      p.on('exit', resolve);
      p.stdin.end('ROLLBACK;\n\\q\n');
    }),
  };
}

test('a seat locked by another session: its hold waits for it, the other holds of the event do not', { skip, timeout: 60000 }, async () => {
  const { event } = await setupEvent(c, { venue: VENUE, over: { prices: PRICES } });
  const users = await Promise.all(Array.from({ length: 30 }, () => makeUser(c)));
  const lock = lockRow(srv.dbUrl, `SELECT 1 FROM event_seats WHERE event_id = '${event.id}' AND seat_id = 'A-10-10' FOR UPDATE`);
  await lock.locked;
  let waiterDone = false;
  const waiter = hold(users[0], event.id, { seats: ['A-10-9', 'A-10-10'] }).then((r) => { waiterDone = true; return r; });
  const others = await Promise.all(users.slice(1).map((u, i) => hold(u, event.id, { seats: [seatId(i * 3), seatId(i * 3 + 1)] })));
  others.forEach((r) => expectStatus(r, 201));
  await sleep(300);
  assert.equal(waiterDone, false, 'the hold of the locked seat waits for the lock');
  await lock.release();
  const w = expectStatus(await waiter, 201);
  assert.deepEqual(w.seats, ['A-10-9', 'A-10-10']);
  await assertMapIsDatabase(event.id);
});
