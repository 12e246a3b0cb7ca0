// Requests through HAProxy are spread over both instances: new connections
// round robin (X-Served-By names the instance, set by HAProxy), a
// signed-in user stays on one instance (stick table on Authorization), and
// the API suite that ran before this file (tests/suites/30-cluster saves
// HAProxy's counters around it in $TIXIN_CLUSTER_API_STATS) was served by
// both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { rawRequest } from '../api/lib/client.mjs';
import { makeUser } from '../api/lib/fixtures.mjs';
import { BASE, clients } from './lib/cluster.mjs';

test('anonymous requests on new connections alternate between the instances', async () => {
  const seen = new Map();
  for (let i = 0; i < 40; i++) {
    const r = await rawRequest(BASE, { path: '/api/v1/events' }); // a connection each
    assert.equal(r.status, 200);
    seen.set(r.headers['x-served-by'], (seen.get(r.headers['x-served-by']) || 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), ['tixin1', 'tixin2']);
  for (const n of seen.values()) assert.ok(n >= 10, JSON.stringify([...seen]));
});

test('signed-in users are spread over both instances, each user on one', async () => {
  const users = await Promise.all(Array.from({ length: 16 }, () => makeUser(clients.base)));
  const home = new Set();
  for (const u of users) {
    const served = new Set();
    for (let i = 0; i < 4; i++) { // a connection each: only the token can keep the user on one instance
      const r = await rawRequest(BASE, { path: '/api/v1/me', headers: { authorization: `Bearer ${u.token}` } });
      assert.equal(r.status, 200);
      served.add(r.headers['x-served-by']);
    }
    assert.equal(served.size, 1, `user ${u.email} went to ${[...served]}`);
    home.add([...served][0]);
  }
  assert.deepEqual([...home].sort(), ['tixin1', 'tixin2']);
});

test('the API suite run through HAProxy was served by both instances', { skip: !process.env.TIXIN_CLUSTER_API_STATS && 'run alone' }, (t) => {
  const served = JSON.parse(fs.readFileSync(process.env.TIXIN_CLUSTER_API_STATS, 'utf8'));
  const total = served.tixin1 + served.tixin2;
  t.diagnostic(`API suite requests per instance: ${JSON.stringify(served)}`);
  assert.ok(total > 1000, `${total} requests`);
  for (const [name, n] of Object.entries(served)) assert.ok(n >= total * 0.2, `${name} served ${n} of ${total}`);
});
