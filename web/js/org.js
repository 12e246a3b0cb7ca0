// org.js - what the organizer pages know about the signed-in person's
// organizations, venues and events.
//
// Organizations (with the person's role) and each organization's events,
// drafts included, come from the API: GET /api/v1/me/organizations and
// GET /api/v1/organizations/{org}/events. The API lists no venues of an
// organization, so an organization's venues are those of its events plus
// the ones created in this browser, which are kept in localStorage (per
// user) until an event uses them.
import { api } from './api.js';

/** Every item of a {items, next_cursor} list. */
async function all(path, signal) {
  const items = [];
  let cursor = null;
  do {
    const q = `?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await api('GET', `${path}${q}`, undefined, { signal });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** [{id, name, role}] of the organizations the person is a member of. */
export function myOrgs(signal) {
  return all('/api/v1/me/organizations', signal);
}

/** The organization's events (drafts too), soonest first, each with status. */
export function orgEvents(orgId, signal) {
  return all(`/api/v1/organizations/${encodeURIComponent(orgId)}/events`, signal);
}

/** The events of every organization of the person, soonest first. */
export async function myEvents(signal) {
  const orgs = await myOrgs(signal);
  const lists = await Promise.all(orgs.map((o) => orgEvents(o.id, signal)));
  return lists.flat().sort((a, b) => a.starts_at.localeCompare(b.starts_at));
}

const key = (user) => `tixin.venues.${user.id}`;

function storedVenues(user) {
  const v = JSON.parse(localStorage.getItem(key(user)) || 'null');
  return v && typeof v === 'object' ? v : {};
}

/** Keep a venue created in this browser: {id, org_id, name, city}. */
export function rememberVenue(user, venue) {
  const v = storedVenues(user);
  v[venue.id] = venue;
  localStorage.setItem(key(user), JSON.stringify(v));
}

/** The organization's venues: those of its events, then the stored ones. */
export function orgVenues(user, orgId, events) {
  const venues = new Map(events.map((e) => [e.venue.id, { ...e.venue, org_id: orgId }]));
  for (const v of Object.values(storedVenues(user))) {
    if (v.org_id === orgId && !venues.has(v.id)) venues.set(v.id, v);
  }
  return [...venues.values()];
}
