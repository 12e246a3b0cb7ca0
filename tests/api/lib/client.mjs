// HTTP client helpers over Node's global fetch (keep-alive by default) and
// raw node:http for the cases fetch hides (compressed bytes, odd bodies).
import http from 'node:http';
import assert from 'node:assert/strict';

/**
 * A client bound to a base URL and optionally a bearer token.
 * req() answers {status, headers, json, text}; json is null when the body is
 * empty or not JSON.
 */
export class Client {
  constructor(base, token = null) {
    this.base = base;
    this.token = token;
  }

  as(token) {
    return new Client(this.base, token);
  }

  async req(method, path, { body, token, headers = {}, raw } = {}) {
    const h = { ...headers };
    const tok = token === undefined ? this.token : token;
    if (tok) h.authorization = `Bearer ${tok}`;
    let payload;
    if (raw !== undefined) {
      payload = raw;
      if (!('content-type' in h)) h['content-type'] = 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const r = await fetch(this.base + path, {
      method, headers: h, body: payload, signal: AbortSignal.timeout(60000),
    });
    const text = await r.text();
    let json = null;
    if (text.length) {
      try { json = JSON.parse(text); } catch { json = null; }
    }
    const hdrs = {};
    r.headers.forEach((v, k) => { hdrs[k] = v; });
    return { status: r.status, headers: hdrs, json, text, method, path };
  }

  get(path, o) { return this.req('GET', path, o); }
  post(path, body, o = {}) { return this.req('POST', path, { ...o, body }); }
  patch(path, body, o = {}) { return this.req('PATCH', path, { ...o, body }); }
  del(path, o) { return this.req('DELETE', path, o); }
}

function describe(res) {
  return `${res.method} ${res.path} -> ${res.status} ${res.text?.slice(0, 600)}`;
}

/** Asserts a status (and returns the parsed body). */
export function expectStatus(res, status) {
  assert.equal(res.status, status, `expected ${status}: ${describe(res)}`);
  return res.json;
}

/** Asserts the error envelope {"error": {code, message, ...}}; returns error. */
export function expectError(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}: ${describe(res)}`);
  assert.ok(res.json && typeof res.json.error === 'object' && res.json.error !== null,
    `expected an error envelope: ${describe(res)}`);
  assert.equal(res.json.error.code, code, `expected code ${code}: ${describe(res)}`);
  assert.equal(typeof res.json.error.message, 'string', `error.message must be a string: ${describe(res)}`);
  assert.ok(res.headers['content-type']?.startsWith('application/json'),
    `error content-type must be JSON: ${describe(res)}`);
  return res.json.error;
}

/**
 * Raw HTTP/1.1 request with node:http (no automatic decompression, no body
 * rewriting). Answers {status, headers, body: Buffer}; rejects on a socket
 * error only when no response arrived.
 */
// holdBodyMs: send the headers first and the body only if no answer came
// within that time, as a client that honours an early final response does
// (a server refusing a too-large Content-Length answers before the body).
export function rawRequest(base, { method = 'GET', path = '/', headers = {}, body, holdBodyMs = 0 } = {}) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, method, path, headers, agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(60000, () => req.destroy(new Error('timeout')));
    let answered = false;
    req.on('response', () => { answered = true; });
    req.on('error', (e) => { if (!answered) reject(e); });
    const send = () => {
      if (answered) return;
      if (body !== undefined) req.write(body, () => {});
      req.end();
    };
    if (holdBodyMs > 0) {
      req.flushHeaders();
      setTimeout(send, holdBodyMs);
    } else {
      send();
    }
  });
}

/** Polls fn until it returns a truthy value or timeoutMs passes. */
export async function eventually(fn, { timeoutMs = 3000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs the async functions with at most n at a time; answers results in order. */
export async function pool(n, items, fn) {
  const out = new Array(items.length);
  let i = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  });
  await Promise.all(workers);
  return out;
}
