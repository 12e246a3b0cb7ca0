// An organizer in a real browser: signs up, creates an organization, a
// venue with the layout editor, an event with prices per section and a GA
// tier, publishes it; the stats page then follows a sale made elsewhere
// without a reload. Another browser (nothing stored locally) then lists the
// organization and its events, drafts included, from the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeUser, uniq } from '../api/lib/fixtures.mjs';
import { expectStatus } from '../api/lib/client.mjs';
import { shot, signInUi, until, useUi } from './lib/browser.mjs';

const ui = useUi('organizer');

test('sign up, create an organization, a venue and an event, publish it, watch its stats', async () => {
  const base = ui.srv.base;
  const page = await (await ui.context({ viewport: { width: 1280, height: 1400 } })).newPage();
  const email = `${uniq('org')}@example.com`;
  await page.goto(`${base}/signin?next=/organizer`);
  const signup = page.locator('form', { has: page.getByRole('heading', { name: /Create an account/ }) });
  await signup.getByLabel('Name').fill('Olga Organizer');
  await signup.getByLabel('Email').fill(email);
  await signup.getByLabel('Password').fill('organizer-pass');
  await signup.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${base}/organizer`);

  await page.getByLabel('New organization name').fill('UI Test Productions');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.getByRole('heading', { name: 'New venue' }).waitFor();

  // door staff: an unknown email is explained, a known one is added
  const member = page.getByRole('form', { name: 'Add a member' });
  await member.getByLabel('Add a member by email').fill(`${uniq('nobody')}@example.com`);
  await member.getByRole('button', { name: 'Add member' }).click();
  await until(async () => /No account has this email/.test(await member.innerText()), 5000, 'user_not_found message');
  const staff = await makeUser(ui.api, { name: 'Door Person' });
  await member.getByLabel('Add a member by email').fill(staff.email);
  await member.getByLabel('Role').selectOption('staff');
  await member.getByRole('button', { name: 'Add member' }).click();
  await until(async () => /can now work as staff/.test(await page.locator('#flash').innerText()), 5000, 'member added');

  // layout: A = 5 rows x 8 seats, B = 3 rows x 6 seats
  const venue = page.locator('form', { has: page.getByRole('heading', { name: 'New venue' }) });
  const venueName = uniq('UI Hall ');
  await venue.getByLabel('Venue name').fill(venueName);
  await venue.getByLabel('City').fill('Porto');
  await venue.getByLabel('Address').fill('Rua Nova 1');
  await venue.getByLabel('Time zone').fill('Europe/Lisbon');
  await venue.getByLabel('Section 1 rows').fill('5');
  await venue.getByLabel('Section 1 seats per row').fill('8');
  await venue.getByRole('button', { name: 'Add section' }).click();
  await venue.getByLabel('Section 2 rows').fill('3');
  await venue.getByLabel('Section 2 seats per row').fill('6');
  assert.equal(await venue.getByLabel('Section 2 id').inputValue(), 'B');
  await until(async () => /2 sections, 58 seats/.test(await venue.innerText()), 2000, 'seat total');
  await shot(page, 'organizer-venue-editor');
  await venue.getByRole('button', { name: 'Create venue' }).click();
  await until(async () => /created with 58 seats/.test(await page.locator('#flash').innerText()), 5000, 'venue created');

  const evForm = page.locator('form', { has: page.getByRole('heading', { name: 'New event' }) });
  const title = uniq('UI Gala ');
  await evForm.getByLabel('Title').fill(title);
  await evForm.getByLabel('Description').fill('Made in the browser test.');
  await evForm.getByLabel(/^Section A/).fill('40.00');
  await evForm.getByLabel(/^Section B/).fill('25');
  await evForm.getByRole('button', { name: 'Add GA tier' }).click();
  await evForm.getByLabel('Tier 1 price').fill('15.50');
  await evForm.getByLabel('Tier 1 capacity').fill('50');
  await shot(page, 'organizer-event-form');
  await evForm.getByRole('button', { name: 'Create event (draft)' }).click();
  await page.waitForURL(/\/organizer\/events\/evt_[a-z0-9]+\?created=1$/);
  const eventId = new URL(page.url()).pathname.split('/').pop();
  await page.locator('[data-status=draft]').waitFor();
  await shot(page, 'organizer-draft');

  // not public yet
  assert.equal((await ui.api.get(`/api/v1/events/${eventId}`)).status, 404);
  await page.getByRole('button', { name: 'Publish now' }).click();
  await page.locator('[data-status=published]').waitFor();
  const pub = expectStatus(await ui.api.get(`/api/v1/events?q=${encodeURIComponent(title)}`), 200);
  assert.equal(pub.items.length, 1);
  assert.equal(pub.items[0].venue.city, 'Porto');
  assert.equal(pub.items[0].min_price_cents, 1550);
  const ev = expectStatus(await ui.api.get(`/api/v1/events/${eventId}`), 200);
  assert.deepEqual(ev.prices, [{ section: 'A', price_cents: 4000 }, { section: 'B', price_cents: 2500 }]);
  assert.deepEqual(ev.ga_tiers.map((t) => [t.id, t.name, t.capacity]), [['standing', 'Standing', 50]]);

  // the new member may read the stats now
  expectStatus(await staff.c.get(`/api/v1/events/${eventId}/stats`), 200);
  const stat = (k) => page.locator(`[data-stat=${k}]`).innerText();
  await until(async () => (await stat('sold')) === '0 / 108', 5000, 'stats shown');

  // somebody buys two seats through the API: the page follows without a reload
  await page.evaluate(() => { window.notReloaded = true; });
  const buyer = await makeUser(ui.api);
  const hold = expectStatus(await buyer.c.post(`/api/v1/events/${eventId}/holds`, { seats: ['A-1-1', 'B-3-6'] }), 201);
  await until(async () => (await stat('held')) === '2', 5000, 'held count');
  expectStatus(await buyer.c.post('/api/v1/orders', { hold_id: hold.id, payment: { method: 'test', token: 'tok_visa' } }), 201);
  await until(async () => (await stat('sold')) === '2 / 108', 5000, 'sold count');
  assert.equal(await stat('revenue'), '€65.00');
  assert.equal(await stat('held'), '0');
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  await shot(page, 'organizer-stats');

  // the public page shows the layout that was drawn in the editor
  await page.getByRole('link', { name: 'Public event page' }).click();
  await page.waitForSelector('canvas.seatmap[data-ready]');
  assert.equal(await page.evaluate(() => document.querySelector('canvas.seatmap').seatMap.n), 58);
  assert.match(await page.locator('.tiers').innerText(), /Standing[\s\S]*€15\.50[\s\S]*50 left/);

  // a fresh browser, nothing in its storage: the organization and its
  // events (a second one still a draft) come from the API
  const sess = expectStatus(await ui.api.post('/api/v1/sessions', { email, password: 'organizer-pass' }), 201);
  const me = ui.api.as(sess.token);
  const org = expectStatus(await me.get('/api/v1/me/organizations'), 200).items[0];
  const draft = expectStatus(await me.post(`/api/v1/organizations/${org.id}/events`, {
    venue_id: ev.venue.id, title: uniq('UI Draft '), starts_at: ev.starts_at, sale_starts_at: ev.sale_starts_at,
    currency: 'EUR', prices: [{ section: 'A', price_cents: 1000 }],
  }), 201);
  const other = await (await ui.context({ viewport: { width: 1280, height: 1400 } })).newPage();
  await signInUi(other, base, email, 'organizer-pass', '/organizer');
  await other.locator(`[data-event="${draft.id}"]`).waitFor();
  assert.match(await other.locator(`[data-event="${eventId}"]`).innerText(), /published/);
  assert.match(await other.locator(`[data-event="${draft.id}"]`).innerText(), /draft/);
  assert.match(await other.locator('#org-select').innerText(), /UI Test Productions \(owner\)/);
  // the venue, known from the events, is offered in the event form
  assert.match(await other.locator('select[name=venue_id]').innerText(), new RegExp(venueName));
});
