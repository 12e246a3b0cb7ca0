// The API suite's race test (tests/api/race.test.mjs: 200 users racing for
// 60 seats, 20 for 5 GA tickets, payments around expiry, then the database
// audit), run through HAProxy so that its clients are spread over both
// instances: HAProxy balances signed-in users by their token and anonymous
// reads round robin. The audit reads the PostgreSQL database
// (TIXIN_TEST_DB_URL). Before and after, HAProxy's counters prove that both
// instances took a real share of the race. tests/suites/30-cluster sets
// TIXIN_TEST_BASE_URL and TIXIN_TEST_DB_URL (read by tests/api/lib/server.mjs
// when it loads, so they cannot be set from here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, env, haproxyServers, servedSince } from './lib/cluster.mjs';

assert.equal(process.env.TIXIN_TEST_BASE_URL, BASE, 'TIXIN_TEST_BASE_URL must be the cluster\'s HAProxy URL');
assert.equal(process.env.TIXIN_TEST_DB_URL, env.PG_URL, 'TIXIN_TEST_DB_URL must be the cluster\'s database');

let before;
test('HAProxy counters before the race', async () => {
  before = await haproxyServers();
  assert.deepEqual(Object.keys(before).sort(), ['tixin1', 'tixin2']);
});

await import('../api/race.test.mjs');

test('both instances served the race', async (t) => {
  const served = servedSince(before, await haproxyServers());
  const total = served.tixin1 + served.tixin2;
  t.diagnostic(`requests during the race: ${JSON.stringify(served)}`);
  assert.ok(total >= 500, `${total} requests`);
  for (const [name, n] of Object.entries(served)) assert.ok(n >= total * 0.25, `${name} served ${n} of ${total}`);
});
