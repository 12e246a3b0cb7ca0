// Organizations, members and venues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { Client, expectStatus, expectError } from './lib/client.mjs';
import { makeUser, makeOrg, addMember, makeVenue, venueBody, uniqueEmail } from './lib/fixtures.mjs';

let c;
const srv = useServer('orgs', (s) => { c = new Client(s.base); });

test('POST /organizations: 201 {id, name}; 401 without a token; 422 without a name', async () => {
  const u = await makeUser(c);
  const r = await u.c.post('/api/v1/organizations', { name: 'Acme Shows' });
  const org = expectStatus(r, 201);
  assert.equal(typeof org.id, 'string');
  assert.equal(org.name, 'Acme Shows');
  expectError(await c.post('/api/v1/organizations', { name: 'Anon' }), 401, 'unauthenticated');
  const e = expectError(await u.c.post('/api/v1/organizations', {}), 422, 'invalid_field');
  assert.equal(e.field, 'name');
  expectError(await u.c.post('/api/v1/organizations', { name: '' }), 422, 'invalid_field');
});

test('members: owner adds admin and staff (201); unknown email 404 user_not_found; bad role 422; twice 409', async () => {
  const owner = await makeUser(c, { name: 'Owner' });
  const admin = await makeUser(c, { name: 'Admin' });
  const staff = await makeUser(c, { name: 'Staff' });
  const org = await makeOrg(owner);
  const m = await addMember(owner, org.id, admin.email, 'admin');
  assert.equal(m.role, 'admin');
  // the email is matched case-insensitively
  const s = await addMember(owner, org.id, staff.email.toUpperCase(), 'staff');
  assert.equal(s.role, 'staff');
  expectError(await owner.c.post(`/api/v1/organizations/${org.id}/members`, { email: uniqueEmail('ghost'), role: 'staff' }),
    404, 'user_not_found');
  const other = await makeUser(c);
  for (const role of ['owner', 'boss', '']) {
    const e = expectError(await owner.c.post(`/api/v1/organizations/${org.id}/members`, { email: other.email, role }),
      422, 'invalid_field');
    assert.equal(e.field, 'role');
  }
  expectError(await owner.c.post(`/api/v1/organizations/${org.id}/members`, { email: staff.email, role: 'admin' }),
    409, 'already_member');
  expectError(await c.post(`/api/v1/organizations/${org.id}/members`, { email: other.email, role: 'staff' }),
    401, 'unauthenticated');
});

test('members: an admin or staff member adding a member is 403 forbidden; a stranger 403/404', async () => {
  const owner = await makeUser(c);
  const admin = await makeUser(c);
  const staff = await makeUser(c);
  const stranger = await makeUser(c);
  const org = await makeOrg(owner);
  await addMember(owner, org.id, admin.email, 'admin');
  await addMember(owner, org.id, staff.email, 'staff');
  expectError(await admin.c.post(`/api/v1/organizations/${org.id}/members`, { email: stranger.email, role: 'staff' }),
    403, 'forbidden');
  expectError(await staff.c.post(`/api/v1/organizations/${org.id}/members`, { email: stranger.email, role: 'staff' }),
    403, 'forbidden');
  // Spec: "a resource that exists but is not the caller's to change: 403"; store.h
  // chose 404 for non-members (no leak of the org's existence). Either is accepted.
  const r = await stranger.c.post(`/api/v1/organizations/${org.id}/members`, { email: stranger.email, role: 'admin' });
  assert.ok([403, 404].includes(r.status), `stranger adding themselves: ${r.status} ${r.text}`);
  expectError(r, r.status, r.status === 403 ? 'forbidden' : 'not_found');
  expectError(await owner.c.post('/api/v1/organizations/org_doesnotexist000000/members', { email: staff.email, role: 'staff' }),
    404, 'not_found');
});

test('venues: 201 with seat_count; GET /venues/{id} is public with full layout, ETag and 304', async () => {
  const owner = await makeUser(c);
  const org = await makeOrg(owner);
  const body = venueBody({ name: 'Coliseu', city: 'Porto' });
  const v = expectStatus(await owner.c.post(`/api/v1/organizations/${org.id}/venues`, body), 201);
  assert.equal(typeof v.id, 'string');
  assert.equal(v.seat_count, 44);
  assert.equal(v.name, 'Coliseu');
  assert.equal(v.city, 'Porto');

  const r = await c.get(`/api/v1/venues/${v.id}`);
  const got = expectStatus(r, 200);
  assert.equal(got.id, v.id);
  assert.equal(got.seat_count, 44);
  assert.equal(got.address, body.address);
  assert.equal(got.timezone, body.timezone);
  assert.deepEqual(got.sections.map((s) => ({ id: s.id, name: s.name, rows: s.rows.map((x) => ({ id: x.id, seats: x.seats })) })),
    body.sections);
  const etag = r.headers.etag;
  assert.ok(etag, 'GET /venues/{id} has an ETag');
  const nm = await c.get(`/api/v1/venues/${v.id}`, { headers: { 'if-none-match': etag } });
  assert.equal(nm.status, 304);
  assert.equal(nm.text, '');
  const other = await c.get(`/api/v1/venues/${v.id}`, { headers: { 'if-none-match': '"something-else"' } });
  assert.equal(other.status, 200);
  expectError(await c.get('/api/v1/venues/ven_doesnotexist00000000'), 404, 'not_found');
});

test('venues: invalid layouts and fields are 422 invalid_field with the field', async () => {
  const owner = await makeUser(c);
  const org = await makeOrg(owner);
  const post = (b) => owner.c.post(`/api/v1/organizations/${org.id}/venues`, b);
  const fieldCases = [
    [venueBody({ name: undefined }), 'name'],
    [venueBody({ name: '' }), 'name'],
    [venueBody({ city: undefined }), 'city'],
  ];
  for (const [b, field] of fieldCases) {
    const e = expectError(await post(JSON.parse(JSON.stringify(b))), 422, 'invalid_field');
    assert.equal(e.field, field, `field for ${JSON.stringify(b).slice(0, 120)}`);
  }
  const layoutCases = [
    [],                                                              // no sections
    [{ id: 'A', name: 'A', rows: [] }],                              // no rows
    [{ id: 'A', name: 'A', rows: [{ id: '1', seats: 0 }] }],         // no seats
    [{ id: 'A', name: 'A', rows: [{ id: '1', seats: -3 }] }],
    [{ id: 'A', name: 'A', rows: [{ id: '1', seats: 'ten' }] }],
    [{ id: 'A', name: 'A', rows: [{ id: '1', seats: 5 }] }, { id: 'A', name: 'Again', rows: [{ id: '1', seats: 5 }] }], // duplicate section
    [{ id: 'A', name: 'A', rows: [{ id: '1', seats: 5 }, { id: '1', seats: 5 }] }],  // duplicate row
    [{ id: '', name: 'Empty', rows: [{ id: '1', seats: 5 }] }],
    'not-an-array',
  ];
  for (const sections of layoutCases) {
    const e = expectError(await post(venueBody({ sections })), 422, 'invalid_field');
    assert.equal(typeof e.field, 'string');
    assert.match(e.field, /^sections/, `field for ${JSON.stringify(sections)}: ${e.field}`);
  }
});

test('venues: staff and admins of another org cannot create venues; admins can', async () => {
  const owner = await makeUser(c);
  const admin = await makeUser(c);
  const staff = await makeUser(c);
  const stranger = await makeUser(c);
  const org = await makeOrg(owner);
  await addMember(owner, org.id, admin.email, 'admin');
  await addMember(owner, org.id, staff.email, 'staff');
  const v = await makeVenue(admin, org.id);
  assert.equal(v.seat_count, 44);
  expectError(await staff.c.post(`/api/v1/organizations/${org.id}/venues`, venueBody()), 403, 'forbidden');
  const r = await stranger.c.post(`/api/v1/organizations/${org.id}/venues`, venueBody());
  assert.ok([403, 404].includes(r.status), `stranger creating a venue: ${r.status} ${r.text}`);
  expectError(await c.post(`/api/v1/organizations/${org.id}/venues`, venueBody()), 401, 'unauthenticated');
});
