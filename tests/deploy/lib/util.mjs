// Helpers shared by the deployment tests: running commands, free loopback
// ports, polling HTTP. Kept tiny so each test file reads on its own.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
export const ART = path.resolve(ROOT, process.env.ART || 'test-artifacts');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Run a command to completion; throws with its output when it fails
// (unless opts.check === false). Returns {status, stdout, stderr}.
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, cwd: ROOT, ...opts });
  if (r.error) throw r.error;
  if (opts.check !== false && r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`.slice(-6000));
  }
  return r;
}

export function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export function artifact(name) {
  fs.mkdirSync(ART, { recursive: true });
  return path.join(ART, name);
}

export async function freePort() {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  await once(s, 'close');
  return port;
}

// GET url until it answers (any status) or the deadline passes.
export async function waitHttp(url, ms = 15000, alive = () => true) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    if (!alive()) throw new Error(`process died while waiting for ${url}`);
    try {
      return await fetch(url, { signal: AbortSignal.timeout(2000) });
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${ms} ms: ${last}`);
}
