// Door staff in a real browser: a staff member of the organization signs
// in, finds the event on the check-in page (discovered through the stats it
// may read), types ticket codes and sees green "Admitted" once, then red
// reasons: already checked in (with the time), void (refunded), unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, buy, makeUser, setupEvent } from '../api/lib/fixtures.mjs';
import { expectStatus } from '../api/lib/client.mjs';
import { shot, signInUi, until, useUi } from './lib/browser.mjs';

const ui = useUi('checkin');

test('staff check a ticket in once; the second scan, a void and an unknown code are refused', async () => {
  const { owner, org, event } = await setupEvent(ui.api);
  const staff = await makeUser(ui.api, { name: 'Sam Staff' });
  await addMember(owner, org.id, staff.email, 'staff');
  const buyer = await makeUser(ui.api);
  const order = await buy(buyer, event.id, { seats: ['A-3-4', 'A-3-5'] });
  const refunded = await buy(buyer, event.id, { seats: ['B-1-1'] });
  expectStatus(await buyer.c.post(`/api/v1/orders/${refunded.id}/cancel`), 200);

  const page = await (await ui.context({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
  await signInUi(page, ui.srv.base, staff.email, staff.password, '/checkin');
  await page.getByRole('link', { name: event.title }).click();
  await page.waitForURL(`${ui.srv.base}/checkin/${event.id}`);
  const input = page.getByLabel('Ticket code');
  const verdict = page.locator('.verdict');
  const check = async (code) => {
    const before = await page.locator('.history li').count();
    await input.fill(code);
    await input.press('Enter');
    await until(async () => (await page.locator('.history li').count()) > before, 5000, 'a verdict');
    return { kind: await verdict.getAttribute('data-verdict'), text: await verdict.innerText() };
  };

  // a lower-case code with spaces, as a person might type it, is normalised
  const code = order.tickets.find((t) => t.seat === 'A-3-4').code;
  const first = await check(code.toLowerCase().replace(/(.{4})/g, '$1 '));
  assert.equal(first.kind, 'admitted');
  assert.match(first.text, /Admitted[\s\S]*Section A, row 3, seat 4/);
  assert.equal(await verdict.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(19, 122, 62)');
  await shot(page, 'checkin-admitted');

  const again = await check(code);
  assert.equal(again.kind, 'refused');
  assert.match(again.text, /Already checked in[\s\S]*Already checked in at/);
  assert.equal(await verdict.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(180, 35, 24)');
  await shot(page, 'checkin-refused');

  const voided = await check(refunded.tickets[0].code);
  assert.equal(voided.kind, 'refused');
  assert.match(voided.text, /Void ticket/);

  const unknown = await check('ABCDEFGHJKLMNPQRSTUVWXYZ23');
  assert.equal(unknown.kind, 'refused');
  assert.match(unknown.text, /Unknown ticket/);
  assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'the field keeps the focus');

  // what the door did shows in the organizer's stats
  const stats = expectStatus(await owner.c.get(`/api/v1/events/${event.id}/stats`), 200);
  assert.equal(stats.checked_in, 1);
});

test('a signed-in buyer who is not staff is told so at the door', async () => {
  const { event } = await setupEvent(ui.api);
  const buyer = await makeUser(ui.api);
  const page = await (await ui.context()).newPage();
  await signInUi(page, ui.srv.base, buyer.email, buyer.password, `/checkin/${event.id}`);
  await page.getByLabel('Ticket code').fill('ABCDEFGHJKLMNPQRSTUVWXYZ23');
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.locator('.verdict[data-verdict=refused]').waitFor();
  assert.match(await page.locator('.verdict').innerText(), /Not your event[\s\S]*not allowed/);
});
