// The container image (Containerfile): built here with podman from a Debian
// bookworm base made with debootstrap (no registry is reachable), then the
// binary is run from the image's own root filesystem, read-only, as the
// image's non-root user, with the data directory on a "volume" - the way
// the Kubernetes manifests run it (readOnlyRootFilesystem, runAsNonRoot).
// `podman run` is refused in this sandbox (cgroups), so lib/image-run.sh
// does what a runtime would: private mounts + chroot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, run, artifact, freePort, waitHttp, sleep } from './lib/util.mjs';

const BASE = process.env.TIXIN_IMAGE_BASE || 'localhost/bookworm-base:latest';
const IMAGE = 'localhost/tixin:deploy-test';
const RUNNER = path.join(ROOT, 'tests/deploy/lib/image-run.sh');
let rootfs;
let config;
let data;

// The image's ENV as VAR=VALUE words, with the test's overrides after them.
const imageEnv = (extra = []) => [...config.Env, ...extra];
const inImage = (env, argv, opts = {}) =>
  run(RUNNER, [rootfs, data, ...imageEnv(env), '--', ...argv], opts);

before(() => {
  run(path.join(ROOT, 'tests/deploy/lib/base-image.sh'), [BASE], { stdio: 'inherit' });
  const log = artifact('deploy-image-build.log');
  // --isolation chroot: RUN steps without an OCI runtime (crun refuses
  // this sandbox's hybrid cgroups); a real builder needs no flag.
  const r = run('podman', ['build', '--isolation', 'chroot', '--build-arg', `BASE=${BASE}`,
    '-f', 'Containerfile', '-t', IMAGE, '.'], { check: false });
  fs.writeFileSync(log, r.stdout + r.stderr);
  assert.equal(r.status, 0, `podman build failed (log: ${log}):\n${(r.stdout + r.stderr).slice(-3000)}`);
  config = JSON.parse(run('podman', ['image', 'inspect', IMAGE]).stdout)[0].Config;
  rootfs = run('podman', ['image', 'mount', IMAGE]).stdout.trim();
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'tixin-volume-'));
  fs.chownSync(data, 10001, 10001);
});

after(() => {
  if (rootfs) run('podman', ['image', 'unmount', IMAGE], { check: false });
  // Each build with changed sources leaves an untagged build stage
  // (~600 MB); keep a day of them as the layer cache, drop the older ones.
  run('podman', ['image', 'prune', '--force', '--filter', 'until=24h'], { check: false });
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

test('the image runs tixin serve as uid 10001 with its data on /var/lib/tixin', () => {
  assert.equal(config.User, '10001:10001');
  assert.deepEqual(config.Entrypoint, ['/usr/local/bin/tixin']);
  assert.deepEqual(config.Cmd, ['serve']);
  assert.ok(config.Env.includes('TIXIN_LISTEN=0.0.0.0:8080'), config.Env.join(' '));
  assert.ok(config.Env.includes('TIXIN_DATABASE_URL=sqlite:/var/lib/tixin/tixin.db'));
  assert.ok('/var/lib/tixin' in (config.Volumes || {}), 'VOLUME /var/lib/tixin');
  assert.ok('8080/tcp' in (config.ExposedPorts || {}), 'EXPOSE 8080');
  assert.equal(config.WorkingDir, '/var/lib/tixin');
});

test('the runtime stage carries no compiler or headers, and every library resolves', () => {
  for (const f of ['usr/bin/gcc', 'usr/bin/cc', 'usr/bin/make', 'usr/include/h2o.h', 'usr/include/sqlite3.h']) {
    assert.ok(!fs.existsSync(path.join(rootfs, f)), `${f} must not be in the runtime image`);
  }
  const ldd = inImage([], ['/usr/bin/ldd', '/usr/local/bin/tixin']).stdout;
  assert.doesNotMatch(ldd, /not found/, ldd);
  assert.match(ldd, /libh2o-evloop/);
  const st = fs.statSync(path.join(rootfs, 'usr/local/bin/tixin'));
  assert.equal(st.uid, 0, 'the binary belongs to root: the tixin user cannot replace it');
  assert.equal(st.mode & 0o022, 0, 'the binary is not group/world writable');
  // The runtime layer over the base: the binary and its libraries, a few MB.
  const sizeOf = (img) => Number(run('podman', ['image', 'inspect', '--format', '{{.Size}}', img]).stdout);
  const extra = (sizeOf(IMAGE) - sizeOf(BASE)) / 1e6;
  assert.ok(extra < 40, `the runtime stage adds ${extra.toFixed(1)} MB over the base (limit 40 MB)`);
});

test('the root filesystem is read-only and the volume writable for uid 10001', () => {
  const id = inImage([], ['/usr/bin/id', '-u']).stdout.trim();
  assert.equal(id, '10001');
  const w = inImage([], ['/usr/bin/touch', '/usr/local/bin/x'], { check: false });
  assert.notEqual(w.status, 0);
  assert.match(w.stderr, /Read-only file system/);
  inImage([], ['/usr/bin/touch', '/var/lib/tixin/probe', '/tmp/probe']);
  assert.ok(fs.existsSync(path.join(data, 'probe')));
});

test('tixin version, demo and serve from the image: /healthz, /readyz, the demo events, the web UI, SIGTERM drains', async () => {
  assert.match(inImage([], ['/usr/local/bin/tixin', 'version']).stdout, /tixin/i);
  inImage([], ['/usr/local/bin/tixin', 'demo']);
  assert.ok(fs.existsSync(path.join(data, 'tixin.db')), 'demo wrote the database on the volume');

  const port = await freePort();
  const log = artifact('deploy-image-serve.log');
  const out = fs.openSync(log, 'w');
  const proc = spawn(RUNNER, [rootfs, data, ...imageEnv([`TIXIN_LISTEN=127.0.0.1:${port}`, 'TIXIN_THREADS=2']),
    '--', '/usr/local/bin/tixin', 'serve'], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exit = null;
  const exited = new Promise((r) => proc.on('exit', (code, signal) => { exit = { code, signal }; r(exit); }));
  try {
    const base = `http://127.0.0.1:${port}`;
    const h = await waitHttp(`${base}/healthz`, 20000, () => exit === null);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const ev = await (await fetch(`${base}/api/v1/events`)).json();
    assert.equal(ev.items.length, 3, JSON.stringify(ev).slice(0, 300));
    // the web UI ships in the image (PREFIX/share/tixin/web)
    const ui = await fetch(`${base}/`);
    assert.equal(ui.status, 200);
    assert.match(ui.headers.get('content-type'), /^text\/html/);
    assert.match(await ui.text(), /<script type="importmap">/);

    // SIGTERM to tixin itself (unshare's child): it drains and exits 0.
    const child = Number(fs.readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim());
    assert.ok(child > 0);
    assert.match(fs.readFileSync(`/proc/${child}/cmdline`, 'utf8'), /tixin/);
    process.kill(child, 'SIGTERM');
    const res = await Promise.race([exited, sleep(20000).then(() => 'timeout')]);
    assert.notEqual(res, 'timeout', 'tixin did not exit within 20 s of SIGTERM');
    assert.deepEqual(res, { code: 0, signal: null }, fs.readFileSync(log, 'utf8').slice(-2000));
  } finally {
    if (exit === null) proc.kill('SIGKILL');
  }
});
