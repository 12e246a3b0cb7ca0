// The booking invariants of one event, checked in the database itself
// (SQLite file or PostgreSQL: sql(query) returns the rows as objects). Shared
// by the race test and the cluster fault tests: nothing oversold, nothing
// double-held, tickets agree with orders, holds with seats.
import assert from 'node:assert/strict';

export function auditInvariants(sql, eventId) {
  const ev = `'${eventId.replace(/'/g, "''")}'`;
  assert.deepEqual(sql(`SELECT t.seat_id, COUNT(*) AS n FROM tickets t JOIN orders o ON o.id = t.order_id
      WHERE t.event_id = ${ev} AND o.status = 'paid' AND t.status = 'valid' AND t.seat_id IS NOT NULL
      GROUP BY t.seat_id HAVING COUNT(*) > 1`), [], 'a seat in two paid valid tickets');
  assert.deepEqual(sql(`SELECT t.id, t.status, o.status AS order_status FROM tickets t JOIN orders o ON o.id = t.order_id
      WHERE t.event_id = ${ev} AND (o.status = 'paid') <> (t.status = 'valid')`), [], 'ticket status disagrees with its order');
  // which seats a hold has is event_seats.hold_id (one hold per seat by construction)
  const heldBy = (h) => `(SELECT COUNT(*) FROM event_seats es WHERE es.event_id = ${h}.event_id AND es.hold_id = ${h}.id
      AND es.status = 'held')`;
  assert.deepEqual(sql(`SELECT h.id, h.quantity, ${heldBy('h')} AS held FROM holds h
      WHERE h.event_id = ${ev} AND h.status = 'active' AND h.tier_id IS NULL AND h.quantity <> ${heldBy('h')}`), [],
  'an active hold does not hold exactly as many seats as it took');
  assert.deepEqual(sql(`SELECT es.seat_id, es.hold_id, h.status FROM event_seats es LEFT JOIN holds h ON h.id = es.hold_id
      WHERE es.event_id = ${ev} AND es.status = 'held' AND h.status IS DISTINCT FROM 'active'`), [],
  'a held seat without its active hold');
  assert.deepEqual(sql(`SELECT es.seat_id, es.order_id FROM event_seats es WHERE es.event_id = ${ev} AND es.status = 'sold'
      AND NOT EXISTS (SELECT 1 FROM tickets t JOIN orders o ON o.id = t.order_id
        WHERE t.order_id = es.order_id AND t.seat_id = es.seat_id AND t.status = 'valid' AND o.status = 'paid')`), [],
  'a sold seat without a valid ticket of a paid order');
  assert.deepEqual(sql(`SELECT t.seat_id, t.order_id FROM tickets t WHERE t.event_id = ${ev} AND t.status = 'valid'
      AND t.seat_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM event_seats es
        WHERE es.event_id = t.event_id AND es.seat_id = t.seat_id AND es.status = 'sold' AND es.order_id = t.order_id)`), [],
  'a valid seat ticket whose seat is not sold to its order');
  assert.deepEqual(sql(`SELECT h.id, h.status, o.id AS order_id FROM holds h LEFT JOIN orders o ON o.hold_id = h.id
      WHERE h.event_id = ${ev} AND (h.status = 'paid') <> (o.id IS NOT NULL)`), [], 'paid holds and orders disagree');
}
