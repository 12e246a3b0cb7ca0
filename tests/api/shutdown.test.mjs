// Graceful shutdown: SIGTERM drains the requests in flight (they are
// answered and durable), closes live subscribers, and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { useServer, sleep } from './lib/server.mjs';
import { Client, expectStatus } from './lib/client.mjs';
import { connectLive } from './lib/live.mjs';
import { setupEvent, uniqueEmail, PASSWORD } from './lib/fixtures.mjs';

let c;
const srv = useServer('shutdown', (s) => { c = new Client(s.base); });

test('SIGTERM while requests are in flight: every one is answered and committed; subscribers are closed; exit 0', async () => {
  const { event } = await setupEvent(c);
  const live = await connectLive(srv.base, event.id);
  await live.next((m) => m.type === 'snapshot', 2000, 'the snapshot');
  // warm up keep-alive connections so the requests below are sent at once
  await Promise.all(Array.from({ length: 8 }, () => c.get('/healthz')));
  const emails = Array.from({ length: 8 }, () => uniqueEmail('drain'));
  const inflight = emails.map((email) => c.post('/api/v1/users', { email, password: PASSWORD, name: 'Drain' })
    .catch((e) => ({ status: 0, text: String(e.cause || e) })));
  await sleep(30); // requests are read and hashing; none can be finished yet
  srv.proc.kill('SIGTERM');
  const rs = await Promise.all(inflight);
  for (const r of rs) expectStatus({ ...r, method: 'POST', path: '/api/v1/users' }, 201);
  const exit = await srv.stop({ check: false });
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(live.closed, 'the live subscriber was closed by the server');
  const n = execFileSync('sqlite3', [srv.dbPath, `SELECT COUNT(*) FROM users WHERE email IN (${emails.map((e) => `'${e.toLowerCase()}'`).join(',')})`],
    { encoding: 'utf8' }).trim();
  assert.equal(n, String(emails.length), 'every answered sign-up is in the database');
});
