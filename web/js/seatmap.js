// seatmap.js - the seat map: one <canvas>, drawn from the compact seat view.
//
// Why a canvas: 10,000 seats as DOM or SVG nodes make layout, style and hit
// testing cost per node; here seats live in typed arrays, a frame is four
// filled paths (one per status, built in one pass, seats outside the view
// skipped) and a hit test is arithmetic on the section boxes. Zoom and pan
// are a 2-D transform, driven by pointer events (one finger or mouse pans,
// two fingers pinch, the wheel zooms at the pointer) and buttons.
//
// Keyboard and screen readers: the canvas is focusable; arrow keys move a
// seat cursor (Page Up/Down: next section, Home/End: row ends), Enter or
// Space picks, +/-/0 zoom; every move is announced as text through the
// page's live region (the announce callback). pages/event.js adds a
// list-based picker as a second, DOM-only way to choose seats.

export const FREE = 0, HELD = 1, SOLD = 2, OFF = 3;
export const STATUS_NAMES = ['free', 'held', 'sold', 'not on sale'];
const CODE = { f: FREE, h: HELD, s: SOLD, x: OFF };
const NAME_CODE = { free: FREE, held: HELD, sold: SOLD };
export const COLORS = ['#23885b', '#f0b429', '#5f6877', '#e3e6ea'];
export const SELECTED_COLOR = '#1d4ed8';

const SEAT = 10, PITCH = 12, LABEL_H = 18, SEC_GAP_X = 28, SEC_GAP_Y = 26, STAGE_H = 22, MARGIN = 16;

export class SeatMap {
  /**
   * opts.onPick(index) - a seat was clicked/tapped or chosen by keyboard
   * opts.announce(text) - text for a screen reader (aria-live)
   * opts.describe(index) - the announced text of a seat
   */
  constructor(canvas, opts = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { alpha: false });
    this.opts = opts;
    this.selected = new Set();
    this.cursor = -1;
    this.view = { s: 1, tx: 0, ty: 0 };
    this.pointers = new Map();
    this.pending = 0;
    this.n = 0;
    canvas.seatMap = this; // for the page's tests and devtools
    this.bind();
  }

  /* --- data ------------------------------------------------------------- */

  /** sections: the compact view's [{id, price_cents, rows: [{id, status}]}] */
  setLayout(sections) {
    let n = 0;
    for (const s of sections) for (const r of s.rows) n += r.status.length;
    this.n = n;
    this.status = new Uint8Array(n);
    this.x = new Float32Array(n);
    this.y = new Float32Array(n);
    this.sec = new Uint16Array(n);
    this.row = new Uint16Array(n);
    this.num = new Uint16Array(n);
    this.sections = [];
    this.sectionIndex = new Map(); // id -> section index; rows have their own
    this.layoutSections(sections);
    this.fit();
    this.drawNow();
  }

  layoutSections(sections) {
    const boxes = sections.map((s) => ({
      w: Math.max(1, ...s.rows.map((r) => r.status.length)) * PITCH,
      h: s.rows.length * PITCH + LABEL_H,
    }));
    const area = boxes.reduce((a, b) => a + (b.w + SEC_GAP_X) * (b.h + SEC_GAP_Y), 0);
    const maxW = Math.max(...boxes.map((b) => b.w), 1);
    const target = Math.max(maxW, Math.sqrt(area) * 1.25);
    let x = 0, y = STAGE_H + SEC_GAP_Y, shelfH = 0, width = 0, i = 0;
    sections.forEach((s, si) => {
      const b = boxes[si];
      if (x > 0 && x + b.w > target) { x = 0; y += shelfH + SEC_GAP_Y; shelfH = 0; }
      const sec = { id: s.id, price: s.price_cents, x, y, w: b.w, h: b.h, rows: [], rowIndex: new Map() };
      this.sectionIndex.set(s.id, si);
      s.rows.forEach((r, ri) => {
        const len = r.status.length;
        const rx = x + (b.w - len * PITCH) / 2, ry = y + LABEL_H + ri * PITCH;
        sec.rows.push({ id: r.id, start: i, len, x: rx, y: ry });
        sec.rowIndex.set(r.id, ri);
        for (let k = 0; k < len; k++, i++) {
          this.status[i] = CODE[r.status[k]] ?? OFF;
          this.x[i] = rx + k * PITCH;
          this.y[i] = ry;
          this.sec[i] = si;
          this.row[i] = ri;
          this.num[i] = k + 1;
        }
      });
      this.sections.push(sec);
      x += b.w + SEC_GAP_X;
      shelfH = Math.max(shelfH, b.h);
      width = Math.max(width, x - SEC_GAP_X);
    });
    this.world = { w: Math.max(width, 100), h: y + shelfH };
  }

  idOf(i) {
    const s = this.sections[this.sec[i]];
    return `${s.id}-${s.rows[this.row[i]].id}-${this.num[i]}`;
  }

  /** Seat ids are "<section>-<row>-<number>" and neither id has a "-":
   * found by arithmetic, no 10,000-entry map to build. */
  indexOf(id) {
    const [sid, rid, num] = String(id).split('-');
    const sec = this.sections[this.sectionIndex.get(sid)];
    const row = sec && sec.rows[sec.rowIndex.get(rid)];
    const n = Number(num);
    return row && Number.isInteger(n) && n >= 1 && n <= row.len ? row.start + n - 1 : -1;
  }

  priceOf(i) {
    return this.sections[this.sec[i]].price;
  }

  /** status: 'free' | 'held' | 'sold' */
  setStatus(id, status) {
    const i = this.indexOf(id);
    if (i < 0 || !(status in NAME_CODE)) return -1;
    this.status[i] = NAME_CODE[status];
    this.invalidate();
    return i;
  }

  /** A live snapshot lists every on-sale seat. */
  applySnapshot(seats) {
    for (const s of seats) {
      const i = this.indexOf(s.id);
      if (i >= 0) this.status[i] = NAME_CODE[s.status] ?? OFF;
    }
    this.invalidate();
  }

  /* --- view --------------------------------------------------------------- */

  size() {
    const r = this.canvas.getBoundingClientRect();
    return { w: Math.max(1, r.width), h: Math.max(1, r.height) };
  }

  fit() {
    const { w, h } = this.size();
    const W = this.world.w + 2 * MARGIN, H = this.world.h + 2 * MARGIN;
    const s = Math.min(w / W, h / H);
    this.fitScale = s;
    this.view = { s, tx: (w - this.world.w * s) / 2, ty: (h - this.world.h * s) / 2 };
    this.invalidate();
  }

  zoomAt(factor, cx, cy) {
    const v = this.view;
    const s = Math.min(Math.max(v.s * factor, this.fitScale * 0.7), 6);
    v.tx = cx - (cx - v.tx) * (s / v.s);
    v.ty = cy - (cy - v.ty) * (s / v.s);
    v.s = s;
    this.invalidate();
  }

  zoom(factor) {
    const { w, h } = this.size();
    this.zoomAt(factor, w / 2, h / 2);
  }

  /** Centre of seat id in viewport (client) coordinates, or null. */
  seatCenter(id) {
    const i = typeof id === 'number' ? id : this.indexOf(id);
    if (i < 0) return null;
    const r = this.canvas.getBoundingClientRect(), v = this.view;
    return { x: r.left + (this.x[i] + SEAT / 2) * v.s + v.tx, y: r.top + (this.y[i] + SEAT / 2) * v.s + v.ty };
  }

  ensureVisible(i) {
    const { w, h } = this.size(), v = this.view;
    const sx = this.x[i] * v.s + v.tx, sy = this.y[i] * v.s + v.ty;
    if (sx < 8 || sy < 8 || sx > w - 8 || sy > h - 8) {
      v.tx += w / 2 - sx;
      v.ty += h / 2 - sy;
      this.invalidate();
    }
  }

  /** Seat index under client point (x, y), or -1. */
  hit(clientX, clientY) {
    const r = this.canvas.getBoundingClientRect(), v = this.view;
    const wx = (clientX - r.left - v.tx) / v.s, wy = (clientY - r.top - v.ty) / v.s;
    for (const sec of this.sections) {
      if (wx < sec.x || wx > sec.x + sec.w || wy < sec.y + LABEL_H || wy > sec.y + sec.h) continue;
      const row = sec.rows[Math.floor((wy - sec.y - LABEL_H) / PITCH)];
      if (!row) return -1;
      const k = Math.floor((wx - row.x) / PITCH);
      const inSeat = (wx - row.x) - k * PITCH <= SEAT + 1 && (wy - row.y) <= SEAT + 1;
      return k >= 0 && k < row.len && inSeat ? row.start + k : -1;
    }
    return -1;
  }

  /* --- drawing ------------------------------------------------------------ */

  invalidate() {
    if (!this.pending) this.pending = requestAnimationFrame(() => { this.pending = 0; this.drawNow(); });
  }

  drawNow() {
    const c = this.canvas, ctx = this.ctx, dpr = window.devicePixelRatio || 1;
    const { w, h } = this.size();
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const v = this.view;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, w, h);
    if (!this.n) return;
    ctx.setTransform(dpr * v.s, 0, 0, dpr * v.s, dpr * v.tx, dpr * v.ty);
    this.drawFrame(ctx);
    this.drawSeats(ctx, { x0: -v.tx / v.s - SEAT, y0: -v.ty / v.s - SEAT, x1: (w - v.tx) / v.s, y1: (h - v.ty) / v.s });
    this.drawCursor(ctx);
  }

  drawFrame(ctx) {
    ctx.fillStyle = '#12355b';
    ctx.fillRect(0, 0, this.world.w, STAGE_H);
    ctx.fillStyle = '#ffffff';
    ctx.font = `bold ${STAGE_H * 0.6}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('STAGE', this.world.w / 2, STAGE_H / 2);
    ctx.fillStyle = '#1f2933';
    ctx.font = `600 ${LABEL_H * 0.7}px system-ui, sans-serif`;
    for (const s of this.sections) ctx.fillText(s.id, s.x + s.w / 2, s.y + LABEL_H / 2);
  }

  drawSeats(ctx, box) {
    const paths = [new Path2D(), new Path2D(), new Path2D(), new Path2D()];
    const mine = new Path2D();
    const { x, y, status, selected } = this;
    for (let i = 0; i < this.n; i++) {
      const xi = x[i], yi = y[i];
      if (xi < box.x0 || yi < box.y0 || xi > box.x1 || yi > box.y1) continue;
      (selected.has(i) ? mine : paths[status[i]]).rect(xi, yi, SEAT, SEAT);
    }
    for (let st = 0; st < 4; st++) {
      ctx.fillStyle = COLORS[st];
      ctx.fill(paths[st]);
    }
    ctx.fillStyle = SELECTED_COLOR;
    ctx.fill(mine);
    if (this.view.s * PITCH >= 20) this.drawNumbers(ctx, box);
  }

  /* Row ids and seat numbers once seats are big enough to read. */
  drawNumbers(ctx, box) {
    ctx.font = `${SEAT * 0.55}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    for (const s of this.sections) {
      for (const r of s.rows) {
        if (r.y < box.y0 || r.y > box.y1) continue;
        ctx.fillStyle = '#1f2933';
        ctx.fillText(r.id, r.x - PITCH * 0.6, r.y + SEAT / 2);
        for (let k = 0; k < r.len; k++) {
          const i = r.start + k;
          ctx.fillStyle = !this.selected.has(i) && (this.status[i] === HELD || this.status[i] === OFF) ? '#1f2933' : '#ffffff';
          ctx.fillText(String(k + 1), this.x[i] + SEAT / 2, r.y + SEAT / 2 + 0.5);
        }
      }
    }
  }

  drawCursor(ctx) {
    if (this.cursor < 0 || document.activeElement !== this.canvas) return;
    const i = this.cursor, lw = 2.5 / this.view.s;
    ctx.lineWidth = lw;
    ctx.strokeStyle = '#000000';
    ctx.strokeRect(this.x[i] - lw, this.y[i] - lw, SEAT + 2 * lw, SEAT + 2 * lw);
    ctx.strokeStyle = '#ffffff';
    ctx.strokeRect(this.x[i] - 2 * lw, this.y[i] - 2 * lw, SEAT + 4 * lw, SEAT + 4 * lw);
  }

  /* --- input -------------------------------------------------------------- */

  bind() {
    const c = this.canvas;
    c.addEventListener('pointerdown', (e) => this.onDown(e));
    c.addEventListener('pointermove', (e) => this.onMove(e));
    c.addEventListener('pointerup', (e) => this.onUp(e));
    c.addEventListener('pointercancel', (e) => this.pointers.delete(e.pointerId));
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    c.addEventListener('keydown', (e) => this.onKey(e));
    c.addEventListener('focus', () => {
      if (this.cursor < 0) this.cursor = Math.max(0, this.status.indexOf(FREE));
      this.moveCursor(this.cursor);
    });
    c.addEventListener('blur', () => this.invalidate());
    this.resizer = new ResizeObserver(() => {
      const old = this.fitScale;
      if (!this.n) return;
      const v = { ...this.view };
      this.fit();
      if (old && Math.abs(v.s - old) > 1e-6) this.view = v; // keep a zoomed view
      this.drawNow();
    });
    this.resizer.observe(c);
  }

  destroy() {
    this.resizer.disconnect();
    if (this.pending) cancelAnimationFrame(this.pending);
  }

  onDown(e) {
    this.canvas.setPointerCapture(e.pointerId);
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (this.pointers.size === 1) this.gesture = { x: e.clientX, y: e.clientY, moved: false, multi: false };
    else if (this.gesture) this.gesture.multi = true;
  }

  onMove(e) {
    const p = this.pointers.get(e.pointerId);
    if (!p) {
      if (e.pointerType === 'mouse') this.canvas.style.cursor = this.hit(e.clientX, e.clientY) >= 0 ? 'pointer' : 'grab';
      return;
    }
    const pts = [...this.pointers.values()];
    if (pts.length === 2) {
      const other = pts.find((q) => q !== p);
      const d0 = Math.hypot(p.x - other.x, p.y - other.y);
      const d1 = Math.hypot(e.clientX - other.x, e.clientY - other.y);
      const r = this.canvas.getBoundingClientRect();
      const mx = (e.clientX + other.x) / 2 - r.left, my = (e.clientY + other.y) / 2 - r.top;
      if (d0 > 0) this.zoomAt(d1 / d0, mx, my);
      this.view.tx += (e.clientX - p.x) / 2;
      this.view.ty += (e.clientY - p.y) / 2;
    } else if (pts.length === 1) {
      const g = this.gesture;
      if (g && Math.hypot(e.clientX - g.x, e.clientY - g.y) > 6) g.moved = true;
      if (g && g.moved) {
        this.view.tx += e.clientX - p.x;
        this.view.ty += e.clientY - p.y;
      }
    }
    p.x = e.clientX;
    p.y = e.clientY;
    this.invalidate();
  }

  onUp(e) {
    const had = this.pointers.delete(e.pointerId);
    const g = this.gesture;
    if (had && this.pointers.size === 0 && g && !g.moved && !g.multi) {
      const i = this.hit(e.clientX, e.clientY);
      if (i >= 0) {
        this.cursor = i;
        this.opts.onPick?.(i);
      }
    }
    if (this.pointers.size === 0) this.gesture = null;
  }

  moveCursor(i) {
    if (i < 0 || i >= this.n) return;
    this.cursor = i;
    this.ensureVisible(i);
    this.invalidate();
    this.opts.announce?.(this.opts.describe ? this.opts.describe(i) : this.idOf(i));
  }

  /* Same seat number (or the row's last) in row ri of section si. */
  seatIn(si, ri, num) {
    const sec = this.sections[si], row = sec && sec.rows[ri];
    return row ? row.start + Math.min(num, row.len) - 1 : -1;
  }

  onKey(e) {
    const i = this.cursor;
    if (i < 0) return;
    const si = this.sec[i], ri = this.row[i], num = this.num[i], sec = this.sections[si];
    const row = sec.rows[ri];
    const moves = {
      ArrowLeft: () => (num > 1 ? i - 1 : i),
      ArrowRight: () => (num < row.len ? i + 1 : i),
      ArrowUp: () => (ri > 0 ? this.seatIn(si, ri - 1, num) : i),
      ArrowDown: () => (ri + 1 < sec.rows.length ? this.seatIn(si, ri + 1, num) : i),
      Home: () => row.start,
      End: () => row.start + row.len - 1,
      PageUp: () => (si > 0 ? this.seatIn(si - 1, 0, 1) : i),
      PageDown: () => (si + 1 < this.sections.length ? this.seatIn(si + 1, 0, 1) : i),
    };
    if (moves[e.key]) {
      this.moveCursor(moves[e.key]());
    } else if (e.key === 'Enter' || e.key === ' ') {
      this.opts.onPick?.(i);
    } else if (e.key === '+' || e.key === '=') {
      this.zoom(1.4);
    } else if (e.key === '-') {
      this.zoom(1 / 1.4);
    } else if (e.key === '0') {
      this.fit();
    } else {
      return;
    }
    e.preventDefault();
  }
}
