-- 0003_cheaper_writes: the same rules, fewer b-trees and no temporary
-- tables on the write path.
--
-- 1. A CHECK written `status IN ('a', 'b', 'c')` (three or more constants)
--    is evaluated by SQLite through a temporary b-tree built for every row
--    written: on event_seats and holds, whose rows every hold, release,
--    order and expiry writes, that was the largest single cost of a write.
--    The same domains are now spelled with OR, which SQLite evaluates as
--    plain comparisons. Every constraint of 0001/0002 is kept as it was.
-- 2. hold_seats is gone: event_seats.hold_id already says which seats a
--    hold has (found through the event_seats_hold index) and an order's
--    tickets carry their seats and prices, so the table only repeated
--    facts, one more b-tree row per seat held. Its rows of ended holds
--    (released, expired, paid) were read by nothing.
-- 3. holds and sessions are keyed by their primary keys (WITHOUT ROWID):
--    a hold is written to one b-tree instead of a rowid table plus its
--    primary key's index, and a session (looked up by every authenticated
--    write) is found with one b-tree walk. holds_user is dropped: no query
--    looks holds up by user alone (every one names the hold's id).
--
-- Tables with foreign keys pointing at them are rebuilt with foreign key
-- enforcement off; the migration runner checks every foreign key before it
-- commits (see store/sqlite/migrate.c).

CREATE TABLE event_seats_new (
    event_id    TEXT NOT NULL REFERENCES events (id),
    ord         INTEGER NOT NULL,
    seat_id     TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'free' CHECK (status = 'free' OR status = 'held' OR status = 'sold'),
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

DROP TABLE hold_seats;

CREATE TABLE holds_new (
    id          TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES events (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    tier_id     TEXT,                        -- GA hold: tier and quantity
    quantity    INTEGER NOT NULL,            -- seats or GA tickets held
    total_cents INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status = 'active' OR status = 'paid' OR status = 'released' OR status = 'expired'),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO holds_new (id, event_id, user_id, tier_id, quantity, total_cents, currency, status, created_at, expires_at)
    SELECT id, event_id, user_id, tier_id, quantity, total_cents, currency, status, created_at, expires_at FROM holds;
DROP TABLE holds;
ALTER TABLE holds_new RENAME TO holds;
CREATE INDEX holds_expiry ON holds (expires_at) WHERE status = 'active';

CREATE TABLE sessions_new (
    token_hash  TEXT PRIMARY KEY,            -- hex SHA-256 of the bearer token
    user_id     TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT                       -- NULL while the token works
) WITHOUT ROWID;
INSERT INTO sessions_new (token_hash, user_id, created_at, revoked_at)
    SELECT token_hash, user_id, created_at, revoked_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);
