// A real Prometheus (Debian's package) started here on a loopback port
// with monitoring/prometheus.yml (intervals shortened, target pointed at
// the tixin under test) and monitoring/rules: it scrapes the running
// tixin, and PromQL through its HTTP API returns exactly the request
// counts this test caused; the recording rules evaluate; and every
// expression of the Grafana dashboards parses and runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useServer, ROOT } from '../api/lib/server.mjs';
import { Client, expectStatus } from '../api/lib/client.mjs';
import { setupEvent, makeUser, holdOk } from '../api/lib/fixtures.mjs';
import { freePort, until } from './lib/obs.mjs';

const MON = path.join(ROOT, 'monitoring');
let c;
const srv = useServer('obs-prometheus', (s) => { c = new Client(s.base); });
const prom = { proc: null, dir: null, base: null, log: '' };

async function query(expr) {
  const r = await fetch(`${prom.base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await r.json();
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data;
}
const scalarOf = (data) => (data.result.length ? Number(data.result[0].value[1]) : NaN);

before(async () => {
  // the before hook of useServer runs first (registered first): srv.base is set
  await until(() => srv.base, { what: 'tixin to start' });
  prom.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tixin-prom-'));
  const port = await freePort();
  prom.base = `http://127.0.0.1:${port}`;
  const target = new URL(srv.base).host;
  const config = fs.readFileSync(path.join(MON, 'prometheus.yml'), 'utf8')
    .replace(/scrape_interval: 5s/, 'scrape_interval: 1s')
    .replace(/scrape_timeout: 4s/, 'scrape_timeout: 1s')
    .replace(/evaluation_interval: 5s/, 'evaluation_interval: 1s')
    .replace(/rules\/\*\.yml/, path.join(MON, 'rules', '*.yml'))
    .replace(/'127\.0\.0\.1:8080'/, `'${target}'`)
    .replace(/alerting:[\s\S]*?(?=\nscrape_configs:)/, '');
  assert.match(config, new RegExp(target.replace(/\./g, '\\.')), 'target substituted');
  fs.writeFileSync(path.join(prom.dir, 'prometheus.yml'), config);
  prom.proc = spawn('prometheus', [
    `--config.file=${path.join(prom.dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(prom.dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prom.proc.stdout.on('data', (d) => { prom.log += d; });
  prom.proc.stderr.on('data', (d) => { prom.log += d; });
  try {
    await until(async () => (await fetch(`${prom.base}/-/ready`)).status === 200, { timeoutMs: 30000, what: 'Prometheus ready' });
    await until(async () => scalarOf(await query('up{job="tixin"}')) === 1, { timeoutMs: 20000, what: 'tixin scraped (up == 1)' });
  } catch (e) {
    throw new Error(`${e.message}\n${prom.log.slice(-3000)}`);
  }
});

after(async () => {
  if (prom.proc && prom.proc.exitCode === null) {
    const exited = new Promise((r) => prom.proc.on('exit', r));
    prom.proc.kill('SIGTERM');
    await exited;
  }
  if (prom.dir) fs.rmSync(prom.dir, { recursive: true, force: true });
});

test('PromQL over the scraped series returns the requests this test made', async () => {
  const { event } = await setupEvent(c);
  const buyer = await makeUser(c);
  // route templates nobody else in this file calls: exact counts
  for (let i = 0; i < 13; i++) expectStatus(await c.get(`/api/v1/events/${event.id}/seats?view=compact`), 200);
  for (let i = 0; i < 4; i++) assert.equal((await c.get('/api/v1/venues/ven_aaaaaaaaaaaaaaaaaaaa')).status, 404);
  await holdOk(buyer, event.id, { seats: ['A-1-1', 'A-1-2'] });
  const expect = [
    ['sum(http_requests_total{job="tixin",method="GET",route="/api/v1/events/{id}/seats",status="200"})', 13],
    ['sum(http_requests_total{job="tixin",method="GET",route="/api/v1/venues/{id}",status="404"})', 4],
    ['sum(http_request_duration_seconds_count{job="tixin",route="/api/v1/events/{id}/seats"})', 13],
    ['sum(http_requests_total{job="tixin",method="POST",route="/api/v1/events/{id}/holds",status="201"})', 1],
    ['sum(tixin_holds_created_total{job="tixin"})', 1],
    ['sum(tixin_store_call_duration_seconds_count{job="tixin",op="hold_create"})', 1],
  ];
  for (const [expr, want] of expect) {
    await until(async () => scalarOf(await query(expr)) === want, { timeoutMs: 15000, what: `${expr} == ${want}` })
      .catch(async (e) => { throw new Error(`${e.message} (got ${JSON.stringify((await query(expr)).result)})`); });
  }
});

test('the recording rules evaluate on the scraped data', async () => {
  await until(async () => (await query('route:http_requests:rate5m{route="/api/v1/events/{id}/seats"}')).result.length === 1,
    { timeoutMs: 20000, what: 'route:http_requests:rate5m' });
  // rate() needs the counter to move between two scrapes of the series
  const { event } = await setupEvent(c);
  await until(async () => {
    expectStatus(await c.get(`/api/v1/events/${event.id}`), 200);
    return scalarOf(await query('route:http_request_duration_seconds:p95_5m{route="/api/v1/events/{id}"}')) > 0;
  }, { timeoutMs: 20000, intervalMs: 200, what: 'route p95 recorded' });
  const rules = await (await fetch(`${prom.base}/api/v1/rules`)).json();
  const all = rules.data.groups.flatMap((g) => g.rules);
  assert.ok(all.length >= 19, `${all.length} rules loaded`);
  for (const r of all) assert.notEqual(r.health, 'err', `${r.name}: ${r.lastError}`);
  const firing = all.filter((r) => r.type === 'alerting' && r.state !== 'inactive').map((r) => r.name);
  assert.deepEqual(firing, [], 'no alert is pending or firing on a healthy instance');
});

test('every Grafana dashboard expression parses and runs in Prometheus', async () => {
  const dir = path.join(MON, 'grafana', 'dashboards');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 1);
  let n = 0;
  for (const f of files) {
    const dash = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    assert.ok(dash.uid && dash.title, `${f}: uid and title`);
    const panels = dash.panels.flatMap((p) => [p, ...(p.panels || [])]);
    for (const p of panels) {
      for (const t of p.targets || []) {
        assert.equal(t.datasource.uid, 'tixin-prometheus', `${f} / ${p.title}: provisioned datasource`);
        const expr = t.expr.replace(/\$__range/g, '5m').replace(/\$(job|instance)\b/g, '.*');
        await query(expr).catch((e) => { throw new Error(`${f} / ${p.title}: ${e.message}`); });
        n += 1;
      }
    }
  }
  assert.ok(n >= 30, `${n} expressions checked`);
});
