-- 0002_postgres: what PostgreSQL needs on top of the shared schema.
--
-- PostgreSQL runs SQLite's 0001_init.sql as it is (it was written in the
-- common subset; the Makefile embeds it as version 1 of pg_migrations), so
-- both backends enforce the same rules with the same tables, CHECKs and
-- indexes. SQLite's later migrations are storage tuning for SQLite (WITHOUT
-- ROWID, CHECKs spelled for its planner) except for what they drop, which
-- is dropped here too. The rest is what PostgreSQL lacks or does better:
--  - no rowid: event_prices and tickets get a position column for the
--    order they are listed in;
--  - hold_seats goes (as in SQLite's 0003): a hold's seats are the
--    event_seats rows whose hold_id names it; holds_user goes too;
--  - venues.layout is jsonb (the ops read it as JSON);
--  - an idempotency key keeps the job's answer as its error code and out
--    object (jsonb), rendered again by the same C code as the first answer
--    so that a replay is byte-identical; status 0 marks a claim whose
--    transaction has not finished (see tixin_op() in 0003_ops.sql);
--  - an index for refunds (seats by order).

ALTER TABLE event_prices ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
DROP TABLE hold_seats;
DROP INDEX holds_user;
ALTER TABLE venues ALTER COLUMN layout TYPE JSONB USING layout::jsonb;
ALTER TABLE idempotency_keys ALTER COLUMN body TYPE JSONB USING body::jsonb,
    ALTER COLUMN body DROP NOT NULL, ADD COLUMN err TEXT;
CREATE INDEX event_seats_order ON event_seats (order_id) WHERE order_id IS NOT NULL;
