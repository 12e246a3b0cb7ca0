// PostgreSQL and Redis hosts given by name, and a DNS server that stops
// answering: no thread a request waits for may look a name up when it
// reconnects (libpq's and hiredis's getaddrinfo() block). Else every
// request of a loop, also those answered from memory, or every write,
// waits out the resolver's timeout (core/resolve.c, store/pg/hostaddr.c).
//
// The server runs in a mount namespace of its own whose /etc/resolv.conf
// names a DNS server in this test (UDP on 127.0.0.2:53), which answers
// pg.tixin.test and redis.tixin.test with 127.0.0.1 until it is told to
// stall. Then its PostgreSQL sessions are ended (pg_terminate_backend) or
// its Redis is restarted, and it must reconnect. Needs root (port 53,
// unshare -m), redis-server and the suite's TIXIN_TEST_PG_URL
// (tests/suites/20-postgres).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { useServer, EXTERNAL_SKIP, dbQuery } from '../api/lib/server.mjs';
import { Client, expectStatus, eventually } from '../api/lib/client.mjs';
import { makeUser, setupEvent, holdOk, hold } from '../api/lib/fixtures.mjs';

const NAMES = ['pg.tixin.test', 'redis.tixin.test'];
const DNS_IP = '127.0.0.2';
const hasUnshare = (() => { try { execFileSync('unshare', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const skip = EXTERNAL_SKIP || (!process.env.TIXIN_TEST_PG_URL ? 'needs TIXIN_TEST_PG_URL (run by tests/suites/20-postgres)'
  : process.getuid() !== 0 || !hasUnshare ? 'needs root and unshare (a DNS server on port 53, a mount namespace)' : false);

// --- a DNS server that answers one name, or stalls ------------------------

const dns = { mode: 'answer', queries: 0, stalled: 0 };
function dnsAnswer(q) {
  let i = 12;
  const labels = [];
  while (q[i] !== 0) { labels.push(q.subarray(i + 1, i + 1 + q[i]).toString()); i += q[i] + 1; }
  const qtype = q.readUInt16BE(i + 1);
  const question = q.subarray(12, i + 5);
  const known = NAMES.includes(labels.join('.').toLowerCase());
  const a = known && qtype === 1;
  const head = Buffer.alloc(12);
  q.copy(head, 0, 0, 2); // id
  head.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); // response, recursion available; NXDOMAIN for others
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(a ? 1 : 0, 6);
  const answer = a ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1]) : Buffer.alloc(0);
  return Buffer.concat([head, question, answer]);
}
let sock = null;
let resolvConf = null;
if (!skip) {
  sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    dns.queries++;
    if (dns.mode === 'stall') { dns.stalled++; return; }
    try { sock.send(dnsAnswer(msg), rinfo.port, rinfo.address); } catch { /* a malformed query: no answer */ }
  });
  await new Promise((resolve, reject) => { sock.once('error', reject); sock.bind(53, DNS_IP, resolve); });
  resolvConf = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tixin-dns-')), 'resolv.conf');
  // a stalled lookup takes timeout x attempts: 8 s
  fs.writeFileSync(resolvConf, `nameserver ${DNS_IP}\noptions timeout:4 attempts:2\n`);
  after(() => { sock.close(); fs.rmSync(path.dirname(resolvConf), { recursive: true, force: true }); });
}

// --- a Redis of our own, restarted by the second test ------------------------

const redisPort = skip ? 0 : await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
let redis = null;
async function redisStart() {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  redis.exited = new Promise((resolve) => redis.on('exit', resolve));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(redisPort, '127.0.0.1', () => { s.end(); resolve(true); }).on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('redis-server did not start');
}
async function redisKill() {
  redis.kill('SIGKILL');
  await redis.exited;
}
if (!skip) {
  await redisStart();
  after(() => redisKill());
}

let c;
const srv = skip ? null : useServer('pg-dns', (s) => { c = new Client(s.base); }, {
  threads: 1, // one loop: a lookup on it would hold up every request
  wrap: ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolvConf],
  serveDbUrl: (u) => { const url = new URL(u); url.hostname = NAMES[0]; return url.toString(); },
  env: skip ? {} : { TIXIN_REDIS_URL: `redis://${NAMES[1]}:${redisPort}` },
});

const timed = async (fn) => { const t0 = Date.now(); const r = await fn(); return { r, ms: Date.now() - t0 }; };

test('the loops reconnect to PostgreSQL without a DNS lookup: a stalled DNS server holds up no request', { skip, timeout: 60000 }, async () => {
  assert.ok(dns.queries > 0, 'the server looked the names up (it connects through them)');
  await eventually(async () => expectStatus(await c.get('/readyz'), 200).status === 'ready',
    { timeoutMs: 5000, what: 'ready, with Redis up' });
  const { event } = await setupEvent(c);
  const buyer = await makeUser(c);
  await holdOk(buyer, event.id, { seats: ['A-1-1'] });

  dns.mode = 'stall';
  try {
    const db = new URL(srv.dbUrl).pathname.slice(1);
    dbQuery(process.env.TIXIN_TEST_PG_URL,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`);
    // the next writes reconnect (the first may meet the dead session: 503),
    // while reads from memory go on beside them
    const write = timed(async () => {
      for (let i = 0; i < 20; i++) {
        const r = await hold(buyer, event.id, { seats: ['A-1-2'] });
        if (r.status === 201) return r;
        assert.equal(r.status, 503, `a hold while reconnecting: ${r.status} ${JSON.stringify(r.body)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('no hold went through');
    });
    const reads = [];
    for (let i = 0; i < 10; i++) {
      reads.push(timed(() => c.get(`/api/v1/events/${event.id}/seats?view=compact`)));
      reads.push(timed(() => c.get('/healthz')));
      await new Promise((res) => setTimeout(res, 50));
    }
    for (const { r, ms } of await Promise.all(reads)) {
      expectStatus(r, 200);
      assert.ok(ms < 1500, `a read took ${ms} ms while PostgreSQL reconnected with DNS stalled`);
    }
    const w = await write;
    assert.ok(w.ms < 4000, `the hold took ${w.ms} ms to go through (a lookup would take 8 s)`);
  } finally {
    dns.mode = 'answer';
  }
  expectStatus(await c.get('/readyz'), 200);
});

test('Redis restarted while DNS stalls: writes never wait for a lookup, and Redis is back without one', { skip, timeout: 60000 }, async () => {
  const { event } = await setupEvent(c);
  const buyer = await makeUser(c);
  await holdOk(buyer, event.id, { seats: ['A-1-1'] });
  dns.mode = 'stall';
  try {
    await redisKill();
    // the publishers find their connections gone and reconnect at the next writes
    for (const seat of ['A-1-2', 'A-1-3']) {
      const { r, ms } = await timed(() => hold(buyer, event.id, { seats: [seat] }));
      expectStatus(r, 201);
      assert.ok(ms < 4000, `a hold with Redis down took ${ms} ms (a lookup would take 8 s)`);
    }
    await redisStart();
    await eventually(async () => expectStatus(await c.get('/readyz'), 200).status === 'ready',
      { timeoutMs: 8000, what: 'Redis up again, with DNS still stalled' });
    const { r, ms } = await timed(() => hold(buyer, event.id, { seats: ['A-1-4'] }));
    expectStatus(r, 201);
    assert.ok(ms < 4000, `a hold after Redis came back took ${ms} ms`);
  } finally {
    dns.mode = 'answer';
  }
});
