// Behind HAProxy an instance must not close idle connections on its own
// timer: HAProxy reuses its pooled connections (http-reuse always), and a
// request sent on one as tixin closes it is lost (the client sees the
// connection closed or a 502). scripts/cluster starts the instances with
// TIXIN_IDLE_TIMEOUT=3600 (deploy/haproxy/haproxy.cfg says why); here a
// connection to an instance stays usable after 11 s idle, past tixin's
// default of 10 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { A } from './lib/cluster.mjs';
import { sleep } from '../api/lib/server.mjs';

// send a keep-alive GET /healthz on s and wait for its answer
function ask(s) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d;
      if (/\r\n\r\n[\s\S]*"ok"/.test(buf)) { s.off('data', onData); resolve(buf); }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error('closed by the instance')));
    s.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
  });
}

test('an instance keeps an idle keep-alive connection past 10 s (HAProxy reuses them)', { timeout: 30000 }, async () => {
  const u = new URL(A);
  const s = net.connect(Number(u.port), u.hostname);
  await new Promise((res, rej) => { s.once('connect', res); s.once('error', rej); });
  let closedAt = null;
  s.on('close', () => { closedAt = Date.now(); });
  assert.match(await ask(s), /^HTTP\/1\.1 200/);
  const idleFrom = Date.now();
  await sleep(11000);
  assert.equal(closedAt, null, `the instance closed the connection after ${closedAt - idleFrom} ms idle`);
  assert.match(await ask(s), /^HTTP\/1\.1 200/);
  s.destroy();
});
