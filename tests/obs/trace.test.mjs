// Tracing against the real binary and a real OTLP/HTTP JSON receiver (a
// node http server started here). TIXIN_TRACE_SAMPLE=0 makes sampling
// depend only on the traceparent the test sends, so every assertion is
// deterministic: a sampled parent is honoured (server span under it, store
// span under the server span), an unsampled one is not recorded but still
// propagated, and the access log carries the trace id.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useServer, TixinServer } from '../api/lib/server.mjs';
import { Client, expectStatus } from '../api/lib/client.mjs';
import { setupEvent, makeUser } from '../api/lib/fixtures.mjs';
import { startOtlpReceiver, scrape, sample, until, sleep, freePort } from './lib/obs.mjs';

const rx = await startOtlpReceiver();
after(() => rx.close());
process.env.TIXIN_OTLP_ENDPOINT = rx.url;
process.env.TIXIN_TRACE_SAMPLE = '0';

let c;
const srv = useServer('obs-trace', (s) => { c = new Client(s.base); });

const hexId = (bytes) => crypto.randomBytes(bytes).toString('hex');
const spansOf = (traceId) => rx.spans.filter((s) => s.traceId === traceId);
const BigNs = (s) => BigInt(s);

/** Log lines (JSON) the server wrote for requests, once flushed. */
async function accessLine(requestId) {
  return until(() => srv.output().split('\n').filter((l) => l.includes(`"request_id":"${requestId}"`))
    .map((l) => JSON.parse(l)).find((l) => l.msg === 'request'), { what: `access line of ${requestId}` });
}

test('a sampled traceparent on a hold: server span under it, store span under the server span', async () => {
  const { event } = await setupEvent(c);
  const buyer = await makeUser(c);
  const traceId = hexId(16), parent = hexId(8);
  const r = await buyer.c.post(`/api/v1/events/${event.id}/holds`, { seats: ['A-1-1'] },
    { headers: { traceparent: `00-${traceId}-${parent}-01` } });
  expectStatus(r, 201);

  const spans = await until(() => {
    const s = spansOf(traceId);
    return s.length >= 2 && s;
  }, { what: 'two spans of the trace at the receiver' });
  assert.equal(spans.length, 2, JSON.stringify(spans, null, 1));
  const server = spans.find((s) => s.kind === 2);
  const store = spans.find((s) => s.kind === 3);
  assert.ok(server && store, JSON.stringify(spans, null, 1));
  assert.equal(server.service, 'tixin');
  assert.equal(server.parentSpanId, parent, 'the server span is a child of the caller\'s span');
  assert.equal(server.name, 'POST /api/v1/events/{id}/holds');
  const attr = (s, k) => s.attributes.find((a) => a.key === k)?.value;
  assert.equal(attr(server, 'http.route').stringValue, '/api/v1/events/{id}/holds');
  assert.equal(attr(server, 'http.response.status_code').intValue, '201');
  assert.match(server.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(server.spanId, parent);

  assert.equal(store.parentSpanId, server.spanId, 'the store span is a child of the server span');
  assert.equal(store.name, 'store hold_create');
  assert.equal(attr(store, 'db.operation').stringValue, 'hold_create');
  assert.ok(BigNs(store.startTimeUnixNano) >= BigNs(server.startTimeUnixNano), 'store span starts inside the server span');
  assert.ok(BigNs(store.endTimeUnixNano) <= BigNs(server.endTimeUnixNano), 'store span ends inside the server span');
  assert.ok(Math.abs(Number(BigNs(server.startTimeUnixNano) / 1000000n) - Date.now()) < 60000, 'unix-epoch nanoseconds');

  // propagated: the response names the trace and the server span
  assert.equal(r.headers.traceresponse, `00-${traceId}-${server.spanId}-01`);
  const line = await accessLine(r.headers['x-request-id']);
  assert.equal(line.trace_id, traceId);
});

test('an unsampled traceparent is propagated and logged but not exported', async () => {
  const traceId = hexId(16);
  const r = await c.get('/api/v1/events', { headers: { traceparent: `00-${traceId}-${hexId(8)}-00` } });
  expectStatus(r, 200);
  assert.match(r.headers.traceresponse, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  const line = await accessLine(r.headers['x-request-id']);
  assert.equal(line.trace_id, traceId);
  await sleep(1500); // longer than the exporter's flush period
  assert.equal(spansOf(traceId).length, 0);
});

test('an invalid traceparent starts a new trace (and sampling 0 records nothing)', async () => {
  for (const bad of [`00-${'0'.repeat(32)}-${hexId(8)}-01`, `00-${hexId(16).toUpperCase()}-${hexId(8)}-01`,
    `ff-${hexId(16)}-${hexId(8)}-01`, `00-${hexId(16)}-${hexId(8)}-01-extra`, 'garbage']) {
    const r = await c.get('/healthz', { headers: { traceparent: bad } });
    expectStatus(r, 200);
    const m = /^00-([0-9a-f]{32})-[0-9a-f]{16}-00$/.exec(r.headers.traceresponse);
    assert.ok(m, `traceresponse ${r.headers.traceresponse} for ${bad}`);
    assert.ok(!bad.toLowerCase().includes(m[1]), `trace id of invalid ${bad} was reused`);
  }
});

test('exported spans are counted in /metrics', async () => {
  const { samples } = await scrape(srv.base);
  assert.ok(sample(samples, 'tixin_trace_spans_exported_total') >= 2);
  assert.equal(sample(samples, 'tixin_trace_export_failures_total'), 0);
  assert.deepEqual(rx.bad, []);
});

test('TIXIN_TRACE_SAMPLE=1 traces parentless requests; a dead collector costs requests nothing and is counted', async () => {
  const deadPort = await freePort(); // nothing listens there
  process.env.TIXIN_OTLP_ENDPOINT = `http://127.0.0.1:${deadPort}/v1/traces`;
  process.env.TIXIN_TRACE_SAMPLE = '1';
  const s2 = new TixinServer('obs-trace-dead');
  let ok = false;
  try {
    await s2.start();
    const c2 = new Client(s2.base);
    for (let i = 0; i < 20; i++) {
      const r = await c2.get('/api/v1/events');
      expectStatus(r, 200);
      assert.match(r.headers.traceresponse, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'sampled without a parent');
    }
    const m = await until(async () => {
      const { samples } = await scrape(s2.base);
      return sample(samples, 'tixin_trace_export_failures_total') >= 1 && samples;
    }, { what: 'a failed export to be counted' });
    assert.ok(sample(m, 'tixin_trace_spans_dropped_total') >= 20);
    assert.equal(sample(m, 'tixin_trace_spans_exported_total'), 0);
    await s2.stop();
    ok = true;
  } finally {
    s2.cleanup(ok);
    process.env.TIXIN_OTLP_ENDPOINT = rx.url;
    process.env.TIXIN_TRACE_SAMPLE = '0';
  }
});
