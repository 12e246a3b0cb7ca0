// Browser side of the UI tests: Debian's Chromium driven by playwright-core,
// the real tixin binary (tests/api/lib/server.mjs) serving web/, seeding
// through the real API, and small helpers to read the seat map's canvas.
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { ROOT, useServer } from '../../api/lib/server.mjs';
import { Client } from '../../api/lib/client.mjs';

// The server passes its environment through: point it at the repo's web/.
process.env.TIXIN_WEB_ROOT ||= path.join(ROOT, 'web');

const ART = path.resolve(ROOT, process.env.ART || 'test-artifacts', 'ui');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The machine's network is closed: no background connections, no QUIC.
// (--disable-dev-shm-usage: containers often have a tiny /dev/shm.)
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/**
 * One server and one browser for a test file (playwright's launch() gives
 * the browser a fresh temporary user-data dir, removed at close). Returns
 * {srv, api, browser(), context(opts), close()}.
 */
export function useUi(name) {
  let browser = null;
  const contexts = [];
  const ui = {
    srv: null,
    api: null,
    async browser() {
      browser ||= await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60000 });
      return browser;
    },
    /** A fresh context (its own cookies); pages log their errors. */
    async context(opts = {}) {
      const ctx = await (await ui.browser()).newContext({ viewport: { width: 1280, height: 900 }, ...opts });
      ctx.setDefaultTimeout(15000);
      ctx.on('page', (p) => watchPage(p));
      contexts.push(ctx);
      return ctx;
    },
  };
  // the browser goes first: its pages' WebSockets close before the server drains
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    if (browser) await browser.close();
    for (const e of pageErrors) assert.fail(`page error in ${name}: ${e}`);
  });
  ui.srv = useServer(`ui-${name}`, (srv) => { ui.api = new Client(srv.base); });
  return ui;
}

const pageErrors = [];
function watchPage(page) {
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
}

/** Save a screenshot as a test artifact: $ART/ui/NAME.png (the viewport:
 * a full-page capture resizes it and leaves the scroll position moving
 * under the next click). */
export async function shot(page, name) {
  fs.mkdirSync(ART, { recursive: true });
  await page.screenshot({ path: path.join(ART, `${name}.png`) });
}

/** Sign in through the UI's form, then land on next. */
export async function signInUi(page, base, email, password, next = '/') {
  await page.goto(`${base}/signin?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email', { exact: true }).first().fill(email);
  await page.getByLabel('Password', { exact: true }).first().fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === next.split('?')[0]);
}

/** Put an API token in the session cookie, as the UI's sign-in does. */
export async function signInCookie(ctx, base, token) {
  await ctx.addCookies([{ name: 'tixin_session', value: token, url: base, sameSite: 'Strict' }]);
}

/** Open an event page and wait for the drawn map and the live socket. */
export async function openEvent(page, base, eventId) {
  await page.goto(`${base}/events/${eventId}`);
  await page.waitForSelector('canvas.seatmap[data-ready]');
  await page.waitForSelector('.live-badge[data-state=live]');
}

/** Click a seat of the canvas by its id (real mouse input). */
export async function clickSeat(page, id) {
  const p = await page.evaluate((id) => document.querySelector('canvas.seatmap').seatMap.seatCenter(id), id);
  assert.ok(p, `seat ${id} is on the map`);
  await page.mouse.click(p.x, p.y);
}

const STATUS = ['free', 'held', 'sold', 'off'];
/** The map's model status and the colour actually drawn at the seat's centre. */
export function seatState(page, id) {
  return page.evaluate(({ id, STATUS }) => {
    const c = document.querySelector('canvas.seatmap'), m = c.seatMap;
    // a point inside the seat, off its centre where the number may be drawn
    const i = m.indexOf(id), p = m.seatCenter(id), r = c.getBoundingClientRect(), dpr = devicePixelRatio;
    const off = 3.4 * m.view.s;
    const d = c.getContext('2d').getImageData(Math.round((p.x - off - r.left) * dpr), Math.round((p.y - off - r.top) * dpr), 1, 1).data;
    const hex = '#' + [d[0], d[1], d[2]].map((x) => x.toString(16).padStart(2, '0')).join('');
    return { status: STATUS[m.status[i]], selected: m.selected.has(i), color: hex };
  }, { id, STATUS });
}

export const COLOR = { free: '#23885b', held: '#f0b429', sold: '#5f6877', picked: '#1d4ed8' };

/** Poll fn (async, truthy when done) for up to ms. */
export async function until(fn, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) assert.fail(`${what} not reached in ${ms} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
