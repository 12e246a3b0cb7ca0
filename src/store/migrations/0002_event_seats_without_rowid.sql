-- 0002_event_seats_without_rowid: event_seats keyed by its primary key.
--
-- event_seats is the hottest table: every hold, release, order and expiry
-- updates rows of it by (event_id, ord). As a rowid table each such update
-- first walks the primary key's index to find the rowid, then the table:
-- two b-trees read and (for the page holding the row) written. WITHOUT
-- ROWID stores the rows in the primary key's b-tree itself, so a seat is
-- one b-tree walk. Every column, CHECK, default and index of 0001 is kept;
-- the secondary indexes now carry (event_id, ord) instead of a rowid.
-- Nothing refers to event_seats by rowid (no ORDER BY rowid, no foreign
-- key points at it), so the rebuild changes no answer.

CREATE TABLE event_seats_new (
    event_id    TEXT NOT NULL REFERENCES events (id),
    ord         INTEGER NOT NULL,
    seat_id     TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'free' CHECK (status IN ('free', 'held', 'sold')),
    hold_id     TEXT,
    order_id    TEXT,
    PRIMARY KEY (event_id, ord),
    CHECK ((status = 'held') = (hold_id IS NOT NULL)),
    CHECK ((status = 'sold') = (order_id IS NOT NULL))
) WITHOUT ROWID;
INSERT INTO event_seats_new (event_id, ord, seat_id, price_cents, status, hold_id, order_id)
    SELECT event_id, ord, seat_id, price_cents, status, hold_id, order_id FROM event_seats;
DROP TABLE event_seats;
ALTER TABLE event_seats_new RENAME TO event_seats;
CREATE UNIQUE INDEX event_seats_id ON event_seats (event_id, seat_id);
CREATE INDEX event_seats_hold ON event_seats (hold_id) WHERE hold_id IS NOT NULL;
