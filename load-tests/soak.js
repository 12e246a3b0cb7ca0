// load-tests/soak.js - hours of steady, moderate load (the mix at a third
// of the 1,000-VU rate) to find what only time shows: memory growth, a
// connection or descriptor leak, holds that never expire, latency creep.
// A second scenario reads tixin's /metrics every 30 s through the same
// entry point and records the resident memory of whichever instance
// answered; the threshold fails the run when an instance outgrows its
// memory limit (256 MiB, the edge-pi overlay's).
//
//   k6 run -e BASE_URL=http://CLUSTER -e SEED=$PWD/seed.json load-tests/soak.js
// VUS (300), DURATION (2h), RSS_LIMIT_BYTES override.
import http from 'k6/http';
import { sleep } from 'k6';
import { Trend } from 'k6/metrics';
import { mixStep, paceSeconds, BASE_URL } from './lib/tixin.js';

const rss = new Trend('tixin_instance_rss_bytes');
const openFds = new Trend('tixin_instance_open_fds');
const DURATION = __ENV.DURATION || '2h';

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 300),
      duration: DURATION,
      exec: 'soak',
    },
    watch: {
      executor: 'constant-arrival-rate',
      rate: 2,
      timeUnit: '1m',
      duration: DURATION,
      preAllocatedVUs: 1,
      exec: 'watch',
    },
  },
  thresholds: {
    http_req_duration: ['p(95)<50', 'p(99)<80'],
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
    tixin_instance_rss_bytes: [`max<${Number(__ENV.RSS_LIMIT_BYTES || 268435456)}`],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

const state = { holds: [] };

export function soak() {
  mixStep(state);
  sleep(paceSeconds());
}

// A Prometheus text line "name value" (no labels) to a number.
function gauge(text, name) {
  const m = text.match(new RegExp(`^${name} ([0-9.e+]+)$`, 'm'));
  return m ? Number(m[1]) : null;
}

export function watch() {
  const r = http.get(`${BASE_URL}/metrics`, { tags: { name: 'GET /metrics' } });
  if (r.status !== 200) return;
  const mem = gauge(r.body, 'process_resident_memory_bytes');
  const fds = gauge(r.body, 'process_open_fds');
  if (mem !== null) rss.add(mem);
  if (fds !== null) openFds.add(fds);
}
