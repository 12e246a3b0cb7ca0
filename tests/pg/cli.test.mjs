// `tixin migrate` and `tixin demo` on a PostgreSQL URL: migrate names each
// migration once and is a no-op the second time; demo seeds the demo data
// (running it again changes nothing); demo --profile bench writes its seed
// file with events and working tokens; serve then answers from that data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, dbQuery, TixinServer, EXTERNAL_SKIP } from '../api/lib/server.mjs';
import { Client, expectStatus } from '../api/lib/client.mjs';

const ADMIN = process.env.TIXIN_TEST_PG_URL;
const skip = EXTERNAL_SKIP || (!ADMIN ? 'needs TIXIN_TEST_PG_URL (PostgreSQL mode)' : false);

function freshDatabase(t) {
  const name = `tixin_t_${crypto.randomBytes(6).toString('hex')}`;
  const psql = (sql) => execFileSync('psql', [ADMIN, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
  psql(`CREATE DATABASE ${name}`);
  t.after(() => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  return u.toString();
}

const tixin = (...args) => execFileSync(BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('migrate: every migration once, then nothing to do', { skip }, (t) => {
  const url = freshDatabase(t);
  const first = tixin('migrate', '--database', url);
  const applied = first.split('\n').filter((l) => l.startsWith('applied '));
  assert.ok(applied.length >= 3, first);
  assert.match(first, /is up to date/);
  const rows = dbQuery(url, 'SELECT version, name FROM schema_migrations ORDER BY version');
  assert.deepEqual(rows.map((r) => `applied ${r.name}`), applied);
  const second = tixin('migrate', '--database', url);
  assert.doesNotMatch(second, /^applied /m);
});

test('demo on PostgreSQL: the demo data once; bench profile writes a usable seed file; serve answers from it', { skip, timeout: 120000 }, async (t) => {
  const url = freshDatabase(t);
  tixin('demo', '--database', url);
  const count = () => dbQuery(url, `SELECT (SELECT COUNT(*) FROM users) AS users,
      (SELECT COUNT(*) FROM events WHERE status = 'published') AS events`)[0];
  const once = count();
  assert.ok(once.users >= 2 && once.events >= 3, JSON.stringify(once));
  tixin('demo', '--database', url);
  assert.deepEqual(count(), once, 'a second demo run changes nothing');

  const out = path.join(os.tmpdir(), `tixin-pg-seed-${process.pid}.json`);
  t.after(() => fs.rmSync(out, { force: true }));
  tixin('demo', '--profile', 'bench', '--database', url, '--out', out);
  const seed = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(seed.events.length, 10);
  assert.equal(seed.tokens.length, 500);

  const srv = new TixinServer('pg-cli-serve', { dbUrl: url });
  await srv.start();
  let ok = false;
  try {
    const c = new Client(srv.base, seed.tokens[0]);
    const ev = expectStatus(await c.get(`/api/v1/events/${seed.events[0]}`), 200);
    assert.equal(ev.availability.seats_free, 10000);
    expectStatus(await c.post(`/api/v1/events/${seed.events[0]}/holds`, { seats: ['A-1-1'] }), 201);
    await srv.stop();
    ok = true;
  } finally {
    srv.cleanup(ok);
  }
});
