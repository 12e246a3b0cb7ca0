// The keep-alive idle limit (--idle-timeout, TIXIN_IDLE_TIMEOUT): an idle
// connection is closed once it has been idle that long, not before; the
// default (10 s) is covered by the cluster test of the opposite case
// (tests/cluster/idle.test.mjs: behind HAProxy, instances keep idle
// connections far longer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { useServer, EXTERNAL_SKIP } from './lib/server.mjs';

const skip = EXTERNAL_SKIP;
const srv = skip ? null : useServer('idle', null, { env: { TIXIN_IDLE_TIMEOUT: '1' } });

// one keep-alive request on a raw socket; resolves with the socket and a
// promise of the moment (ms after the answer) the server closes it
function requestThenIdle(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.on('error', reject);
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n'));
    s.on('data', (d) => {
      buf += d;
      if (/\r\n\r\n[\s\S]*"ok"/.test(buf)) {
        const answered = Date.now();
        const closed = new Promise((res) => s.on('close', () => res(Date.now() - answered)));
        resolve({ s, head: buf, closed });
      }
    });
  });
}

test('an idle keep-alive connection is closed after TIXIN_IDLE_TIMEOUT, not before', { skip, timeout: 10000 }, async () => {
  const { s, head, closed } = await requestThenIdle(srv.port);
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.doesNotMatch(head, /connection: close/i, 'the answer keeps the connection open');
  const after = await closed;
  s.destroy();
  assert.ok(after >= 800, `closed ${after} ms after the answer, before the 1 s limit`);
  assert.ok(after <= 3500, `closed ${after} ms after the answer, long after the 1 s limit`);
});
