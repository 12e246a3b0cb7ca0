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
-- No deadlocks with several jobs in one transaction: only the first job
-- may wait for a row lock (it holds none yet); a later job takes its rows
-- with SKIP LOCKED and, when a row it needs is locked by another
-- transaction (or it is a GA release, whose tier row it would wait for),
-- answers {retry: true} without writing: the C side runs it again alone,
-- after this batch commits, where it waits like any single job.

DROP FUNCTION IF EXISTS tixin_hold_seats(text, text, jsonb, bigint);
DROP FUNCTION IF EXISTS tixin_hold_release(text, text, bigint);

-- the caller of a job, or NULL
CREATE OR REPLACE FUNCTION tx_caller(token text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT user_id FROM sessions WHERE token_hash = token AND revoked_at IS NULL
$$;

-- Hold seats for job j {token, event_id, seats}: the answer, with the
-- seats taken in 'ords' (not sent to the caller). first: may wait.
CREATE OR REPLACE FUNCTION tx_batch_hold(j jsonb, now bigint, first boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    uid text := tx_caller(j->>'token');
    eid text := j->>'event_id';
    seats jsonb := j->'seats';
    ev record;
    ids text[];
    n int;
    locked text[];
    hid text;
    total bigint;
    ords int[];
    failed jsonb;
    missing jsonb;
    busy boolean;
    exp bigint;
BEGIN
    IF uid IS NULL THEN
        RETURN '{"user_id": "", "err": "unauthenticated"}';
    END IF;
    SELECT e.status, e.sale_starts_at, e.sale_ends_at, e.starts_at, e.max_tickets_per_order,
           e.hold_ttl_seconds, e.currency INTO ev FROM events e WHERE e.id = eid;
    IF NOT FOUND OR ev.status <> 'published' THEN
        RETURN jsonb_build_object('user_id', uid, 'err', 'not_found', 'out', NULL);
    END IF;
    IF NOT (now >= ev.sale_starts_at AND now < coalesce(ev.sale_ends_at, ev.starts_at)) THEN
        RETURN jsonb_build_object('user_id', uid, 'err', 'sale_not_open', 'out', NULL);
    END IF;
    ids := ARRAY(SELECT value #>> '{}' FROM jsonb_array_elements(seats));
    n := cardinality(ids);
    IF n = 0 OR (SELECT count(DISTINCT x) FROM unnest(ids) x) <> n THEN
        RETURN jsonb_build_object('user_id', uid, 'err', 'invalid_field',
            'out', jsonb_build_object('field', 'seats', 'message', 'Name each seat once, at least one.'));
    END IF;
    IF n > ev.max_tickets_per_order THEN
        RETURN jsonb_build_object('user_id', uid, 'err', 'limit_exceeded', 'out', NULL);
    END IF;
    -- lock the free ones, by ord; nothing is written unless all are
    IF first THEN
        SELECT array_agg(seat_id) INTO locked FROM (SELECT es.seat_id FROM event_seats es
            WHERE es.event_id = eid AND es.seat_id = ANY (ids) AND es.status = 'free'
            ORDER BY es.ord FOR UPDATE) l;
    ELSE
        SELECT array_agg(seat_id) INTO locked FROM (SELECT es.seat_id FROM event_seats es
            WHERE es.event_id = eid AND es.seat_id = ANY (ids) AND es.status = 'free'
            ORDER BY es.ord FOR UPDATE SKIP LOCKED) l;
    END IF;
    IF coalesce(cardinality(locked), 0) < n THEN
        SELECT jsonb_agg(w.value ORDER BY w.i) FILTER (WHERE NOT (es.seat_id = ANY (coalesce(locked, '{}')))),
               jsonb_agg(w.value ORDER BY w.i) FILTER (WHERE es.seat_id IS NULL),
               bool_or(es.status = 'free' AND NOT (es.seat_id = ANY (coalesce(locked, '{}'))))
          INTO failed, missing, busy
          FROM jsonb_array_elements(seats) WITH ORDINALITY w(value, i)
          LEFT JOIN event_seats es ON es.event_id = eid AND es.seat_id = w.value #>> '{}';
        IF missing IS NOT NULL THEN
            RETURN jsonb_build_object('user_id', uid, 'err', 'seat_not_found', 'out', jsonb_build_object('seats', missing));
        END IF;
        IF NOT first AND busy THEN -- a free seat someone else has locked
            RETURN '{"retry": true}';
        END IF;
        RETURN jsonb_build_object('user_id', uid, 'err', 'seat_unavailable', 'out', jsonb_build_object('seats', failed));
    END IF;
    hid := tx_hold_id(now);
    WITH u AS (UPDATE event_seats es SET status = 'held', hold_id = hid
               WHERE es.event_id = eid AND es.seat_id = ANY (locked) RETURNING es.ord, es.price_cents)
    SELECT sum(price_cents), array_agg(ord ORDER BY ord) INTO total, ords FROM u;
    exp := now + ev.hold_ttl_seconds::bigint * 1000;
    INSERT INTO holds (id, event_id, user_id, tier_id, quantity, total_cents, currency, status, created_at, expires_at)
    VALUES (hid, eid, uid, NULL, n, total, ev.currency, 'active', now, exp);
    RETURN jsonb_build_object('user_id', uid, 'status', 201, 'ords', to_jsonb(ords),
        'out', jsonb_build_object('id', hid, 'event_id', eid, 'seats', seats, 'total_cents', total,
                                  'currency', ev.currency, 'expires_at', tx_time(exp), 'status', 'active'));
END $$;

-- Release for job j {token, hold_id}: the answer, with the event in
-- 'event_id' and the seats freed in 'ords' or the tier in 'tier'.
CREATE OR REPLACE FUNCTION tx_batch_release(j jsonb, now bigint, first boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    uid text := tx_caller(j->>'token');
    hid text := j->>'hold_id';
    h record;
    ords int[];
    avail int;
BEGIN
    IF uid IS NULL THEN
        RETURN '{"user_id": "", "err": "unauthenticated"}';
    END IF;
    IF first THEN
        SELECT event_id, tier_id, quantity INTO h FROM holds
         WHERE id = hid AND user_id = uid AND status = 'active' AND expires_at > now FOR UPDATE;
    ELSE
        SELECT event_id, tier_id, quantity INTO h FROM holds
         WHERE id = hid AND user_id = uid AND status = 'active' AND expires_at > now FOR UPDATE SKIP LOCKED;
        IF NOT FOUND AND EXISTS (SELECT 1 FROM holds WHERE id = hid AND user_id = uid AND status = 'active'
                                 AND expires_at > now) THEN
            RETURN '{"retry": true}';
        END IF;
    END IF;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('user_id', uid, 'err', 'not_found', 'out', NULL);
    END IF;
    IF h.tier_id IS NOT NULL AND NOT first THEN
        RETURN '{"retry": true}'; -- it would wait for the tier's row
    END IF;
    UPDATE holds SET status = 'released' WHERE id = hid;
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
    i int := 0;
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
            r := tx_batch_hold(j, now, i = 0);
            e := j->>'event_id';
            st := 'h';
        ELSE
            r := tx_batch_release(j, now, i = 0);
            e := r->>'event_id';
            st := 'f';
        END IF;
        i := i + 1;
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
