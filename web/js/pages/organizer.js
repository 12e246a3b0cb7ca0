// pages/organizer.js - the organizer's desk: organizations, a venue
// layout editor (sections x rows x seats per row, previewed with the seat
// map), and the event form (prices per section, GA tiers) that creates a
// draft to publish. Organizations and their events (drafts included) are
// read from the API through org.js each time they are shown.
import { api, currentUser } from '../api.js';
import { myOrgs, orgEvents, orgVenues, rememberVenue } from '../org.js';
import { SeatMap } from '../seatmap.js';
import { busy, field, fill, flash, go, h, isoSeconds, localInputValue, parseCents, when } from '../ui.js';

export async function render(main, _params, page) {
  const user = await currentUser();
  if (!user) {
    go(`/signin?next=${encodeURIComponent('/organizer')}`);
    return;
  }
  new Desk(main, user, page);
}

class Desk {
  constructor(main, user, page) {
    this.user = user;
    this.page = page;
    this.orgSlot = h('section', { 'aria-labelledby': 'orgs-h' });
    this.work = h('div');
    this.loading = h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading your organizations…');
    this.orgs = [];
    fill(main, h('h1', {}, 'Organizer'), this.loading, this.orgSlot, this.work);
    this.current = sessionStorage.getItem('tixin.org') || '';
    myOrgs(page.signal).then((orgs) => {
      this.orgs = orgs;
      this.loading.textContent = '';
      this.renderOrgs();
    }).catch((e) => {
      if (e.name !== 'AbortError') this.loading.textContent = `Your organizations could not be loaded: ${e.message}`;
    });
  }

  renderOrgs() {
    const orgs = this.orgs;
    if (!orgs.some((o) => o.id === this.current)) this.current = orgs[0]?.id || '';
    const name = h('input', { name: 'org_name', required: true, maxlength: '200' });
    const err = h('div');
    const btn = h('button', { type: 'submit' }, 'Create organization');
    const form = h('form', {
      class: 'inline-form',
      onsubmit: (e) => {
        e.preventDefault();
        busy(btn, err, async () => {
          const org = await api('POST', '/api/v1/organizations', { name: name.value.trim() });
          this.orgs.push(org);
          this.select(org.id);
          flash(`Organization “${org.name}” created.`, 'ok');
        });
      },
    }, field('New organization name', name), btn, err);
    const picker = orgs.length ? h('div', { class: 'field' },
      h('label', { for: 'org-select' }, 'Organization'),
      h('select', { id: 'org-select', onchange: (e) => this.select(e.target.value) },
        orgs.map((o) => h('option', { value: o.id, selected: o.id === this.current }, `${o.name} (${o.role})`)))) : h('p', {}, 'You have no organization yet: create one to add venues and events.');
    fill(this.orgSlot, h('h2', { id: 'orgs-h' }, 'Organizations'), picker, form);
    this.renderWork();
  }

  select(id) {
    this.current = id;
    sessionStorage.setItem('tixin.org', id);
    this.renderOrgs();
  }

  async renderWork() {
    const org = this.current;
    if (!org) {
      fill(this.work);
      return;
    }
    fill(this.work, h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading the events…'));
    let events;
    try {
      events = await orgEvents(org, this.page.signal);
    } catch (e) {
      if (e.name !== 'AbortError' && this.current === org) fill(this.work, h('p', { class: 'error' }, `The events could not be loaded: ${e.message}`));
      return;
    }
    if (this.current !== org) return; // another organization was picked meanwhile
    const venues = orgVenues(this.user, org, events);
    fill(this.work,
      this.membersForm(),
      h('section', { 'aria-labelledby': 'events-h' }, h('h2', { id: 'events-h' }, 'Events'),
        events.length ? h('ul', { class: 'cards' }, events.map((e) => h('li', { class: 'card', 'data-event': e.id },
          h('h3', {}, h('a', { href: `/organizer/events/${encodeURIComponent(e.id)}`, 'data-link': '' }, e.title)),
          h('p', { class: 'muted' }, when(e.starts_at), ' · ', h('span', { class: `badge ${e.status}` }, e.status)),
          h('p', {}, h('a', { href: `/organizer/events/${encodeURIComponent(e.id)}`, 'data-link': '' }, 'Stats & publishing'), ' · ',
            h('a', { href: `/checkin/${encodeURIComponent(e.id)}`, 'data-link': '' }, 'Check-in'), ' · ',
            h('a', { href: `/events/${encodeURIComponent(e.id)}`, 'data-link': '' }, 'Public page'))))) : h('p', { class: 'muted' }, 'No events yet.')),
      venues.length ? this.eventForm(venues) : '',
      this.venueEditor());
  }

  /* Owners add admins (venues, events, refunds) and door staff. */
  membersForm() {
    const email = h('input', { type: 'email', name: 'member_email', required: true });
    const role = h('select', { name: 'role' }, h('option', { value: 'staff' }, 'Door staff (check-in, stats)'),
      h('option', { value: 'admin' }, 'Admin (venues, events, refunds)'));
    const err = h('div');
    const btn = h('button', { type: 'submit' }, 'Add member');
    return h('form', {
      class: 'inline-form', 'aria-label': 'Add a member',
      onsubmit: (e) => {
        e.preventDefault();
        busy(btn, err, async () => {
          await api('POST', `/api/v1/organizations/${encodeURIComponent(this.current)}/members`, { email: email.value.trim(), role: role.value });
          flash(`${email.value.trim()} can now work as ${role.value} for this organization.`, 'ok');
          email.value = '';
        });
      },
    }, field('Add a member by email', email, 'They need a Tixin account.'), field('Role', role), btn, err);
  }

  /* --- venue layout editor --------------------------------------------- */

  venueEditor() {
    const name = h('input', { name: 'venue_name', required: true });
    const city = h('input', { name: 'city', required: true });
    const address = h('input', { name: 'address' });
    const tz = h('input', { name: 'timezone', required: true, value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
    const body = h('tbody');
    const total = h('p', { 'aria-live': 'polite' });
    const preview = h('canvas', { class: 'seatmap preview', 'aria-hidden': 'true' });
    const map = new SeatMap(preview);
    this.page.onLeave(() => map.destroy());
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const readSections = () => [...body.rows].map((tr) => {
      const [id, nm, rows, seats] = [...tr.querySelectorAll('input')].map((i) => i.value.trim());
      return { id, name: nm || id, rows: Number(rows), seats: Number(seats) };
    });
    const update = () => {
      const secs = readSections().filter((s) => s.id && s.rows > 0 && s.seats > 0);
      const n = secs.reduce((a, s) => a + s.rows * Math.min(s.seats, 1000), 0);
      total.textContent = `${secs.length} ${secs.length === 1 ? 'section' : 'sections'}, ${n.toLocaleString()} seats`;
      if (n <= 20000) map.setLayout(secs.map((s) => ({ id: s.id, price_cents: 0, rows: Array.from({ length: Math.min(s.rows, 200) }, (_, r) => ({ id: String(r + 1), status: 'f'.repeat(Math.min(s.seats, 1000)) })) })));
    };
    const addRow = (id, rows = 10, seats = 20) => {
      const n = body.rows.length + 1;
      const cell = (label, input) => h('td', {}, h('label', { class: 'sr-only', for: input.id = `sec${n}-${label}` }, `Section ${n} ${label}`), input);
      const tr = h('tr', {},
        cell('id', h('input', { value: id, required: true, pattern: '[A-Za-z0-9]{1,32}', size: '4', name: 'section_id' })),
        cell('name', h('input', { value: `Section ${id}`, size: '10', name: 'section_name' })),
        cell('rows', h('input', { type: 'number', min: '1', max: '1000', value: String(rows), required: true, name: 'rows' })),
        cell('seats per row', h('input', { type: 'number', min: '1', max: '1000', value: String(seats), required: true, name: 'seats' })),
        h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => { tr.remove(); update(); } }, `Remove`)));
      body.append(tr);
      update();
    };
    const err = h('div');
    const btn = h('button', { type: 'submit', class: 'primary' }, 'Create venue');
    const form = h('form', {
      class: 'stack', 'aria-labelledby': 'venue-h', oninput: update,
      onsubmit: (e) => {
        e.preventDefault();
        busy(btn, err, async () => {
          const sections = readSections().map((s) => ({
            id: s.id, name: s.name, rows: Array.from({ length: s.rows }, (_, r) => ({ id: String(r + 1), seats: s.seats })),
          }));
          const v = await api('POST', `/api/v1/organizations/${encodeURIComponent(this.current)}/venues`,
            { name: name.value.trim(), city: city.value.trim(), address: address.value.trim(), timezone: tz.value.trim(), sections });
          rememberVenue(this.user, { id: v.id, org_id: this.current, name: v.name, city: v.city });
          flash(`Venue “${v.name}” created with ${v.seat_count} seats. Now create an event there.`, 'ok');
          this.renderWork();
        });
      },
    },
    h('h2', { id: 'venue-h' }, 'New venue'),
    h('div', { class: 'grid2' }, field('Venue name', name), field('City', city), field('Address', address), field('Time zone', tz, 'e.g. Europe/Lisbon')),
    h('table', { class: 'layout' }, h('caption', {}, 'Layout: sections × rows × seats per row'),
      h('thead', {}, h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'Name'), h('th', {}, 'Rows'), h('th', {}, 'Seats per row'), h('th', {}, ''))), body),
    h('button', { type: 'button', onclick: () => addRow(letters[body.rows.length % 26] + (body.rows.length >= 26 ? body.rows.length : '')) }, 'Add section'),
    total, preview, err, btn);
    addRow('A');
    return form;
  }

  /* --- event form ---------------------------------------------------------- */

  eventForm(venues) {
    const now = new Date();
    const start = new Date(now.getTime() + 30 * 864e5);
    start.setHours(20, 0, 0, 0);
    const venue = h('select', { name: 'venue_id' }, venues.map((v) => h('option', { value: v.id }, `${v.name}, ${v.city}`)));
    const title = h('input', { name: 'title', required: true, maxlength: '200' });
    const desc = h('textarea', { name: 'description', rows: '3' });
    const startsAt = h('input', { type: 'datetime-local', name: 'starts_at', required: true, value: localInputValue(start) });
    const saleStarts = h('input', { type: 'datetime-local', name: 'sale_starts_at', required: true, value: localInputValue(new Date(now.getTime() - 60000)) });
    const saleEnds = h('input', { type: 'datetime-local', name: 'sale_ends_at' });
    const currency = h('input', { name: 'currency', required: true, value: 'EUR', pattern: '[A-Z]{3}', size: '4' });
    const maxT = h('input', { type: 'number', name: 'max_tickets_per_order', min: '1', max: '100', value: '10' });
    const ttl = h('input', { type: 'number', name: 'hold_ttl_seconds', min: '1', max: '3600', value: '600' });
    const prices = h('fieldset', { class: 'prices' });
    const tiers = h('tbody');
    const loadPrices = async () => {
      fill(prices, h('legend', {}, 'Prices per section'), h('p', { class: 'muted' }, 'Loading the layout…'));
      try {
        const v = await api('GET', `/api/v1/venues/${encodeURIComponent(venue.value)}`, undefined, { signal: this.page.signal });
        fill(prices, h('legend', {}, 'Prices per section (leave empty: not on sale)'),
          h('div', { class: 'grid2' }, v.sections.map((s) => field(`Section ${s.id}${s.name && s.name !== s.id ? ` (${s.name})` : ''}`,
            h('input', { name: `price-${s.id}`, 'data-section': s.id, inputmode: 'decimal', placeholder: '0.00', value: '25.00' })))));
      } catch (e) {
        fill(prices, h('legend', {}, 'Prices per section'), h('p', { class: 'error' }, e.message));
      }
    };
    venue.addEventListener('change', loadPrices);
    loadPrices();
    const addTier = () => {
      const n = tiers.rows.length + 1;
      const inp = (label, attrs) => {
        const i = h('input', { ...attrs, id: `tier${n}-${label}` });
        return h('td', {}, h('label', { class: 'sr-only', for: i.id }, `Tier ${n} ${label}`), i);
      };
      const tr = h('tr', {}, inp('name', { name: 'tier_name', value: n === 1 ? 'Standing' : '', required: true }),
        inp('price', { name: 'tier_price', inputmode: 'decimal', value: '30.00', required: true, size: '6' }),
        inp('capacity', { name: 'tier_capacity', type: 'number', min: '1', value: '100', required: true }),
        h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => tr.remove() }, 'Remove')));
      tiers.append(tr);
    };
    const err = h('div');
    const result = h('div', { 'aria-live': 'polite' });
    const btn = h('button', { type: 'submit', class: 'primary' }, 'Create event (draft)');
    const toIso = (input) => (input.value ? isoSeconds(new Date(input.value)) : undefined);
    const form = h('form', {
      class: 'stack', 'aria-labelledby': 'event-h',
      onsubmit: (e) => {
        e.preventDefault();
        busy(btn, err, async () => {
          const body = {
            venue_id: venue.value, title: title.value.trim(), description: desc.value.trim(),
            starts_at: toIso(startsAt), sale_starts_at: toIso(saleStarts), currency: currency.value.trim().toUpperCase(),
            max_tickets_per_order: Number(maxT.value), hold_ttl_seconds: Number(ttl.value),
            prices: [...prices.querySelectorAll('input[data-section]')].filter((i) => i.value.trim())
              .map((i) => ({ section: i.dataset.section, price_cents: priceOrThrow(i.value, `Section ${i.dataset.section}`) })),
            ga_tiers: [...tiers.rows].map((tr, k) => {
              const [n, p, c] = [...tr.querySelectorAll('input')].map((i) => i.value.trim());
              return { id: slug(n) || `tier${k + 1}`, name: n, price_cents: priceOrThrow(p, `Tier ${n}`), capacity: Number(c) };
            }),
          };
          if (saleEnds.value) body.sale_ends_at = toIso(saleEnds);
          const ev = await api('POST', `/api/v1/organizations/${encodeURIComponent(this.current)}/events`, body);
          go(`/organizer/events/${encodeURIComponent(ev.id)}?created=1`);
        });
      },
    },
    h('h2', { id: 'event-h' }, 'New event'),
    field('Venue', venue), field('Title', title), field('Description', desc),
    h('div', { class: 'grid2' }, field('Starts at', startsAt, 'Your local time.'), field('Sale opens at', saleStarts),
      field('Sale ends at (optional)', saleEnds, 'Empty: when the event starts.'), field('Currency', currency, 'Three letters, e.g. EUR.'),
      field('Tickets per order, at most', maxT), field('Hold time (seconds)', ttl, 'How long picked seats stay held while paying.')),
    prices,
    h('table', { class: 'layout' }, h('caption', {}, 'General admission tiers (optional)'),
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Price'), h('th', {}, 'Capacity'), h('th', {}, ''))), tiers),
    h('button', { type: 'button', onclick: addTier }, 'Add GA tier'),
    err, btn, result);
    return form;
  }
}

function slug(s) {
  return s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 64);
}

function priceOrThrow(text, what) {
  const c = parseCents(text);
  if (Number.isNaN(c)) throw new Error(`${what}: the price must be a number like 25 or 25.50.`);
  return c;
}
