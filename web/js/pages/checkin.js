// pages/checkin.js - the door: type (or scan, where the browser has
// BarcodeDetector and a camera) a ticket code, and see at once a green
// "Admitted" or a red reason. The field is cleared and focused again after
// every check, so a keyboard-wedge scanner works too.
import { api, currentUser } from '../api.js';
import { myEvents } from '../org.js';
import { fill, field, go, h, seatLabel, when } from '../ui.js';

export async function render(main, [eventId], page) {
  const user = await currentUser();
  if (!user) {
    go(`/signin?next=${encodeURIComponent(location.pathname)}`);
    return;
  }
  if (!eventId) return pickEvent(main, page);
  return door(main, eventId, page);
}

async function pickEvent(main, page) {
  const list = h('ul', { class: 'cards' });
  const id = h('input', { name: 'event_id', required: true });
  const form = h('form', { class: 'inline-form', onsubmit: (e) => { e.preventDefault(); go(`/checkin/${encodeURIComponent(id.value.trim())}`); } },
    field('Event id', id), h('button', { type: 'submit' }, 'Open'));
  fill(main, h('h1', {}, 'Check-in'), h('p', {}, 'Pick the event at this door.'), list, form);
  const evs = (await myEvents(page.signal).catch(() => [])).filter((e) => e.status === 'published');
  fill(list, evs.map((e) => h('li', { class: 'card' }, h('a', { href: `/checkin/${encodeURIComponent(e.id)}`, 'data-link': '' }, e.title), h('p', { class: 'muted' }, when(e.starts_at)))));
}

const normalize = (code) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

const REASONS = {
  already_checked_in: 'Already checked in',
  ticket_void: 'Void ticket (refunded)',
  ticket_not_found: 'Unknown ticket',
  forbidden: 'Not your event',
};

async function door(main, eventId, page) {
  const enc = encodeURIComponent(eventId);
  const ev = await api('GET', `/api/v1/events/${enc}`, undefined, { signal: page.signal }).catch(() => null);
  const code = h('input', { name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', required: true, class: 'code-input' });
  const result = h('div', { class: 'verdict', 'aria-live': 'assertive', 'data-verdict': 'none' });
  const history = h('ol', { class: 'history', 'aria-label': 'Recent scans' });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Check in');
  const form = h('form', { class: 'stack narrow', onsubmit: (e) => { e.preventDefault(); check(code.value); } },
    field('Ticket code', code, 'Type the code under the QR code, or scan it.'), btn);
  const scanSlot = h('div');
  fill(main, h('h1', {}, 'Check-in'), ev ? h('p', { class: 'muted' }, ev.title, ' · ', when(ev.starts_at, ev.venue.timezone)) : '',
    form, scanSlot, result, h('h2', {}, 'Recent'), history);
  code.focus();

  async function check(raw) {
    const c = normalize(raw);
    if (!c) return;
    btn.disabled = true;
    let ok, title, detail;
    try {
      const r = await api('POST', `/api/v1/events/${enc}/checkins`, { code: c });
      ok = true;
      title = 'Admitted';
      detail = `${r.seat ? seatLabel(r.seat) : `Standing: ${r.tier}`} · ${new Date(r.checked_in_at).toLocaleTimeString()}`;
    } catch (e) {
      ok = false;
      title = REASONS[e.code] || 'Not admitted';
      detail = e.message;
    } finally {
      btn.disabled = false;
    }
    result.dataset.verdict = ok ? 'admitted' : 'refused';
    result.className = `verdict ${ok ? 'admitted' : 'refused'}`;
    fill(result, h('p', { class: 'verdict-title' }, ok ? '✓ ' : '✗ ', title), h('p', {}, detail));
    history.prepend(h('li', { class: ok ? 'ok' : 'error' }, `${new Date().toLocaleTimeString()} ${c.slice(0, 6)}… ${title}`));
    while (history.children.length > 10) history.lastChild.remove();
    code.value = '';
    code.focus();
  }

  if ('BarcodeDetector' in window && navigator.mediaDevices?.getUserMedia) {
    fill(scanSlot, h('button', { type: 'button', onclick: () => startScan(scanSlot, check, page) }, 'Scan with camera'));
  }
}

async function startScan(slot, check, page) {
  const video = h('video', { playsinline: true, muted: true, class: 'scanner', 'aria-label': 'Camera view' });
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch (e) {
    fill(slot, h('p', { class: 'error' }, `No camera: ${e.message}. Type the code instead.`));
    return;
  }
  const detector = new BarcodeDetector({ formats: ['qr_code'] });
  video.srcObject = stream;
  await video.play();
  let last = '', lastAt = 0, running = true;
  const stop = () => { running = false; stream.getTracks().forEach((t) => t.stop()); };
  page.onLeave(stop);
  fill(slot, video, h('button', { type: 'button', onclick: () => { stop(); fill(slot); } }, 'Stop camera'));
  const loop = async () => {
    if (!running) return;
    try {
      const codes = await detector.detect(video);
      const v = codes[0]?.rawValue;
      if (v && (v !== last || Date.now() - lastAt > 3000)) {
        last = v;
        lastAt = Date.now();
        await check(v);
      }
    } catch { /* frame not ready */ }
    setTimeout(loop, 200);
  };
  loop();
}
