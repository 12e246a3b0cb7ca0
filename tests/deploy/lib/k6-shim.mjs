// node --experimental-vm-modules k6-shim.mjs SCRIPT.js --iterations N [--exec NAME]...
//
// Runs a k6 script without k6 (which cannot be installed here): the script
// and its local imports are loaded as ES modules in a vm context whose only
// globals are JavaScript's own and k6's (__ENV, __VU, __ITER, open,
// console), and whose only importable modules are small stand-ins for the
// k6 modules the scripts use (k6, k6/http, k6/data, k6/metrics) - an import
// of anything else fails to link. k6/http is real HTTP (curl, synchronous
// like k6's), so an iteration does to the server what k6 would do.
// Environment variables K6_ENV_* become __ENV.*. Prints one JSON line:
// {options, requests: [{method, name, status}], checks: {name: {pass, fail}},
//  metrics: {name: {type, isTime, values}}, exports: [...]}.
import vm from 'node:vm';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const script = path.resolve(args[0]);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const iterations = Number(opt('--iterations', '1'));
const execs = args.flatMap((a, i) => (a === '--exec' ? [args[i + 1]] : []));

const ENV = Object.fromEntries(Object.entries(process.env)
  .filter(([k]) => k.startsWith('K6_ENV_')).map(([k, v]) => [k.slice(7), v]));
const out = { requests: [], checks: {}, metrics: {}, sleeps: 0 };
const g = { __ENV: ENV, __VU: 1, __ITER: 0, console };
let currentFile = script;

// --- k6 stand-ins ---------------------------------------------------------
function record(name, type, isTime, v) {
  const m = (out.metrics[name] ??= { type, isTime: !!isTime, values: [] });
  m.values.push(v);
}
let expected = (s) => s >= 200 && s < 400;

function gjson(obj, selector) {
  if (selector === undefined) return obj;
  return selector.split('.').reduce((o, k) => (o == null ? undefined : o[/^\d+$/.test(k) ? Number(k) : k]), obj);
}

function request(method, url, body, params = {}) {
  const headers = params.headers || {};
  const argv = ['-sS', '-X', method, '-o', '-', '-w', '\n%{http_code}', '--max-time', '10'];
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === 'accept-encoding') argv.push('--compressed'); // k6 decompresses too
    else argv.push('-H', `${k}: ${v}`);
  }
  if (body !== null && body !== undefined) argv.push('--data-binary', '@-');
  argv.push(url);
  const text = execFileSync('curl', argv, { input: body ?? '', encoding: 'utf8', maxBuffer: 64 << 20 });
  const cut = text.lastIndexOf('\n');
  const res = { status: Number(text.slice(cut + 1)), body: text.slice(0, cut), url };
  res.json = (sel) => gjson(JSON.parse(res.body), sel);
  const name = params.tags?.name || url;
  out.requests.push({ method, name, status: res.status });
  record('http_req_failed', 'rate', false, expected(res.status) ? 0 : 1);
  record('http_reqs', 'counter', false, 1);
  return res;
}

const k6http = {
  get: (url, params) => request('GET', url, null, params),
  head: (url, params) => request('HEAD', url, null, params),
  post: (url, body, params) => request('POST', url, body, params),
  put: (url, body, params) => request('PUT', url, body, params),
  patch: (url, body, params) => request('PATCH', url, body, params),
  del: (url, body, params) => request('DELETE', url, body, params),
  request: (method, url, body, params) => request(method, url, body, params),
  expectedStatuses: (...ranges) => (s) => ranges.some((r) => (typeof r === 'number' ? s === r : s >= r.min && s <= r.max)),
  setResponseCallback: (cb) => { expected = cb; },
};

const k6core = {
  check(value, sets) {
    let all = true;
    for (const [name, fn] of Object.entries(sets)) {
      const ok = !!(typeof fn === 'function' ? fn(value) : fn);
      const c = (out.checks[name] ??= { pass: 0, fail: 0 });
      ok ? c.pass++ : c.fail++;
      record('checks', 'rate', false, ok ? 1 : 0);
      all &&= ok;
    }
    return all;
  },
  sleep(s) { if (typeof s !== 'number' || !(s >= 0)) throw new Error(`sleep(${s})`); out.sleeps++; },
  group: (name, fn) => fn(),
  fail(msg) { throw new Error(msg); },
};

class Metric {
  constructor(type, name, isTime) { this.name = name; this.type = type; this.isTime = !!isTime; out.metrics[name] ??= { type, isTime: !!isTime, values: [] }; }
  add(v) { if (typeof v !== 'number' && typeof v !== 'boolean') throw new Error(`${this.name}.add(${v})`); record(this.name, this.type, this.isTime, Number(v)); }
}
const k6metrics = {
  Counter: class extends Metric { constructor(n, t) { super('counter', n, t); } },
  Trend: class extends Metric { constructor(n, t) { super('trend', n, t); } },
  Rate: class extends Metric { constructor(n, t) { super('rate', n, t); } },
  Gauge: class extends Metric { constructor(n, t) { super('gauge', n, t); } },
};
const k6data = {
  SharedArray: function SharedArray(name, fn) {
    const a = fn();
    if (!Array.isArray(a)) throw new Error(`SharedArray ${name}: the callback must return an array`);
    return Object.freeze(a);
  },
};

const STANDINS = { 'k6': k6core, 'k6/http': k6http, 'k6/metrics': k6metrics, 'k6/data': k6data };

// --- module loading ------------------------------------------------------
const context = vm.createContext(g);
g.open = (p) => fs.readFileSync(path.isAbsolute(p) ? p : path.resolve(path.dirname(currentFile), p), 'utf8');

const cache = new Map();
function load(file) {
  if (cache.has(file)) return cache.get(file);
  const m = new vm.SourceTextModule(fs.readFileSync(file, 'utf8'), { identifier: file, context });
  cache.set(file, m);
  return m;
}
async function link(specifier, referencing) {
  if (specifier in STANDINS) {
    const api = STANDINS[specifier];
    const names = [...Object.keys(api), 'default'];
    return new vm.SyntheticModule(names, function () {
      for (const k of Object.keys(api)) this.setExport(k, api[k]);
      this.setExport('default', api);
    }, { identifier: specifier, context });
  }
  if (specifier.startsWith('./') || specifier.startsWith('../')) {
    return load(path.resolve(path.dirname(referencing.identifier), specifier));
  }
  throw new Error(`import of "${specifier}" in ${referencing.identifier}: not a k6 module`);
}

const main = load(script);
await main.link(link);
await main.evaluate();
const ns = main.namespace;
out.options = ns.options;
out.exports = Object.keys(ns);

const data = typeof ns.setup === 'function' ? ns.setup() : undefined;
const fns = execs.length ? execs : ['default'];
for (let i = 0; i < iterations; i++) {
  g.__ITER = i;
  for (const f of fns) {
    if (typeof ns[f] !== 'function') throw new Error(`no exported function ${f}`);
    ns[f](data);
  }
}
if (typeof ns.teardown === 'function') ns.teardown(data);
process.stdout.write(JSON.stringify(out) + '\n');
