-- 0007_batch_set: a batch of seat holds and releases as one statement.
--
-- Why. In the cluster bench PostgreSQL's CPU bounded the mix: ~0.45-0.57
-- ms per write even after 0006, and perf showed most of it was not rows
-- read or written but per-statement work repeated for every job of a
-- batch: the executor's start-up and shut-down of a ~20-node plan, CHECK
-- constraints turned back into expressions, PL/pgSQL calls and JSON taken
-- apart and built up again. A batch of N jobs paid all of it N times
-- (plus one more statement to bump the event). Here a batch of two or more
-- jobs is one statement that does every job's work as sets: the sessions
-- looked up, the checks made, the seats locked, taken and freed, the holds
-- inserted and released, the event bumped and every answer rendered, with
-- one plan (cached by PL/pgSQL, generic: the sessions run with
-- plan_cache_mode = force_generic_plan) and one executor start per batch.
--
-- Same answers and the same rules as 0006's tx_batch_hold() and
-- tx_batch_release(), with two differences in how a batch runs, both
-- resolved the same way those functions resolve a job that cannot run in
-- a batch: its answer is {retry: true}, and the caller runs it again
-- alone (0006's functions, renamed tx_batch_each(), which may wait for
-- rows):
--  1. The statement has one snapshot, so no job sees another job's
--     changes. A hold naming a seat that an earlier hold of the same batch
--     also names takes no seat here: when an earlier hold of the batch got
--     one of its seats it answers seat_unavailable (as it would have, run
--     after that hold), else it is retried (which hold gets a contested
--     seat must not depend on which other seats failed). A second release
--     of one hold is retried. A hold cannot see a seat freed by a release
--     of its batch either; that is a valid order (the hold came first) and
--     needs no retry: the seat is not free, so it answers seat_unavailable.
--  2. A free seat another transaction has locked, or changed since the
--     snapshot, is retried (as before); so is a release of a GA hold or of
--     a hold without ords (made before 0006), or one whose hold is locked.
-- Row locks: seats and holds are locked with SKIP LOCKED, so the statement
-- never waits for them; the event row is updated last (after the counts
-- that run every seat update to its end), as everywhere else.

ALTER FUNCTION tixin_batch(jsonb, bigint) RENAME TO tx_batch_each;

CREATE FUNCTION tixin_batch(jobs jsonb, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    IF jsonb_array_length(jobs) < 2 THEN
        RETURN tx_batch_each(jobs, now);
    END IF;
    WITH
    -- every job with its caller (NULL: no live session)
    j AS MATERIALIZED (
        SELECT (x.k - 1)::int AS k, x.j->>'op' AS op, s.user_id AS uid, x.j->>'event_id' AS event_id,
               x.j->'seats' AS seats, x.j->>'hold_id' AS hold_id
          FROM jsonb_array_elements(jobs) WITH ORDINALITY x(j, k)
          LEFT JOIN LATERAL (SELECT user_id FROM sessions
                              WHERE token_hash = x.j->>'token' AND revoked_at IS NULL OFFSET 0) s ON true),
    -- the batch's event: its holds', or its first release's hold's
    ev AS MATERIALIZED (
        SELECT e.id, e.status, e.sale_starts_at, e.sale_ends_at, e.starts_at, e.max_tickets_per_order AS maxn,
               e.currency, now + e.hold_ttl_seconds::bigint * 1000 AS exp
          FROM events e
         WHERE e.id = coalesce((SELECT min(event_id) FROM j WHERE op = 'hold'),
                               (SELECT h.event_id FROM j JOIN holds h ON h.id = j.hold_id
                                 WHERE j.op = 'release' ORDER BY j.k LIMIT 1))),
    -- the holds, each with its seat ids, a new hold id and the first check it fails
    hj AS MATERIALIZED (
        SELECT j.k, j.uid, j.seats, w.ids, w.n, tx_hold_id(now) AS hid,
               CASE WHEN j.uid IS NULL THEN 'unauthenticated'
                    WHEN ev.id IS NOT NULL AND j.event_id <> ev.id THEN 'retry'
                    WHEN ev.status IS DISTINCT FROM 'published' THEN 'not_found'
                    WHEN NOT (now >= ev.sale_starts_at AND now < coalesce(ev.sale_ends_at, ev.starts_at))
                        THEN 'sale_not_open'
                    WHEN w.n = 0 OR w.nd <> w.n THEN 'invalid_field'
                    WHEN w.n > ev.maxn THEN 'limit_exceeded' END AS err
          FROM j LEFT JOIN ev ON true
          CROSS JOIN LATERAL (SELECT array_agg(a.value #>> '{}' ORDER BY a.i) AS ids, count(*) AS n,
                                     count(DISTINCT a.value) AS nd
                                FROM jsonb_array_elements(j.seats) WITH ORDINALITY a(value, i)) w
         WHERE j.op = 'hold'),
    want AS MATERIALIZED (SELECT hj.k, u.id AS seat_id FROM hj, unnest(hj.ids) u(id) WHERE hj.err IS NULL),
    -- holds naming a seat an earlier hold of the batch names
    dup AS MATERIALIZED (SELECT DISTINCT b.k FROM want a JOIN want b ON a.seat_id = b.seat_id AND a.k < b.k),
    -- the free seats asked for, locked unless another transaction has them
    lck AS MATERIALIZED (
        SELECT want.k, l.ord, l.price_cents
          FROM want CROSS JOIN LATERAL (
                   SELECT es.ord, es.price_cents FROM event_seats es
                    WHERE es.event_id = (SELECT id FROM ev) AND es.seat_id = want.seat_id AND es.status = 'free'
                      FOR UPDATE SKIP LOCKED) l
         WHERE want.k NOT IN (SELECT k FROM dup)),
    -- the holds that got every seat
    win AS MATERIALIZED (
        SELECT hj.k, hj.uid, hj.hid, hj.n, g.total, g.ords
          FROM (SELECT k, count(*) AS locked, sum(price_cents) AS total, array_agg(ord ORDER BY ord) AS ords
                  FROM lck GROUP BY k) g
          JOIN hj ON hj.k = g.k
         WHERE g.locked = hj.n),
    -- the seats those holds took
    taken AS MATERIALIZED (SELECT want.seat_id FROM want JOIN win ON win.k = want.k),
    upd AS (UPDATE event_seats es SET status = 'held', hold_id = t.hid
              FROM (SELECT win.hid, o.ord FROM win, unnest(win.ords) o(ord) OFFSET 0) t
             WHERE es.event_id = (SELECT id FROM ev) AND es.ord = t.ord
            RETURNING es.ord),
    ins AS (INSERT INTO holds (id, event_id, user_id, tier_id, quantity, total_cents, currency, status,
                               created_at, expires_at, ords)
            SELECT win.hid, ev.id, win.uid, NULL, win.n, win.total, ev.currency, 'active', now, ev.exp, win.ords
              FROM win, ev),
    -- the releases: the caller's active seat hold of this event, locked
    -- unless another transaction has it (the first job naming it)
    rj AS MATERIALIZED (SELECT k, uid, hold_id FROM j WHERE op = 'release'),
    lh AS MATERIALIZED (
        SELECT f.k, l.id, l.ords
          FROM (SELECT DISTINCT ON (hold_id) k, uid, hold_id FROM rj WHERE uid IS NOT NULL ORDER BY hold_id, k) f
          CROSS JOIN LATERAL (
                   SELECT h.id, h.ords FROM holds h
                    WHERE h.id = f.hold_id AND h.user_id = f.uid AND h.status = 'active' AND h.expires_at > now
                      AND h.tier_id IS NULL AND h.ords IS NOT NULL AND h.event_id = (SELECT id FROM ev)
                      FOR UPDATE SKIP LOCKED) l),
    rel AS (UPDATE holds h SET status = 'released' FROM lh WHERE h.id = lh.id),
    freed AS (UPDATE event_seats es SET status = 'free', hold_id = NULL
                FROM (SELECT lh.id, o.ord FROM lh, unnest(lh.ords) o(ord) OFFSET 0) t
               WHERE es.event_id = (SELECT id FROM ev) AND es.ord = t.ord AND es.hold_id = t.id
              RETURNING es.ord),
    -- the event's new version, when a seat changed (after every seat update)
    bump AS (UPDATE events e SET version = e.version + 1
              WHERE e.id = (SELECT id FROM ev) AND (SELECT count(*) FROM upd) + (SELECT count(*) FROM freed) > 0
             RETURNING e.id, e.version),
    answers AS (
        SELECT hj.k, CASE
                   WHEN win.k IS NOT NULL THEN jsonb_build_object('user_id', hj.uid, 'status', 201,
                       'out', jsonb_build_object('id', hj.hid, 'event_id', ev.id, 'seats', hj.seats,
                           'total_cents', win.total, 'currency', ev.currency, 'expires_at', tx_time(ev.exp),
                           'status', 'active'))
                   WHEN hj.err = 'unauthenticated' THEN '{"user_id": "", "err": "unauthenticated"}'
                   WHEN hj.err = 'retry' THEN '{"retry": true}'
                   WHEN hj.err = 'invalid_field' THEN jsonb_build_object('user_id', hj.uid, 'err', 'invalid_field',
                       'out', jsonb_build_object('field', 'seats', 'message', 'Name each seat once, at least one.'))
                   WHEN hj.err IS NOT NULL THEN jsonb_build_object('user_id', hj.uid, 'err', hj.err, 'out', NULL)
                   WHEN s.missing IS NOT NULL THEN jsonb_build_object('user_id', hj.uid, 'err', 'seat_not_found',
                       'out', jsonb_build_object('seats', s.missing))
                   WHEN hj.k IN (SELECT k FROM dup) AND NOT s.lost_to_batch THEN '{"retry": true}'
                   WHEN s.busy AND hj.k NOT IN (SELECT k FROM dup) THEN '{"retry": true}'
                   ELSE jsonb_build_object('user_id', hj.uid, 'err', 'seat_unavailable',
                       'out', jsonb_build_object('seats', s.failed)) END AS a
          FROM hj LEFT JOIN win ON win.k = hj.k LEFT JOIN ev ON true
          -- a losing hold's seats as the snapshot shows them, and those a hold of the batch took
          LEFT JOIN LATERAL (
                   SELECT jsonb_agg(to_jsonb(w.id) ORDER BY w.i) FILTER (WHERE es.seat_id IS NULL) AS missing,
                          jsonb_agg(to_jsonb(w.id) ORDER BY w.i)
                              FILTER (WHERE es.status IS DISTINCT FROM 'free' OR w.id IN (SELECT seat_id FROM taken))
                              AS failed,
                          bool_or(w.id IN (SELECT seat_id FROM taken)) AS lost_to_batch,
                          bool_or(es.status = 'free' AND NOT EXISTS (SELECT 1 FROM lck
                                   WHERE lck.k = hj.k AND lck.ord = es.ord)) AS busy
                     FROM unnest(hj.ids) WITH ORDINALITY w(id, i)
                     LEFT JOIN event_seats es ON es.event_id = ev.id AND es.seat_id = w.id
                    WHERE win.k IS NULL AND hj.err IS NULL) s ON true
        UNION ALL
        SELECT rj.k, CASE
                   WHEN rj.uid IS NULL THEN '{"user_id": "", "err": "unauthenticated"}'
                   WHEN lh.k IS NOT NULL THEN jsonb_build_object('user_id', rj.uid, 'status', 204, 'out', NULL)
                   WHEN NOT EXISTS (SELECT 1 FROM holds h WHERE h.id = rj.hold_id AND h.user_id = rj.uid
                                       AND h.status = 'active' AND h.expires_at > now)
                       THEN jsonb_build_object('user_id', rj.uid, 'err', 'not_found', 'out', NULL)
                   ELSE '{"retry": true}' END
          FROM rj LEFT JOIN lh ON lh.k = rj.k)
    SELECT jsonb_build_object(
               'answers', (SELECT jsonb_agg(a ORDER BY k) FROM answers),
               'changes', coalesce((SELECT jsonb_agg(jsonb_build_object('event_id', b.id, 'version', b.version,
                   'seats', (SELECT coalesce(jsonb_agg(jsonb_build_array(c.ord, c.st) ORDER BY c.ord), '[]')
                               FROM (SELECT ord, 'h' AS st FROM upd UNION ALL SELECT ord, 'f' FROM freed) c),
                   'tiers', '[]'::jsonb)) FROM bump b), '[]'))
      INTO r;
    RETURN r;
END $$;
