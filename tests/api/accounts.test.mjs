// Accounts: users, sessions, /me, /me/orders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { Client, expectStatus, expectError } from './lib/client.mjs';
import { makeUser, uniqueEmail, PASSWORD, setupEvent, buy } from './lib/fixtures.mjs';

let c;
const srv = useServer('accounts', (s) => { c = new Client(s.base); });

test('POST /users creates a user: 201 {id, email, name}, no password or hash', async () => {
  const email = uniqueEmail('Mixed.Case');
  const r = await c.post('/api/v1/users', { email, password: PASSWORD, name: 'Ada' });
  const u = expectStatus(r, 201);
  assert.equal(typeof u.id, 'string');
  assert.ok(u.id.length > 0);
  assert.equal(u.email.toLowerCase(), email.toLowerCase());
  assert.equal(u.name, 'Ada');
  assert.ok(!/password|hash|argon/i.test(r.text), `leaks a password/hash: ${r.text}`);
});

test('a duplicate email is 409 email_taken, case-insensitively', async () => {
  const email = uniqueEmail('dup');
  expectStatus(await c.post('/api/v1/users', { email, password: PASSWORD, name: 'One' }), 201);
  expectError(await c.post('/api/v1/users', { email, password: PASSWORD, name: 'Two' }), 409, 'email_taken');
  expectError(await c.post('/api/v1/users', { email: email.toUpperCase(), password: PASSWORD, name: 'Three' }), 409, 'email_taken');
});

test('invalid user fields are 422 invalid_field naming the field', async () => {
  const cases = [
    [{ email: 'not-an-email', password: PASSWORD, name: 'X' }, 'email'],
    [{ email: '', password: PASSWORD, name: 'X' }, 'email'],
    [{ password: PASSWORD, name: 'X' }, 'email'],
    [{ email: 42, password: PASSWORD, name: 'X' }, 'email'],
    [{ email: uniqueEmail(), password: 'short7c', name: 'X' }, 'password'],
    [{ email: uniqueEmail(), name: 'X' }, 'password'],
    [{ email: uniqueEmail(), password: PASSWORD }, 'name'],
    [{ email: uniqueEmail(), password: PASSWORD, name: '' }, 'name'],
  ];
  for (const [body, field] of cases) {
    const e = expectError(await c.post('/api/v1/users', body), 422, 'invalid_field');
    assert.equal(e.field, field, `field for ${JSON.stringify(body)}`);
  }
  // exactly 8 characters is enough
  expectStatus(await c.post('/api/v1/users', { email: uniqueEmail(), password: '12345678', name: 'Eight' }), 201);
});

test('POST /sessions: 201 {token, user}; wrong password or unknown email 401 invalid_credentials', async () => {
  const email = uniqueEmail('login');
  const u = expectStatus(await c.post('/api/v1/users', { email, password: PASSWORD, name: 'Lo' }), 201);
  const s = expectStatus(await c.post('/api/v1/sessions', { email, password: PASSWORD }), 201);
  assert.equal(typeof s.token, 'string');
  assert.ok(s.token.length >= 20);
  assert.deepEqual({ id: s.user.id, email: s.user.email, name: s.user.name }, u);
  assert.ok(!/password|hash/i.test(JSON.stringify(s.user)));
  // login is case-insensitive on the email
  expectStatus(await c.post('/api/v1/sessions', { email: email.toUpperCase(), password: PASSWORD }), 201);
  expectError(await c.post('/api/v1/sessions', { email, password: PASSWORD + 'x' }), 401, 'invalid_credentials');
  expectError(await c.post('/api/v1/sessions', { email: uniqueEmail('nobody'), password: PASSWORD }), 401, 'invalid_credentials');
  // two sessions give two different tokens
  const s2 = expectStatus(await c.post('/api/v1/sessions', { email, password: PASSWORD }), 201);
  assert.notEqual(s2.token, s.token);
});

test('GET /me: 200 with the token; 401 unauthenticated without or with a bad one', async () => {
  const u = await makeUser(c, { name: 'Me Myself' });
  const r = await u.c.get('/api/v1/me');
  const me = expectStatus(r, 200);
  assert.ok(!/password|hash|argon/i.test(r.text), `leaks a password/hash: ${r.text}`);
  assert.equal(me.id, u.id);
  assert.equal(me.email, u.email);
  assert.equal(me.name, 'Me Myself');
  expectError(await c.get('/api/v1/me'), 401, 'unauthenticated');
  expectError(await c.get('/api/v1/me', { token: 'bogus-token-value' }), 401, 'unauthenticated');
  expectError(await c.get('/api/v1/me', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }), 401, 'unauthenticated');
  expectError(await c.get('/api/v1/me', { token: u.token + 'x' }), 401, 'unauthenticated');
});

test('the session cookie tixin_session carries the token for reads', async () => {
  const u = await makeUser(c);
  const me = expectStatus(await c.get('/api/v1/me', { headers: { cookie: `tixin_session=${u.token}` } }), 200);
  assert.equal(me.id, u.id);
});

test('DELETE /sessions/current: 204, then the token is 401 everywhere; other sessions live on', async () => {
  const u = await makeUser(c);
  const other = expectStatus(await c.post('/api/v1/sessions', { email: u.email, password: u.password }), 201);
  const r = await u.c.del('/api/v1/sessions/current');
  expectStatus(r, 204);
  assert.equal(r.text, '');
  expectError(await u.c.get('/api/v1/me'), 401, 'unauthenticated');
  expectError(await u.c.get('/api/v1/me/orders'), 401, 'unauthenticated');
  expectError(await u.c.post('/api/v1/organizations', { name: 'Nope' }), 401, 'unauthenticated');
  expectError(await u.c.del('/api/v1/sessions/current'), 401, 'unauthenticated');
  expectError(await c.del('/api/v1/sessions/current'), 401, 'unauthenticated');
  expectStatus(await c.get('/api/v1/me', { token: other.token }), 200);
});

test('GET /me/orders: {items, next_cursor}, newest first, limit/cursor pagination, own orders only', async () => {
  const buyer = await makeUser(c, { name: 'Buyer' });
  const stranger = await makeUser(c, { name: 'Stranger' });
  expectError(await c.get('/api/v1/me/orders'), 401, 'unauthenticated');
  const empty = expectStatus(await buyer.c.get('/api/v1/me/orders'), 200);
  assert.deepEqual(empty, { items: [], next_cursor: null });

  const { event } = await setupEvent(c);
  const o1 = await buy(buyer, event.id, { seats: ['A-1-1'] });
  const o2 = await buy(buyer, event.id, { seats: ['A-1-2', 'A-1-3'] });
  const o3 = await buy(buyer, event.id, { tier: 'ga', quantity: 2 });
  await buy(stranger, event.id, { seats: ['A-2-1'] });

  const all = expectStatus(await buyer.c.get('/api/v1/me/orders'), 200);
  assert.deepEqual(all.items.map((o) => o.id), [o3.id, o2.id, o1.id]);
  assert.equal(all.next_cursor, null);
  for (const o of all.items) {
    assert.equal(o.status, 'paid');
    assert.equal(o.event_id, event.id);
    assert.equal(typeof o.total_cents, 'number');
    assert.equal(o.currency, 'EUR');
    assert.ok(Array.isArray(o.tickets));
  }
  assert.equal(all.items[1].total_cents, 10000);

  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const q = cursor ? `?limit=1&cursor=${encodeURIComponent(cursor)}` : '?limit=1';
    const page = expectStatus(await buyer.c.get(`/api/v1/me/orders${q}`), 200);
    assert.ok(page.items.length <= 1);
    assert.ok(page.next_cursor === null || typeof page.next_cursor === 'string');
    seen.push(...page.items.map((o) => o.id));
    cursor = page.next_cursor;
    pages += 1;
    assert.ok(pages <= 5, 'pagination does not end');
  } while (cursor);
  assert.deepEqual(seen, [o3.id, o2.id, o1.id]);

  const two = expectStatus(await buyer.c.get('/api/v1/me/orders?limit=2'), 200);
  assert.equal(two.items.length, 2);
  assert.equal(typeof two.next_cursor, 'string');
  expectStatus(await buyer.c.get('/api/v1/me/orders?limit=100'), 200);
});

test('GET /me/orders with limit=0, 101 or junk, or a forged cursor, is 422 invalid_field', async () => {
  const u = await makeUser(c);
  for (const l of ['0', '101', '-1', 'abc']) {
    const e = expectError(await u.c.get(`/api/v1/me/orders?limit=${l}`), 422, 'invalid_field');
    assert.equal(e.field, 'limit');
  }
  // a cursor the server did not issue (docs/openapi.yaml)
  const e = expectError(await u.c.get('/api/v1/me/orders?cursor=not-a-real-cursor'), 422, 'invalid_field');
  assert.equal(e.field, 'cursor');
});

test('repeated failed sign-ins for one email are 429 rate_limited with Retry-After; other emails unaffected', async () => {
  const u = await makeUser(c);
  const statuses = [];
  let limited = null;
  for (let i = 0; i < 25 && !limited; i++) {
    const r = await c.post('/api/v1/sessions', { email: u.email, password: 'wrong password ' + i });
    statuses.push(r.status);
    if (r.status === 429) limited = r;
    else expectError(r, 401, 'invalid_credentials');
  }
  assert.ok(limited, `no 429 after ${statuses.length} failed sign-ins: ${statuses}`);
  assert.ok(statuses.length > 3, 'the limit allows a few mistakes');
  expectError(limited, 429, 'rate_limited');
  assert.match(limited.headers['retry-after'] || '', /^\d+$/);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  // even the right password is refused while limited
  const r = await c.post('/api/v1/sessions', { email: u.email, password: u.password });
  expectError(r, 429, 'rate_limited');
  assert.match(r.headers['retry-after'] || '', /^\d+$/);
  // the existing session still works and another account can sign in
  expectStatus(await u.c.get('/api/v1/me'), 200);
  const v = await makeUser(c);
  expectStatus(await c.post('/api/v1/sessions', { email: v.email, password: v.password }), 201);
});
