// The k6 scenarios (load-tests/*.js). k6 cannot be installed here, so:
// statically, every script parses as an ES module (acorn), imports nothing
// but k6's own modules (and its local helpers), uses only names those
// modules export (per @types/k6, k6's published API) and only k6's and
// JavaScript's globals; its options use real executors and well-formed
// thresholds on metrics that exist. Dynamically, lib/k6-shim.mjs runs
// iterations of each scenario against a real tixin seeded with the bench
// profile, so the mix, the drop's buyer journey and the soak's watcher are
// shown to do what they say (holds released, orders paid, RSS read).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as acorn from 'acorn';
import { ROOT, run, artifact, freePort, waitHttp } from './lib/util.mjs';

const DIR = path.join(ROOT, 'load-tests');
const SCRIPTS = fs.readdirSync(DIR).filter((f) => f.endsWith('.js')).sort();
const TYPES = path.dirname(createRequire(import.meta.url).resolve('@types/k6/package.json'));
const BIN = path.resolve(ROOT, process.env.TIXIN_BIN || path.join(process.env.B || 'build', 'tixin'));

// --- k6's API, from @types/k6 -----------------------------------------------
function k6Exports(module) {
  const rel = module === 'k6' ? 'index.d.ts' : path.join(module.slice(3), 'index.d.ts');
  const file = path.join(TYPES, rel);
  if (!fs.existsSync(file)) return null;
  const src = fs.readFileSync(file, 'utf8');
  const names = new Set([...src.matchAll(/^export\s+(?:declare\s+)?(?:function|const|let|var|class|namespace|enum)\s+(\w+)/gm)].map((m) => m[1]));
  if (/^export\s+(default|\*\s+as\s+default)\b/m.test(src)) names.add('default');
  return names;
}
const K6_GLOBALS = new Set([...fs.readFileSync(path.join(TYPES, 'global.d.ts'), 'utf8')
  .matchAll(/^\s*(?:function|var|const|let)\s+(\w+)/gm)].map((m) => m[1]).concat(['console']));
const JS_GLOBALS = new Set(['Math', 'JSON', 'Date', 'Object', 'Array', 'String', 'Number', 'Boolean', 'Error',
  'TypeError', 'RangeError', 'RegExp', 'Map', 'Set', 'WeakMap', 'Promise', 'Symbol', 'BigInt', 'Uint8Array',
  'ArrayBuffer', 'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'encodeURIComponent', 'decodeURIComponent',
  'undefined', 'NaN', 'Infinity', 'globalThis']);

// --- a small scope-insensitive walk of the AST -------------------------------
function walk(node, visit, parent = null, key = null) {
  if (!node || typeof node.type !== 'string') return;
  visit(node, parent, key);
  for (const [k, v] of Object.entries(node)) {
    if (Array.isArray(v)) v.forEach((c) => walk(c, visit, node, k));
    else if (v && typeof v.type === 'string') walk(v, visit, node, k);
  }
}
function patternNames(p, out) {
  if (!p) return;
  if (p.type === 'Identifier') out.add(p.name);
  else if (p.type === 'ObjectPattern') p.properties.forEach((q) => patternNames(q.type === 'RestElement' ? q.argument : q.value, out));
  else if (p.type === 'ArrayPattern') p.elements.forEach((q) => patternNames(q, out));
  else if (p.type === 'AssignmentPattern') patternNames(p.left, out);
  else if (p.type === 'RestElement') patternNames(p.argument, out);
}

function analyse(file) {
  const src = fs.readFileSync(file, 'utf8');
  const ast = acorn.parse(src, { ecmaVersion: 2022, sourceType: 'module', locations: true });
  const declared = new Set();
  const imports = []; // {source, imported, local}
  const refs = [];    // identifiers in value position
  const members = []; // {object, property} on imported namespaces
  walk(ast, (n, parent, key) => {
    switch (n.type) {
      case 'ImportDeclaration':
        for (const s of n.specifiers) {
          declared.add(s.local.name);
          imports.push({ source: n.source.value, local: s.local.name,
            imported: s.type === 'ImportSpecifier' ? s.imported.name : 'default', line: n.loc.start.line });
        }
        break;
      case 'VariableDeclarator': patternNames(n.id, declared); break;
      case 'FunctionDeclaration': case 'FunctionExpression': case 'ArrowFunctionExpression':
        if (n.id) declared.add(n.id.name);
        n.params.forEach((p) => patternNames(p, declared));
        break;
      case 'ClassDeclaration': if (n.id) declared.add(n.id.name); break;
      case 'CatchClause': patternNames(n.param, declared); break;
      case 'MemberExpression':
        if (n.object.type === 'Identifier' && !n.computed) members.push({ object: n.object.name, property: n.property.name, line: n.loc.start.line });
        break;
      case 'Identifier': {
        const nonRef = (parent?.type === 'MemberExpression' && key === 'property' && !parent.computed)
          || (parent?.type === 'Property' && key === 'key' && !parent.computed)
          || (parent?.type === 'MethodDefinition' && key === 'key')
          || ['ImportSpecifier', 'ImportDefaultSpecifier', 'ImportNamespaceSpecifier', 'ExportSpecifier'].includes(parent?.type)
          || (parent?.type === 'LabeledStatement');
        if (!nonRef) refs.push({ name: n.name, line: n.loc.start.line });
        break;
      }
    }
  });
  return { ast, declared, imports, refs, members };
}

test('every load-tests script parses as an ES module and uses only k6 modules, exports and globals', () => {
  assert.ok(SCRIPTS.length >= 3, `scenarios: ${SCRIPTS.join(', ')}`);
  const seen = new Set();
  const queue = SCRIPTS.map((f) => path.join(DIR, f));
  while (queue.length) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const rel = path.relative(ROOT, file);
    const a = analyse(file);
    const namespaces = new Map(); // local name -> module exports (default / namespace imports)
    for (const im of a.imports) {
      if (im.source.startsWith('./') || im.source.startsWith('../')) {
        const target = path.resolve(path.dirname(file), im.source);
        assert.ok(target.startsWith(DIR + path.sep) && fs.existsSync(target), `${rel}:${im.line}: ${im.source} is not a file of load-tests/`);
        queue.push(target);
        continue;
      }
      assert.ok(im.source === 'k6' || im.source.startsWith('k6/'), `${rel}:${im.line}: imports "${im.source}", not a k6 module`);
      const api = k6Exports(im.source);
      assert.ok(api, `${rel}:${im.line}: "${im.source}" is not a k6 module`);
      assert.ok(api.has(im.imported), `${rel}:${im.line}: "${im.source}" exports no "${im.imported}"`);
      if (im.imported === 'default') namespaces.set(im.local, api);
    }
    for (const m of a.members) {
      const api = namespaces.get(m.object);
      if (api) assert.ok(api.has(m.property), `${rel}:${m.line}: ${m.object}.${m.property} is not k6 API`);
    }
    for (const r of a.refs) {
      assert.ok(a.declared.has(r.name) || K6_GLOBALS.has(r.name) || JS_GLOBALS.has(r.name),
        `${rel}:${r.line}: "${r.name}" is neither declared, a k6 global nor a JavaScript one`);
    }
  }
  assert.ok(seen.has(path.join(DIR, 'lib/tixin.js')));
});

test('the static checks catch a foreign import, an unknown k6 name and a foreign global', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k6-neg-'));
  const f = path.join(tmp, 'bad.js');
  fs.writeFileSync(f, "import fs from 'node:fs';\nimport { sleepy } from 'k6';\nimport http from 'k6/http';\nhttp.fetch(process.env.X);\n");
  const a = analyse(f);
  assert.deepEqual(a.imports.map((i) => i.source), ['node:fs', 'k6', 'k6/http']);
  assert.equal(k6Exports('k6').has('sleepy'), false);
  assert.equal(k6Exports('k6/http').has('fetch'), false);
  assert.ok(a.refs.some((r) => r.name === 'process') && !K6_GLOBALS.has('process') && !JS_GLOBALS.has('process'));
  assert.equal(k6Exports('k6/http').has('get'), true);
  fs.rmSync(tmp, { recursive: true });
});

// --- one real run of each scenario ------------------------------------------
let server, base, seed, tmp;

before(async () => {
  assert.ok(fs.existsSync(BIN), `${BIN} missing (make B=...)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tixin-k6-'));
  seed = path.join(tmp, 'seed.json');
  run(BIN, ['demo', '--profile', 'bench', '--database', `sqlite:${tmp}/t.db`, '--out', seed]);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const log = fs.openSync(artifact('deploy-k6-server.log'), 'w');
  server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--database', `sqlite:${tmp}/t.db`, '--threads', '2'],
    { stdio: ['ignore', log, log], env: { ...process.env, TIXIN_ACCESS_LOG: 'off' } });
  fs.closeSync(log);
  await waitHttp(`${base}/healthz`, 20000, () => server.exitCode === null);
});

after(() => {
  if (server && server.exitCode === null) server.kill('SIGTERM');
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function shim(script, iterations, execs = [], env = {}) {
  const argv = ['--experimental-vm-modules', '--no-warnings', path.join(ROOT, 'tests/deploy/lib/k6-shim.mjs'),
    path.join(DIR, script), '--iterations', String(iterations), ...execs.flatMap((e) => ['--exec', e])];
  const r = run(process.execPath, argv, { env: { ...process.env, K6_ENV_BASE_URL: base, K6_ENV_SEED: seed, ...env } });
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const EXECUTORS = {
  'shared-iterations': [], 'per-vu-iterations': [], 'constant-vus': ['duration'], 'ramping-vus': ['stages'],
  'constant-arrival-rate': ['rate', 'duration', 'preAllocatedVUs'], 'ramping-arrival-rate': ['stages', 'preAllocatedVUs'],
  'externally-controlled': ['duration'],
};
const BUILTIN = { http_req_duration: 'trend', http_req_waiting: 'trend', http_req_failed: 'rate', http_reqs: 'counter',
  checks: 'rate', iterations: 'counter', iteration_duration: 'trend', dropped_iterations: 'counter', vus: 'gauge', data_received: 'counter' };
const AGG = { trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/, rate: /^rate$/, counter: /^(count|rate)$/, gauge: /^value$/ };
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

function checkOptions(script, out) {
  const o = out.options;
  assert.ok(o && o.scenarios, `${script}: options.scenarios`);
  for (const [name, sc] of Object.entries(o.scenarios)) {
    assert.ok(sc.executor in EXECUTORS, `${script}/${name}: executor ${sc.executor}`);
    for (const f of EXECUTORS[sc.executor]) assert.ok(sc[f] !== undefined, `${script}/${name}: ${sc.executor} needs ${f}`);
    for (const d of [sc.duration, sc.timeUnit, sc.gracefulRampDown, ...(sc.stages || []).map((s) => s.duration)]) {
      if (d !== undefined) assert.match(d, DURATION, `${script}/${name}: duration ${d}`);
    }
    assert.ok(out.exports.includes(sc.exec || 'default'), `${script}/${name}: exec ${sc.exec || 'default'} is exported`);
  }
  for (const [key, exprs] of Object.entries(o.thresholds || {})) {
    const metric = key.split('{')[0];
    const type = BUILTIN[metric] || out.metrics[metric]?.type;
    assert.ok(type, `${script}: threshold on unknown metric ${metric}`);
    if (key.includes('{')) assert.match(key, /^\w+\{[^:{}]+:[^{}]*(\{[^{}]*\}[^{}]*)*\}$/, `${script}: tag filter ${key}`);
    for (const e of exprs) {
      const m = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|<|>|==|===|!=)\s*(\d+(?:\.\d+)?)\s*$/.exec(e);
      assert.ok(m, `${script}: threshold "${e}"`);
      assert.match(m[1], AGG[type], `${script}: ${m[1]} does not apply to ${metric} (${type})`);
    }
  }
}

test('mix.js: 1,000 VUs with the original thresholds; its iterations follow bench/mix.lua', () => {
  const out = shim('mix.js', 400);
  checkOptions('mix.js', out);
  const o = out.options;
  assert.equal(Math.max(...o.scenarios.mix.stages.map((s) => s.target)), 1000);
  assert.deepEqual(o.thresholds.http_req_duration, ['p(95)<50', 'p(99)<80']);
  const by = {};
  for (const r of out.requests) by[`${r.method} ${r.name}`] = (by[`${r.method} ${r.name}`] || 0) + 1;
  const n = out.requests.length;
  assert.equal(n, 400);
  const share = (k) => (by[k] || 0) / n;
  // 30/20/20/30 within sampling noise for 400 draws.
  assert.ok(Math.abs(share('GET GET /api/v1/events') - 0.3) < 0.08, JSON.stringify(by));
  assert.ok(Math.abs(share('GET GET /api/v1/events/{id}') - 0.2) < 0.08, JSON.stringify(by));
  assert.ok(Math.abs(share('GET GET /api/v1/events/{id}/seats') - 0.2) < 0.08, JSON.stringify(by));
  const holds = by['POST POST /api/v1/events/{id}/holds'] || 0;
  const releases = by['DELETE DELETE /api/v1/holds/{id}'] || 0;
  assert.ok(Math.abs((holds + releases) / n - 0.3) < 0.08, JSON.stringify(by));
  // every successful hold is released by the VU's next write
  const created = out.metrics.tixin_holds_created.values.length;
  assert.ok(created > 10 && releases >= created - 1 && releases <= created, `${created} holds, ${releases} releases`);
  assert.equal(out.checks['release 204'].fail, 0);
  assert.equal(out.requests.filter((r) => r.status >= 500).length, 0);
  assert.ok(out.sleeps === 400, 'each iteration paces');
});

test('spike.js: 10,000 buyers in a minute on one event; each journey holds free seats and pays', () => {
  const out = shim('spike.js', 20);
  checkOptions('spike.js', out);
  const sc = out.options.scenarios.drop;
  assert.equal(sc.executor, 'constant-arrival-rate');
  assert.equal(sc.rate, 10000);
  assert.equal(sc.timeUnit, '1m');
  assert.equal(sc.duration, '1m');
  const orders = out.requests.filter((r) => r.name === 'POST /api/v1/orders');
  assert.equal(orders.length, 20, 'every buyer found free seats on a fresh event and paid');
  assert.ok(orders.every((r) => r.status === 201));
  assert.equal(out.metrics.tixin_tickets_sold.values.reduce((a, b) => a + b, 0), 40);
  const events = new Set(out.requests.filter((r) => r.name.includes('{id}')).map((r) => r.name));
  assert.ok(events.size >= 3);
  assert.equal(out.checks['seat map readable after the drop'].pass, 1);
});

test('soak.js: hours of the mix with an RSS watch that reads tixin /metrics', () => {
  const out = shim('soak.js', 30, ['soak', 'watch']);
  checkOptions('soak.js', out);
  assert.ok(Object.values(out.options.scenarios).some((s) => s.exec === 'watch'));
  const rss = out.metrics.tixin_instance_rss_bytes.values;
  assert.equal(rss.length, 30);
  assert.ok(rss.every((v) => v > 1e6 && v < 1e9), `RSS read from /metrics: ${rss.slice(0, 3)}`);
  assert.ok(out.metrics.tixin_instance_open_fds.values.every((v) => v > 0));
  assert.equal(out.requests.filter((r) => r.status >= 500).length, 0);
});
