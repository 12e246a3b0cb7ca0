// The organizer's lists: GET /me/organizations and GET /organizations/{org}/events
// (drafts included, members only), both {items, next_cursor} pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, sleep } from './lib/server.mjs';
import { Client, expectStatus, expectError } from './lib/client.mjs';
import { makeUser, makeOrg, addMember, makeVenue, makeEvent, publish, buy, iso, DAY } from './lib/fixtures.mjs';

let c;
useServer('my-orgs', (s) => { c = new Client(s.base); });

/** Every item of a list, following next_cursor with the given limit. */
async function allPages(user, path, limit) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < 50; i++) {
    const q = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = expectStatus(await user.c.get(`${path}${q}`), 200);
    assert.deepEqual(Object.keys(page).sort(), ['items', 'next_cursor']);
    assert.ok(page.items.length <= limit);
    items.push(...page.items);
    if (page.next_cursor === null) return items;
    assert.equal(page.items.length, limit, 'a page before the last one is full');
    cursor = page.next_cursor;
  }
  throw new Error('too many pages');
}

test('GET /me/organizations: my orgs with my role, in the order joined; 401 without a token', async () => {
  const me = await makeUser(c);
  const other = await makeUser(c);
  expectError(await c.get('/api/v1/me/organizations'), 401, 'unauthenticated');
  assert.deepEqual(expectStatus(await me.c.get('/api/v1/me/organizations'), 200), { items: [], next_cursor: null });
  const mine = await makeOrg(me, 'Mine');
  await sleep(5);
  const theirs1 = await makeOrg(other, 'Theirs One');
  const theirs2 = await makeOrg(other, 'Theirs Two');
  await makeOrg(other, 'Not Mine');
  // joined at distinct milliseconds, so that the order is the joining order
  await sleep(5);
  await addMember(other, theirs1.id, me.email, 'admin');
  await sleep(5);
  await addMember(other, theirs2.id, me.email, 'staff');
  const list = expectStatus(await me.c.get('/api/v1/me/organizations'), 200);
  assert.deepEqual(list, {
    items: [
      { id: mine.id, name: 'Mine', role: 'owner' },
      { id: theirs1.id, name: 'Theirs One', role: 'admin' },
      { id: theirs2.id, name: 'Theirs Two', role: 'staff' },
    ],
    next_cursor: null,
  });
  // paging by one gives the same items, each once
  assert.deepEqual(await allPages(me, '/api/v1/me/organizations', 1), list.items);
  assert.deepEqual(await allPages(me, '/api/v1/me/organizations', 2), list.items);
  // the other user sees their own three orgs as owner
  const theirs = expectStatus(await other.c.get('/api/v1/me/organizations'), 200);
  assert.equal(theirs.items.length, 3);
  assert.ok(theirs.items.every((o) => o.role === 'owner'));
});

test('GET /me/organizations and /organizations/{org}/events: bad limit or forged cursor is 422 invalid_field', async () => {
  const me = await makeUser(c);
  const org = await makeOrg(me);
  for (const path of ['/api/v1/me/organizations', `/api/v1/organizations/${org.id}/events`]) {
    for (const q of ['limit=0', 'limit=101', 'limit=abc']) {
      const e = expectError(await me.c.get(`${path}?${q}`), 422, 'invalid_field');
      assert.equal(e.field, 'limit');
    }
    for (const cur of ['garbage!', Buffer.from('no-colon').toString('base64url'), Buffer.from('x:y').toString('base64url')]) {
      const e = expectError(await me.c.get(`${path}?cursor=${cur}`), 422, 'invalid_field');
      assert.equal(e.field, 'cursor');
    }
  }
});

test('GET /organizations/{org}/events: drafts and published, soonest first, summary as the public listing plus status', async () => {
  const owner = await makeUser(c);
  const staff = await makeUser(c);
  const buyer = await makeUser(c);
  const org = await makeOrg(owner);
  await addMember(owner, org.id, staff.email, 'staff');
  const venue = await makeVenue(owner, org.id, { city: 'Porto' });
  const now = Date.now();
  const later = await makeEvent(owner, org.id, venue.id, { starts_at: iso(now + 40 * DAY) });
  const soon = await makeEvent(owner, org.id, venue.id, { starts_at: iso(now + 10 * DAY) });
  const draft = await makeEvent(owner, org.id, venue.id, { starts_at: iso(now + 20 * DAY), ga_tiers: [] });
  await publish(owner, later.id);
  await publish(owner, soon.id);
  await buy(buyer, soon.id, { seats: ['A-1-1', 'A-1-2'] });
  await buy(buyer, soon.id, { tier: 'ga', quantity: 3 });
  // an event of another org is not listed
  const other = await makeUser(c);
  const otherOrg = await makeOrg(other);
  await makeEvent(other, otherOrg.id, (await makeVenue(other, otherOrg.id)).id);

  const list = expectStatus(await owner.c.get(`/api/v1/organizations/${org.id}/events`), 200);
  assert.equal(list.next_cursor, null);
  assert.deepEqual(list.items.map((e) => [e.id, e.status]),
    [[soon.id, 'published'], [draft.id, 'draft'], [later.id, 'published']]);
  // published: exactly the public listing's item, plus status
  for (const ev of [soon, later]) {
    const pub = expectStatus(await c.get(`/api/v1/events?q=${encodeURIComponent(ev.title)}`), 200);
    assert.equal(pub.items.length, 1);
    assert.deepEqual(list.items.find((e) => e.id === ev.id), { ...pub.items[0], status: 'published' });
  }
  // 40 priced seats + 50 GA; soon sold 2 seats and 3 GA places
  assert.equal(list.items[0].available, 40 - 2 + 50 - 3);
  assert.equal(list.items[2].available, 90);
  // a draft has nothing on sale yet
  assert.deepEqual(list.items[1], {
    id: draft.id, title: draft.title, starts_at: draft.starts_at,
    venue: { id: venue.id, name: venue.name, city: 'Porto' },
    min_price_cents: 3000, currency: 'EUR', available: 0, status: 'draft',
  });
  // any member may list, paging gives the same items
  assert.deepEqual(expectStatus(await staff.c.get(`/api/v1/organizations/${org.id}/events`), 200), list);
  assert.deepEqual(await allPages(staff, `/api/v1/organizations/${org.id}/events`, 1), list.items);
  assert.deepEqual(await allPages(owner, `/api/v1/organizations/${org.id}/events`, 2), list.items);
});

test('GET /organizations/{org}/events: 404 for strangers and unknown orgs, 401 without a token, [] when empty', async () => {
  const owner = await makeUser(c);
  const stranger = await makeUser(c);
  const org = await makeOrg(owner);
  assert.deepEqual(expectStatus(await owner.c.get(`/api/v1/organizations/${org.id}/events`), 200),
    { items: [], next_cursor: null });
  await makeEvent(owner, org.id, (await makeVenue(owner, org.id)).id);
  expectError(await stranger.c.get(`/api/v1/organizations/${org.id}/events`), 404, 'not_found');
  expectError(await owner.c.get('/api/v1/organizations/org_aaaaaaaaaaaaaaaaaaaa/events'), 404, 'not_found');
  expectError(await c.get(`/api/v1/organizations/${org.id}/events`), 401, 'unauthenticated');
});
