// pages/manage.js - one event for its organizers: publish a draft, and the
// sales figures (GET /api/v1/events/{id}/stats) kept current: refreshed
// every 2 s and at once when the live seat map reports a change.
import { api, currentUser } from '../api.js';
import { LiveSeats } from '../live.js';
import { busy, errorBox, fill, go, h, money, when } from '../ui.js';

export async function render(main, [eventId], page) {
  const user = await currentUser();
  if (!user) {
    go(`/signin?next=${encodeURIComponent(location.pathname)}`);
    return;
  }
  const enc = encodeURIComponent(eventId);
  let ev;
  try {
    ev = await api('GET', `/api/v1/events/${enc}`, undefined, { signal: page.signal });
  } catch (e) {
    if (e.name !== 'AbortError') fill(main, h('h1', {}, 'Event'), errorBox(e));
    return;
  }
  const tiles = h('dl', { class: 'stats', 'aria-live': 'polite' });
  const err = h('div');
  const head = h('div');
  const updated = h('p', { class: 'muted' });
  fill(main, head, h('h2', {}, 'Sales'), tiles, updated, err);

  const drawHead = () => {
    const draft = ev.status === 'draft';
    const btn = h('button', { type: 'button', class: 'primary' }, 'Publish now');
    btn.addEventListener('click', () => busy(btn, err, async () => {
      ev = await api('POST', `/api/v1/events/${enc}/publish`);
      drawHead();
      startLive();
    }));
    fill(head, h('h1', {}, ev.title),
      h('p', { class: 'muted' }, when(ev.starts_at, ev.venue.timezone), ' · ', ev.venue.name, ', ', ev.venue.city),
      h('p', {}, 'Status: ', h('strong', { class: `badge ${ev.status}`, 'data-status': ev.status }, draft ? 'Draft' : 'Published')),
      draft ? h('p', {}, 'Only your organization can see a draft. Publishing puts it on sale from ', when(ev.sale_starts_at), '.') : '',
      draft ? btn : h('p', {},
        h('a', { href: `/events/${enc}`, 'data-link': '' }, 'Public event page'), ' · ',
        h('a', { href: `/checkin/${enc}`, 'data-link': '' }, 'Door check-in')));
  };

  const refresh = async () => {
    try {
      const s = await api('GET', `/api/v1/events/${enc}/stats`, undefined, { signal: page.signal });
      const tile = (label, value, key) => h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { 'data-stat': key }, value));
      fill(tiles, tile('Sold', `${s.seats_sold} / ${s.seats_total}`, 'sold'), tile('Held now', String(s.seats_held), 'held'),
        tile('Revenue', money(s.revenue_cents, ev.currency), 'revenue'), tile('Checked in', `${s.checked_in} / ${s.tickets_sold}`, 'checked_in'));
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      fill(err);
    } catch (e) {
      if (e.name !== 'AbortError') fill(err, errorBox(e));
    }
  };

  let live = null, soon = 0;
  const startLive = () => {
    if (live || ev.status !== 'published') return;
    const nudge = () => { clearTimeout(soon); soon = setTimeout(refresh, 150); };
    live = new LiveSeats(ev.id, { seats: nudge, tiers: nudge });
  };
  const timer = setInterval(refresh, 2000);
  page.onLeave(() => { clearInterval(timer); clearTimeout(soon); if (live) live.close(); });
  drawHead();
  startLive();
  await refresh();
}
