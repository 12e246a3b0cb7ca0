// load-tests/mix.js - the bench/mix.lua mix (70% reads, 30% holds and
// releases) from 1,000 virtual users against a real cluster, through its
// HAProxy. Each VU pauses ~60 ms between requests like `bench/run --paced`,
// so 1,000 VUs offer ~16k req/s: the original deployment's figure on two
// Raspberry Pi 5. Thresholds are the original's: p95 < 50 ms, p99 < 80 ms,
// under 1% errors (409 seat conflicts are answers, not errors).
//
//   tixin demo --profile bench --out seed.json     # on the cluster's database
//   k6 run -e BASE_URL=http://CLUSTER -e SEED=$PWD/seed.json load-tests/mix.js
// VUS, RAMP, HOLD (durations) and PACE_MS override the shape.
import { sleep } from 'k6';
import { mixStep, paceSeconds } from './lib/tixin.js';

const VUS = Number(__ENV.VUS || 1000);

export const options = {
  scenarios: {
    mix: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: __ENV.RAMP || '1m', target: VUS },
        { duration: __ENV.HOLD || '5m', target: VUS },
        { duration: '20s', target: 0 },
      ],
      gracefulRampDown: '10s',
    },
  },
  thresholds: {
    http_req_duration: ['p(95)<50', 'p(99)<80'],
    'http_req_duration{name:POST /api/v1/events/{id}/holds}': ['p(95)<50'],
    'http_req_duration{name:GET /api/v1/events/{id}/seats}': ['p(95)<50'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  discardResponseBodies: false,
};

const state = { holds: [] }; // this VU's unreleased holds, oldest first

export default function () {
  mixStep(state);
  sleep(paceSeconds());
}
