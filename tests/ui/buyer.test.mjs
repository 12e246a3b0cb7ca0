// A buyer in a real browser: picks two seats on the canvas, holds them
// (countdown), is declined with a bad card, pays with the test card, gets
// tickets with QR codes, finds them in "My tickets" and cancels; all the
// while a second browser context watching the same event sees the seats
// turn held, sold and free again without reloading. Then a hold on an
// event with a 2-second TTL expires and the page says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeUser, setupEvent } from '../api/lib/fixtures.mjs';
import { COLOR, clickSeat, openEvent, seatState, shot, signInCookie, signInUi, until, useUi } from './lib/browser.mjs';

const ui = useUi('buyer');

test('buy two seats while another browser watches them turn held, then sold, then free', async () => {
  const { event } = await setupEvent(ui.api);
  const buyer = await makeUser(ui.api, { name: 'Bea Buyer' });
  const base = ui.srv.base;

  const watcherCtx = await ui.context({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
  const watcher = await watcherCtx.newPage();
  await openEvent(watcher, base, event.id);
  await watcher.evaluate(() => { window.notReloaded = true; });
  await shot(watcher, 'event-page-phone');

  // the watcher (not signed in) has picked A-1-1 too: it must be told it went
  await clickSeat(watcher, 'A-1-1');
  assert.equal((await seatState(watcher, 'A-1-1')).selected, true);

  const page = await (await ui.context()).newPage();
  await signInUi(page, base, buyer.email, buyer.password, `/events/${event.id}`);
  await page.waitForSelector('.live-badge[data-state=live]');
  for (const id of ['A-1-1', 'A-1-2']) await clickSeat(page, id);
  const cart = page.locator('.cart');
  await until(async () => (await cart.getAttribute('data-state')) === 'selected', 3000, 'two seats picked');
  assert.match(await cart.innerText(), /2 seats picked[\s\S]*Section A, row 1, seat 1[\s\S]*Section A, row 1, seat 2[\s\S]*€100\.00/);
  assert.equal((await seatState(page, 'A-1-2')).color, COLOR.picked);
  await shot(page, 'event-seats-picked');

  await page.getByRole('button', { name: 'Hold 2 seats' }).click();
  await until(async () => (await cart.getAttribute('data-state')) === 'held', 5000, 'hold');
  await until(async () => /^(9|10):\d\d$/.test(await page.locator('.countdown').innerText()), 3000, 'countdown near 10:00');
  await shot(page, 'event-hold-countdown');

  // the watcher sees both seats held (model and pixels) and is told its pick went
  for (const id of ['A-1-1', 'A-1-2']) {
    await until(async () => {
      const s = await seatState(watcher, id);
      return s.status === 'held' && s.color === COLOR.held && !s.selected;
    }, 3000, `${id} held on the watcher's map`);
  }
  assert.match(await watcher.locator('#flash').innerText(), /A-1-1 was just taken by someone else/);

  // a declined card keeps the hold
  await page.getByLabel('Card number').fill('4000 0000 0000 0002');
  await page.getByRole('button', { name: /^Pay/ }).click();
  await until(async () => /declined[\s\S]*still held/.test(await cart.innerText()), 5000, 'declined message');
  assert.equal(await cart.getAttribute('data-state'), 'held');
  await shot(page, 'event-payment-declined');

  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: /^Pay/ }).click();
  await page.waitForURL(/\/orders\/[^/]+\?new=1$/);
  await page.getByRole('heading', { name: /You’re going/ }).waitFor();
  const tickets = page.locator('.ticket');
  assert.equal(await tickets.count(), 2);
  await until(() => page.evaluate(() => [...document.querySelectorAll('img.qr')].every((i) => i.complete && i.naturalWidth > 0)), 5000, 'QR images loaded');
  assert.match(await page.locator('.ticket-code').first().innerText(), /^[A-HJ-NP-Z2-9]{26}$/);
  await shot(page, 'order-confirmation');

  for (const id of ['A-1-1', 'A-1-2']) {
    await until(async () => {
      const s = await seatState(watcher, id);
      return s.status === 'sold' && s.color === COLOR.sold;
    }, 3000, `${id} sold on the watcher's map`);
  }

  // My tickets -> the order -> cancel (with a confirmation step)
  await page.getByRole('navigation').getByRole('link', { name: 'My tickets' }).click();
  const card = page.locator('.order-card');
  await card.first().waitFor();
  assert.match(await card.first().innerText(), /2 tickets[\s\S]*Paid/);
  await shot(page, 'my-tickets');
  await card.first().getByRole('link').click();
  await page.getByRole('button', { name: 'Cancel order' }).click();
  await page.getByRole('button', { name: 'Yes, cancel and refund' }).click();
  await page.locator('article.order[data-status=refunded]').waitFor();
  assert.match(await page.locator('article.order').innerText(), /Refunded €100\.00[\s\S]*Void \(refunded\)/);
  await shot(page, 'order-refunded');

  for (const id of ['A-1-1', 'A-1-2']) {
    await until(async () => (await seatState(watcher, id)).color === COLOR.free, 3000, `${id} free again on the watcher's map`);
  }
  assert.equal(await watcher.evaluate(() => window.notReloaded), true, 'the watcher never reloaded');
});

test('a hold expires on its own and the page says so', async () => {
  const { event } = await setupEvent(ui.api, { over: { hold_ttl_seconds: 2 } });
  const buyer = await makeUser(ui.api);
  const ctx = await ui.context();
  await signInCookie(ctx, ui.srv.base, buyer.token);
  const page = await ctx.newPage();
  await openEvent(page, ui.srv.base, event.id);
  await clickSeat(page, 'B-2-5');
  await page.getByRole('button', { name: 'Hold 1 seat' }).click();
  const cart = page.locator('.cart');
  await until(async () => (await cart.getAttribute('data-state')) === 'held', 5000, 'hold');
  assert.match(await page.locator('.countdown').innerText(), /^0:0[0-2]$/);
  await until(async () => (await cart.getAttribute('data-state')) === 'expired', 5000, 'expiry shown');
  const alert = cart.getByRole('alert');
  assert.match(await alert.innerText(), /Your hold expired and the seats were released/);
  // the server freed it too, and the live map shows that
  await until(async () => (await seatState(page, 'B-2-5')).status === 'free', 3000, 'B-2-5 free again');
  assert.equal((await seatState(page, 'B-2-5')).color, COLOR.free);
  await shot(page, 'event-hold-expired');
});

test('seats picked before signing in are still picked after it; the per-order limit is explained', async () => {
  const { event } = await setupEvent(ui.api, { over: { max_tickets_per_order: 2 } });
  const buyer = await makeUser(ui.api);
  const page = await (await ui.context()).newPage();
  await openEvent(page, ui.srv.base, event.id);
  for (const id of ['A-2-1', 'A-2-2', 'A-2-3']) await clickSeat(page, id);
  assert.match(await page.locator('#flash').innerText(), /You can pick up to 2 seats per order/);
  assert.equal((await seatState(page, 'A-2-3')).selected, false);
  await page.getByRole('button', { name: 'Hold 2 seats' }).click();
  await page.waitForURL(/\/signin\?next=/);
  await page.getByLabel('Email', { exact: true }).first().fill(buyer.email);
  await page.getByLabel('Password', { exact: true }).first().fill(buyer.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${ui.srv.base}/events/${event.id}`);
  await until(async () => (await page.locator('.cart').getAttribute('data-state')) === 'selected', 5000, 'picks restored');
  assert.match(await page.locator('.cart .picked').innerText(), /Section A, row 2, seat 1[\s\S]*Section A, row 2, seat 2/);
  await page.getByRole('button', { name: 'Hold 2 seats' }).click();
  await until(async () => (await page.locator('.cart').getAttribute('data-state')) === 'held', 5000, 'held after signing in');
  // a reload keeps the hold and its countdown
  await page.reload();
  await page.waitForSelector('canvas.seatmap[data-ready]');
  assert.equal(await page.locator('.cart').getAttribute('data-state'), 'held');
  await page.getByRole('button', { name: 'Release seats' }).click();
  await until(async () => (await page.locator('.cart').getAttribute('data-state')) === 'empty', 5000, 'released');
  await until(async () => (await seatState(page, 'A-2-1')).status === 'free', 3000, 'A-2-1 free after release');
});

test('a sale that has not opened says so and cannot be held', async () => {
  const soon = new Date(Date.now() + 3 * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const { event } = await setupEvent(ui.api, { over: { sale_starts_at: soon } });
  const page = await (await ui.context()).newPage();
  await openEvent(page, ui.srv.base, event.id);
  assert.match(await page.locator('[data-sale]').innerText(), /Sale opens/);
  await clickSeat(page, 'A-2-2');
  assert.equal(await page.getByRole('button', { name: 'Hold 1 seat' }).isDisabled(), true);
});

test('every page of the UI loads at its own URL (web/client-routes matches web/js/app.js)', async () => {
  const paths = ['/', '/tickets', '/signin', '/organizer', '/checkin', '/checkin/evt_x', '/events/evt_x',
    '/orders/ord_x', '/organizer/events/evt_x', '/?q=rock&city=Lisbon'];
  for (const p of paths) {
    const r = await fetch(ui.srv.base + p);
    assert.equal(r.status, 200, p);
    assert.match(await r.text(), /<script type="importmap">/, p);
  }
  assert.equal((await fetch(ui.srv.base + '/no/such/page')).status, 404);
});

test('every error code of the server has a human message in the UI', async () => {
  const fs = await import('node:fs');
  const src = fs.readFileSync(new URL('../../src/core/errors.c', import.meta.url), 'utf8');
  const codes = [...src.matchAll(/\{E_[A-Z_]+, \d+, "([a-z_]+)"/g)].map((m) => m[1]).filter((c) => c !== 'ok');
  assert.ok(codes.length > 20, 'codes found in errors.c');
  const page = await (await ui.context()).newPage();
  await page.goto(ui.srv.base + '/');
  const known = await page.evaluate(async () => (await import('/js/api.js')).KNOWN_CODES);
  const missing = codes.filter((c) => !known.includes(c));
  assert.deepEqual(missing, [], 'codes without a message in web/js/api.js');
  const msg = await page.evaluate(async () => (await import('/js/api.js')).humanMessage('seat_unavailable', { seats: ['A-1-1'] }, 'x'));
  assert.equal(msg, 'Sorry, seat A-1-1 was just taken by someone else. Please pick other seats.');
});
