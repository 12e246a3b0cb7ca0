// The running cluster of scripts/cluster, for tests/cluster: its URLs (read
// from $TIXIN_CLUSTER_DIR/env, written by `scripts/cluster up`), fault
// injection through the same script, HAProxy's per-instance statistics,
// and reading the PostgreSQL database. tests/suites/30-cluster brings the
// cluster up before and down after.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { ROOT, dbQuery, sleep } from '../../api/lib/server.mjs';
import { Client } from '../../api/lib/client.mjs';

const run = promisify(execFile);
const DIR = process.env.TIXIN_CLUSTER_DIR || '/tmp/tixin-cluster';

function readEnv() {
  const file = path.join(DIR, 'env');
  assert.ok(fs.existsSync(file), `no cluster in ${DIR} (scripts/cluster up, or TIXIN_CLUSTER_DIR)`);
  return Object.fromEntries(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}

export const env = readEnv();
/** Through HAProxy, and each instance directly. */
export const BASE = env.BASE_URL;
export const A = env.TIXIN1_URL;
export const B = env.TIXIN2_URL;
export const INSTANCES = { tixin1: A, tixin2: B };

export const sql = (query) => dbQuery(env.PG_URL, query);
export const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** scripts/cluster ARGS... (pg stop, redis start, tixin 2 kill, ...). */
export async function cluster(...args) {
  const { stdout } = await run(path.join(ROOT, 'scripts/cluster'), args, {
    env: { ...process.env, TIXIN_CLUSTER_DIR: DIR }, timeout: 120000,
  });
  return stdout;
}

/** The pid of a service scripts/cluster started (redis, haproxy, tixin1, ...). */
export function servicePid(name) {
  return Number(fs.readFileSync(path.join(DIR, `${name}.pid`), 'utf8').trim());
}

export async function redisCli(...args) {
  const { stdout } = await run('redis-cli', ['-p', env.REDIS_PORT, ...args]);
  return stdout.trim();
}

/** HAProxy's view of the tixin servers: {tixin1: {status, req_tot, connect, reuse, ...}, ...}. */
export async function haproxyServers() {
  const r = await fetch(`${env.HAPROXY_STATS_URL}/stats;csv`);
  const lines = (await r.text()).trim().split('\n');
  const cols = lines[0].replace(/^# /, '').split(',');
  const out = {};
  for (const line of lines.slice(1)) {
    const row = Object.fromEntries(line.split(',').map((v, i) => [cols[i], v]));
    if (row.pxname === 'tixin' && /^tixin\d$/.test(row.svname)) out[row.svname] = row;
  }
  return out;
}

/** Requests each server answered since `before` (a haproxyServers() result). */
export function servedSince(before, after) {
  return Object.fromEntries(Object.keys(after).map((k) => [k, Number(after[k].req_tot) - Number(before?.[k]?.req_tot ?? 0)]));
}

/** GET /readyz of base: {status, body}. */
export async function readyz(base) {
  try {
    const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.json().catch(() => null) };
  } catch (e) {
    return { status: 0, body: e.message };
  }
}

/** Polls until pred(value of fn()) holds; answers the last value. */
export async function until(fn, pred, { timeoutMs = 15000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (pred(v)) return v;
    if (Date.now() > deadline) assert.fail(`${what} not reached within ${timeoutMs} ms (last: ${JSON.stringify(v)})`);
    await sleep(intervalMs);
  }
}

/** Waits until HAProxy sees both instances UP. */
export function bothUp() {
  return until(haproxyServers, (s) => s.tixin1?.status === 'UP' && s.tixin2?.status === 'UP',
    { timeoutMs: 30000, what: 'both instances UP in HAProxy' });
}

export const clients = { base: new Client(BASE), a: new Client(A), b: new Client(B) };
