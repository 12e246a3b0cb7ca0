// pages/event.js - one event: details, the live seat map, GA tiers, and the
// buying flow: pick seats -> hold (visible countdown) -> pay with the test
// card -> the order page. The map is drawn from the compact seat view as
// soon as it arrives (the "interactive" moment is marked with
// performance.mark('tixin:seatmap-interactive')), then the live WebSocket
// keeps it current. A hold survives a reload (sessionStorage); so does a
// selection across the sign-in page.
import { api, currentUser, postOnce, serverNow, settle } from '../api.js';
import { LiveSeats } from '../live.js';
import { COLORS, FREE, SELECTED_COLOR, STATUS_NAMES, SeatMap } from '../seatmap.js';
import { errorBox, fill, field, flash, go, h, money, seatLabel, when } from '../ui.js';

const TEST_CARD = '4242 4242 4242 4242';

/** The test provider's tokens: a real provider's script would tokenize. */
const cardToken = (number) => (number.replace(/\D/g, '') === TEST_CARD.replace(/ /g, '') ? 'tok_visa' : 'tok_declined');

function saleState(ev) {
  const now = serverNow();
  const start = Date.parse(ev.sale_starts_at), end = Date.parse(ev.sale_ends_at || ev.starts_at);
  if (now < start) return { open: false, text: `Sale opens ${when(ev.sale_starts_at)}.` };
  if (now >= end) return { open: false, text: 'The sale is over.' };
  return { open: true, text: `On sale until ${when(ev.sale_ends_at || ev.starts_at)}.` };
}

/** The event and its compact seat view: from /js/prefetch.js when it
 * already asked (the first page of a visit), else fetched now. */
function loadEvent(eventId, signal) {
  const pre = window.tixinPrefetch;
  window.tixinPrefetch = null;
  if (pre && pre.id === eventId) return Promise.all([settle(pre.event), settle(pre.seats)]);
  const enc = encodeURIComponent(eventId);
  return Promise.all([
    api('GET', `/api/v1/events/${enc}`, undefined, { signal }),
    api('GET', `/api/v1/events/${enc}/seats?view=compact`, undefined, { signal }),
  ]);
}

export async function render(main, [eventId], page) {
  const [ev, compact] = await loadEvent(eventId, page.signal).catch((e) => {
    if (e.name !== 'AbortError') fill(main, h('h1', {}, 'Event'), errorBox(e));
    throw e;
  });
  new EventPage(main, ev, compact, page);
}

class EventPage {
  constructor(main, ev, compact, page) {
    this.ev = ev;
    this.page = page;
    this.hold = null;
    this.tiers = new Map((compact.tiers || []).map((t) => [t.id, t]));
    this.holdKey = `tixin.hold.${ev.id}`;
    this.pickKey = `tixin.pick.${ev.id}`;
    this.build(main, compact);
    if (ev.status === 'published') this.startLive(); // a draft has no live map
    else this.liveBadge.textContent = '';
    this.restore();
    const tick = setInterval(() => this.tick(), 250);
    page.onLeave(() => { clearInterval(tick); this.live?.close(); this.map.destroy(); });
  }

  /* --- building the page ------------------------------------------------ */

  build(main, compact) {
    const ev = this.ev, sale = saleState(ev);
    this.sale = sale;
    document.title = `${ev.title} — Tixin`;
    this.announcer = h('p', { class: 'sr-only', 'aria-live': 'polite', id: 'seat-announce' });
    this.liveBadge = h('span', { class: 'live-badge', 'aria-live': 'polite' }, 'Connecting…');
    const canvas = h('canvas', {
      class: 'seatmap', tabindex: '0', role: 'application', 'aria-roledescription': 'seat map',
      'aria-label': `Seat map of ${ev.venue.name}. Arrow keys move between seats, Page Up and Page Down change section, Enter picks a seat, plus and minus zoom.`,
      'aria-describedby': 'seat-announce',
    });
    this.cart = h('section', { class: 'cart', 'aria-label': 'Your selection', 'data-state': 'empty' });
    this.tierList = h('div', { class: 'tiers' });
    this.listPicker = h('details', { class: 'list-picker' });
    const hasSeats = compact.sections.some((s) => s.price_cents !== null);
    fill(main,
      h('article', { class: 'event' },
        h('h1', {}, ev.title),
        h('p', { class: 'muted' }, when(ev.starts_at, ev.venue.timezone), ' · ', ev.venue.name, ', ', ev.venue.city),
        ev.description ? h('p', {}, ev.description) : '',
        h('p', { class: sale.open ? 'sale open' : 'sale closed', 'data-sale': sale.open ? 'open' : 'closed' }, sale.text),
        ev.status === 'draft' ? h('p', { class: 'badge' }, 'Draft: only your organization sees this page.') : '',
        h('div', { class: 'buy' }, hasSeats ? h('section', { class: 'map-wrap', 'aria-label': 'Seats' },
          h('div', { class: 'map-tools' },
            h('button', { type: 'button', 'aria-label': 'Zoom out', onclick: () => this.map.zoom(1 / 1.4) }, '−'),
            h('button', { type: 'button', 'aria-label': 'Zoom in', onclick: () => this.map.zoom(1.4) }, '+'),
            h('button', { type: 'button', onclick: () => this.map.fit() }, 'Fit'),
            this.liveBadge),
          canvas, this.legend(compact), this.announcer, this.listPicker) : '',
        h('div', { class: 'side' }, this.tierList, this.cart))));
    this.map = new SeatMap(canvas, {
      onPick: (i) => this.pick(i),
      announce: (t) => { this.announcer.textContent = t; },
      describe: (i) => this.describe(i),
    });
    this.map.setLayout(compact.sections);
    performance.mark('tixin:seatmap-interactive');
    canvas.dataset.ready = '1';
    this.buildListPicker(compact);
    this.renderTiers();
    this.renderCart();
  }

  legend(compact) {
    const swatch = (color, text) => h('li', {}, h('span', { class: 'swatch', style: `background:${color}` }), text);
    const prices = compact.sections.filter((s) => s.price_cents !== null)
      .map((s) => `${s.id} ${money(s.price_cents, this.ev.currency)}`).join(' · ');
    return h('div', { class: 'legend' },
      h('ul', {}, swatch(COLORS[0], 'Free'), swatch(SELECTED_COLOR, 'Your pick'), swatch(COLORS[1], 'Held'),
        swatch(COLORS[2], 'Sold'), swatch(COLORS[3], 'Not on sale')),
      h('p', { class: 'muted' }, 'Prices by section: ', prices));
  }

  describe(i) {
    const m = this.map, id = m.idOf(i);
    const state = m.selected.has(i) ? (this.hold ? 'held for you' : 'your pick') : STATUS_NAMES[m.status[i]];
    const price = m.priceOf(i);
    return `${seatLabel(id)}: ${state}${price === null ? '' : `, ${money(price, this.ev.currency)}`}`;
  }

  /* The list picker: section -> row -> checkboxes, a DOM way to choose. */
  buildListPicker(compact) {
    const secSel = h('select', {}, compact.sections.filter((s) => s.price_cents !== null)
      .map((s) => h('option', { value: s.id }, `Section ${s.id} (${money(s.price_cents, this.ev.currency)})`)));
    const rowSel = h('select');
    this.listSeats = h('fieldset', { class: 'seat-boxes' });
    const rows = () => {
      const sec = this.map.sections.find((s) => s.id === secSel.value);
      fill(rowSel, (sec ? sec.rows : []).map((r, k) => h('option', { value: String(k) }, `Row ${r.id}`)));
      this.renderListSeats();
    };
    secSel.addEventListener('change', rows);
    rowSel.addEventListener('change', () => this.renderListSeats());
    this.listSel = { secSel, rowSel };
    fill(this.listPicker, h('summary', {}, 'Choose seats from a list'),
      h('div', { class: 'row-fields' }, field('Section', secSel), field('Row', rowSel)), this.listSeats);
    this.listPicker.addEventListener('toggle', () => this.renderListSeats());
    rows();
  }

  /* Rebuilt when the row changes; otherwise updated in place, so the
   * checkbox that has the keyboard focus keeps it. */
  renderListSeats() {
    if (!this.listPicker.open || !this.listSel) return;
    const { secSel, rowSel } = this.listSel;
    const sec = this.map.sections.find((s) => s.id === secSel.value);
    const row = sec && sec.rows[Number(rowSel.value)];
    if (!row) return;
    if (this.listRow !== row) {
      this.listRow = row;
      const boxes = [];
      for (let k = 0; k < row.len; k++) {
        const i = row.start + k;
        const box = h('input', { type: 'checkbox', onchange: () => this.pick(i) });
        boxes.push(h('label', { class: 'seat-box' }, box, ` ${k + 1} `, h('small')));
      }
      fill(this.listSeats, h('legend', {}, `Seats in section ${sec.id}, row ${row.id}`), boxes);
    }
    this.listSeats.querySelectorAll('.seat-box').forEach((label, k) => {
      const i = row.start + k, mine = this.map.selected.has(i), st = this.map.status[i];
      const box = label.firstChild;
      box.checked = mine;
      box.disabled = !mine && st !== FREE;
      label.lastChild.textContent = mine ? 'picked' : STATUS_NAMES[st];
    });
  }

  /* --- live ------------------------------------------------------------- */

  startLive() {
    this.live = new LiveSeats(this.ev.id, {
      snapshot: (m) => {
        this.map.applySnapshot(m.seats);
        for (const t of m.tiers || []) this.setTierAvailable(t);
        this.dropTaken();
      },
      seats: (changes) => {
        for (const c of changes) this.map.setStatus(c.id, c.status);
        this.dropTaken();
      },
      tiers: (tiers) => tiers.forEach((t) => this.setTierAvailable(t)),
      state: (s) => {
        this.liveBadge.textContent = { live: '● Live', connecting: 'Connecting…', offline: 'Offline, retrying…' }[s];
        this.liveBadge.dataset.state = s;
      },
    });
  }

  /* Picked (not yet held) seats that somebody else just took. */
  dropTaken() {
    if (!this.hold && !this.holding) { // our own hold's seats turn "held" before its answer arrives
      const gone = [...this.map.selected].filter((i) => this.map.status[i] !== FREE);
      for (const i of gone) this.map.selected.delete(i);
      if (gone.length) {
        const ids = gone.map((i) => this.map.idOf(i)).join(', ');
        this.notice(`${ids} ${gone.length === 1 ? 'was' : 'were'} just taken by someone else.`);
        this.renderCart();
      }
    }
    this.map.invalidate();
    this.renderListSeats();
  }

  setTierAvailable(t) {
    const tier = this.tiers.get(t.id);
    if (tier) tier.available = t.available;
    const el = this.tierList.querySelector(`[data-tier="${CSS.escape(t.id)}"] .avail`);
    if (el) el.textContent = t.available > 0 ? `${t.available} left` : 'Sold out';
  }

  /* --- picking ---------------------------------------------------------- */

  pick(i) {
    const m = this.map, id = m.idOf(i);
    if (this.hold) {
      this.notice('Pay for or release your held seats before picking others.');
      return;
    }
    if (m.selected.has(i)) {
      m.selected.delete(i);
    } else if (m.status[i] !== FREE) {
      this.notice(`${seatLabel(id)} is ${STATUS_NAMES[m.status[i]]}.`);
      return;
    } else if (m.selected.size >= this.ev.max_tickets_per_order) {
      this.notice(`You can pick up to ${this.ev.max_tickets_per_order} seats per order.`);
      return;
    } else {
      m.selected.add(i);
    }
    this.announcer.textContent = this.describe(i);
    m.invalidate();
    this.renderCart();
    this.renderListSeats();
  }

  notice(text) {
    this.announcer.textContent = text;
    flash(text, 'warn');
  }

  selectedIds() {
    return [...this.map.selected].map((i) => this.map.idOf(i));
  }

  /* --- holding ---------------------------------------------------------- */

  async needUser() {
    if (await currentUser()) return true;
    sessionStorage.setItem(this.pickKey, JSON.stringify(this.selectedIds()));
    go(`/signin?next=${encodeURIComponent(location.pathname)}`);
    return false;
  }

  async holdWith(body, button, slot) {
    if (!(await this.needUser())) return;
    button.disabled = true;
    fill(slot);
    this.holding = true;
    try {
      const hold = await postOnce(`/api/v1/events/${encodeURIComponent(this.ev.id)}/holds`, body);
      this.setHold(hold);
      flash('');
    } catch (e) {
      if (e.code === 'seat_unavailable' || e.code === 'seat_not_found') {
        for (const id of e.details.seats || []) this.map.selected.delete(this.map.indexOf(id));
        this.map.invalidate();
        this.renderCart();
      }
      fill(slot.isConnected ? slot : this.errorSlot(), errorBox(e));
    } finally {
      this.holding = false;
      button.disabled = false;
      this.dropTaken();
    }
  }

  errorSlot() {
    return this.cart.querySelector('.cart-error') || this.cart;
  }

  setHold(hold) {
    this.hold = hold;
    this.expired = false;
    if (hold) {
      sessionStorage.setItem(this.holdKey, JSON.stringify(hold));
      this.map.selected = new Set((hold.seats || []).map((id) => this.map.indexOf(id)).filter((i) => i >= 0));
    } else {
      sessionStorage.removeItem(this.holdKey);
      this.map.selected.clear();
    }
    this.map.invalidate();
    this.renderCart();
    this.renderListSeats();
  }

  restore() {
    const saved = JSON.parse(sessionStorage.getItem(this.holdKey) || 'null');
    if (saved && Date.parse(saved.expires_at) > serverNow()) {
      this.setHold(saved);
      return;
    }
    sessionStorage.removeItem(this.holdKey);
    const picks = JSON.parse(sessionStorage.getItem(this.pickKey) || '[]');
    sessionStorage.removeItem(this.pickKey);
    for (const id of picks) {
      const i = this.map.indexOf(id);
      if (i >= 0 && this.map.status[i] === FREE) this.map.selected.add(i);
    }
    if (picks.length) this.renderCart();
  }

  tick() {
    if (!this.hold) return;
    const left = Math.max(0, Date.parse(this.hold.expires_at) - serverNow());
    const el = this.cart.querySelector('.countdown');
    if (el) {
      const s = Math.ceil(left / 1000);
      el.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    }
    if (left <= 0) this.expire();
  }

  expire(message = 'Your hold expired and the seats were released. Please pick your seats again.') {
    this.setHold(null);
    this.expired = true;
    this.cart.dataset.state = 'expired';
    fill(this.errorSlot(), h('p', { class: 'error', role: 'alert', dataset: { code: 'hold_expired' } }, message));
  }

  async release(button) {
    button.disabled = true;
    try {
      await api('DELETE', `/api/v1/holds/${encodeURIComponent(this.hold.id)}`);
      this.setHold(null);
      flash('Released: the seats are free again.');
    } catch (e) {
      if (e.status === 404) this.setHold(null); // expired or paid meanwhile
      flash(e.message, 'error');
    } finally {
      button.disabled = false;
    }
  }

  async pay(form, button) {
    const slot = this.errorSlot();
    button.disabled = true;
    fill(slot, h('p', { class: 'muted' }, 'Paying…'));
    try {
      const token = cardToken(form.elements.card.value);
      const order = await postOnce('/api/v1/orders', { hold_id: this.hold.id, payment: { method: 'test', token } });
      sessionStorage.removeItem(this.holdKey);
      this.hold = null;
      go(`/orders/${encodeURIComponent(order.id)}?new=1`);
    } catch (e) {
      if (e.code === 'hold_expired') {
        this.expire(e.message);
      } else {
        if (e.code === 'hold_already_used' || e.status === 404) this.setHold(null);
        fill(this.errorSlot(), errorBox(e));
      }
    } finally {
      button.disabled = false;
    }
  }

  /* --- the cart ------------------------------------------------------------ */

  renderCart() {
    const cur = this.ev.currency, cart = this.cart;
    const err = h('div', { class: 'cart-error' });
    if (this.hold) {
      const hd = this.hold;
      const what = hd.seats ? hd.seats.map(seatLabel).join('; ') : `${hd.quantity} × ${this.tiers.get(hd.tier)?.name || hd.tier}`;
      const card = h('input', { name: 'card', inputmode: 'numeric', autocomplete: 'cc-number', required: true, placeholder: TEST_CARD });
      const payBtn = h('button', { type: 'submit', class: 'primary' }, `Pay ${money(hd.total_cents, cur)}`);
      const form = h('form', { class: 'pay', onsubmit: (e) => { e.preventDefault(); this.pay(form, payBtn); } },
        field('Card number', card, `Test payments: ${TEST_CARD} pays; any other number is declined.`),
        h('div', { class: 'actions' }, payBtn,
          h('button', { type: 'button', onclick: (e) => this.release(e.currentTarget) }, 'Release seats')));
      cart.dataset.state = 'held';
      fill(cart, h('h2', {}, 'Your tickets are held'),
        h('p', { class: 'hold-timer' }, 'Time left to pay: ', h('strong', { class: 'countdown', role: 'timer' }, '')),
        h('p', {}, what, ' · ', h('strong', {}, money(hd.total_cents, cur))), err, form);
      this.tick();
      return;
    }
    const ids = this.selectedIds();
    const keepExpired = this.expired && !ids.length;
    cart.dataset.state = ids.length ? 'selected' : keepExpired ? 'expired' : 'empty';
    const oldMsg = keepExpired ? this.cart.querySelector('.cart-error')?.firstChild : null;
    if (oldMsg) err.append(oldMsg);
    if (!ids.length) {
      fill(cart, h('p', { class: 'muted' }, this.sale.open ? 'Pick seats on the map (or from the list), or standing tickets below.' : this.sale.text), err);
      return;
    }
    const total = [...this.map.selected].reduce((a, i) => a + (this.map.priceOf(i) || 0), 0);
    const holdBtn = h('button', {
      type: 'button', class: 'primary', disabled: !this.sale.open,
      onclick: (e) => this.holdWith({ seats: this.selectedIds() }, e.currentTarget, err),
    }, `Hold ${ids.length} ${ids.length === 1 ? 'seat' : 'seats'}`);
    fill(cart, h('h2', {}, `${ids.length} ${ids.length === 1 ? 'seat' : 'seats'} picked`),
      h('ul', { class: 'picked' }, ids.map((id) => h('li', {}, seatLabel(id)))),
      h('p', {}, 'Total ', h('strong', {}, money(total, cur))), err,
      h('div', { class: 'actions' }, holdBtn,
        h('button', { type: 'button', onclick: () => { this.map.selected.clear(); this.map.invalidate(); this.renderCart(); this.renderListSeats(); } }, 'Clear')));
  }

  renderTiers() {
    const tiers = this.ev.ga_tiers || [];
    if (!tiers.length) return;
    const cur = this.ev.currency;
    fill(this.tierList, h('h2', {}, 'Standing / general admission'), h('ul', { class: 'cards' }, tiers.map((t) => {
      const live = this.tiers.get(t.id) || t;
      const qty = h('input', { type: 'number', min: '1', max: String(this.ev.max_tickets_per_order), value: '1', name: 'quantity' });
      const btn = h('button', { type: 'submit', disabled: !this.sale.open }, 'Hold tickets');
      const err = h('div');
      return h('li', { class: 'card', 'data-tier': t.id },
        h('h3', {}, t.name), h('p', {}, money(t.price_cents, cur), ' · ', h('span', { class: 'avail' }, live.available > 0 ? `${live.available} left` : 'Sold out')),
        h('form', {
          class: 'tier-form',
          onsubmit: (e) => {
            e.preventDefault();
            if (this.hold || this.map.selected.size) { this.notice('Hold seats or standing tickets, one at a time.'); return; }
            this.holdWith({ tier: t.id, quantity: Number(qty.value) }, btn, err);
          },
        }, field('Quantity', qty), btn), err);
    })));
  }
}
