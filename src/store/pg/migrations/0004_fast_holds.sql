-- 0004_fast_holds: the hot writes of a ticket drop (holding seats,
-- releasing a hold), several jobs in one statement and one transaction:
-- tixin_batch(), called by src/store/pg/job.c in autocommit (one round
-- trip) in place of tixin_op() for the jobs without an Idempotency-Key.
--
-- Why: every write bumps its event's version, so it holds the event's row
-- lock until its COMMIT is on disk; the writes of one event then take
-- turns at one commit (and one wake-up of the next waiter) each, which on
-- a busy box caps an event at a few hundred writes a second. A batch
-- bumps each event once and commits once for all its jobs. And
-- tixin_op() pays for its generality on every call (a nested PL/pgSQL
-- call per step, an exception block = a subtransaction, the session's
-- temp change table), about 1 ms of server CPU per write.
--
-- Same rules, same answers as tixin_op(): the same checks in the same
-- order, and the same row locks in the same order (hold row, seat rows by
-- ord, GA tier; the events' rows last, in id order, where each touched
-- event's version is bumped once). No job writes before its checks pass
-- (the seats are locked first, then changed), so a failing job needs no
-- undo and no subtransaction.
--
-- No deadlocks with several jobs in one transaction, and no job held up
-- by another's wait: a batch of several jobs waits for no row lock but
-- its events' rows at the end; each job takes its rows with SKIP LOCKED
-- and, when a row it needs is locked by another transaction (or it is a
-- GA release, whose tier row it would wait for), answers {retry: true}
-- without writing: the C side answers the others, then runs it again
-- alone (a batch of one job, which waits like any single job).

-- tx_time() STABLE, so that it is inlined into the statements calling it
-- (as IMMUTABLE it is not: to_char() is STABLE), rather than parsed and
-- planned again by every statement that calls it
CREATE OR REPLACE FUNCTION tx_time(ms bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN ms IS NULL THEN 'null'::jsonb ELSE to_jsonb(to_char(
        to_timestamp(floor(ms / 1000.0)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END
$$;

-- Hold seats for job j {token, event_id, seats}: the answer, with the
-- seats taken in 'ords' (not sent to the caller). alone: the only job of
-- its batch, which may wait for its rows.
CREATE OR REPLACE FUNCTION tx_batch_hold(j jsonb, now bigint, alone boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    eid text := j->>'event_id';
    seats jsonb := j->'seats';
    ev record;
    n int;
    hid text;
    exp bigint;
    got record;
    failed jsonb;
    missing jsonb;
    busy boolean;
BEGIN
    -- the caller, the event and the seats asked for in one statement
    SELECT s.user_id AS uid, e.status, e.sale_starts_at, e.sale_ends_at, e.starts_at, e.max_tickets_per_order,
           e.hold_ttl_seconds, e.currency,
           (SELECT array_agg(value #>> '{}') FROM jsonb_array_elements(seats)) AS ids,
           (SELECT count(DISTINCT value) FROM jsonb_array_elements(seats)) AS nd INTO ev
      FROM (SELECT 1) one LEFT JOIN sessions s ON s.token_hash = j->>'token' AND s.revoked_at IS NULL
      LEFT JOIN events e ON e.id = eid;
    IF ev.uid IS NULL THEN
        RETURN '{"user_id": "", "err": "unauthenticated"}';
    END IF;
    IF ev.status IS DISTINCT FROM 'published' THEN
        RETURN jsonb_build_object('user_id', ev.uid, 'err', 'not_found', 'out', NULL);
    END IF;
    IF NOT (now >= ev.sale_starts_at AND now < coalesce(ev.sale_ends_at, ev.starts_at)) THEN
        RETURN jsonb_build_object('user_id', ev.uid, 'err', 'sale_not_open', 'out', NULL);
    END IF;
    n := coalesce(cardinality(ev.ids), 0);
    IF n = 0 OR ev.nd <> n THEN
        RETURN jsonb_build_object('user_id', ev.uid, 'err', 'invalid_field',
            'out', jsonb_build_object('field', 'seats', 'message', 'Name each seat once, at least one.'));
    END IF;
    IF n > ev.max_tickets_per_order THEN
        RETURN jsonb_build_object('user_id', ev.uid, 'err', 'limit_exceeded', 'out', NULL);
    END IF;
    hid := tx_hold_id(now);
    exp := now + ev.hold_ttl_seconds::bigint * 1000;
    FOR attempt IN 1..2 LOOP
        -- lock the free ones by ord (skipping those another transaction has
        -- locked); only when all are, take them and insert the hold
        WITH lck AS (SELECT es.ord, es.seat_id FROM event_seats es WHERE es.event_id = eid AND es.seat_id = ANY (ev.ids)
                AND es.status = 'free' ORDER BY es.ord FOR UPDATE SKIP LOCKED),
        upd AS (UPDATE event_seats es SET status = 'held', hold_id = hid FROM lck
                WHERE es.event_id = eid AND es.ord = lck.ord AND (SELECT count(*) FROM lck) = n
                RETURNING es.ord, es.price_cents),
        ins AS (INSERT INTO holds (id, event_id, user_id, tier_id, quantity, total_cents, currency, status,
                                   created_at, expires_at)
                SELECT hid, eid, ev.uid, NULL, n, sum(price_cents), ev.currency, 'active', now, exp
                FROM upd HAVING count(*) = n)
        SELECT (SELECT count(*) FROM lck) AS locked, (SELECT array_agg(seat_id) FROM lck) AS ids,
               (SELECT sum(price_cents) FROM upd) AS total,
               (SELECT array_agg(ord ORDER BY ord) FROM upd) AS ords INTO got;
        IF got.locked = n THEN
            RETURN jsonb_build_object('user_id', ev.uid, 'status', 201, 'ords', to_jsonb(got.ords),
                'out', jsonb_build_object('id', hid, 'event_id', eid, 'seats', seats, 'total_cents', got.total,
                                          'currency', ev.currency, 'expires_at', tx_time(exp), 'status', 'active'));
        END IF;
        SELECT jsonb_agg(w.value ORDER BY w.i) FILTER (WHERE es.status IS DISTINCT FROM 'free'),
               jsonb_agg(w.value ORDER BY w.i) FILTER (WHERE es.seat_id IS NULL),
               bool_or(es.status = 'free' AND NOT es.seat_id = ANY (coalesce(got.ids, '{}')))
          INTO failed, missing, busy
          FROM jsonb_array_elements(seats) WITH ORDINALITY w(value, i)
          LEFT JOIN event_seats es ON es.event_id = eid AND es.seat_id = w.value #>> '{}';
        IF missing IS NOT NULL THEN
            RETURN jsonb_build_object('user_id', ev.uid, 'err', 'seat_not_found', 'out', jsonb_build_object('seats', missing));
        END IF;
        EXIT WHEN NOT busy OR attempt = 2;
        IF NOT alone THEN -- a free seat another transaction has locked
            RETURN '{"retry": true}';
        END IF;
        -- alone: wait for those locks, then try again
        PERFORM 1 FROM event_seats es WHERE es.event_id = eid AND es.seat_id = ANY (ev.ids) AND es.status = 'free'
          ORDER BY es.ord FOR UPDATE;
    END LOOP;
    RETURN jsonb_build_object('user_id', ev.uid, 'err', 'seat_unavailable', 'out', jsonb_build_object('seats', failed));
END $$;

-- Release for job j {token, hold_id}: the answer, with the event in
-- 'event_id' and the seats freed in 'ords' or the tier in 'tier'.
CREATE OR REPLACE FUNCTION tx_batch_release(j jsonb, now bigint, alone boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    hid text := j->>'hold_id';
    uid text;
    h record;
    ords int[];
    avail int;
BEGIN
    -- the caller's active hold, locked (skipped when another transaction
    -- has it) and released, in one statement; a GA hold only alone
    UPDATE holds SET status = 'released' FROM sessions s
     WHERE holds.id = (SELECT id FROM holds WHERE id = hid AND status = 'active' AND expires_at > now
                       FOR UPDATE SKIP LOCKED)
       AND s.token_hash = j->>'token' AND s.revoked_at IS NULL AND holds.user_id = s.user_id
       AND (alone OR holds.tier_id IS NULL)
    RETURNING s.user_id AS uid, holds.event_id, holds.tier_id, holds.quantity INTO h;
    IF FOUND THEN
        uid := h.uid;
    ELSE
        SELECT user_id INTO uid FROM sessions WHERE token_hash = j->>'token' AND revoked_at IS NULL;
        IF uid IS NULL THEN
            RETURN '{"user_id": "", "err": "unauthenticated"}';
        END IF;
        PERFORM 1 FROM holds WHERE id = hid AND user_id = uid AND status = 'active' AND expires_at > now;
        IF NOT FOUND THEN
            RETURN jsonb_build_object('user_id', uid, 'err', 'not_found', 'out', NULL);
        END IF;
        IF NOT alone THEN -- locked by another transaction, or a GA hold
            RETURN '{"retry": true}';
        END IF;
        -- alone: wait for the hold's lock
        UPDATE holds SET status = 'released' WHERE id = hid AND user_id = uid AND status = 'active' AND expires_at > now
        RETURNING event_id, tier_id, quantity INTO h;
        IF NOT FOUND THEN
            RETURN jsonb_build_object('user_id', uid, 'err', 'not_found', 'out', NULL);
        END IF;
    END IF;
    IF h.tier_id IS NOT NULL THEN
        UPDATE ga_tiers SET held = held - h.quantity WHERE event_id = h.event_id AND tier_id = h.tier_id
        RETURNING capacity - held - sold INTO avail;
        RETURN jsonb_build_object('user_id', uid, 'status', 204, 'out', NULL, 'event_id', h.event_id,
                                  'tier', jsonb_build_array(h.tier_id, avail));
    END IF;
    WITH u AS (UPDATE event_seats SET status = 'free', hold_id = NULL WHERE hold_id = hid RETURNING ord)
    SELECT array_agg(ord ORDER BY ord) INTO ords FROM u;
    RETURN jsonb_build_object('user_id', uid, 'status', 204, 'out', NULL, 'event_id', h.event_id,
                              'ords', coalesce(to_jsonb(ords), '[]'));
END $$;

-- Run jobs [{op: "hold" | "release", token, ...}] in order, then bump each
-- touched event's version once (in id order) and return
-- {answers: [per job: as tixin_op() answers, or {retry: true}],
--  changes: [{event_id, version, seats: [[ord, status]], tiers: [[id, available]]}]}.
CREATE OR REPLACE FUNCTION tixin_batch(jobs jsonb, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
    alone boolean := jsonb_array_length(jobs) = 1;
    r jsonb;
    answers jsonb := '[]';
    -- the changes: event -> {"seats": {ord: status}, "tiers": {id: available}}
    touched jsonb := '{}';
    e text;
    v bigint;
    changes jsonb := '[]';
    st text;
    o jsonb;
BEGIN
    FOR j IN SELECT value FROM jsonb_array_elements(jobs) LOOP
        IF j->>'op' = 'hold' THEN
            r := tx_batch_hold(j, now, alone);
            e := j->>'event_id';
            st := 'h';
        ELSE
            r := tx_batch_release(j, now, alone);
            e := r->>'event_id';
            st := 'f';
        END IF;
        IF r ? 'ords' OR r ? 'tier' THEN
            touched := jsonb_set(touched, ARRAY[e], coalesce(touched->e, '{"seats": {}, "tiers": {}}'));
            FOR o IN SELECT value FROM jsonb_array_elements(coalesce(r->'ords', '[]')) LOOP
                touched := jsonb_set(touched, ARRAY[e, 'seats', o::text], to_jsonb(st));
            END LOOP;
            IF r ? 'tier' THEN
                touched := jsonb_set(touched, ARRAY[e, 'tiers', r->'tier'->>0], r->'tier'->1);
            END IF;
        END IF;
        answers := answers || jsonb_build_array(r - 'ords' - 'tier' - 'event_id');
    END LOOP;
    FOR e IN SELECT k FROM jsonb_object_keys(touched) k ORDER BY k COLLATE "C" LOOP
        UPDATE events SET version = version + 1 WHERE id = e RETURNING version INTO v;
        changes := changes || jsonb_build_array(jsonb_build_object('event_id', e, 'version', v,
            'seats', (SELECT coalesce(jsonb_agg(jsonb_build_array(s.key::int, s.value) ORDER BY s.key::int), '[]')
                      FROM jsonb_each(touched->e->'seats') s),
            'tiers', (SELECT coalesce(jsonb_agg(jsonb_build_array(t.key, t.value) ORDER BY t.key COLLATE "C"), '[]')
                      FROM jsonb_each(touched->e->'tiers') t)));
    END LOOP;
    RETURN jsonb_build_object('answers', answers, 'changes', changes);
END $$;
