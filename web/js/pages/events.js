// pages/events.js - the event list: search by title, filter by city
// (GET /api/v1/events?q=&city=), "More events" through next_cursor. The
// filter lives in the URL so it survives reloads and can be shared.
import { api } from '../api.js';
import { errorBox, fill, field, h, money, when } from '../ui.js';

function card(ev) {
  const soldOut = ev.available === 0;
  return h('li', { class: 'card event-card' },
    h('a', { href: `/events/${encodeURIComponent(ev.id)}`, 'data-link': '', class: 'card-link' },
      h('h2', {}, ev.title)),
    h('p', { class: 'muted' }, when(ev.starts_at), ' · ', ev.venue.name, ', ', ev.venue.city),
    h('p', {},
      ev.min_price_cents === null ? '' : `From ${money(ev.min_price_cents, ev.currency)}`,
      ' · ',
      h('span', { class: soldOut ? 'badge sold' : 'badge' }, soldOut ? 'Sold out' : `${ev.available} available`)));
}

async function cities(signal) {
  const seen = new Set();
  try {
    const r = await api('GET', '/api/v1/events?limit=100', undefined, { signal });
    for (const ev of r.items) seen.add(ev.venue.city);
  } catch { /* the filter is optional */ }
  return [...seen].sort((a, b) => a.localeCompare(b));
}

export async function render(main, _params, page) {
  const params = new URLSearchParams(location.search);
  const q = h('input', { type: 'search', name: 'q', value: params.get('q') || '', placeholder: 'Artist, show, festival…', autocomplete: 'off' });
  const city = h('select', { name: 'city' }, h('option', { value: '' }, 'All cities'));
  const results = h('ul', { class: 'cards', 'aria-live': 'polite', 'aria-busy': 'true' });
  const more = h('div');
  const form = h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); load(); } },
    field('Search events', q), field('City', city), h('button', { type: 'submit' }, 'Search'));
  fill(main, h('h1', {}, 'Events'), form, results, more);

  let timer = 0;
  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(load, 250); });
  city.addEventListener('change', load);
  page.onLeave(() => clearTimeout(timer));

  async function load(cursor) {
    const qs = new URLSearchParams();
    if (q.value.trim()) qs.set('q', q.value.trim());
    if (city.value) qs.set('city', city.value);
    const shown = qs.toString();
    if (!cursor) history.replaceState(null, '', shown ? `/?${shown}` : '/');
    if (cursor) qs.set('cursor', cursor);
    results.setAttribute('aria-busy', 'true');
    try {
      const r = await api('GET', `/api/v1/events?${qs}`, undefined, { signal: page.signal });
      if (!cursor) fill(results);
      results.append(...r.items.map(card));
      if (!cursor && r.items.length === 0) results.append(h('li', { class: 'muted' }, 'No events match. Try another search or city.'));
      fill(more, r.next_cursor ? h('button', { type: 'button', onclick: () => load(r.next_cursor) }, 'More events') : '');
    } catch (e) {
      if (e.name !== 'AbortError') fill(results, h('li', {}, errorBox(e)));
    } finally {
      results.setAttribute('aria-busy', 'false');
    }
  }

  const want = params.get('city') || '';
  if (want) city.append(h('option', { value: want, selected: true }, want));
  load();
  for (const c of await cities(page.signal)) if (c !== want) city.append(h('option', { value: c }, c));
}
