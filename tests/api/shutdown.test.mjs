// Graceful shutdown: SIGTERM drains the requests in flight (they are
// answered and durable), closes live subscribers, and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, sleep, EXTERNAL_SKIP } from './lib/server.mjs';
import { Client, expectStatus, eventually } from './lib/client.mjs';
import { connectLive } from './lib/live.mjs';
import { setupEvent, uniqueEmail, PASSWORD } from './lib/fixtures.mjs';

let c;
const received = (text) => {
  const inFlight = Number(/^http_requests_in_flight (\d+)/m.exec(text)?.[1] ?? 0) - 1;
  const answered = text.split('\n')
    .map((l) => /^http_requests_total\{method="POST",route="\/api\/v1\/users",[^}]*\} (\d+)/.exec(l))
    .filter(Boolean).reduce((n, m) => n + Number(m[1]), 0);
  return inFlight + answered;
};

const srv = useServer('shutdown', (s) => { c = new Client(s.base); });

test('SIGTERM while requests are in flight: every one is answered and committed; subscribers are closed; exit 0', { skip: EXTERNAL_SKIP }, async () => {
  const { event } = await setupEvent(c);
  const live = await connectLive(srv.base, event.id);
  await live.next((m) => m.type === 'snapshot', 2000, 'the snapshot');
  // warm up keep-alive connections so the requests below are sent at once
  await Promise.all(Array.from({ length: 8 }, () => c.get('/healthz')));
  const emails = Array.from({ length: 8 }, () => uniqueEmail('drain'));
  const before = received((await c.get('/metrics')).text);
  const inflight = emails.map((email) => c.post('/api/v1/users', { email, password: PASSWORD, name: 'Drain' })
    .catch((e) => ({ status: 0, text: String(e.cause || e) })));
  // SIGTERM only once the server has read all 8 (hashing passwords; some may
  // be answered already, the rest are in flight): a request still unread in
  // a socket buffer when the server closes its idle connections is the
  // client's to retry, not the server's to drain. Read = answered sign-ups +
  // requests in flight (less the /metrics request itself).
  await eventually(async () => received((await c.get('/metrics')).text) >= before + emails.length,
    { timeoutMs: 5000, intervalMs: 2, what: 'all 8 sign-ups read by the server' });
  srv.proc.kill('SIGTERM');
  const rs = await Promise.all(inflight);
  for (const r of rs) expectStatus({ ...r, method: 'POST', path: '/api/v1/users' }, 201);
  const exit = await srv.stop({ check: false });
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(live.closed, 'the live subscriber was closed by the server');
  const [{ n }] = srv.sql(`SELECT COUNT(*) AS n FROM users WHERE email IN (${emails.map((e) => `'${e.toLowerCase()}'`).join(',')})`);
  assert.equal(n, emails.length, 'every answered sign-up is in the database');
});
