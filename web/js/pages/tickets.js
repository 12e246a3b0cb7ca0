// pages/tickets.js - "My tickets": the signed-in person's orders
// (GET /api/v1/me/orders, paged), each linking to its order page with the
// QR codes and the cancel button.
import { api, currentUser } from '../api.js';
import { errorBox, fill, go, h, money, seatLabel, when } from '../ui.js';

const events = new Map(); // event id -> Promise of the event (or null)

function eventOf(id, signal) {
  if (!events.has(id)) {
    events.set(id, api('GET', `/api/v1/events/${encodeURIComponent(id)}`, undefined, { signal }).catch(() => null));
  }
  return events.get(id);
}

async function orderItem(o, signal) {
  const ev = await eventOf(o.event_id, signal);
  const what = o.tickets.map((t) => (t.seat ? seatLabel(t.seat) : `Standing: ${t.tier}`));
  return h('li', { class: `card order-card ${o.status}`, 'data-order': o.id },
    h('h2', {}, h('a', { href: `/orders/${encodeURIComponent(o.id)}`, 'data-link': '' }, ev ? ev.title : 'Event')),
    ev ? h('p', { class: 'muted' }, when(ev.starts_at, ev.venue.timezone), ' · ', ev.venue.name, ', ', ev.venue.city) : '',
    h('p', {}, `${o.tickets.length} ${o.tickets.length === 1 ? 'ticket' : 'tickets'}: `, what.join('; ')),
    h('p', {}, h('span', { class: o.status === 'paid' ? 'badge ok' : 'badge sold' }, o.status === 'paid' ? 'Paid' : 'Refunded'),
      ' ', money(o.total_cents, o.currency)));
}

export async function render(main, _params, page) {
  if (!(await currentUser())) {
    go(`/signin?next=${encodeURIComponent('/tickets')}`);
    return;
  }
  const list = h('ul', { class: 'cards' });
  const more = h('div');
  fill(main, h('h1', {}, 'My tickets'), list, more);
  async function load(cursor) {
    try {
      const r = await api('GET', `/api/v1/me/orders${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { signal: page.signal });
      list.append(...await Promise.all(r.items.map((o) => orderItem(o, page.signal))));
      if (!cursor && !r.items.length) list.append(h('li', { class: 'muted' }, 'No tickets yet. ', h('a', { href: '/', 'data-link': '' }, 'Find an event')));
      fill(more, r.next_cursor ? h('button', { type: 'button', onclick: () => load(r.next_cursor) }, 'Older orders') : '');
    } catch (e) {
      if (e.name !== 'AbortError') fill(more, errorBox(e));
    }
  }
  await load();
}
