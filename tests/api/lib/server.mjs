// Starts the real tixin binary on a free loopback port with a fresh SQLite
// file, waits for /healthz, and stops it with SIGTERM at the end of the
// suite: the exit code must be 0 (graceful shutdown is part of the contract)
// and neither stdout nor stderr may hold a sanitizer report.
//
// Backends (see tests/api/README.md): with TIXIN_TEST_PG_URL (an admin URL
// of a running PostgreSQL) each server gets a fresh database
// tixin_t_<random>, dropped in cleanup. With TIXIN_TEST_BASE_URL nothing is
// started: the suites run against that URL (a cluster behind HAProxy),
// stop/cleanup do nothing, and tests that must signal or restart the
// server skip themselves (srv.external); the database, when
// TIXIN_TEST_DB_URL names it, is still readable through srv.sql().
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
export const BIN = path.resolve(ROOT, process.env.TIXIN_BIN || 'build/tixin');
const ARTIFACTS = path.resolve(ROOT, process.env.TIXIN_TEST_ARTIFACTS || 'test-artifacts');
const SANITIZER = ['ERROR: AddressSanitizer', 'runtime error:', 'LeakSanitizer'];
const PG_ADMIN_URL = process.env.TIXIN_TEST_PG_URL || '';
const EXTERNAL_URL = (process.env.TIXIN_TEST_BASE_URL || '').replace(/\/+$/, '');
/** Why tests that signal, restart or read the server's process skip in external mode. */
export const EXTERNAL_SKIP = EXTERNAL_URL
  ? `TIXIN_TEST_BASE_URL is set: the server (${EXTERNAL_URL}) is not ours to signal or restart` : false;

/** Rows of a query as objects, from a SQLite file or a PostgreSQL URL. */
export function dbQuery(dbUrl, query) {
  let out;
  if (dbUrl.startsWith('sqlite:')) {
    out = execFileSync('sqlite3', ['-json', '-readonly', dbUrl.slice(7), query], { encoding: 'utf8' });
  } else {
    out = execFileSync('psql', [dbUrl, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
      '-c', `SELECT coalesce(json_agg(q), '[]') FROM (${query}) q`], { encoding: 'utf8' });
  }
  return out.trim() ? JSON.parse(out) : [];
}

function pgAdmin(sqlText) {
  execFileSync('psql', [PG_ADMIN_URL, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sqlText], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function tail(file, n = 4000) {
  try {
    const t = fs.readFileSync(file, 'utf8');
    return t.length > n ? '...' + t.slice(-n) : t;
  } catch {
    return '';
  }
}

export class TixinServer {
  /**
   * sharedWith: another (started) TixinServer whose database this one uses
   * too (two instances, one database); dbUrl: an existing database to serve
   * (neither is created nor removed here).
   */
  constructor(name, { sharedWith = null, dbUrl = null, env = {}, wrap = [], serveDbUrl = null, threads = 2 } = {}) {
    this.extraEnv = env; // more environment for the server process
    this.wrap = wrap; // a command (argv) that runs the server's argv, e.g. in a namespace
    this.serveDbUrl = serveDbUrl; // maps the database URL for the server (the tests still use dbUrl)
    this.threads = threads;
    this.name = name;
    this.sharedWith = sharedWith;
    this.givenDbUrl = dbUrl;
    this.proc = null;
    this.exited = null; // {code, signal}
    this.external = Boolean(EXTERNAL_URL);
    this.dbKind = this.external ? (process.env.TIXIN_TEST_DB_URL ? 'postgres' : null) : PG_ADMIN_URL ? 'postgres' : 'sqlite';
  }

  /** Rows of a query on this server's database (throws when it has none we can read). */
  sql(query) {
    assert.ok(this.dbUrl, 'no database to read: set TIXIN_TEST_DB_URL along with TIXIN_TEST_BASE_URL');
    return dbQuery(this.dbUrl, query);
  }

  _createDatabase() {
    if (this.sharedWith || this.givenDbUrl) {
      this.dbUrl = this.givenDbUrl || this.sharedWith.dbUrl; // created and removed by its owner
      return;
    }
    if (!PG_ADMIN_URL) {
      this.dbPath = path.join(os.tmpdir(), `tixin-${this.name}-${process.pid}-${Date.now()}.db`);
      this.dbUrl = `sqlite:${this.dbPath}`;
      return;
    }
    this.pgName = `tixin_t_${crypto.randomBytes(6).toString('hex')}`;
    pgAdmin(`CREATE DATABASE ${this.pgName}`);
    const u = new URL(PG_ADMIN_URL);
    u.pathname = `/${this.pgName}`;
    this.dbUrl = u.toString();
  }

  async start() {
    if (this.external) {
      this.base = EXTERNAL_URL;
      this.dbUrl = process.env.TIXIN_TEST_DB_URL || null;
      await this._waitHealthy();
      return this;
    }
    assert.ok(fs.existsSync(BIN), `server binary ${BIN} does not exist (set TIXIN_BIN or run make)`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    this.dir = fs.mkdtempSync(path.join(ARTIFACTS, `${this.name}-`));
    this._createDatabase();
    this.stdoutPath = path.join(this.dir, 'stdout.log');
    this.stderrPath = path.join(this.dir, 'stderr.log');
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freePort();
      this.base = `http://127.0.0.1:${this.port}`;
      try {
        await this._spawnAndWait();
        return this;
      } catch (e) {
        lastErr = e;
        if (this.proc && this.exited === null) this.proc.kill('SIGKILL');
        if (!/in use|bind/i.test(tail(this.stderrPath) + tail(this.stdoutPath))) break;
      }
    }
    throw lastErr;
  }

  _spawnAndWait() {
    const out = fs.openSync(this.stdoutPath, 'a');
    const err = fs.openSync(this.stderrPath, 'a');
    this.exited = null;
    const argv = [...this.wrap, BIN, 'serve', '--listen', `127.0.0.1:${this.port}`,
      '--database', this.serveDbUrl ? this.serveDbUrl(this.dbUrl) : this.dbUrl, '--threads', String(this.threads)];
    this.proc = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', out, err],
      env: { ...process.env, ...this.extraEnv },
    });
    fs.closeSync(out);
    fs.closeSync(err);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
    });
    return this._waitHealthy();
  }

  async _waitHealthy() {
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (this.exited && !this.external) {
        throw new Error(`tixin exited during start-up (${JSON.stringify(this.exited)}):\n${tail(this.stderrPath)}`);
      }
      try {
        const r = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        if (r.status === 200) return;
      } catch { /* not up yet */ }
      await sleep(50);
    }
    throw new Error(`tixin did not answer /healthz within 20 s:\n${tail(this.stderrPath)}`);
  }

  /** Text the server wrote to stdout and stderr so far. */
  output() {
    if (this.external) return '';
    return tail(this.stdoutPath, 1e9) + tail(this.stderrPath, 1e9);
  }

  assertNoSanitizerReport() {
    const text = this.output();
    for (const s of SANITIZER) {
      const i = text.indexOf(s);
      assert.equal(i, -1, `sanitizer report in the server's output (${this.dir}):\n${text.slice(Math.max(0, i - 200), i + 6000)}`);
    }
  }

  /**
   * SIGTERM, wait for the exit; asserts exit code 0 and no sanitizer report
   * (check: false only waits: the suite's after hook checks again).
   */
  async stop({ timeoutMs = 20000, check = true } = {}) {
    if (!this.proc) return undefined; // never started, or external
    if (this.exited === null) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => { if (this.exited === null) this.proc.kill('SIGKILL'); }, timeoutMs);
      await this.exitPromise;
      clearTimeout(t);
    }
    const ex = this.exited;
    if (!check) return ex;
    this.assertNoSanitizerReport();
    assert.deepEqual(ex, { code: 0, signal: null },
      `tixin did not exit cleanly on SIGTERM: ${JSON.stringify(ex)} (0 expected; SIGKILL means it hung > ${timeoutMs} ms)\n${tail(this.stderrPath)}`);
  }

  /** Kill if still running; remove the database, and the logs when all went well. */
  cleanup(ok) {
    if (this.proc && this.exited === null) this.proc.kill('SIGKILL');
    if (this.external || process.env.TIXIN_KEEP_ARTIFACTS) return;
    if (this.pgName) {
      try { pgAdmin(`DROP DATABASE IF EXISTS ${this.pgName} WITH (FORCE)`); } catch { /* server gone */ }
    }
    for (const f of this.dbPath ? [this.dbPath, `${this.dbPath}-wal`, `${this.dbPath}-shm`] : []) {
      try { fs.unlinkSync(f); } catch { /* absent */ }
    }
    if (ok && this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Registers before/after hooks for one suite (one test file): a server is
 * started before the first test and stopped (and checked) after the last.
 * Returns the TixinServer; its fields (base, port, dbPath) are set once the
 * before hook ran, which then calls onStart(srv). opts: TixinServer's
 * options (e.g. env: more environment for the server).
 */
export function useServer(name, onStart, opts = {}) {
  const srv = new TixinServer(name.replace(/[^a-z0-9-]/gi, '_'), opts);
  // (Node 20 runs several root-level before hooks concurrently: one hook only)
  before(async () => {
    await srv.start();
    if (onStart) await onStart(srv);
  });
  after(async () => {
    let ok = false;
    try {
      await srv.stop();
      ok = true;
    } catch (e) {
      throw new Error(`[suite ${name}] shutdown check after the last test: ${e.message}`);
    } finally {
      srv.cleanup(ok);
    }
  });
  return srv;
}
