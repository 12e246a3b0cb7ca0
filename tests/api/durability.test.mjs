// Which commits the embedded store syncs to disk (TIXIN_SQLITE_SYNC=auto,
// the default): batches of only holds, releases and reads commit without
// an fsync; anything that sells, refunds or checks in is synced before it
// is answered. Read off the server's own counter of synced COMMITs, and
// checked against the database file: what was answered is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { Client, expectStatus } from './lib/client.mjs';
import { makeUser, setupEvent, holdOk, pay } from './lib/fixtures.mjs';

let c;
const srv = useServer('durability', (s) => { c = new Client(s.base); });
const skip = () => (srv.dbKind === 'sqlite' ? false : 'the SQLite backend only (its writer syncs per batch)');

async function syncedCommits() {
  const r = await c.get('/metrics');
  expectStatus(r, 200);
  const m = /^tixin_store_synced_commits_total\s+(\d+)/m.exec(r.text);
  return m ? Number(m[1]) : 0;
}

test('holds and releases commit without a sync; an order and a check-in each sync', async (t) => {
  if (skip()) return t.skip(skip());
  const { owner, event } = await setupEvent(c);
  const buyer = await makeUser(c);
  // the setup itself (accounts, org, venue, event, publish) is durable
  const afterSetup = await syncedCommits();
  assert.ok(afterSetup >= 5, `setup synced ${afterSetup} commits`);

  const h1 = await holdOk(buyer, event.id, { seats: ['A-1-1', 'A-1-2'] });
  expectStatus(await buyer.c.del(`/api/v1/holds/${h1.id}`), 204);
  const h2 = await holdOk(buyer, event.id, { seats: ['A-1-3'] });
  await c.get(`/api/v1/events/${event.id}/seats`);
  assert.equal(await syncedCommits(), afterSetup, 'holds, a release and reads synced nothing');

  const order = expectStatus(await pay(buyer, h2.id), 201);
  const afterOrder = await syncedCommits();
  assert.ok(afterOrder > afterSetup, 'the order was synced before its 201');

  const ticket = order.tickets[0];
  expectStatus(await owner.c.post(`/api/v1/events/${event.id}/checkins`, { code: ticket.code }), 200);
  const afterCheckin = await syncedCommits();
  assert.ok(afterCheckin > afterOrder, 'the check-in was synced');

  // what was answered is in the file, whichever way it was committed
  const rows = srv.sql(`SELECT status FROM event_seats WHERE event_id = '${event.id}' AND seat_id IN ('A-1-1','A-1-2','A-1-3') ORDER BY seat_id`);
  assert.deepEqual(rows.map((r) => r.status), ['free', 'free', 'sold']);
});
