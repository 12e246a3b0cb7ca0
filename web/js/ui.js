// ui.js - small DOM and formatting helpers shared by every page. Text is
// always inserted as text nodes (never innerHTML), so names and titles
// typed by users cannot inject markup.

/** h('button', {class: 'x', onclick: fn}, 'text', child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') el.style.cssText = v; // CSSOM: allowed by the page's CSP
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const moneyFormats = new Map();
export function money(cents, currency = 'EUR') {
  if (cents === null || cents === undefined) return '–';
  let f = moneyFormats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    moneyFormats.set(currency, f);
  }
  return f.format(cents / 100);
}

/** Decimal text ("95" or "95.50") -> integer cents, or NaN. */
export function parseCents(text) {
  const t = String(text).trim().replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return NaN;
  return Math.round(Number(t) * 100);
}

const dateFormats = new Map();
export function when(iso, timeZone) {
  if (!iso) return '';
  const key = timeZone || '';
  if (!dateFormats.has(key)) {
    const opts = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' };
    let f;
    try {
      f = new Intl.DateTimeFormat(undefined, { ...opts, timeZone: timeZone || undefined });
    } catch {
      f = new Intl.DateTimeFormat(undefined, opts); // an unknown time zone name
    }
    dateFormats.set(key, f);
  }
  return dateFormats.get(key).format(new Date(iso));
}

/** "A-12-7" -> "Section A, row 12, seat 7" */
export function seatLabel(id) {
  const [s, r, n] = String(id).split('-');
  return n === undefined ? String(id) : `Section ${s}, row ${r}, seat ${n}`;
}

/** The page-wide status line (an aria-live region). */
export function flash(text, kind = 'info') {
  const el = document.getElementById('flash');
  fill(el, text ? h('p', { class: `flash ${kind}` }, text) : '');
}

/** An inline error message for an ApiError (or any Error). */
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert', dataset: { code: err.code || 'error' } }, err.message || String(err));
}

/** A labelled form field; input gets an id if it has none. */
let fieldSeq = 0;
export function field(label, input, hint) {
  if (!input.id) input.id = `f${++fieldSeq}`;
  const hintEl = hint ? h('small', { id: `${input.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

/** Run an async action from a form/button: disables it, shows errors in
 * the given slot, re-enables after. */
export async function busy(button, slot, fn) {
  if (button) button.disabled = true;
  if (slot) fill(slot);
  try {
    return await fn();
  } catch (e) {
    if (e.name === 'AbortError') return undefined;
    if (slot) fill(slot, errorBox(e));
    else flash(e.message, 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Navigate inside the app (app.js listens). */
export function go(path) {
  history.pushState(null, '', path);
  window.dispatchEvent(new Event('tixin:navigate'));
}

/** RFC 3339 UTC with seconds, as the API wants, from a Date. */
export const isoSeconds = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A <input type=datetime-local> value (local time) for a Date. */
export function localInputValue(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
