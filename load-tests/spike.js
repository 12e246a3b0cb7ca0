// load-tests/spike.js - a ticket drop: 10,000 buyers arrive within one
// minute for one event (the first of the seed, or EVENT_ID). Each buyer
// reads the event and its seat map, holds two free seats (again on a fresh
// map if someone else was faster) and pays. The bench venue has 10,000
// seats, so the event sells out: what matters is that holds and orders stay
// fast while it does and that nothing fails but seat conflicts. teardown
// counts the seats the map shows sold, to set against tixin_tickets_sold in
// the summary (on a fresh event they are equal: every paid ticket is one
// sold seat, and no seat is sold twice).
//
//   k6 run -e BASE_URL=http://CLUSTER -e SEED=$PWD/seed.json load-tests/spike.js
// BUYERS (10000) and WINDOW (1m) override the drop's size.
import http from 'k6/http';
import { check } from 'k6';
import { buyer, events, BASE_URL } from './lib/tixin.js';

const BUYERS = Number(__ENV.BUYERS || 10000);

export const options = {
  scenarios: {
    drop: {
      executor: 'constant-arrival-rate',
      rate: BUYERS,
      timeUnit: __ENV.WINDOW || '1m',
      duration: __ENV.WINDOW || '1m',
      preAllocatedVUs: Math.min(BUYERS, 2000),
      maxVUs: BUYERS,
    },
  },
  thresholds: {
    'http_req_duration{name:POST /api/v1/events/{id}/holds}': ['p(95)<100', 'p(99)<250'],
    'http_req_duration{name:POST /api/v1/orders}': ['p(95)<150', 'p(99)<300'],
    'http_req_duration{name:GET /api/v1/events/{id}/seats}': ['p(95)<50'],
    http_req_failed: ['rate<0.01'],
    dropped_iterations: ['count<100'],
    tixin_buyer_journey: ['p(95)<1000'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  return { eventId: __ENV.EVENT_ID || events[0] };
}

export default function (data) {
  buyer(data.eventId);
}

// No oversell: every seat marked sold is on exactly one paid ticket.
export function teardown(data) {
  const r = http.get(`${BASE_URL}/api/v1/events/${data.eventId}/seats?view=compact`);
  let sold = 0;
  for (const s of r.json('sections')) for (const row of s.rows) sold += row.status.split('s').length - 1;
  console.log(`seats sold on the map after the drop: ${sold}`);
  check(r, { 'seat map readable after the drop': (x) => x.status === 200 && sold > 0 });
}
