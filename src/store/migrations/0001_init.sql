-- 0001_init: the whole v1 schema.
--
-- The booking rules live here as much as in code: one row per (event, seat)
-- means a seat can only be in one state at a time; CHECK constraints tie the
-- state to its hold/order; a partial unique index forbids two valid tickets
-- for one seat; a CHECK keeps every GA tier within its capacity. Writers
-- change seats only with conditional updates ("... WHERE status = 'free'")
-- and count the rows they changed, so a lost race is seen, never overwritten.
-- Times are integers: milliseconds since the Unix epoch, UTC.
-- Written in the common subset of SQLite and PostgreSQL where it costs nothing.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,             -- stored lower-cased
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,             -- libsodium argon2id string
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,            -- hex SHA-256 of the bearer token
    user_id     TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT                       -- NULL while the token works
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE org_members (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'staff')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

CREATE TABLE venues (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    city        TEXT NOT NULL,
    address     TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    layout      TEXT NOT NULL,               -- JSON: the sections array as given
    seat_count  INTEGER NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Every seat of a venue, in layout order; ord is the seat's index in that
-- order (0-based) and is what the in-memory seat map and live messages use.
CREATE TABLE venue_seats (
    venue_id    TEXT NOT NULL REFERENCES venues (id),
    ord         INTEGER NOT NULL,
    seat_id     TEXT NOT NULL,               -- "<section>-<row>-<number>"
    section_id  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    number      INTEGER NOT NULL,
    PRIMARY KEY (venue_id, ord)
);
CREATE UNIQUE INDEX venue_seats_id ON venue_seats (venue_id, seat_id);

CREATE TABLE events (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES organizations (id),
    venue_id              TEXT NOT NULL REFERENCES venues (id),
    title                 TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    starts_at             BIGINT NOT NULL,
    sale_starts_at        BIGINT NOT NULL,
    sale_ends_at          BIGINT,            -- NULL: the event's start
    currency              TEXT NOT NULL,
    max_tickets_per_order INTEGER NOT NULL DEFAULT 10,
    hold_ttl_seconds      INTEGER NOT NULL DEFAULT 600,
    status                TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    version               BIGINT NOT NULL DEFAULT 0,   -- grows with every seat/tier change
    created_at            BIGINT NOT NULL,
    published_at          BIGINT
);
CREATE INDEX events_listing ON events (status, starts_at);
CREATE INDEX events_org ON events (org_id);

CREATE TABLE event_prices (
    event_id    TEXT NOT NULL REFERENCES events (id),
    section_id  TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (event_id, section_id)
);

-- The live state of every on-sale seat of a published event (created at
-- publish; seats of unpriced sections get no row: they are not on sale).
CREATE TABLE event_seats (
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
);
CREATE UNIQUE INDEX event_seats_id ON event_seats (event_id, seat_id);
CREATE INDEX event_seats_hold ON event_seats (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE ga_tiers (
    event_id    TEXT NOT NULL REFERENCES events (id),
    tier_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    capacity    INTEGER NOT NULL CHECK (capacity >= 0),
    held        INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
    sold        INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0),
    position    INTEGER NOT NULL,
    PRIMARY KEY (event_id, tier_id),
    CHECK (held + sold <= capacity)
);

CREATE TABLE holds (
    id          TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES events (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    tier_id     TEXT,                        -- GA hold: tier and quantity
    quantity    INTEGER NOT NULL,            -- seats or GA tickets held
    total_cents INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'paid', 'released', 'expired')),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX holds_expiry ON holds (expires_at) WHERE status = 'active';
CREATE INDEX holds_user ON holds (user_id);

-- The seats a hold asked for (kept after the hold ends, for its order).
CREATE TABLE hold_seats (
    hold_id     TEXT NOT NULL REFERENCES holds (id),
    ord         INTEGER NOT NULL,
    seat_id     TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    PRIMARY KEY (hold_id, ord)
);

CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    event_id    TEXT NOT NULL REFERENCES events (id),
    hold_id     TEXT NOT NULL REFERENCES holds (id),
    status      TEXT NOT NULL CHECK (status IN ('paid', 'refunded')),
    total_cents INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    payment_ref TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    refunded_at BIGINT
);
CREATE UNIQUE INDEX orders_hold ON orders (hold_id);   -- a hold is paid at most once
CREATE INDEX orders_user ON orders (user_id, created_at);
CREATE INDEX orders_event ON orders (event_id);

CREATE TABLE tickets (
    id            TEXT PRIMARY KEY,
    order_id      TEXT NOT NULL REFERENCES orders (id),
    event_id      TEXT NOT NULL REFERENCES events (id),
    seat_id       TEXT,                      -- reserved seat, or NULL for GA
    tier_id       TEXT,                      -- GA tier, or NULL for a seat
    price_cents   INTEGER NOT NULL,
    code          TEXT NOT NULL,             -- 128+ random bits, base32
    status        TEXT NOT NULL CHECK (status IN ('valid', 'void')),
    checked_in_at BIGINT,
    CHECK ((seat_id IS NULL) <> (tier_id IS NULL))
);
CREATE UNIQUE INDEX tickets_code ON tickets (code);
CREATE INDEX tickets_order ON tickets (order_id);
-- a seat is sold in at most one paid order, whatever the code does
CREATE UNIQUE INDEX tickets_one_valid_per_seat ON tickets (event_id, seat_id)
    WHERE status = 'valid' AND seat_id IS NOT NULL;

CREATE TABLE idempotency_keys (
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,              -- hex SHA-256 of method, path and body
    status       INTEGER NOT NULL,           -- HTTP status of the first answer
    body         TEXT NOT NULL,              -- its JSON body
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_age ON idempotency_keys (created_at);
