// The README's first command, run as written: it must install what is
// missing (nothing, by now), build, seed the demo data, print the URL and
// the demo logins, and serve them; and a new user must be able to do what
// the README then promises (sign in as the buyer, pick a seat, pay with the
// test card, get a ticket with its QR code; the organizer sees the event's
// stats). The command gets a free port and a fresh database through the
// options the script documents (--listen, TIXIN_DATABASE_URL), and is
// stopped with Ctrl-C (SIGINT), as its banner says.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../api/lib/server.mjs';
import { Client, expectStatus, eventually } from '../api/lib/client.mjs';

const readmeLines = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').filter((l) => l.trim());
const firstCommand = readmeLines[0].trim();

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tixin-quickstart-'));
let out = '';
let proc = null;
let exited = null;
after(() => {
  if (proc && !exited) proc.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the README starts with its two commands', () => {
  assert.equal(firstCommand, 'scripts/quickstart');
  assert.equal(readmeLines[1].trim(), 'make test');
});

/** Runs the first command on the test's port and database; resolves once /healthz answers, with {exit}. */
async function startQuickstart() {
  const [cmd, ...args] = firstCommand.split(/\s+/);
  out = '';
  exited = null;
  proc = spawn(path.join(ROOT, cmd), [...args, '--listen', `127.0.0.1:${port}`], {
    cwd: ROOT,
    env: { ...process.env, TIXIN_DATABASE_URL: `sqlite:${path.join(dir, 'demo.db')}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exit = new Promise((resolve) => proc.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); }));
  await eventually(async () => {
    assert.equal(exited, null, `scripts/quickstart exited: ${JSON.stringify(exited)}\n${out}`);
    return (await fetch(`${base}/healthz`).catch(() => null))?.status === 200;
  }, { timeoutMs: 200000, intervalMs: 200, what: `/healthz on ${base}` });
  return { exit }; // wrapped: an async function would wait for a promise it returns
}

async function stopQuickstart({ exit }) {
  proc.kill('SIGINT');
  assert.deepEqual(await exit, { code: 0, signal: null }, `Ctrl-C stops it cleanly\n${out.slice(-2000)}`);
}

const base = `http://127.0.0.1:${port}`;
const sold = {};

test('the first command builds, seeds the demo and serves it, printing the URL and the logins', { timeout: 240000 }, async () => {
  const exit = await startQuickstart();
  assert.match(out, new RegExp(`Tixin is starting on ${base.replace(/\./g, '\\.')}`));
  for (const login of ['buyer@demo.tixin', 'organizer@demo.tixin', 'demo-password']) assert.ok(out.includes(login), `prints ${login}`);
  const c = new Client(base);
  const html = await fetch(`${base}/`);
  assert.equal(html.status, 200);
  assert.match(await html.text(), /<html/i, 'the web UI');

  // the demo: three events on sale, one with a GA tier, on a ~2,000-seat venue
  const events = expectStatus(await c.get('/api/v1/events'), 200);
  assert.equal(events.items.length, 3);
  const pages = await Promise.all(events.items.map(async (e) => expectStatus(await c.get(`/api/v1/events/${e.id}`), 200)));
  assert.ok(pages.some((e) => e.ga_tiers.length > 0), 'one event has a GA tier');
  const event = pages[0];
  const seats = expectStatus(await c.get(`/api/v1/events/${event.id}/seats`), 200);
  assert.ok(seats.seats.length >= 1500 && seats.seats.length <= 2500, `${seats.seats.length} seats`);

  // the buyer's path the README describes
  const signIn = async (email) => c.as(expectStatus(await c.post('/api/v1/sessions', { email, password: 'demo-password' }), 201).token);
  const buyer = await signIn('buyer@demo.tixin');
  const seat = seats.seats.find((s) => s.status === 'free');
  const h = expectStatus(await buyer.post(`/api/v1/events/${event.id}/holds`, { seats: [seat.id] }), 201);
  const order = expectStatus(await buyer.post('/api/v1/orders', { hold_id: h.id, payment: { method: 'test', token: 'tok_visa' } }), 201);
  const ticket = order.tickets[0];
  const qr = await fetch(`${base}/api/v1/tickets/${ticket.id}/qr.svg`, { headers: { authorization: `Bearer ${buyer.token}` } });
  assert.equal(qr.status, 200);
  assert.match(await qr.text(), /<svg/);

  // the organizer owns the demo organization and sees the sale
  const organizer = await signIn('organizer@demo.tixin');
  const stats = expectStatus(await organizer.get(`/api/v1/events/${event.id}/stats`), 200);
  assert.ok(stats.seats_sold >= 1 && stats.tickets_sold >= 1, JSON.stringify(stats));

  Object.assign(sold, { event: event.id, seat: seat.id, order: order.id });
  await stopQuickstart(exit);
});

test('run again on the same database, it keeps what was sold and seeds nothing twice', { timeout: 240000 }, async () => {
  assert.ok(sold.order, 'the first run sold a seat');
  const exit = await startQuickstart();
  assert.match(out, /already present/);
  const c = new Client(base);
  assert.equal(expectStatus(await c.get('/api/v1/events'), 200).items.length, 3);
  const seats = expectStatus(await c.get(`/api/v1/events/${sold.event}/seats`), 200);
  assert.equal(seats.seats.find((s) => s.id === sold.seat).status, 'sold');
  const buyer = c.as(expectStatus(await c.post('/api/v1/sessions', { email: 'buyer@demo.tixin', password: 'demo-password' }), 201).token);
  assert.equal(expectStatus(await buyer.get(`/api/v1/orders/${sold.order}`), 200).status, 'paid');
  await stopQuickstart(exit);
});
