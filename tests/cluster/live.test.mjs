// Cross-instance behaviour that needs both instances at once: a live
// subscriber on one instance sees changes made through the other within a
// second (also after a change was lost between them: the seat map reloads
// and the subscriber gets a fresh snapshot), sessions revoked on one
// instance are refused by the other, and failed sign-ins count cluster-wide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectStatus, expectError } from '../api/lib/client.mjs';
import { makeUser, setupEvent, hold, seatMap, PASSWORD } from '../api/lib/fixtures.mjs';
import { connectLive } from '../api/lib/live.mjs';
import { A, B, clients, redisCli, sql, q, until } from './lib/cluster.mjs';

const seatsOf = (msg) => new Map(msg.changes.map((c) => [c.id, c.status]));

async function smallEvent() {
  const { event } = await setupEvent(clients.base, {
    venue: { sections: [{ id: 'A', name: 'Stalls', rows: [{ id: '1', seats: 10 }, { id: '2', seats: 10 }] }] },
    over: { prices: [{ section: 'A', price_cents: 2000 }], ga_tiers: [{ id: 'ga', name: 'Floor', price_cents: 900, capacity: 50 }] },
  });
  return event;
}

test('a subscriber on instance A sees a hold made through instance B within a second, and the other way round', async () => {
  const event = await smallEvent();
  const user = await makeUser(clients.b);
  for (const [sub, via, seat] of [[A, clients.b, 'A-1-1'], [B, clients.a, 'A-1-2']]) {
    const live = await connectLive(sub, event.id);
    try {
      await live.next((m) => m.type === 'snapshot', 3000, 'the snapshot');
      const t0 = Date.now();
      const r = await hold({ c: via.as(user.token) }, event.id, { seats: [seat] });
      expectStatus(r, 201);
      const { msg, at } = await live.next((m) => m.type === 'seats' && seatsOf(m).get(seat) === 'held', 1000,
        `the hold of ${seat} made through the other instance`);
      assert.ok(at - t0 <= 1000, `arrived after ${at - t0} ms`);
      assert.ok(msg.version > 0);
      // and a GA hold travels as a tiers message
      expectStatus(await hold({ c: via.as(user.token) }, event.id, { tier: 'ga', quantity: 2 }), 201);
      await live.next((m) => m.type === 'tiers', 1000, 'the GA tier change');
      assert.deepEqual(live.errors, []);
    } finally {
      await live.close();
    }
  }
});

test('a change lost between the instances: the seat map reloads and the subscriber gets a fresh snapshot', async () => {
  const event = await smallEvent();
  const user = await makeUser(clients.b);
  const live = await connectLive(A, event.id);
  try {
    await live.next((m) => m.type === 'snapshot', 3000, 'the snapshot');
    // Redis refuses PUBLISH for a moment: the hold through B commits but its
    // change never reaches A
    assert.equal(await redisCli('ACL', 'SETUSER', 'default', '-publish'), 'OK');
    try {
      expectStatus(await hold({ c: clients.b.as(user.token) }, event.id, { seats: ['A-2-1'] }), 201);
    } finally {
      assert.equal(await redisCli('ACL', 'SETUSER', 'default', '+publish'), 'OK');
    }
    // the next change reaches A with a version skip
    expectStatus(await hold({ c: clients.b.as(user.token) }, event.id, { seats: ['A-2-2'] }), 201);
    await until(async () => (await seatMap(clients.a, event.id)).view, (v) =>
      v.seats.find((s) => s.id === 'A-2-1').status === 'held' && v.seats.find((s) => s.id === 'A-2-2').status === 'held',
    { timeoutMs: 3000, what: 'instance A shows both holds (reloaded)' });
    await until(async () => live.seats, (s) => s.get('A-2-1') === 'held' && s.get('A-2-2') === 'held',
      { timeoutMs: 3000, what: 'the subscriber on A shows both holds' });
    assert.ok(live.messages.filter((m) => m.msg.type === 'snapshot').length >= 2, 'a fresh snapshot after the gap');
    const [db] = sql(`SELECT version FROM events WHERE id = ${q(event.id)}`);
    const { view } = await seatMap(clients.a, event.id);
    assert.equal(view.version, Number(db.version), 'instance A is at the database\'s version');
  } finally {
    await live.close();
  }
});

test('a session revoked through one instance is refused by the other at once (sessions are read from the database on every request)', async () => {
  const user = await makeUser(clients.a);
  expectStatus(await clients.b.as(user.token).get('/api/v1/me'), 200);
  expectStatus(await clients.a.as(user.token).del('/api/v1/sessions/current'), 204);
  expectError(await clients.b.as(user.token).get('/api/v1/me'), 401, 'unauthenticated');
  expectError(await clients.a.as(user.token).get('/api/v1/me'), 401, 'unauthenticated');
});

test('failed sign-ins are counted across instances (shared through Redis)', async () => {
  const user = await makeUser(clients.a);
  for (let i = 0; i < 10; i++) {
    const c = i % 2 ? clients.a : clients.b;
    expectError(await c.post('/api/v1/sessions', { email: user.email, password: 'wrong password!' }), 401, 'invalid_credentials');
  }
  // five failures on each instance: both refuse now, even the right password
  for (const c of [clients.a, clients.b]) {
    const r = await until(() => c.post('/api/v1/sessions', { email: user.email, password: PASSWORD }),
      (x) => x.status === 429, { timeoutMs: 2000, what: '429 after 10 failures in the cluster' });
    expectError(r, 429, 'rate_limited');
    assert.ok(Number(r.headers['retry-after']) > 0);
  }
});
