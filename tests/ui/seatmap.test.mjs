// The seat map at 10,000 seats (20 sections x 25 rows x 20 seats): how soon
// the event page is interactive (navigation start -> map drawn with its
// handlers bound, the page's performance mark), what one frame costs, and
// that it works without a mouse: keyboard cursor with spoken labels, the
// list picker, and touch (pinch zoom, drag, tap) through Chromium's real
// touch input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEvent, makeOrg, makeUser, makeVenue, publish } from '../api/lib/fixtures.mjs';
import { shot, until, useUi } from './lib/browser.mjs';

const ui = useUi('seatmap');
const LETTERS = 'ABCDEFGHIJKLMNOPQRST';

let eventId = null;
async function bigEvent() {
  if (eventId) return eventId;
  const owner = await makeUser(ui.api);
  const org = await makeOrg(owner);
  const sections = [...LETTERS].map((id) => ({ id, rows: Array.from({ length: 25 }, (_, r) => ({ id: String(r + 1), seats: 20 })) }));
  const venue = await makeVenue(owner, org.id, { sections });
  assert.equal(venue.seat_count, 10000);
  const prices = [...LETTERS].map((section, k) => ({ section, price_cents: 2000 + 500 * (k % 5) }));
  const ev = await makeEvent(owner, org.id, venue.id, { prices, ga_tiers: [] });
  await publish(owner, ev.id);
  eventId = ev.id;
  return eventId;
}

/** Open the page (in a fresh context: an empty cache) and pick a seat;
 * answers the timings in ms since navigation start. */
async function measure(ctxOpts, { throttle = 1, reload = false } = {}) {
  const ctx = await ui.context(ctxOpts);
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    addEventListener('pointerup', (e) => { window.pointerAt ??= e.timeStamp; }, true);
    new MutationObserver(() => {
      if (!window.pickedAt && document.querySelector('.cart[data-state=selected]')) window.pickedAt = performance.now();
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  if (throttle > 1) await (await ctx.newCDPSession(page)).send('Emulation.setCPUThrottlingRate', { rate: throttle });
  await page.goto(`${ui.srv.base}/events/${await bigEvent()}`);
  if (reload) await page.reload();
  await page.waitForSelector('canvas.seatmap[data-ready]');
  const p = await page.evaluate(() => document.querySelector('canvas.seatmap').seatMap.seatCenter('J-13-10'));
  if (ctxOpts.hasTouch) await page.touchscreen.tap(p.x, p.y);
  else await page.mouse.click(p.x, p.y);
  await page.waitForSelector('.cart[data-state=selected]');
  const t = await page.evaluate(() => ({
    interactive: performance.getEntriesByName('tixin:seatmap-interactive')[0].startTime,
    pick: window.pickedAt - window.pointerAt,
    seats: document.querySelector('canvas.seatmap').seatMap.n,
    transferred: performance.getEntriesByType('resource').find((r) => r.name.includes('/seats?view=compact'))?.transferSize,
  }));
  if (!reload) await page.close();
  return { page, ...t };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;

test('the 10,000-seat event page is interactive fast', async () => {
  const desktop = { viewport: { width: 1280, height: 900 } };
  const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };
  const cold = [], warm = [];
  for (let k = 0; k < 3; k++) cold.push(await measure(desktop));
  for (let k = 0; k < 3; k++) warm.push(await measure(desktop, { reload: true }));
  const mobile = await measure(phone, { throttle: 4, reload: true });
  assert.equal(cold[0].seats, 10000);
  await shot(warm[0].page, 'event-10k-desktop');
  await shot(mobile.page, 'event-10k-phone');

  // cost of one frame (all 10,000 seats in view), JavaScript side
  const frame = await warm[0].page.evaluate(() => {
    const m = document.querySelector('canvas.seatmap').seatMap;
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) { m.view.tx += 0.5; m.drawNow(); }
    return (performance.now() - t0) / 50;
  });
  const c = median(cold.map((r) => r.interactive)), w = median(warm.map((r) => r.interactive));
  console.log(`# seat map, 10,000 seats: navigation start -> map drawn and clickable: cold cache median ${ms(c)} `
    + `(${cold.map((r) => ms(r.interactive)).join(', ')}), warm cache median ${ms(w)} (${warm.map((r) => ms(r.interactive)).join(', ')}), `
    + `phone profile (390x844 @3x, CPU slowed 4x, warm) ${ms(mobile.interactive)}; a click's pick handled in ${ms(median(cold.map((r) => r.pick)))}; `
    + `one full redraw ${frame.toFixed(1)} ms; compact seat view ${cold[0].transferred} bytes on the wire; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
  assert.ok(c < 4000, `interactive after ${c} ms (target 1,000 ms; the bound is loose for loaded CI machines)`);
  assert.ok(frame < 250, `one redraw takes ${frame} ms (a loose bound: 2-10 ms on a quiet machine)`);
});

test('keyboard: arrow keys move a spoken cursor, Enter picks; the list picker picks too', async () => {
  const page = await (await ui.context()).newPage();
  await page.goto(`${ui.srv.base}/events/${await bigEvent()}`);
  await page.waitForSelector('canvas.seatmap[data-ready]');
  await page.getByRole('button', { name: 'Fit' }).focus();
  await page.keyboard.press('Tab'); // the next stop after the map's buttons is the map
  assert.equal(await page.evaluate(() => document.activeElement.className), 'seatmap');
  const said = () => page.locator('#seat-announce').innerText();
  assert.match(await said(), /^Section A, row 1, seat 1: free, €20\.00$/);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  assert.match(await said(), /^Section A, row 2, seat 3: free/);
  await page.keyboard.press('Enter');
  assert.match(await said(), /^Section A, row 2, seat 3: your pick, €20\.00$/);
  await page.keyboard.press('PageDown');
  await page.keyboard.press('End');
  assert.match(await said(), /^Section B, row 1, seat 20: free, €25\.00$/);
  await page.keyboard.press(' ');
  await shot(page, 'event-10k-keyboard');

  await page.getByText('Choose seats from a list').click();
  await page.getByLabel('Section', { exact: true }).selectOption('C');
  await page.getByLabel('Row', { exact: true }).selectOption({ label: 'Row 2' });
  const label = page.locator('.seat-box').nth(4);
  assert.match(await label.innerText(), /^\s*5\s+free/);
  const box = label.getByRole('checkbox');
  await box.focus();
  await page.keyboard.press('Space');
  assert.equal(await box.isChecked(), true);
  assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the checkbox keeps the focus');
  const picked = await page.locator('.cart .picked').innerText();
  assert.match(picked, /Section A, row 2, seat 3[\s\S]*Section B, row 1, seat 20[\s\S]*Section C, row 2, seat 5/);
  assert.match(await page.locator('.cart').innerText(), /3 seats picked[\s\S]*€75\.00/);
});

test('touch: pinch zooms, one finger pans, a tap picks', async () => {
  const ctx = await ui.context({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  await page.goto(`${ui.srv.base}/events/${await bigEvent()}`);
  await page.waitForSelector('canvas.seatmap[data-ready]');
  const cdp = await ctx.newCDPSession(page);
  const box = await page.locator('canvas.seatmap').boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  const view = () => page.evaluate(() => ({ ...document.querySelector('canvas.seatmap').seatMap.view }));
  const touch = (type, pts) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: pts.map(([x, y], id) => ({ x, y, id })) });

  const v0 = await view();
  await touch('touchStart', [[cx - 20, cy], [cx + 20, cy]]);
  for (let d = 30; d <= 120; d += 10) await touch('touchMove', [[cx - d, cy], [cx + d, cy]]);
  await touch('touchEnd', []);
  const v1 = await view();
  assert.ok(v1.s > v0.s * 4, `pinch zoomed ${v0.s} -> ${v1.s}`);

  await touch('touchStart', [[cx, cy]]);
  for (let d = 10; d <= 80; d += 10) await touch('touchMove', [[cx + d, cy + d / 2]]);
  await touch('touchEnd', []);
  const v2 = await view();
  assert.ok(Math.abs(v2.tx - v1.tx - 80) < 2 && Math.abs(v2.ty - v1.ty - 40) < 2, `one finger panned by ${v2.tx - v1.tx}, ${v2.ty - v1.ty}`);
  assert.equal(await page.locator('.cart').getAttribute('data-state'), 'empty', 'gestures pick nothing');

  const id = await page.evaluate(({ cx, cy }) => {
    const m = document.querySelector('canvas.seatmap').seatMap;
    const i = m.hit(cx, cy);
    return i >= 0 ? m.idOf(i) : null;
  }, { cx, cy });
  assert.ok(id, 'a seat under the finger after zooming');
  await page.touchscreen.tap(cx, cy);
  await until(async () => (await page.locator('.cart').getAttribute('data-state')) === 'selected', 3000, 'tap picks');
  assert.match(await page.locator('.cart .picked').innerText(), new RegExp(`Section ${id.split('-')[0]}, row ${id.split('-')[1]}, seat ${id.split('-')[2]}`));
  await shot(page, 'event-10k-phone-zoomed');
});
