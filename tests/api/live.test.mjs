// The live seat map over WebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { Client, expectStatus, eventually } from './lib/client.mjs';
import { LiveClient, connectLive, upgradeStatus } from './lib/live.mjs';
import { makeUser, setupEvent, holdOk, pay, seatMap } from './lib/fixtures.mjs';

let c;
const srv = useServer('live', (s) => { c = new Client(s.base); });

const isSnapshot = (m) => m.type === 'snapshot';
const isChange = (m) => m.type === 'seats' || m.type === 'tiers';
const seatChange = (id, status) => (m) => m.type === 'seats' && m.changes.some((ch) => ch.id === id && ch.status === status);
const tierChange = (id, available) => (m) => m.type === 'tiers' && LiveClient.tierChanges(m).some((t) => t.id === id && t.available === available);

function assertMatchesView(live, view, label) {
  for (const s of view.seats) {
    assert.equal(live.seats.get(s.id), s.status, `${label}: seat ${s.id}`);
  }
  for (const t of view.tiers) assert.equal(live.tiers.get(t.id), t.available, `${label}: tier ${t.id}`);
}

test('snapshot first, then every hold, release, sale and refund in order, each within 1 s, to every subscriber', async () => {
  const { event } = await setupEvent(c);
  const a = await makeUser(c);
  const b = await makeUser(c);
  await holdOk(b, event.id, { seats: ['B-2-5'] }); // some state before subscribing
  const l1 = await connectLive(srv.base, event.id);
  const l2 = await connectLive(srv.base, event.id);
  try {
    const s1 = (await l1.next(() => true, 2000, 'the snapshot')).msg;
    assert.equal(s1.type, 'snapshot', `first message is the snapshot: ${JSON.stringify(s1).slice(0, 200)}`);
    assert.ok(Number.isInteger(s1.version));
    assert.ok(Array.isArray(s1.seats));
    for (const s of s1.seats.slice(0, 5)) {
      assert.equal(typeof s.id, 'string');
      assert.ok(['free', 'held', 'sold'].includes(s.status) || s.status === 'x', `status ${s.status}`);
    }
    assert.equal(l1.seats.get('B-2-5'), 'held');
    assert.equal(l1.seats.get('A-1-1'), 'free');
    assert.equal(l1.tiers.get('ga'), 50);
    const { view } = await seatMap(c, event.id);
    assert.equal(s1.version, view.version, 'snapshot and seat view agree on the version');
    assertMatchesView(l1, view, 'snapshot');
    const s2 = (await l2.next(() => true, 2000, 'the second snapshot')).msg;
    assert.equal(s2.type, 'snapshot');

    const steps = [];
    const step = async (label, fn, pred) => {
      const out = await fn();
      const t = Date.now();
      const m = await l1.next(pred, 1000, `live message for "${label}"`);
      steps.push({ label, latency: m.at - t });
      return out;
    };
    const h1 = await step('hold A-1-1 A-1-2', () => holdOk(a, event.id, { seats: ['A-1-1', 'A-1-2'] }), seatChange('A-1-2', 'held'));
    const h2 = await step('hold B-1-1', () => holdOk(b, event.id, { seats: ['B-1-1'] }), seatChange('B-1-1', 'held'));
    await step('release A-1-1 A-1-2', async () => expectStatus(await a.c.del(`/api/v1/holds/${h1.id}`), 204), seatChange('A-1-1', 'free'));
    const order = await step('pay B-1-1', async () => expectStatus(await pay(b, h2.id), 201), seatChange('B-1-1', 'sold'));
    const g = await step('GA hold 2', () => holdOk(a, event.id, { tier: 'ga', quantity: 2 }), tierChange('ga', 48));
    expectStatus(await pay(a, g.id), 201); // GA sale: available stays 48 (held -> sold)
    await step('refund B-1-1', async () => expectStatus(await b.c.post(`/api/v1/orders/${order.id}/cancel`), 200), seatChange('B-1-1', 'free'));
    await step('hold A-3-3', () => holdOk(b, event.id, { seats: ['A-3-3'] }), seatChange('A-3-3', 'held'));

    // the change messages: versions strictly increasing, seat changes in the order made
    const changes1 = l1.messages.map((m) => m.msg).filter(isChange);
    for (let i = 1; i < changes1.length; i++) {
      assert.ok(changes1[i].version > changes1[i - 1].version,
        `versions strictly increase: ${changes1.map((m) => m.version)}`);
    }
    assert.ok(changes1[0].version > s1.version);
    const seq = changes1.filter((m) => m.type === 'seats').flatMap((m) => m.changes.map((ch) => `${ch.id}:${ch.status}`));
    const pos = (x) => seq.indexOf(x);
    for (const x of ['A-1-1:held', 'A-1-2:held', 'B-1-1:held', 'A-1-1:free', 'A-1-2:free', 'B-1-1:sold', 'B-1-1:free', 'A-3-3:held']) {
      assert.ok(pos(x) >= 0, `${x} arrived: ${seq}`);
    }
    assert.equal(seq.length, 8, `exactly the 8 seat changes made: ${seq}`);
    assert.ok(pos('A-1-2:held') < pos('B-1-1:held') && pos('B-1-1:held') < pos('A-1-1:free')
      && pos('A-1-2:free') < pos('B-1-1:sold') && pos('B-1-1:sold') < pos('B-1-1:free')
      && pos('B-1-1:free') < pos('A-3-3:held'), `in order: ${seq}`);

    // the live state equals the seat view, for both subscribers
    const { view: after } = await seatMap(c, event.id);
    assert.equal(l1.version, after.version);
    assertMatchesView(l1, after, 'subscriber 1');
    await l2.next((m) => m.version === after.version, 1000, 'the last change on subscriber 2');
    assertMatchesView(l2, after, 'subscriber 2');
    const changes2 = l2.messages.map((m) => m.msg).filter(isChange);
    assert.deepEqual(changes2, changes1, 'the second subscriber sees the same messages');
    assert.deepEqual(l1.errors, []);
  } finally {
    await l1.close();
    await l2.close();
  }
});

test('a hold expiry (ttl 2 s) reaches subscribers as a change', async () => {
  const { event } = await setupEvent(c, { over: { hold_ttl_seconds: 2 } });
  const u = await makeUser(c);
  const l = await connectLive(srv.base, event.id);
  try {
    await l.next(isSnapshot, 2000, 'the snapshot');
    const t0 = Date.now();
    await holdOk(u, event.id, { seats: ['A-2-2', 'A-2-3'] });
    await l.next(seatChange('A-2-2', 'held'), 1000, 'the hold');
    await holdOk(u, event.id, { tier: 'ga', quantity: 5 });
    await l.next(tierChange('ga', 45), 1000, 'the GA hold');
    const m = await l.next(seatChange('A-2-3', 'free'), 4000, 'the expiry');
    const dt = m.at - t0;
    assert.ok(dt >= 1500 && dt <= 3500, `expiry arrived ${dt} ms after the hold (ttl 2 s, within 1 s after)`);
    await l.next(tierChange('ga', 50), 1500, 'the GA expiry');
    // Through HAProxy the view may come from the instance that did not
    // sweep, which applies the change within a second (as a live map does).
    let view;
    await eventually(async () => {
      view = (await seatMap(c, event.id)).view;
      try { assertMatchesView(l, view, 'after expiry'); return true; } catch { return false; }
    }, { timeoutMs: 1500, what: 'the seat view in the live map\'s state' }).catch(() => {});
    assertMatchesView(l, view, 'after expiry');
  } finally {
    await l.close();
  }
});

test('a burst of concurrent changes: every subscriber (a slow reader too) ends in the seat view\'s state', async () => {
  const { event } = await setupEvent(c);
  const users = await Promise.all(Array.from({ length: 6 }, () => makeUser(c)));
  const fast = await connectLive(srv.base, event.id);
  const slow = await connectLive(srv.base, event.id);
  try {
    await fast.next(isSnapshot, 2000, 'snapshot');
    await slow.next(isSnapshot, 2000, 'snapshot');
    slow.ws._socket.pause();
    const seats = Array.from({ length: 30 }, (_, i) => `A-${Math.floor(i / 10) + 1}-${(i % 10) + 1}`);
    await Promise.all(users.map(async (u, k) => {
      for (let i = k; i < seats.length; i += users.length) {
        const h = await holdOk(u, event.id, { seats: [seats[i]] });
        if (i % 3 === 0) expectStatus(await u.c.del(`/api/v1/holds/${h.id}`), 204);
        else if (i % 3 === 1) expectStatus(await pay(u, h.id), 201);
      }
    }));
    slow.ws._socket.resume();
    const { view } = await seatMap(c, event.id);
    await fast.next((m) => m.version >= view.version, 1000, 'the last change (fast)');
    await slow.next((m) => m.version >= view.version, 2000, 'the last change (slow)');
    for (const l of [fast, slow]) {
      assertMatchesView(l, view, l === fast ? 'fast' : 'slow');
      const vs = l.messages.map((m) => m.msg).filter((m) => isChange(m) || isSnapshot(m)).map((m) => m.version);
      for (let i = 1; i < vs.length; i++) {
        const snap = l.messages.filter((m) => isChange(m.msg) || isSnapshot(m.msg))[i].msg.type === 'snapshot';
        assert.ok(snap ? vs[i] >= vs[i - 1] : vs[i] > vs[i - 1], `versions increase: ${vs}`);
      }
    }
  } finally {
    await fast.close();
    await slow.close();
  }
});

test('live: 404 for an unknown event and for a draft', async () => {
  assert.equal(await upgradeStatus(srv.base, 'evt_doesnotexist00000000'), 404);
  const { event } = await setupEvent(c, { draft: true });
  assert.equal(await upgradeStatus(srv.base, event.id), 404);
});
