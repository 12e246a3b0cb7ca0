// A WebSocket subscriber of /api/v1/events/{id}/live that records every
// message with its arrival time and keeps the seat/tier state it implies.
import WebSocket from 'ws';
import assert from 'node:assert/strict';

export class LiveClient {
  constructor(ws) {
    this.ws = ws;
    this.messages = [];     // {msg, at}
    this.cursor = 0;
    this.waiters = [];
    this.seats = new Map(); // id -> status
    this.tiers = new Map(); // id -> available
    this.version = null;
    this.errors = [];
    this.closed = false;
    ws.on('message', (data, isBinary) => {
      let msg;
      try {
        assert.equal(isBinary, false, 'live messages are text frames');
        msg = JSON.parse(data.toString());
      } catch (e) {
        this.errors.push(`bad frame: ${e.message}: ${data.toString().slice(0, 200)}`);
        return;
      }
      this.messages.push({ msg, at: Date.now() });
      this.apply(msg);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', () => { this.closed = true; for (const w of this.waiters.splice(0)) w(); });
    ws.on('error', (e) => this.errors.push(e.message));
  }

  static tierChanges(msg) {
    return msg.changes || msg.tiers || [];
  }

  apply(msg) {
    if (msg.type === 'snapshot') {
      this.seats = new Map(msg.seats.map((s) => [s.id, s.status]));
      this.tiers = new Map((msg.tiers || []).map((t) => [t.id, t.available]));
      this.version = msg.version;
    } else if (msg.type === 'seats') {
      for (const ch of msg.changes) this.seats.set(ch.id, ch.status);
      this.version = msg.version;
    } else if (msg.type === 'tiers') {
      for (const ch of LiveClient.tierChanges(msg)) this.tiers.set(ch.id, ch.available);
      this.version = msg.version;
    }
  }

  /** Next message (after the cursor) matching pred, waiting up to timeoutMs. */
  async next(pred = () => true, timeoutMs = 1000, what = 'a live message') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.messages.length) {
        const m = this.messages[this.cursor++];
        if (pred(m.msg)) return m;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) {
        assert.fail(`${what} did not arrive within ${timeoutMs} ms (closed=${this.closed}); got so far: ${JSON.stringify(this.messages.map((x) => x.msg)).slice(-1500)}`);
      }
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  close() {
    return new Promise((resolve) => {
      if (this.closed || this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', resolve);
      this.ws.close();
      setTimeout(() => { this.ws.terminate(); resolve(); }, 2000);
    });
  }
}

export function liveUrl(base, eventId) {
  return `${base.replace(/^http/, 'ws')}/api/v1/events/${eventId}/live`;
}

/** Connects; answers a LiveClient once open (the snapshot may still be on its way). */
export function connectLive(base, eventId) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(liveUrl(base, eventId), { handshakeTimeout: 5000 });
    const lc = new LiveClient(ws);
    ws.once('open', () => resolve(lc));
    ws.once('unexpected-response', (req, res) => {
      reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { statusCode: res.statusCode }));
      req.destroy();
    });
    ws.once('error', reject);
  });
}

/** The HTTP status a failed upgrade answered with. */
export async function upgradeStatus(base, eventId) {
  try {
    const lc = await connectLive(base, eventId);
    await lc.close();
    return 101;
  } catch (e) {
    return e.statusCode ?? e.message;
  }
}
