// PostgreSQL going away and coming back under a running tixin: while the
// server is down /readyz is 503 and writes are 503 unavailable (never a
// hang, never a false success); once it is back tixin reconnects by itself
// (no restart): /readyz 200, sign-ups, holds and payments work, and the
// hold expiry sweeper works again. Needs the suite's TIXIN_TEST_PG_CTL
// (tests/suites/20-postgres), which stops and starts that server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { useServer, EXTERNAL_SKIP } from '../api/lib/server.mjs';
import { Client, expectStatus, expectError, eventually } from '../api/lib/client.mjs';
import { makeUser, setupEvent, holdOk, pay, seatStatus, uniqueEmail, PASSWORD } from '../api/lib/fixtures.mjs';

const CTL = process.env.TIXIN_TEST_PG_CTL;
const skip = EXTERNAL_SKIP || (!CTL || !process.env.TIXIN_TEST_PG_URL
  ? 'needs TIXIN_TEST_PG_URL and TIXIN_TEST_PG_CTL (run by tests/suites/20-postgres)' : false);

let c;
const srv = skip ? null : useServer('pg-reconnect', (s) => { c = new Client(s.base); });
const pgctl = (what) => execFileSync(CTL, [what], { stdio: 'ignore' });
const readyz = async () => (await c.get('/readyz')).status;

test('PostgreSQL down: /readyz 503, writes 503; back: tixin recovers without a restart', { skip, timeout: 90000 }, async () => {
  const { event } = await setupEvent(c, { over: { hold_ttl_seconds: 2 } });
  const buyer = await makeUser(c);
  assert.equal(await readyz(), 200);

  pgctl('stop');
  try {
    await eventually(async () => (await readyz()) === 503, { timeoutMs: 5000, what: '/readyz 503 while PostgreSQL is down' });
    const t0 = Date.now();
    expectError(await c.post('/api/v1/users', { email: uniqueEmail('down'), password: PASSWORD, name: 'Down' }), 503, 'unavailable');
    expectError(await buyer.c.post(`/api/v1/events/${event.id}/holds`, { seats: ['A-1-1'] }), 503, 'unavailable');
    assert.ok(Date.now() - t0 < 5000, 'writes fail fast while the database is down');
    // public reads from memory still answer
    expectStatus(await c.get(`/api/v1/events/${event.id}/seats?view=compact`), 200);
  } finally {
    pgctl('start');
  }

  await eventually(async () => (await readyz()) === 200, { timeoutMs: 10000, what: '/readyz 200 after PostgreSQL is back' });
  const again = await makeUser(c);
  expectStatus(await again.c.get('/api/v1/me'), 200);
  const h = await holdOk(buyer, event.id, { seats: ['A-1-1'] });
  expectStatus(await pay(buyer, h.id), 201);
  assert.equal(await seatStatus(c, event.id, 'A-1-1'), 'sold');
  // the sweeper reconnected too: a 2 s hold is expired without a request
  await holdOk(again, event.id, { seats: ['A-1-2'] });
  assert.equal(await seatStatus(c, event.id, 'A-1-2'), 'held');
  await eventually(async () => (await seatStatus(c, event.id, 'A-1-2')) === 'free',
    { timeoutMs: 6000, what: 'the hold taken after the restart expires' });
});
