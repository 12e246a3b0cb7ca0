// Two tixin instances on one PostgreSQL database, each sweeping expired
// holds (no Redis here, so live updates between instances are not tested:
// tests/suites/30-cluster does that). Holds taken through both instances expire exactly once:
// the instances' tixin_holds_expired_total counters (counted after the
// sweep's COMMIT, where its changes are published) add up to the number of
// holds, and the database ends with every hold expired and every seat free. Bookings made through one instance are seen by the
// other's writes (a seat held through A cannot be held through B).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, TixinServer, EXTERNAL_SKIP, sleep } from '../api/lib/server.mjs';
import { Client, expectError } from '../api/lib/client.mjs';
import { makeUser, setupEvent, holdOk, hold } from '../api/lib/fixtures.mjs';

const skip = EXTERNAL_SKIP || (!process.env.TIXIN_TEST_PG_URL ? 'needs TIXIN_TEST_PG_URL (PostgreSQL mode)' : false);

let a;
const srvA = skip ? null : useServer('pg-two-a', (s) => { a = new Client(s.base); });
const srvB = skip ? null : new TixinServer('pg-two-b', { sharedWith: srvA });
if (srvB) {
  after(async () => {
    let ok = false;
    try {
      await srvB.stop();
      ok = true;
    } finally {
      srvB.cleanup(ok);
    }
  });
}

test('holds through two instances expire exactly once; both sweep; the database agrees', { skip, timeout: 60000 }, async () => {
  const { event } = await setupEvent(a, { over: { hold_ttl_seconds: 2 } });
  // for the cross-instance checks, holds that cannot expire meanwhile (the
  // 2 s ones may: with no Redis between the instances a commit may wait up
  // to 1 s for the other instance's version before it is answered)
  const { event: lasting } = await setupEvent(a);
  await srvB.start(); // after the events exist: B loads them with its catalog
  const b = new Client(srvB.base);
  const seats = Array.from({ length: 20 }, (_, i) => `A-${Math.floor(i / 10) + 1}-${(i % 10) + 1}`);

  const users = await Promise.all(seats.map((_, i) => makeUser(i % 2 ? b : a)));
  await Promise.all(seats.map((s, i) => holdOk(users[i], event.id, { seats: [s] })));
  // one database decides for both: A's seats are not free through B, nor B's through A
  // (users[0] books through A, users[1] through B)
  await holdOk(users[0], lasting.id, { seats: [seats[0]] });
  await holdOk(users[1], lasting.id, { seats: [seats[1]] });
  expectError(await hold(users[1], lasting.id, { seats: [seats[0]] }), 409, 'seat_unavailable');
  expectError(await hold(users[0], lasting.id, { seats: [seats[1]] }), 409, 'seat_unavailable');

  await sleep(2000 + 2500); // ttl, then several sweeps of both instances
  // each instance counts the holds its sweeper expired (and published)
  const expiredBy = async (c) => {
    const text = (await c.get('/metrics')).text;
    return Number(/^tixin_holds_expired_total (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  const [na, nb] = [await expiredBy(a), await expiredBy(b)];
  assert.equal(na + nb, seats.length, `holds expired: ${na} by A + ${nb} by B, ${seats.length} expected (each exactly once)`);
  const [holds] = srvA.sql(`SELECT COUNT(*) FILTER (WHERE status = 'expired') AS expired, COUNT(*) AS n FROM holds
      WHERE event_id = '${event.id}'`);
  assert.deepEqual(holds, { expired: seats.length, n: seats.length });
  const [st] = srvA.sql(`SELECT COUNT(*) FILTER (WHERE status = 'free') AS free, COUNT(*) AS n FROM event_seats
      WHERE event_id = '${event.id}' AND hold_id IS NULL AND order_id IS NULL`);
  assert.equal(st.free, st.n);
});
