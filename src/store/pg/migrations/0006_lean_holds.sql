-- 0006_lean_holds: the hot writes (a seat hold, its release) for less of
-- PostgreSQL's CPU. Before this, a write cost PostgreSQL 0.55-1.1 ms of
-- CPU in the cluster bench (more the busier the machine) and ~1.05 ms in
-- one session doing nothing else, most of it not in reading or writing
-- rows but in running many small statements per job (each pays executor
-- start-up, a snapshot, its CHECK constraints parsed again, its
-- triggers), in PL/pgSQL loops (a hold id was ~100 expression
-- evaluations) and in building and taking apart JSON; with this, ~0.36-
-- 0.63 ms in one session, ~0.65-0.77 ms instead of 1.1-1.5 ms with four
-- sessions on a busy machine (perf and pg_stat_statements showed where;
-- the numbers are in the commit message). Same rules, same answers, same row
-- locks in the same order as 0004 (hold row, seat rows by ord, GA tier,
-- the events' rows last in id order); what changes:
--
--  1. A seat's hold and release are HOT updates. event_seats_hold (an
--     index on hold_id, the column both change) made every hold and
--     release write a new entry into each of event_seats' indexes; it
--     goes, and a hold records its seats itself (holds.ords, their ords)
--     so that its release, payment and expiry find them by primary key
--     (event_id, ord = ANY (ords), still AND hold_id = the hold: a seat is
--     freed only by the hold that has it). Active seat holds made before
--     this migration get their ords here; a hold without ords (one made
--     by the old functions while this migration ran) is still found, by
--     scanning its event's seats. fillfactor leaves room on each page for
--     the new row versions (a HOT update stays on its page), and the
--     table is rewritten (CLUSTER, in ord order) so that rows already
--     there get that room too.
--  2. A hold job is one statement (caller, event, checks, seats locked and
--     taken, hold inserted, answer built), a release one statement (hold
--     ended, seats freed); only failures run more. tixin_batch() walks
--     its jobs without a cursor, keeps the seat changes in arrays, and
--     bumps each event with one statement that also renders its change.
--  3. holds loses its foreign key to events (it keeps the one to users):
--     each hold insert ran a referential-integrity query that share-locked
--     the event's row - the row every batch updates, so each hold made a
--     MultiXact - for nothing an op can reach: the hold's event_id comes
--     from the events row the same statement checked (published, on sale),
--     and no op deletes an event. The booking rules live elsewhere
--     (event_seats' CHECKs, the seat tickets' unique index, the GA tiers'
--     CHECK, orders_hold). Measured with both keys dropped: ~15% of a
--     write's CPU with a single client; the user's row is not hot, so
--     its key stays.
--  4. A hold id is one expression, not loops (same format as
--     store/sqlite/holds.c hold_id_new(): 10 clock characters, then 10
--     random ones from gen_random_uuid()'s strong random bytes).
--  (Tried and not kept: committing batches of holds and releases with
--  synchronous_commit off. No difference in CPU or req/s could be measured,
--  and a PostgreSQL crash would then take back commits whose versions the
--  instances' seat maps had already seen - the next commits number those
--  versions again, so the maps could show seats wrongly until reloaded.)

ALTER TABLE holds ADD COLUMN ords integer[]; -- the ords of a seat hold's seats (NULL: a GA hold)
UPDATE holds h SET ords = (SELECT array_agg(es.ord ORDER BY es.ord) FROM event_seats es WHERE es.hold_id = h.id)
 WHERE h.status = 'active' AND h.tier_id IS NULL;
DROP INDEX event_seats_hold;
ALTER TABLE holds DROP CONSTRAINT holds_event_id_fkey;
ALTER TABLE event_seats SET (fillfactor = 80);
CLUSTER event_seats USING event_seats_pkey;

-- One SQL expression, which the planner inlines into the statement that
-- calls it (no function call at all): the clock in the sorted alphabet,
-- then 10 characters of the base64 of a random UUID mapped 2 to 1 onto
-- the same alphabet (still uniform). Base64 characters 0-7 are bytes 0-5;
-- 8-10 hold the version nibble (byte 6) and 11-12 are bytes 8-9 past the
-- variant's 2 bits: only 0-7 and 11-12 are taken.
DROP FUNCTION tx_hold_id(bigint);
CREATE FUNCTION tx_hold_id(now bigint) RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT 'hld_'
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 45) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 40) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 35) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 30) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 25) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 20) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 15) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 10) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', ((now >> 5) & 31)::int + 1, 1)
        || substr('23456789abcdefghijkmnpqrstuvwxyz', (now & 31)::int + 1, 1)
        || translate(overlay(substr(encode(uuid_send(gen_random_uuid()), 'base64'), 1, 13) PLACING '' FROM 9 FOR 3),
                     'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
                     '23456789abcdefghijkmnpqrstuvwxyz23456789abcdefghijkmnpqrstuvwxyz')
$$;

-- --- the hold's seats by primary key (tixin_op()'s paths) ------------------

-- tixin_op()'s seat hold (jobs with an Idempotency-Key): as 0003's, and
-- the hold records its seats' ords
CREATE OR REPLACE FUNCTION tx_hold_seats(ev events, h holds, seats jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    n int := jsonb_array_length(seats);
    ids text[];
    taken int;
    total bigint;
    ords int[];
    failed jsonb;
    missing jsonb;
BEGIN
    IF n = 0 OR (SELECT count(DISTINCT value) FROM jsonb_array_elements(seats)) <> n THEN
        PERFORM tx_invalid('seats', 'Name each seat once, at least one.');
    END IF;
    IF n > ev.max_tickets_per_order THEN PERFORM tx_fail('limit_exceeded'); END IF;
    SELECT array_agg(value #>> '{}') INTO ids FROM jsonb_array_elements(seats);
    WITH lck AS (SELECT es.ord FROM event_seats es WHERE es.event_id = ev.id
            AND es.seat_id = ANY (ids) AND es.status = 'free' ORDER BY es.ord FOR UPDATE),
    upd AS (UPDATE event_seats es SET status = 'held', hold_id = h.id FROM lck
            WHERE es.event_id = ev.id AND es.ord = lck.ord RETURNING es.ord, es.seat_id, es.price_cents),
    ins AS (INSERT INTO tixin_changes (event_id, ord, status) SELECT ev.id, ord, 'h' FROM upd)
    SELECT count(*), coalesce(sum(price_cents), 0), array_agg(ord ORDER BY ord) INTO taken, total, ords FROM upd;
    IF taken < n THEN
        SELECT jsonb_agg(w.value ORDER BY w.i) FILTER (WHERE es.status IS DISTINCT FROM 'held' OR es.hold_id <> h.id),
               jsonb_agg(w.value ORDER BY w.i) FILTER (WHERE es.seat_id IS NULL)
          INTO failed, missing
          FROM jsonb_array_elements(seats) WITH ORDINALITY w(value, i)
          LEFT JOIN event_seats es ON es.event_id = ev.id AND es.seat_id = w.value #>> '{}';
        IF missing IS NOT NULL THEN PERFORM tx_fail('seat_not_found', jsonb_build_object('seats', missing)); END IF;
        PERFORM tx_fail('seat_unavailable', jsonb_build_object('seats', failed));
    END IF;
    h.total_cents := total;
    h.quantity := n;
    h.ords := ords;
    INSERT INTO holds VALUES (h.*);
    RETURN tx_hold_answer(h, jsonb_build_object('seats', seats));
END $$;

-- as 0003's, with the row's new last column (ords, filled in by tx_hold_seats)
CREATE OR REPLACE FUNCTION op_hold_create(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    ev events := tx_event(a->>'event_id');
    h holds;
BEGIN
    IF ev.status <> 'published' THEN PERFORM tx_fail('not_found'); END IF;
    IF NOT (now >= ev.sale_starts_at AND now < coalesce(ev.sale_ends_at, ev.starts_at)) THEN
        PERFORM tx_fail('sale_not_open');
    END IF;
    h := ROW(tx_hold_id(now), ev.id, uid, NULL, 0, 0, ev.currency, 'active', now,
             now + ev.hold_ttl_seconds::bigint * 1000, NULL)::holds;
    IF a ? 'seats' THEN
        RETURN tx_hold_seats(ev, h, a->'seats');
    END IF;
    RETURN tx_hold_tier(ev, h, coalesce(a->>'tier', ''), coalesce((a->>'quantity')::bigint, 0));
END $$;

-- End an active hold h (locked by the caller): seats free, tier back.
CREATE OR REPLACE FUNCTION tx_end_hold(h holds, st text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE holds SET status = st WHERE id = h.id;
    IF h.tier_id IS NOT NULL THEN
        UPDATE ga_tiers SET held = held - h.quantity WHERE event_id = h.event_id AND tier_id = h.tier_id;
        PERFORM tx_tier(h.event_id, h.tier_id);
        RETURN;
    END IF;
    WITH u AS (UPDATE event_seats SET status = 'free', hold_id = NULL
               WHERE event_id = h.event_id AND hold_id = h.id
                 AND ord = ANY (coalesce(h.ords, ARRAY(SELECT x.ord FROM event_seats x
                                                        WHERE x.event_id = h.event_id AND x.hold_id = h.id)))
               RETURNING ord)
    INSERT INTO tixin_changes (event_id, ord, status) SELECT h.event_id, ord, 'f' FROM u;
END $$;

-- Paying: as 0003's; the hold's seats are found by its ords.
CREATE OR REPLACE FUNCTION op_order_create(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    h holds;
    ch jsonb := a->'_charge';
    o_id text;
    n int;
BEGIN
    SELECT * INTO h FROM holds WHERE id = a->>'hold_id' AND user_id = uid FOR UPDATE;
    IF NOT FOUND THEN PERFORM tx_fail('not_found'); END IF;
    IF h.status = 'paid' THEN PERFORM tx_fail('hold_already_used'); END IF;
    IF h.status = 'expired' THEN PERFORM tx_fail('hold_expired'); END IF;
    IF h.status <> 'active' THEN PERFORM tx_fail('not_found'); END IF;
    IF h.expires_at <= now THEN
        PERFORM tx_end_hold(h, 'expired');
        RETURN jsonb_build_object('err', 'hold_expired', 'out', NULL); -- kept: the expiry stays
    END IF;
    IF ch IS NULL THEN
        RETURN jsonb_build_object('charge', jsonb_build_object('amount', h.total_cents, 'currency', h.currency));
    END IF;
    IF ch ? 'err' THEN PERFORM tx_fail(ch->>'err', ch->'details'); END IF;
    o_id := tx_id('ord');
    INSERT INTO orders (id, user_id, event_id, hold_id, status, total_cents, currency, payment_ref, created_at)
    VALUES (o_id, uid, h.event_id, h.id, 'paid', h.total_cents, h.currency, ch->>'ref', now);
    UPDATE holds SET status = 'paid' WHERE id = h.id;
    IF h.tier_id IS NOT NULL THEN
        UPDATE ga_tiers SET held = held - h.quantity, sold = sold + h.quantity
        WHERE event_id = h.event_id AND tier_id = h.tier_id;
        FOR i IN 1..h.quantity LOOP
            PERFORM tx_insert_ticket(o_id, h.event_id, NULL, h.tier_id, h.total_cents / greatest(h.quantity, 1), i);
        END LOOP;
        PERFORM tx_tier(h.event_id, h.tier_id);
    ELSE
        -- the hold's seats are the ones it still owns (the hold's row lock
        -- keeps everyone else off them); one ticket each, in ord order
        WITH u AS (UPDATE event_seats SET status = 'sold', hold_id = NULL, order_id = o_id
                   WHERE event_id = h.event_id AND hold_id = h.id
                     AND ord = ANY (coalesce(h.ords, ARRAY(SELECT x.ord FROM event_seats x
                                                            WHERE x.event_id = h.event_id AND x.hold_id = h.id)))
                   RETURNING ord, seat_id, price_cents),
        ch AS (INSERT INTO tixin_changes (event_id, ord, status) SELECT h.event_id, ord, 's' FROM u)
        INSERT INTO tickets (id, order_id, event_id, seat_id, tier_id, price_cents, code, status, position)
        SELECT tx_id('tkt'), o_id, h.event_id, seat_id, NULL, price_cents, tx_code(), 'valid',
               row_number() OVER (ORDER BY ord) FROM u;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n <> h.quantity THEN
            RAISE EXCEPTION 'hold % lost % of its % seats before payment', h.id, h.quantity - n, h.quantity;
        END IF;
    END IF;
    RETURN jsonb_build_object('status', 201, 'out', tx_order_json(o_id));
END $$;

-- --- the batch (0004's tixin_batch(), leaner) --------------------------------

DROP FUNCTION tx_batch_hold(jsonb, bigint, boolean);
DROP FUNCTION tx_batch_release(jsonb, bigint, boolean);

-- Hold seats for job j {token, event_id, seats}: the answer, and the ords
-- of the seats taken (NULL when none). alone: the only job of its batch,
-- which may wait for its rows.
CREATE FUNCTION tx_batch_hold(j jsonb, now bigint, alone boolean, OUT answer jsonb, OUT ords int[])
LANGUAGE plpgsql AS $$
DECLARE
    eid text := j->>'event_id';
    seats jsonb := j->'seats';
    hid text := tx_hold_id(now);
    r record;
    failed jsonb;
    missing jsonb;
    busy boolean;
BEGIN
    FOR attempt IN 1..2 LOOP
        -- the caller, the event and the seats asked for (q); when every
        -- check passes (ok), the free seats locked by ord, skipping those
        -- another transaction has locked (lck); only when all are, taken
        -- and the hold inserted, and the answer rendered
        WITH q AS (SELECT s.user_id AS uid, e.status, e.sale_starts_at, e.sale_ends_at, e.starts_at,
                          e.max_tickets_per_order AS maxn, e.currency, now + e.hold_ttl_seconds::bigint * 1000 AS exp,
                          w.ids, w.n, w.nd
                     FROM (SELECT array_agg(value #>> '{}') AS ids, count(*) AS n, count(DISTINCT value) AS nd
                             FROM jsonb_array_elements(seats)) w
                     LEFT JOIN sessions s ON s.token_hash = j->>'token' AND s.revoked_at IS NULL
                     LEFT JOIN events e ON e.id = eid),
        ok AS (SELECT * FROM q WHERE uid IS NOT NULL AND status = 'published' AND now >= sale_starts_at
                 AND now < coalesce(sale_ends_at, starts_at) AND n > 0 AND nd = n AND n <= maxn),
        lck AS (SELECT es.ord, es.seat_id, es.price_cents
                  FROM unnest((SELECT ids FROM ok)::text[]) x(id)
                  JOIN event_seats es ON es.event_id = eid AND es.seat_id = x.id
                 WHERE es.status = 'free' ORDER BY es.ord FOR UPDATE OF es SKIP LOCKED),
        got AS (SELECT count(*) AS locked, array_agg(ord ORDER BY ord) AS ords, array_agg(seat_id) AS ids,
                       sum(price_cents) AS total FROM lck),
        upd AS (UPDATE event_seats es SET status = 'held', hold_id = hid FROM lck
                 WHERE (SELECT locked FROM got) = (SELECT n FROM ok) AND es.event_id = eid AND es.ord = lck.ord),
        ins AS (INSERT INTO holds (id, event_id, user_id, tier_id, quantity, total_cents, currency, status,
                                   created_at, expires_at, ords)
                SELECT hid, eid, ok.uid, NULL, ok.n, got.total, ok.currency, 'active', now, ok.exp, got.ords
                  FROM ok, got WHERE got.locked = ok.n)
        SELECT q.*, got.locked, got.ids AS locked_ids, got.ords AS taken,
               CASE WHEN got.locked = q.n AND q.n > 0 THEN
                   jsonb_build_object('user_id', q.uid, 'status', 201, 'out', jsonb_build_object('id', hid,
                       'event_id', eid, 'seats', seats, 'total_cents', got.total, 'currency', q.currency,
                       'expires_at', tx_time(q.exp), 'status', 'active')) END AS ans
          INTO r FROM q, got;
        IF r.ans IS NOT NULL THEN
            answer := r.ans;
            ords := r.taken;
            RETURN;
        END IF;
        IF r.uid IS NULL THEN
            answer := '{"user_id": "", "err": "unauthenticated"}';
            RETURN;
        END IF;
        IF r.status IS DISTINCT FROM 'published' THEN
            answer := jsonb_build_object('user_id', r.uid, 'err', 'not_found', 'out', NULL);
            RETURN;
        END IF;
        IF NOT (now >= r.sale_starts_at AND now < coalesce(r.sale_ends_at, r.starts_at)) THEN
            answer := jsonb_build_object('user_id', r.uid, 'err', 'sale_not_open', 'out', NULL);
            RETURN;
        END IF;
        IF r.n = 0 OR r.nd <> r.n THEN
            answer := jsonb_build_object('user_id', r.uid, 'err', 'invalid_field',
                'out', jsonb_build_object('field', 'seats', 'message', 'Name each seat once, at least one.'));
            RETURN;
        END IF;
        IF r.n > r.maxn THEN
            answer := jsonb_build_object('user_id', r.uid, 'err', 'limit_exceeded', 'out', NULL);
            RETURN;
        END IF;
        SELECT jsonb_agg(w.value ORDER BY w.i) FILTER (WHERE es.status IS DISTINCT FROM 'free'),
               jsonb_agg(w.value ORDER BY w.i) FILTER (WHERE es.seat_id IS NULL),
               bool_or(es.status = 'free' AND NOT es.seat_id = ANY (coalesce(r.locked_ids, '{}')))
          INTO failed, missing, busy
          FROM jsonb_array_elements(seats) WITH ORDINALITY w(value, i)
          LEFT JOIN event_seats es ON es.event_id = eid AND es.seat_id = w.value #>> '{}';
        IF missing IS NOT NULL THEN
            answer := jsonb_build_object('user_id', r.uid, 'err', 'seat_not_found', 'out', jsonb_build_object('seats', missing));
            RETURN;
        END IF;
        EXIT WHEN NOT busy OR attempt = 2;
        IF NOT alone THEN -- a free seat another transaction has locked
            answer := '{"retry": true}';
            RETURN;
        END IF;
        -- alone: wait for those locks, then try again
        PERFORM 1 FROM event_seats es WHERE es.event_id = eid AND es.seat_id = ANY (r.ids) AND es.status = 'free'
          ORDER BY es.ord FOR UPDATE;
    END LOOP;
    answer := jsonb_build_object('user_id', r.uid, 'err', 'seat_unavailable', 'out', jsonb_build_object('seats', failed));
END $$;

-- Release for job j {token, hold_id}: the answer, the hold's event, and
-- the ords freed (seat hold) or the tier with its availability (GA hold,
-- [tier_id, available]).
CREATE FUNCTION tx_batch_release(j jsonb, now bigint, alone boolean,
                                 OUT answer jsonb, OUT event_id text, OUT ords int[], OUT tier jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    hid text := j->>'hold_id';
    r record;
    avail int;
BEGIN
    -- the caller's active hold, locked (skipped when another transaction
    -- has it) and released, and its seats freed, in one statement; a GA
    -- hold only alone
    WITH s AS (SELECT user_id FROM sessions WHERE token_hash = j->>'token' AND revoked_at IS NULL),
    h AS (UPDATE holds SET status = 'released' FROM s
           WHERE holds.id = (SELECT id FROM holds WHERE id = hid AND status = 'active' AND expires_at > now
                             FOR UPDATE SKIP LOCKED)
             AND holds.user_id = s.user_id AND (alone OR holds.tier_id IS NULL)
          RETURNING holds.event_id, holds.tier_id, holds.quantity, holds.ords),
    f AS (UPDATE event_seats es SET status = 'free', hold_id = NULL FROM h
           WHERE h.tier_id IS NULL AND es.event_id = h.event_id AND es.hold_id = hid
             AND es.ord = ANY (coalesce(h.ords, ARRAY(SELECT x.ord FROM event_seats x
                                                     WHERE x.event_id = h.event_id AND x.hold_id = hid)))
          RETURNING es.ord)
    SELECT (SELECT user_id FROM s) AS uid, h.event_id, h.tier_id, h.quantity,
           (SELECT array_agg(f.ord ORDER BY f.ord) FROM f) AS freed, h.event_id IS NOT NULL AS released
      INTO r FROM (SELECT 1) one LEFT JOIN h ON true;
    IF r.uid IS NULL THEN
        answer := '{"user_id": "", "err": "unauthenticated"}';
        RETURN;
    END IF;
    IF NOT r.released THEN
        PERFORM 1 FROM holds WHERE id = hid AND user_id = r.uid AND status = 'active' AND expires_at > now;
        IF NOT FOUND THEN
            answer := jsonb_build_object('user_id', r.uid, 'err', 'not_found', 'out', NULL);
            RETURN;
        END IF;
        IF NOT alone THEN -- locked by another transaction, or a GA hold
            answer := '{"retry": true}';
            RETURN;
        END IF;
        -- alone: wait for the hold's lock
        UPDATE holds SET status = 'released' WHERE id = hid AND user_id = r.uid AND status = 'active' AND expires_at > now
        RETURNING holds.event_id, holds.tier_id, holds.quantity, holds.ords INTO r.event_id, r.tier_id, r.quantity, r.freed;
        IF NOT FOUND THEN
            answer := jsonb_build_object('user_id', r.uid, 'err', 'not_found', 'out', NULL);
            RETURN;
        END IF;
        IF r.tier_id IS NULL THEN
            WITH f AS (UPDATE event_seats es SET status = 'free', hold_id = NULL
                        WHERE es.event_id = r.event_id AND es.hold_id = hid
                          AND es.ord = ANY (coalesce(r.freed, ARRAY(SELECT x.ord FROM event_seats x
                                                                    WHERE x.event_id = r.event_id AND x.hold_id = hid)))
                       RETURNING es.ord)
            SELECT array_agg(f.ord ORDER BY f.ord) INTO r.freed FROM f;
        END IF;
    END IF;
    answer := jsonb_build_object('user_id', r.uid, 'status', 204, 'out', NULL);
    event_id := r.event_id;
    IF r.tier_id IS NOT NULL THEN
        UPDATE ga_tiers SET held = held - r.quantity WHERE ga_tiers.event_id = r.event_id AND tier_id = r.tier_id
        RETURNING capacity - held - sold INTO avail;
        tier := jsonb_build_array(r.tier_id, avail);
    ELSE
        ords := coalesce(r.freed, '{}');
    END IF;
END $$;

-- Run jobs [{op: "hold" | "release", token, ...}] in order, then bump each
-- touched event's version once (in id order) and return
-- {answers: [per job: as tixin_op() answers, or {retry: true}],
--  changes: [{event_id, version, seats: [[ord, status]], tiers: [[id, available]]}]}.
-- Holds and releases only: committed asynchronously (see the top).
CREATE OR REPLACE FUNCTION tixin_batch(jobs jsonb, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    njobs int := jsonb_array_length(jobs);
    alone boolean := njobs = 1;
    j jsonb;
    h record;
    rl record;
    answers jsonb := '[]';
    -- the seat changes in job order: event, ord, status ('h', 'f') (the
    -- last change of a seat wins); the tier changes [event, tier, available]
    c_ev text[] := '{}';
    c_ord int[] := '{}';
    c_st text[] := '{}';
    tiers jsonb := '[]';
    evs text[] := '{}'; -- the events touched
    e text;
    ch jsonb;
    changes jsonb := '[]';
BEGIN
    FOR i IN 0 .. njobs - 1 LOOP
        j := jobs->i;
        IF j->>'op' = 'hold' THEN
            h := tx_batch_hold(j, now, alone);
            answers := answers || jsonb_build_array(h.answer);
            IF h.ords IS NOT NULL THEN
                e := j->>'event_id';
                c_ev := c_ev || array_fill(e, ARRAY[cardinality(h.ords)]);
                c_ord := c_ord || h.ords;
                c_st := c_st || array_fill('h'::text, ARRAY[cardinality(h.ords)]);
                IF NOT e = ANY (evs) THEN evs := evs || e; END IF;
            END IF;
        ELSE
            rl := tx_batch_release(j, now, alone);
            answers := answers || jsonb_build_array(rl.answer);
            e := rl.event_id;
            IF rl.ords IS NOT NULL THEN
                c_ev := c_ev || array_fill(e, ARRAY[cardinality(rl.ords)]);
                c_ord := c_ord || rl.ords;
                c_st := c_st || array_fill('f'::text, ARRAY[cardinality(rl.ords)]);
            ELSIF rl.tier IS NOT NULL THEN
                tiers := tiers || jsonb_build_array(jsonb_build_array(e) || rl.tier);
            END IF;
            IF e IS NOT NULL AND NOT e = ANY (evs) THEN evs := evs || e; END IF;
        END IF;
    END LOOP;
    IF cardinality(evs) > 1 THEN
        SELECT array_agg(x ORDER BY x COLLATE "C") INTO evs FROM unnest(evs) x;
    END IF;
    FOREACH e IN ARRAY evs LOOP
        UPDATE events SET version = version + 1 WHERE id = e
        RETURNING jsonb_build_object('event_id', id, 'version', version,
            'seats', (SELECT coalesce(jsonb_agg(jsonb_build_array(s.ord, s.st) ORDER BY s.ord), '[]')
                        FROM (SELECT DISTINCT ON (u.ord) u.ord, u.st FROM unnest(c_ev, c_ord, c_st) WITH ORDINALITY u(ev, ord, st, k)
                               WHERE u.ev = e ORDER BY u.ord, u.k DESC) s),
            'tiers', (SELECT coalesce(jsonb_agg(jsonb_build_array(t.tier, t.avail) ORDER BY t.tier COLLATE "C"), '[]')
                        FROM (SELECT DISTINCT ON (x->>1) x->>1 AS tier, x->2 AS avail
                                FROM jsonb_array_elements(tiers) WITH ORDINALITY w(x, k)
                               WHERE x->>0 = e ORDER BY x->>1, k DESC) t))
        INTO ch;
        changes := changes || jsonb_build_array(ch);
    END LOOP;
    RETURN jsonb_build_object('answers', answers, 'changes', changes);
END $$;
