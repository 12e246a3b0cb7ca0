// The listening sockets (src/http/server.c): every worker loop has its own
// socket on the address (SO_REUSEPORT), so new connections are spread over
// the loops by the kernel instead of going to whichever loop woke first;
// and a second tixin on a port in use still fails instead of joining the
// group and taking part of the connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { useServer, BIN, EXTERNAL_SKIP } from './lib/server.mjs';
import { eventually } from './lib/client.mjs';

const srv = useServer('listen', () => {}, { threads: 2, env: { TIXIN_ACCESS_LOG: 'all' } });

/* One request on a new connection, left open until all are answered (so
 * that every connection is a new accept). */
function connectAndAsk(port, id) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.setEncoding('latin1');
    sock.on('error', reject);
    sock.on('connect', () => sock.write(`GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: ${id}\r\n\r\n`));
    sock.on('data', (d) => {
      got += d;
      if (/\r\n\r\n[\s\S]*\}/.test(got)) resolve(sock);
    });
  });
}

test('new connections are spread over the worker loops', { skip: EXTERNAL_SKIP }, async () => {
  const n = 64;
  const tag = `spread-${Date.now()}`;
  const socks = [];
  for (let i = 0; i < n; i++) socks.push(await connectAndAsk(srv.port, `${tag}-${i}`));
  for (const s of socks) s.destroy();
  // The access log names the loop that answered (flushed every 200 ms).
  let lines = [];
  await eventually(() => {
    lines = srv.output().split('\n').filter((l) => l.includes(`"request_id":"${tag}-`)).map((l) => JSON.parse(l));
    return lines.length === n;
  }, { timeoutMs: 5000, what: `${n} access-log lines` });
  const per = [0, 0];
  for (const l of lines) per[l.worker] += 1;
  // A fair split of 64 is 32 each; under 16 on one loop has a chance of
  // about 1 in 40,000 when the kernel spreads them at random.
  assert.ok(per[0] >= 16 && per[1] >= 16, `connections per loop: ${per.join(' / ')}`);
});

test('a second tixin on the same port fails with "address in use"; the first keeps serving', { skip: EXTERNAL_SKIP }, async () => {
  const db = path.join(srv.dir, 'second.db');
  const p = spawn(BIN, ['serve', '--listen', `127.0.0.1:${srv.port}`, '--database', `sqlite:${db}`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 10000);
    p.on('exit', (c, sig) => { clearTimeout(t); resolve(c ?? sig); });
  });
  assert.notEqual(code, 0, `the second server exited with ${code}:\n${out}`);
  assert.notEqual(code, 'SIGKILL', `the second server kept running on a port in use:\n${out}`);
  assert.match(out, /cannot listen on 127\.0\.0\.1:\d+: Address already in use/);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
  // every new connection still reaches the first server
  for (let i = 0; i < 8; i++) {
    const s = await connectAndAsk(srv.port, `after-${i}`);
    s.destroy();
  }
});

test('--listen 127.0.0.1:0 logs the port it picked, and every connection reaches a loop there', { skip: EXTERNAL_SKIP }, async () => {
  const db = path.join(srv.dir, 'port0.db');
  const p = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--database', `sqlite:${db}`, '--threads', '2'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => p.on('exit', (c, sig) => resolve(c ?? sig)));
  try {
    const url = await eventually(() => /"msg":"listening","url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out)?.[1],
      { timeoutMs: 10000, what: 'the listening line' });
    const port = Number(url);
    assert.ok(port > 0, `listening on port ${url}`);
    for (let i = 0; i < 16; i++) (await connectAndAsk(port, `port0-${i}`)).destroy();
  } finally {
    p.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
});
