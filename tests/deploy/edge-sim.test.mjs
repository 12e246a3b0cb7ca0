// The two-node edge simulation (scripts/edge-sim): network namespaces pi-a
// and pi-b joined by a link shaped like gigabit Ethernet, HAProxy + tixin +
// PostgreSQL primary on pi-a, tixin + replica + Redis on pi-b, clients in a
// third namespace. A short bench through HAProxy must print bench/run's
// figures; then the pi-a <-> pi-b link is cut for 10 s during a booking
// run: HAProxy must take pi-b's instance out, and every order answered
// 201 must be in the primary (paid, with its tickets and sold seats) and in
// the replica once it caught up, with no seat sold twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, run, artifact } from './lib/util.mjs';

test('edge-sim: bench through HAProxy across the namespaces, then a 10 s split loses no sold order', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tixin-edge-sim-'));
  fs.rmSync(dir, { recursive: true });
  const r = run(path.join(ROOT, 'scripts/edge-sim'),
    ['run', '--duration', '5', '--connections', '200', '--book', '25', '--cut', '10'],
    { check: false, env: { ...process.env, EDGE_SIM_DIR: dir } });
  const out = r.stdout + r.stderr;
  fs.writeFileSync(artifact('deploy-edge-sim.log'), out);
  assert.equal(r.status, 0, out.slice(-4000));
  assert.match(out, /links pi-a <-> pi-b and loadgen <-> pi-a: (netem rate 1gbit delay 0\.1ms|tbf rate 1gbit)/);
  assert.match(out, /==== tixin bench result ====/);
  const bench = Object.fromEntries([...out.match(/^EDGE_SIM_RESULT bench (.*)$/m)[1].matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  assert.ok(bench.rps > 0 && bench.s2xx > 0, JSON.stringify(bench));
  assert.match(out, /postgres: +\d+ commits\/s on the primary/);
  // while the link was down, HAProxy on pi-a had taken pi-b's instance out
  // (pi-a's own instance is not asserted: on a loaded machine its /readyz
  // can miss HAProxy's 1 s check too - reported, not this suite's to fix)
  const during = out.slice(out.indexOf('during the cut:'));
  assert.match(during, /haproxy tixin2: DOWN/);
  const p = Object.fromEntries([...out.match(/^EDGE_SIM_RESULT partition (.*)$/m)[1].matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  assert.ok(p.acked > 0, 'orders were sold during the run');
  assert.deepEqual({ ...p, acked: 0 }, { acked: 0, missing_primary: 0, missing_replica: 0, bad_tickets: 0, double_sold: 0, unpaid_sold: 0 });
  assert.match(out, /nothing sold was lost/);
  assert.ok(!fs.existsSync(dir), 'the simulation cleaned up after itself');
  const left = run('ip', ['netns', 'list']).stdout;
  assert.doesNotMatch(left, /^(pi-a|pi-b|loadgen)\b/m, 'namespaces removed');
});
