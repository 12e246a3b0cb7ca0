// Helpers shared by the observability tests: free ports, a tiny OTLP/HTTP
// receiver, /metrics parsing, promtool, and polling.
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * An OTLP/HTTP JSON receiver on a loopback port: keeps every span it gets
 * (flattened, with its resource's service.name) in `spans`.
 */
export async function startOtlpReceiver() {
  const rx = { spans: [], requests: 0, bad: [] };
  rx.server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      rx.requests += 1;
      try {
        if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`${req.method} ${req.url}`);
        if (!/^application\/json/.test(req.headers['content-type'] || '')) throw new Error(`content-type ${req.headers['content-type']}`);
        const doc = JSON.parse(body);
        for (const rs of doc.resourceSpans) {
          const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
          for (const ss of rs.scopeSpans) for (const s of ss.spans) rx.spans.push({ ...s, service });
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      } catch (e) {
        rx.bad.push(String(e));
        res.writeHead(400);
        res.end();
      }
    });
  });
  rx.port = await new Promise((resolve) => rx.server.listen(0, '127.0.0.1', () => resolve(rx.server.address().port)));
  rx.url = `http://127.0.0.1:${rx.port}/v1/traces`;
  rx.close = () => new Promise((resolve) => rx.server.close(resolve));
  return rx;
}

/** Parse Prometheus text: [{name, labels: {...}, value}] (no comments). */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of name whose labels include `match`. */
export function sample(samples, name, match = {}) {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

export async function scrape(base) {
  const r = await fetch(`${base}/metrics`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return { text, samples: parseMetrics(text) };
}

/** promtool SUBCOMMAND... with stdin; answers {status, out}. */
export function promtool(args, input) {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn until it returns a truthy value (returned), or throw after timeoutMs. */
export async function until(fn, { timeoutMs = 10000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}
