// The web root as served by src/http/static.c, against a web root made for
// the test (plus a file outside it, a symlink and a dot file): content
// types, versioned (immutable) and unversioned (no-cache) caching, the
// import map and its CSP hash, gzip, ETag/304, HEAD, the client-route
// fallback, path traversal, and the API routes untouched. Also a static
// check of the real web/: every module import names a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { BIN, ROOT, useServer } from '../api/lib/server.mjs';
import { expectError, rawRequest } from '../api/lib/client.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tixin-webroot-'));
const web = path.join(tmp, 'web');
const BIG_CSS = `body { color: #123456; }\n${'.rule-x { margin: 0 auto; padding: 1px 2px; }\n'.repeat(200)}`;
const FILES = {
  'index.html': '<!doctype html><html><head><link rel="stylesheet" href="/css/big.css?v"><!--tixin:importmap-->'
    + '<script type="module" src="/js/a.js?v"></script></head><body><a href="/nope.css?v">x</a></body></html>',
  'js/a.js': "import { b } from './b.js';\nconsole.log(b);\n",
  'js/b.js': 'export const b = 1;\n',
  'css/big.css': BIG_CSS,
  'docs/index.html': '<!doctype html><p>docs</p>',
  '.hidden.txt': 'HIDDEN-MARKER',
  'notes.unknownext': 'UNKNOWN-TYPE-MARKER',
  'client-routes': '# the UI\'s own paths\n/events/{id}\n/organizer\n/checkin/{event}\n/tickets  # comment\n',
};
for (const [name, text] of Object.entries(FILES)) {
  fs.mkdirSync(path.dirname(path.join(web, name)), { recursive: true });
  fs.writeFileSync(path.join(web, name), text);
}
fs.writeFileSync(path.join(tmp, 'outside.txt'), 'OUTSIDE-MARKER');
fs.symlinkSync(path.join(tmp, 'outside.txt'), path.join(web, 'link.txt'));
process.env.TIXIN_WEB_ROOT = web;

const srv = useServer('ui-static', () => {});
const get = (p, headers = {}, method = 'GET') => rawRequest(srv.base, { method, path: p, headers });

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('index.html: no-cache, versioned references, an import map allowed by its CSP hash', async () => {
  const r = await get('/');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-cache');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  const html = r.body.toString();
  assert.match(html, /href="\/css\/big\.css\?v=[0-9a-f]{16}"/);
  assert.match(html, /src="\/js\/a\.js\?v=[0-9a-f]{16}"/);
  assert.match(html, /href="\/nope\.css\?v"/, 'an unknown file is left as written');
  const map = html.match(/<script type="importmap">(.*?)<\/script>/)[1];
  const imports = JSON.parse(map).imports;
  assert.deepEqual(Object.keys(imports).sort(), ['/js/a.js', '/js/b.js']);
  assert.match(imports['/js/b.js'], /^\/js\/b\.js\?v=[0-9a-f]{16}$/);
  const sha = crypto.createHash('sha256').update(map).digest('base64');
  assert.ok(r.headers['content-security-policy'].includes(`'sha256-${sha}'`), r.headers['content-security-policy']);
  assert.match(r.headers['content-security-policy'], /default-src 'self'/);
});

test('versioned assets are immutable, others revalidate; ETag and 304', async () => {
  const html = (await get('/')).body.toString();
  const v = html.match(/\/js\/a\.js\?v=([0-9a-f]{16})/)[1];
  const a = await get(`/js/a.js?v=${v}`);
  assert.equal(a.status, 200);
  assert.equal(a.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(a.body.toString(), FILES['js/a.js']);
  assert.equal((await get('/js/a.js?v=0000000000000000')).headers['cache-control'], 'no-cache');
  assert.equal((await get('/js/a.js')).headers['cache-control'], 'no-cache');
  const etag = a.headers.etag;
  assert.equal(etag, `W/"${v}"`, 'the ETag is the content hash');
  const nm = await get('/js/a.js', { 'if-none-match': etag });
  assert.equal(nm.status, 304);
  assert.equal(nm.body.length, 0);
  assert.equal(nm.headers.etag, etag);
  assert.equal((await get('/js/a.js', { 'if-none-match': '"other"' })).status, 200);
});

test('text is gzipped for clients that take it, and only for them', async () => {
  const gz = await get('/css/big.css', { 'accept-encoding': 'gzip, deflate' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'accept-encoding');
  assert.equal(gz.headers['content-type'], 'text/css; charset=utf-8');
  assert.ok(gz.body.length < BIG_CSS.length / 5, `compressed to ${gz.body.length} of ${BIG_CSS.length}`);
  assert.equal(zlib.gunzipSync(gz.body).toString(), BIG_CSS);
  const plain = await get('/css/big.css');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), BIG_CSS);
  const refused = await get('/css/big.css', { 'accept-encoding': 'gzip;q=0' });
  assert.equal(refused.headers['content-encoding'], undefined);
});

test('HEAD answers the headers with no body', async () => {
  const r = await get('/css/big.css', {}, 'HEAD');
  assert.equal(r.status, 200);
  assert.equal(Number(r.headers['content-length']), BIG_CSS.length);
  assert.equal(r.body.length, 0);
  // and the same file still comes whole to a GET
  assert.equal((await get('/css/big.css')).body.toString(), BIG_CSS);
});

test('the client routes listed in client-routes get index.html; other paths and the API answer 404 JSON', async () => {
  for (const p of ['/events/evt_abc', '/organizer', '/checkin/evt_x', '/tickets/', '/events/evt%20x']) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.match(r.body.toString(), /tixin:importmap|importmap/, p);
  }
  assert.equal((await get('/docs/')).body.toString(), FILES['docs/index.html'], 'a folder serves its index.html');
  for (const p of ['/missing.js', '/api/v1/nope', '/api', '/api/', '/notes.unknownext', '/no/such/path', '/events',
    '/events/a/b', '/organizerx', '/checkin', '/client-routes']) {
    const r = await get(p);
    assert.equal(r.status, 404, p);
    assert.equal(JSON.parse(r.body).error.code, 'not_found', p);
  }
  const post = await rawRequest(srv.base, { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(post.status, 404);
});

test('nothing outside the web root, no symlinks, no dot files', async () => {
  const probes = ['/../outside.txt', '/%2e%2e/outside.txt', '/js/..%2f..%2foutside.txt', '/js/%2e%2e/%2e%2e/outside.txt',
    '/link.txt', '/.hidden.txt', '/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '//etc/passwd', '/js/../../../etc/passwd'];
  for (const p of probes) {
    const r = await get(p);
    const body = r.body.toString();
    assert.ok(!body.includes('OUTSIDE-MARKER') && !body.includes('HIDDEN-MARKER') && !body.includes('root:'), `${p} leaked: ${r.status} ${body.slice(0, 80)}`);
    assert.ok(r.status === 404 || (r.status === 200 && body.startsWith('<!doctype html><html>')), `${p}: ${r.status}`);
  }
  assert.equal((await get('/link.txt')).status, 404, 'a symlinked file is not served');
});

test('the API, health and metrics routes are unchanged, and static requests are counted', async () => {
  assert.equal((await get('/healthz')).status, 200);
  assert.equal((await get('/readyz')).status, 200);
  const ev = await fetch(`${srv.base}/api/v1/events`);
  assert.equal(ev.status, 200);
  assert.deepEqual((await ev.json()).items, []);
  const wrong = await fetch(`${srv.base}/api/v1/events`, { method: 'DELETE' });
  expectError({ status: wrong.status, json: await wrong.json(), headers: { 'content-type': wrong.headers.get('content-type') } }, 405, 'method_not_allowed');
  const m = await (await fetch(`${srv.base}/metrics`)).text();
  assert.match(m, /http_requests_total\{method="GET",route="static",status="200"\} [1-9]/);
});

test('a configured web root that does not exist stops start-up', () => {
  const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--database', `sqlite:${path.join(tmp, 'x.db')}`, '--web-root', path.join(tmp, 'nope')],
    { encoding: 'utf8', timeout: 20000, env: { ...process.env, TIXIN_WEB_ROOT: '' } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr + r.stdout, /web root .*nope.* is not a directory/);
});

test('the real web/: every module import names a file that is served', () => {
  const root = path.join(ROOT, 'web');
  const files = [];
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
  walk(root);
  for (const f of files.filter((x) => x.endsWith('.js'))) {
    const src = fs.readFileSync(f, 'utf8');
    for (const m of src.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      assert.ok(fs.existsSync(path.resolve(path.dirname(f), m[1])), `${path.relative(ROOT, f)} imports ${m[1]}`);
    }
  }
  const html = fs.readFileSync(path.join(root, 'index.html'), 'utf8');
  for (const m of html.matchAll(/"(\/[^"?]+)\?v"/g)) assert.ok(fs.existsSync(path.join(root, m[1])), `index.html names ${m[1]}`);
  assert.ok(html.includes('<!--tixin:importmap-->'));
});
