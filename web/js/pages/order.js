// pages/order.js - one order: the confirmation after paying, with every
// ticket's QR code (an <img> of GET /api/v1/tickets/{id}/qr.svg, which the
// session cookie authorizes), and cancelling (refund) with a confirm step.
import { api, currentUser } from '../api.js';
import { busy, errorBox, fill, go, h, money, seatLabel, when } from '../ui.js';

export async function render(main, [orderId], page) {
  if (!(await currentUser())) {
    go(`/signin?next=${encodeURIComponent(location.pathname)}`);
    return;
  }
  const isNew = new URLSearchParams(location.search).has('new');
  let order;
  try {
    order = await api('GET', `/api/v1/orders/${encodeURIComponent(orderId)}`, undefined, { signal: page.signal });
  } catch (e) {
    if (e.name !== 'AbortError') fill(main, h('h1', {}, 'Order'), errorBox(e));
    return;
  }
  const ev = await api('GET', `/api/v1/events/${encodeURIComponent(order.event_id)}`, undefined, { signal: page.signal }).catch(() => null);
  draw(main, order, ev, isNew);
}

function ticketCard(t, currency) {
  const what = t.seat ? seatLabel(t.seat) : `Standing: ${t.tier}`;
  const state = t.status === 'void' ? 'Void (refunded)' : t.checked_in_at ? `Checked in ${when(t.checked_in_at)}` : 'Valid';
  return h('li', { class: `ticket ${t.status}`, 'data-ticket': t.id },
    h('img', { class: 'qr', src: `/api/v1/tickets/${encodeURIComponent(t.id)}/qr.svg`, alt: `QR code of the ticket for ${what}`, width: '180', height: '180' }),
    h('div', {},
      h('h3', {}, what),
      h('p', {}, 'Code ', h('code', { class: 'ticket-code' }, t.code)),
      h('p', { class: 'muted' }, state, ' · ', money(t.price_cents, currency)),
    ));
}

function draw(main, order, ev, isNew) {
  const cur = order.currency;
  const paid = order.status === 'paid';
  const err = h('div');
  const confirmBox = h('div', { class: 'confirm', hidden: true });
  const cancelBtn = h('button', { type: 'button', class: 'danger', onclick: () => { confirmBox.hidden = false; cancelBtn.hidden = true; } }, 'Cancel order');
  const yes = h('button', {
    type: 'button', class: 'danger',
    onclick: () => busy(yes, err, async () => {
      const o = await api('POST', `/api/v1/orders/${encodeURIComponent(order.id)}/cancel`);
      draw(main, o, ev, false);
    }),
  }, 'Yes, cancel and refund');
  fill(confirmBox, h('p', {}, `Refund ${money(order.total_cents, cur)} and void ${order.tickets.length} ${order.tickets.length === 1 ? 'ticket' : 'tickets'}?`), yes, ' ',
    h('button', { type: 'button', onclick: () => { confirmBox.hidden = true; cancelBtn.hidden = false; } }, 'Keep my tickets'));
  fill(main, h('article', { class: 'order', 'data-status': order.status },
    h('h1', {}, isNew && paid ? 'You’re going! Your tickets' : 'Your order'),
    ev ? h('p', {}, h('a', { href: `/events/${encodeURIComponent(ev.id)}`, 'data-link': '' }, ev.title), ' · ', when(ev.starts_at, ev.venue.timezone), ' · ', ev.venue.name, ', ', ev.venue.city) : '',
    h('p', { class: paid ? 'ok' : 'error' }, paid ? `Paid ${money(order.total_cents, cur)}` : `Refunded ${money(order.total_cents, cur)}${order.refunded_at ? ` on ${when(order.refunded_at)}` : ''}`),
    h('ul', { class: 'tickets' }, order.tickets.map((t) => ticketCard(t, cur))),
    err,
    paid ? h('div', { class: 'actions' }, cancelBtn, confirmBox) : '',
    h('p', {}, h('a', { href: '/tickets', 'data-link': '' }, 'All my tickets'))));
}
