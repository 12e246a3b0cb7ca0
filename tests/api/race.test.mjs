// Many users racing for the same seats and GA tickets, then an audit of the
// database after a clean shutdown (the SQLite file, or the PostgreSQL
// database in PostgreSQL mode: srv.sql() reads either): nothing oversold,
// nothing double-held, every answered order durable, and the seat view
// equal to the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, sleep } from './lib/server.mjs';
import { Client, expectStatus, expectError, pool } from './lib/client.mjs';
import { makeUser, setupEvent, hold, pay, seatMap } from './lib/fixtures.mjs';
import { auditInvariants } from './lib/audit.mjs';

let c;
const srv = useServer('race', (s) => { c = new Client(s.base); });

const N_USERS = 220;
const N_SEAT_RACERS = 200;
const N_GA_RACERS = 20;
const GA_CAPACITY = 5;
const SEATS = Array.from({ length: 60 }, (_, i) => `A-${Math.floor(i / 10) + 1}-${(i % 10) + 1}`);

function pick(n, from) {
  const a = [...from];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

const sql = (query) => srv.sql(query);

test('race for 60 seats by 200 users and for 5 GA tickets by 20; then audit the database', { timeout: 170000 }, async (t) => {
  const { event } = await setupEvent(c, {
    venue: { sections: [{ id: 'A', name: 'Stalls', rows: Array.from({ length: 6 }, (_, i) => ({ id: String(i + 1), seats: 10 })) }] },
    over: {
      prices: [{ section: 'A', price_cents: 2500 }],
      ga_tiers: [{ id: 'ga', name: 'Standing', price_cents: 1000, capacity: GA_CAPACITY }],
      max_tickets_per_order: 4,
    },
  });
  const users = await pool(20, Array.from({ length: N_USERS }), () => makeUser(c));
  assert.equal(new Set(users.map((u) => u.id)).size, N_USERS);

  // what the clients saw
  const orders = new Map();      // order id -> {seats, tier, quantity, status}
  const activeHolds = new Map(); // hold id -> seats (holds left active on purpose)
  const unexpected = [];
  const note = (label, r) => unexpected.push(`${label}: ${r.status} ${r.text.slice(0, 300)}`);

  const payAndRecord = async (u, h, body) => {
    const r = await pay(u, h.id);
    if (r.status !== 201) return note(`pay ${h.id}`, r);
    const o = r.json;
    assert.equal(o.status, 'paid');
    assert.equal(o.tickets.length, body.seats ? body.seats.length : body.quantity);
    orders.set(o.id, { seats: body.seats || [], tier: body.tier, status: 'paid', user: u, tickets: o.tickets });
  };

  // --- round 1: everyone at once, 2 random seats each
  const racers = users.slice(0, N_SEAT_RACERS);
  const wants = racers.map(() => pick(2, SEATS));
  const round1 = await Promise.all(racers.map((u, i) => hold(u, event.id, { seats: wants[i] })));
  const winners = [];
  round1.forEach((r, i) => {
    if (r.status === 201) {
      assert.deepEqual([...r.json.seats].sort(), [...wants[i]].sort());
      winners.push({ u: racers[i], h: r.json, body: { seats: wants[i] }, i });
    } else if (r.status === 409 && r.json?.error?.code === 'seat_unavailable') {
      const taken = r.json.error.seats;
      assert.ok(Array.isArray(taken) && taken.length >= 1 && taken.every((s) => wants[i].includes(s)),
        `seat_unavailable lists some of the requested seats: ${JSON.stringify(taken)} of ${wants[i]}`);
    } else {
      note(`hold ${wants[i]}`, r);
    }
  });
  assert.ok(winners.length >= 10, `${winners.length} winners of round 1`);
  // no seat won twice
  const won = winners.flatMap((w) => w.body.seats);
  assert.equal(new Set(won).size, won.length, 'a seat was held by two holds at once');

  // winners: most pay, some release, some keep the hold, some are declined (hold kept)
  await Promise.all(winners.map(async (w, k) => {
    const kind = k % 10;
    if (kind === 7) {
      expectStatus(await w.u.c.del(`/api/v1/holds/${w.h.id}`), 204);
    } else if (kind === 8) {
      activeHolds.set(w.h.id, w.body.seats);
    } else if (kind === 9) {
      expectError(await pay(w.u, w.h.id, 'tok_declined'), 402, 'payment_declined');
      activeHolds.set(w.h.id, w.body.seats);
    } else {
      await payAndRecord(w.u, w.h, w.body);
    }
  }));
  // refund every third paid order, concurrently with round 2
  const toRefund = [...orders.entries()].filter((_, k) => k % 3 === 0);

  // --- round 2: the losers try again (1 or 2 seats), while refunds run
  const winnerSet = new Set(winners.map((w) => w.i));
  const losers = racers.filter((_, i) => !winnerSet.has(i));
  const round2 = losers.map((u) => ({ u, seats: pick(1 + Math.floor(Math.random() * 2), SEATS) }));
  await Promise.all([
    ...toRefund.map(async ([id, o]) => {
      const r = await o.user.c.post(`/api/v1/orders/${id}/cancel`);
      if (r.status !== 200) return note(`cancel ${id}`, r);
      o.status = 'refunded';
    }),
    ...round2.map(async ({ u, seats }) => {
      const r = await hold(u, event.id, { seats });
      if (r.status === 201) return payAndRecord(u, r.json, { seats });
      if (!(r.status === 409 && r.json?.error?.code === 'seat_unavailable')) note(`hold2 ${seats}`, r);
    }),
  ]);

  // --- GA: 20 users, 1 ticket each, capacity 5
  const gaRacers = users.slice(N_SEAT_RACERS, N_SEAT_RACERS + N_GA_RACERS);
  const ga = await Promise.all(gaRacers.map((u) => hold(u, event.id, { tier: 'ga', quantity: 1 })));
  const gaWins = [];
  ga.forEach((r, i) => {
    if (r.status === 201) gaWins.push({ u: gaRacers[i], h: r.json });
    else if (!(r.status === 409 && r.json?.error?.code === 'sold_out')) note('ga hold', r);
  });
  assert.equal(gaWins.length, GA_CAPACITY, `GA holds granted: ${ga.map((r) => r.status)}`);
  await Promise.all(gaWins.map((w) => payAndRecord(w.u, w.h, { tier: 'ga', quantity: 1 })));
  assert.deepEqual(unexpected, [], 'unexpected answers during the race');

  // --- what the clients know must be what the server shows
  const { view } = await seatMap(c, event.id);
  const viewStatus = new Map(view.seats.map((s) => [s.id, s.status]));
  const sold = new Map();
  for (const [id, o] of orders) {
    if (o.status !== 'paid') continue;
    for (const s of o.seats) {
      assert.ok(!sold.has(s), `seat ${s} sold in two paid orders (${sold.get(s)}, ${id})`);
      sold.set(s, id);
    }
  }
  const held = new Set([...activeHolds.values()].flat());
  for (const s of SEATS) {
    const want = sold.has(s) ? 'sold' : held.has(s) ? 'held' : 'free';
    assert.equal(viewStatus.get(s), want, `seat ${s} in the seat view`);
  }
  assert.equal(view.tiers[0].available, 0);
  const paidGa = [...orders.values()].filter((o) => o.tier === 'ga' && o.status === 'paid').length;
  assert.equal(paidGa, GA_CAPACITY);
  const stats = expectStatus(await c.get(`/api/v1/events/${event.id}`), 200);
  assert.deepEqual(stats.availability, {
    seats_free: SEATS.length - sold.size - held.size, seats_held: held.size, seats_sold: sold.size,
  });

  // --- paying around the moment of expiry (ttl 2 s): each hold is either paid
  // (its seat stays sold) or 409 hold_expired (its seat comes free), never both
  const { event: ev2 } = await setupEvent(c, {
    venue: { sections: [{ id: 'A', name: 'Stalls', rows: Array.from({ length: 3 }, (_, i) => ({ id: String(i + 1), seats: 10 })) }] },
    over: { prices: [{ section: 'A', price_cents: 1500 }], ga_tiers: [], hold_ttl_seconds: 2 },
  });
  const exSeats = SEATS.slice(0, 30);
  const exUsers = users.slice(0, exSeats.length);
  const exHolds = await Promise.all(exUsers.map((u, i) => hold(u, ev2.id, { seats: [exSeats[i]] })));
  exHolds.forEach((r) => expectStatus(r, 201));
  const exResults = await Promise.all(exHolds.map(async (r, i) => {
    const offset = -800 + i * 80; // ms relative to expires_at: -800 .. +1520
    await sleep(Math.max(0, Date.parse(r.json.expires_at) + offset - Date.now()));
    return { seat: exSeats[i], offset, r: await pay(exUsers[i], r.json.id) };
  }));
  const exPaid = new Map();
  for (const { seat, offset, r } of exResults) {
    if (r.status === 201) {
      assert.ok(offset < 1100, `paid ${offset} ms after expires_at (second precision): an expired hold was paid`);
      exPaid.set(seat, r.json.id);
    } else if (r.status === 409 && r.json?.error?.code === 'hold_expired') {
      // expected for late payments
    } else {
      note(`pay at expires_at${offset >= 0 ? '+' : ''}${offset} ms`, r);
    }
  }
  assert.deepEqual(unexpected, [], 'unexpected answers around expiry');
  await sleep(1500); // every hold has expired by now, and the sweeper (<= 250 ms) has run
  const { view: exView } = await seatMap(c, ev2.id);
  for (const s of exView.seats) {
    assert.equal(s.status, exPaid.has(s.id) ? 'sold' : 'free', `seat ${s.id} after the expiry race`);
  }
  t.diagnostic(`expiry race: ${exPaid.size} of ${exSeats.length} paid around their expiry`);

  t.diagnostic(`round 1: ${winners.length} of ${N_SEAT_RACERS} holds granted; orders ${orders.size} `
    + `(${[...orders.values()].filter((o) => o.status === 'refunded').length} refunded); `
    + `seats sold ${sold.size}, held ${held.size}, free ${SEATS.length - sold.size - held.size}`);

  // --- audit the database after a clean shutdown
  // (exit code and sanitizer output are asserted by the suite's after hook)
  await srv.stop({ check: false });
  if (!srv.dbKind) {
    t.diagnostic('database audit skipped: TIXIN_TEST_BASE_URL without TIXIN_TEST_DB_URL');
    return;
  }
  if (srv.dbKind === 'sqlite') assert.deepEqual(sql('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  for (const id of [event.id, ev2.id]) auditInvariants(sql, id);
  const ev = `'${event.id.replace(/'/g, "''")}'`;
  const [counts] = sql(`SELECT
      (SELECT COUNT(*) FROM event_seats WHERE event_id = ${ev} AND status = 'sold') AS sold,
      (SELECT COUNT(*) FROM event_seats WHERE event_id = ${ev} AND status = 'held') AS held,
      (SELECT COUNT(*) FROM tickets WHERE event_id = ${ev} AND status = 'valid' AND seat_id IS NOT NULL) AS valid_seat_tickets,
      (SELECT version FROM events WHERE id = ${ev}) AS version`);
  assert.equal(counts.sold, counts.valid_seat_tickets, 'seats sold = valid seat tickets');
  assert.equal(counts.sold, sold.size);
  assert.equal(counts.held, held.size);
  assert.equal(counts.version, view.version, 'the seat view\'s version is the database\'s');

  const ev2q = `'${ev2.id.replace(/'/g, "''")}'`;
  const ex = new Map(sql(`SELECT es.seat_id, es.status, o.id AS order_id, o.status AS order_status FROM event_seats es
      LEFT JOIN orders o ON o.id = es.order_id WHERE es.event_id = ${ev2q}`).map((r) => [r.seat_id, r]));
  for (const s of exSeats) {
    const row = ex.get(s);
    if (exPaid.has(s)) assert.deepEqual({ ...row }, { seat_id: s, status: 'sold', order_id: exPaid.get(s), order_status: 'paid' });
    else assert.equal(row.status, 'free', `seat ${s} of an expired hold`);
  }
  assert.deepEqual(sql(`SELECT status, COUNT(*) AS n FROM holds WHERE event_id = ${ev2q} AND status NOT IN ('paid', 'expired') GROUP BY status`), [],
    'every hold of the expiry race is paid or expired');
  assert.equal(sql(`SELECT COUNT(*) AS n FROM orders WHERE event_id = ${ev2q}`)[0].n, exPaid.size);

  // every order the clients were given exists with the status they expect, and no other
  const dbOrders = new Map(sql(`SELECT id, status, total_cents FROM orders WHERE event_id = ${ev}`).map((o) => [o.id, o]));
  assert.equal(dbOrders.size, orders.size, 'orders in the database = 201 answers');
  for (const [id, o] of orders) {
    assert.ok(dbOrders.has(id), `order ${id} answered 201 but is not in the database`);
    assert.equal(dbOrders.get(id).status, o.status, `order ${id}`);
  }
  const dbTickets = sql(`SELECT id, order_id, seat_id, tier_id, code, status FROM tickets WHERE event_id = ${ev}`);
  const byId = new Map(dbTickets.map((t) => [t.id, t]));
  for (const [id, o] of orders) {
    for (const t of o.tickets) {
      const d = byId.get(t.id);
      assert.ok(d, `ticket ${t.id} not in the database`);
      assert.equal(d.order_id, id);
      assert.equal(d.code, t.code);
    }
  }
  assert.equal(new Set(dbTickets.map((t) => t.code)).size, dbTickets.length, 'ticket codes are unique');

  // GA within capacity
  const tiers = sql(`SELECT g.tier_id, g.capacity, g.sold, g.held,
      (SELECT COUNT(*) FROM tickets t WHERE t.event_id = g.event_id AND t.tier_id = g.tier_id AND t.status = 'valid') AS valid
      FROM ga_tiers g WHERE g.event_id = ${ev}`);
  assert.equal(tiers.length, 1);
  const [tier] = tiers;
  assert.ok(tier.valid <= tier.capacity, `tier tickets ${tier.valid} > capacity ${tier.capacity}`);
  assert.deepEqual({ valid: tier.valid, sold: tier.sold, held: tier.held }, { valid: GA_CAPACITY, sold: GA_CAPACITY, held: 0 });

  // the seat view before shutdown = the database
  const dbSeats = new Map(sql(`SELECT seat_id, status FROM event_seats WHERE event_id = ${ev}`).map((s) => [s.seat_id, s.status]));
  assert.equal(dbSeats.size, SEATS.length);
  for (const s of SEATS) assert.equal(viewStatus.get(s), dbSeats.get(s), `seat ${s}: view vs database`);
});
