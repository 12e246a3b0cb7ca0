// org.js - what the organizer pages know about the signed-in person's
// organizations, venues and events.
//
// The API has no "my organizations" or "an organization's events (drafts
// included)" listing, so this keeps what was created in this browser in
// localStorage (per user), and discovers published events the person can
// manage: every published event whose stats answer 200 for them (members
// only), with its organization and venue from the event itself.
import { api } from './api.js';

const key = (user) => `tixin.known.${user.id}`;

export function known(user) {
  const k = JSON.parse(localStorage.getItem(key(user)) || 'null');
  return k && k.orgs ? k : { orgs: {}, venues: {}, events: {} };
}

/** kind: 'orgs' | 'venues' | 'events'; obj has an id. */
export function remember(user, kind, obj) {
  const k = known(user);
  k[kind][obj.id] = { ...(k[kind][obj.id] || {}), ...obj };
  localStorage.setItem(key(user), JSON.stringify(k));
  return k;
}

/** Scan the published events for ones this user manages (see above). */
export async function discover(user, signal) {
  const r = await api('GET', '/api/v1/events?limit=100', undefined, { signal });
  await Promise.all(r.items.map(async (item) => {
    try {
      await api('GET', `/api/v1/events/${encodeURIComponent(item.id)}/stats`, undefined, { signal });
    } catch {
      return; // not a member of its organization
    }
    const ev = await api('GET', `/api/v1/events/${encodeURIComponent(item.id)}`, undefined, { signal });
    remember(user, 'orgs', { id: ev.org_id, name: known(user).orgs[ev.org_id]?.name || 'Organization' });
    remember(user, 'venues', { id: ev.venue.id, org_id: ev.org_id, name: ev.venue.name, city: ev.venue.city });
    remember(user, 'events', { id: ev.id, org_id: ev.org_id, title: ev.title, starts_at: ev.starts_at, status: ev.status });
  }));
  return known(user);
}
