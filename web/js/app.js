// app.js - the client-side router and the header. Paths are real URLs
// (the server answers every non-API path without a dot with index.html),
// so links can be shared and reloaded. Each page module exports
// render(main, params, page) and registers its clean-up (sockets, timers)
// with page.onLeave; page.signal aborts its pending fetches.
import { currentUser, onUserChange, signOut } from './api.js';
import { fill, flash, go, h } from './ui.js';

const routes = [
  [/^\/$/, () => import('./pages/events.js')],
  [/^\/events\/([^/]+)$/, () => import('./pages/event.js')],
  [/^\/orders\/([^/]+)$/, () => import('./pages/order.js')],
  [/^\/tickets$/, () => import('./pages/tickets.js')],
  [/^\/signin$/, () => import('./pages/signin.js')],
  [/^\/organizer$/, () => import('./pages/organizer.js')],
  [/^\/organizer\/events\/([^/]+)$/, () => import('./pages/manage.js')],
  [/^\/checkin(?:\/([^/]+))?$/, () => import('./pages/checkin.js')],
];

let leaving = [];
let controller = null;
let seq = 0;

async function render() {
  const mySeq = ++seq;
  for (const fn of leaving.splice(0)) {
    try { fn(); } catch { /* best effort */ }
  }
  if (controller) controller.abort();
  controller = new AbortController();
  const main = document.getElementById('main');
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const match = routes.map(([re, load]) => [path.match(re), load]).find(([m]) => m);
  flash('');
  if (!match) {
    fill(main, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/', 'data-link': '' }, 'See all events')));
    return;
  }
  const [m, load] = match;
  const page = { signal: controller.signal, onLeave: (fn) => leaving.push(fn) };
  try {
    const mod = await load();
    if (mySeq !== seq) return;
    fill(main);
    await mod.render(main, m.slice(1).map((p) => p && decodeURIComponent(p)), page);
  } catch (e) {
    if (e.name === 'AbortError' || mySeq !== seq) return;
    fill(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, e.message));
  }
}

function onClick(e) {
  const a = e.target.closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.hasAttribute('download') || a.origin !== location.origin || a.pathname.startsWith('/api/')) return;
  e.preventDefault();
  if (a.pathname + a.search !== location.pathname + location.search) go(a.pathname + a.search);
  document.getElementById('main').focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function renderAccount(user) {
  const slot = document.getElementById('account');
  if (!user) {
    fill(slot, h('a', { href: `/signin?next=${encodeURIComponent(location.pathname)}`, 'data-link': '' }, 'Sign in'));
    return;
  }
  fill(slot, h('span', { class: 'who', title: user.email }, user.name || user.email), ' ',
    h('button', {
      class: 'link', type: 'button',
      onclick: async () => { await signOut(); flash('Signed out.'); go('/'); },
    }, 'Sign out'));
}

document.addEventListener('click', onClick);
window.addEventListener('popstate', render);
window.addEventListener('tixin:navigate', render);
onUserChange(renderAccount);
currentUser().then(renderAccount);
render();
