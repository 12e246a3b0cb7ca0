// Schema upgrades of the embedded store keep what is in it: a database
// written by the 0001+0002 schema (an active hold with its seats, a paid
// order, a signed-in user) is migrated by `tixin migrate` (0003 rebuilds
// event_seats, holds and sessions and drops hold_seats, with foreign keys
// checked before it commits), then served: the session still signs in, the
// seat map shows the same seats held and sold, and the old hold is released
// through event_seats.hold_id alone. SQLite only.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { TixinServer, ROOT, BIN, EXTERNAL_SKIP } from './lib/server.mjs';
import { Client, expectStatus } from './lib/client.mjs';
import { seatMap } from './lib/fixtures.mjs';

const SKIP = EXTERNAL_SKIP || (process.env.TIXIN_TEST_PG_URL ? 'the SQLite schema only' : false);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tixin-migrate-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const sqlite = (db, sql) => execFileSync('sqlite3', ['-bail', db], { input: sql, encoding: 'utf8', stdio: 'pipe' });
const rows = (db, sql) => {
  const out = execFileSync('sqlite3', ['-json', '-readonly', db, sql], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
};
const migration = (name) => fs.readFileSync(path.join(ROOT, 'src/store/migrations', name), 'utf8');

const TOKEN = 'migrate-test-token';
const NOW = Date.now();
const LAYOUT = [{ id: 'A', name: 'Stalls', rows: [{ id: '1', seats: 4 }] }];

// The 0001+0002 schema, as `tixin migrate` of that time left it, with data.
function oldDatabase(db) {
  const hash = crypto.createHash('sha256').update(TOKEN).digest('hex');
  const seats = [0, 1, 2, 3].map((i) => `('evt_1', ${i}, 'A-1-${i + 1}', 2500, '${['held', 'held', 'sold', 'free'][i]}',
    ${i < 2 ? "'hld_active'" : 'NULL'}, ${i === 2 ? "'ord_1'" : 'NULL'})`).join(',\n');
  sqlite(db, `PRAGMA foreign_keys=ON;
${migration('0001_init.sql')}
${migration('0002_event_seats_without_rowid.sql')}
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
INSERT INTO schema_migrations VALUES (1, '0001_init', ${NOW}), (2, '0002_event_seats_without_rowid', ${NOW});
INSERT INTO users VALUES ('usr_1', 'old@example.test', 'Old User', 'x', ${NOW});
INSERT INTO sessions VALUES ('${hash}', 'usr_1', ${NOW}, NULL);
INSERT INTO organizations VALUES ('org_1', 'Old Org', ${NOW});
INSERT INTO org_members VALUES ('org_1', 'usr_1', 'owner', ${NOW});
INSERT INTO venues VALUES ('ven_1', 'org_1', 'Hall', 'Lisbon', 'Rua 1', 'Europe/Lisbon', '${JSON.stringify(LAYOUT)}', 4, ${NOW});
INSERT INTO venue_seats VALUES ('ven_1', 0, 'A-1-1', 'A', '1', 1), ('ven_1', 1, 'A-1-2', 'A', '1', 2),
  ('ven_1', 2, 'A-1-3', 'A', '1', 3), ('ven_1', 3, 'A-1-4', 'A', '1', 4);
INSERT INTO events (id, org_id, venue_id, title, starts_at, sale_starts_at, currency, status, created_at, published_at)
  VALUES ('evt_1', 'org_1', 'ven_1', 'Old Event', ${NOW + 30 * 86400e3}, ${NOW - 86400e3}, 'EUR', 'published', ${NOW}, ${NOW});
INSERT INTO event_prices VALUES ('evt_1', 'A', 2500);
INSERT INTO holds VALUES ('hld_active', 'evt_1', 'usr_1', NULL, 2, 5000, 'EUR', 'active', ${NOW}, ${NOW + 3600e3}),
  ('hld_paid', 'evt_1', 'usr_1', NULL, 1, 2500, 'EUR', 'paid', ${NOW}, ${NOW + 3600e3});
INSERT INTO hold_seats VALUES ('hld_active', 0, 'A-1-1', 2500), ('hld_active', 1, 'A-1-2', 2500), ('hld_paid', 2, 'A-1-3', 2500);
INSERT INTO orders VALUES ('ord_1', 'usr_1', 'evt_1', 'hld_paid', 'paid', 2500, 'EUR', 'test:1', ${NOW}, NULL);
INSERT INTO tickets VALUES ('tkt_1', 'ord_1', 'evt_1', 'A-1-3', NULL, 2500, 'CODE1', 'valid', NULL);
INSERT INTO event_seats (event_id, ord, seat_id, price_cents, status, hold_id, order_id) VALUES ${seats};
`);
}

test('0003 keeps holds, orders, sessions and seats; the old hold is released through event_seats', { skip: SKIP }, async () => {
  const db = path.join(dir, 'old.db');
  oldDatabase(db);
  const out = execFileSync(BIN, ['migrate', '--database', `sqlite:${db}`], { encoding: 'utf8' });
  assert.match(out, /applied 0003_/);
  assert.deepEqual(rows(db, 'PRAGMA foreign_key_check'), []);
  assert.deepEqual(rows(db, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  assert.deepEqual(rows(db, "SELECT name FROM sqlite_schema WHERE name = 'hold_seats'"), []);
  assert.deepEqual(rows(db, 'SELECT ord, status, hold_id, order_id FROM event_seats ORDER BY ord'), [
    { ord: 0, status: 'held', hold_id: 'hld_active', order_id: null },
    { ord: 1, status: 'held', hold_id: 'hld_active', order_id: null },
    { ord: 2, status: 'sold', hold_id: null, order_id: 'ord_1' },
    { ord: 3, status: 'free', hold_id: null, order_id: null },
  ]);
  assert.deepEqual(rows(db, 'SELECT id, status FROM holds ORDER BY id'),
    [{ id: 'hld_active', status: 'active' }, { id: 'hld_paid', status: 'paid' }]);
  // the rebuilt tables keep their rules
  assert.throws(() => sqlite(db, "UPDATE holds SET status = 'lost' WHERE id = 'hld_paid'"), /CHECK constraint failed/);
  assert.throws(() => sqlite(db, "UPDATE event_seats SET status = 'free' WHERE ord = 0"), /CHECK constraint failed/);

  const srv = new TixinServer('migrate', { dbUrl: `sqlite:${db}` });
  let ok = false;
  try {
    await srv.start();
    const c = new Client(srv.base, TOKEN);
    assert.equal(expectStatus(await c.get('/api/v1/me'), 200).id, 'usr_1');
    const { byId } = await seatMap(c, 'evt_1');
    assert.deepEqual(Object.fromEntries([...byId].map(([id, s]) => [id, s.status])),
      { 'A-1-1': 'held', 'A-1-2': 'held', 'A-1-3': 'sold', 'A-1-4': 'free' });
    expectStatus(await c.req('DELETE', '/api/v1/holds/hld_active'), 204);
    await srv.stop();
    ok = true;
  } finally {
    srv.cleanup(ok);
  }
  assert.deepEqual(rows(db, "SELECT ord FROM event_seats WHERE status = 'free' ORDER BY ord"), [{ ord: 0 }, { ord: 1 }, { ord: 3 }]);
  assert.deepEqual(rows(db, "SELECT status FROM holds WHERE id = 'hld_active'"), [{ status: 'released' }]);
});
