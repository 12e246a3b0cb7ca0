// live.js - the live seat map WebSocket (GET /api/v1/events/{id}/live).
// The server sends a snapshot, then deltas carrying a version; a delta not
// newer than what was applied is skipped, and a gap (a version more than
// one ahead) asks for a fresh snapshot. A dropped connection reconnects
// with backoff (its first message is a snapshot, so nothing is missed).
export class LiveSeats {
  /** handlers: snapshot({version, seats, tiers}), seats(changes),
   * tiers(tiers), state('live' | 'connecting' | 'offline') */
  constructor(eventId, handlers) {
    this.url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events/${encodeURIComponent(eventId)}/live`;
    this.h = handlers;
    this.version = -1;
    this.backoff = 500;
    this.closed = false;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    this.h.state?.('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => { this.backoff = 500; };
    ws.onmessage = (e) => this.onMessage(e.data);
    ws.onclose = () => {
      if (this.closed || ws !== this.ws) return;
      this.h.state?.('offline');
      this.version = -1;
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 8000);
    };
  }

  onMessage(text) {
    let m;
    try { m = JSON.parse(text); } catch { return; }
    if (m.type === 'snapshot') {
      this.version = this.seatsVersion = this.tiersVersion = m.version;
      this.h.snapshot?.(m);
      this.h.state?.('live');
      return;
    }
    if (this.version < 0) return; // waiting for a snapshot
    if (m.version > this.version + 1) {
      this.version = -1; // a gap: deltas are useless until the snapshot
      this.ws.send(JSON.stringify({ type: 'snapshot' }));
      return;
    }
    this.version = Math.max(this.version, m.version);
    // one commit that changed both sends "seats" and "tiers" with one version
    if (m.type === 'seats' && m.version > this.seatsVersion) {
      this.seatsVersion = m.version;
      this.h.seats?.(m.changes);
    } else if (m.type === 'tiers' && m.version > this.tiersVersion) {
      this.tiersVersion = m.version;
      this.h.tiers?.(m.tiers);
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}
