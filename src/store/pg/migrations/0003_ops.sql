-- 0003_ops: every store op as PL/pgSQL, so that a job is one round trip
-- and one transaction (src/store/pg/pg.c calls tixin_op()).
--
-- Mirrors the SQLite backend's ops (src/store/sqlite/*.c) rule for rule;
-- the comments there say why each rule is what it is. Conventions:
--  - an op returns {status, out} on success, or {err, out} for an error
--    whose writes are kept (paying an overdue hold expires it);
--  - other errors are raised with SQLSTATE 'TX001', the code as message
--    and the details (JSON) as DETAIL; tixin_op() catches them at the
--    op's block, which rolls the op's writes back (the SAVEPOINT of the
--    SQLite backend);
--  - seat/tier changes go to the session's temp table tixin_changes; at
--    the end tixin_op() bumps each touched event's version once (event id
--    order) and returns the changes, which the C side publishes after
--    COMMIT;
--  - locks are taken in one order everywhere: hold or order row, then seat
--    rows (by ord when several free seats are taken), then GA tier, then
--    the event's row (the version bump, last) - so no deadlocks;
--  - work that needs C (charging a payment, refunding) is asked for in the
--    answer ("charge", "refund"): the C side does it inside the same
--    transaction and, for a charge, calls tixin_op() again with
--    args._charge.

CREATE OR REPLACE FUNCTION tx_fail(code text, details jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'TX001', MESSAGE = code, DETAIL = coalesce(details::text, '');
END $$;

CREATE OR REPLACE FUNCTION tx_invalid(field text, message text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF message IS NULL THEN
        PERFORM tx_fail('invalid_field', jsonb_build_object('field', field));
    END IF;
    PERFORM tx_fail('invalid_field', jsonb_build_object('field', field, 'message', message));
END $$;

-- RFC 3339 UTC with seconds, as core/util.c time_format()
CREATE OR REPLACE FUNCTION tx_time(ms bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN ms IS NULL THEN 'null'::jsonb ELSE to_jsonb(to_char(
        to_timestamp(floor(ms / 1000.0)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END
$$;

-- n (<= 28) random characters of alpha (32 characters) from two UUIDs'
-- random bytes (gen_random_uuid uses the strong random source); bytes 6
-- and 8 of each carry the version and variant bits and are skipped.
CREATE OR REPLACE FUNCTION tx_rand32(n int, alpha text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    b bytea := decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');
    out text := '';
BEGIN
    FOR i IN 0..31 LOOP
        CONTINUE WHEN i IN (6, 8, 22, 24);
        EXIT WHEN length(out) = n;
        out := out || substr(alpha, (get_byte(b, i) & 31) + 1, 1);
    END LOOP;
    RETURN out;
END $$;

-- ids as core/util.c id_new(), ticket codes as ticket_code_new()
CREATE OR REPLACE FUNCTION tx_id(prefix text) RETURNS text
LANGUAGE sql AS $$ SELECT prefix || '_' || tx_rand32(20, 'abcdefghijkmnpqrstuvwxyz23456789') $$;
CREATE OR REPLACE FUNCTION tx_code() RETURNS text
LANGUAGE sql AS $$ SELECT tx_rand32(26, 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789') $$;

-- hold ids start with the clock (store/sqlite/holds.c hold_id_new())
CREATE OR REPLACE FUNCTION tx_hold_id(now bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    sorted constant text := '23456789abcdefghijkmnpqrstuvwxyz';
    t bigint := now;
    head text := '';
BEGIN
    FOR i IN 1..10 LOOP
        head := substr(sorted, (t & 31)::int + 1, 1) || head;
        t := t >> 5;
    END LOOP;
    RETURN 'hld_' || head || tx_rand32(10, sorted);
END $$;

-- --- the change log of the running op ----------------------------------

CREATE OR REPLACE FUNCTION tx_session() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL client_min_messages = warning;
    CREATE TEMP TABLE IF NOT EXISTS tixin_changes (
        seq bigserial, event_id text COLLATE "C" NOT NULL, ord int, status text, tier_id text COLLATE "C",
        available int);
END $$;

CREATE OR REPLACE FUNCTION tx_seat(e text, o int, s text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tixin_changes (event_id, ord, status) VALUES (e, o, s);
END $$;

CREATE OR REPLACE FUNCTION tx_tier(e text, t text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tixin_changes (event_id, tier_id, available)
    SELECT e, t, capacity - held - sold FROM ga_tiers WHERE event_id = e AND tier_id = t;
END $$;

-- Bump every touched event's version once and return the changes:
-- [{event_id, version, seats: [[ord, status]], tiers: [[id, available]]}],
-- the last change of each seat/tier winning.
CREATE OR REPLACE FUNCTION tx_finish_changes() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    e text;
    v bigint;
    out jsonb := '[]';
BEGIN
    FOR e IN SELECT DISTINCT event_id FROM tixin_changes ORDER BY event_id LOOP
        UPDATE events SET version = version + 1 WHERE id = e RETURNING version INTO v;
        out := out || jsonb_build_array(jsonb_build_object(
            'event_id', e, 'version', v,
            'seats', (SELECT coalesce(jsonb_agg(jsonb_build_array(ord, left(status, 1)) ORDER BY ord), '[]')
                      FROM (SELECT DISTINCT ON (ord) ord, status FROM tixin_changes
                            WHERE event_id = e AND ord IS NOT NULL ORDER BY ord, seq DESC) s),
            'tiers', (SELECT coalesce(jsonb_agg(jsonb_build_array(tier_id, available) ORDER BY tier_id), '[]')
                      FROM (SELECT DISTINCT ON (tier_id) tier_id, available FROM tixin_changes
                            WHERE event_id = e AND tier_id IS NOT NULL ORDER BY tier_id, seq DESC) t)));
    END LOOP;
    DELETE FROM tixin_changes;
    RETURN out;
END $$;

-- --- shared lookups ------------------------------------------------------

CREATE OR REPLACE FUNCTION tx_user(uid text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', id, 'email', email, 'name', name) FROM users WHERE id = uid
$$;

-- 0 none, 1 staff, 2 admin, 3 owner
CREATE OR REPLACE FUNCTION tx_role(org text, uid text) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT CASE role WHEN 'owner' THEN 3 WHEN 'admin' THEN 2 ELSE 1 END
                     FROM org_members WHERE org_id = org AND user_id = uid), 0)
$$;

CREATE OR REPLACE FUNCTION tx_require_role(org text, uid text, min int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE r int := tx_role(org, uid);
BEGIN
    IF r = 0 THEN PERFORM tx_fail('not_found'); END IF;
    IF r < min THEN PERFORM tx_fail('forbidden'); END IF;
END $$;

CREATE OR REPLACE FUNCTION tx_event(eid text) RETURNS events
LANGUAGE plpgsql AS $$
DECLARE ev events;
BEGIN
    SELECT * INTO ev FROM events WHERE id = eid;
    IF NOT FOUND THEN PERFORM tx_fail('not_found'); END IF;
    RETURN ev;
END $$;

CREATE OR REPLACE FUNCTION tx_event_access(ev events, uid text, min int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE r int := CASE WHEN uid <> '' THEN tx_role(ev.org_id, uid) ELSE 0 END;
BEGIN
    IF r = 0 THEN
        PERFORM tx_fail(CASE WHEN ev.status = 'published' THEN 'forbidden' ELSE 'not_found' END);
    END IF;
    IF r < min THEN PERFORM tx_fail('forbidden'); END IF;
END $$;

CREATE OR REPLACE FUNCTION tx_event_for(a jsonb, uid text, min int) RETURNS events
LANGUAGE plpgsql AS $$
DECLARE ev events := tx_event(a->>'event_id');
BEGIN
    PERFORM tx_event_access(ev, uid, min);
    RETURN ev;
END $$;

-- --- accounts -------------------------------------------------------------

CREATE OR REPLACE FUNCTION op_user_create(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE new_id text := tx_id('usr');
BEGIN
    BEGIN
        INSERT INTO users (id, email, name, password_hash, created_at)
        VALUES (new_id, a->>'email', a->>'name', a->>'password_hash', now);
    EXCEPTION WHEN unique_violation THEN
        PERFORM tx_fail('email_taken');
    END;
    RETURN jsonb_build_object('status', 201, 'out', tx_user(new_id));
END $$;

CREATE OR REPLACE FUNCTION op_user_by_email(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE u users;
BEGIN
    SELECT * INTO u FROM users WHERE email = a->>'email';
    IF NOT FOUND THEN PERFORM tx_fail('invalid_credentials'); END IF;
    RETURN jsonb_build_object('status', 200, 'out', jsonb_build_object(
        'user', jsonb_build_object('id', u.id, 'email', u.email, 'name', u.name),
        'password_hash', u.password_hash));
END $$;

CREATE OR REPLACE FUNCTION op_session_create(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE u jsonb := tx_user(a->>'user_id');
BEGIN
    IF u IS NULL THEN PERFORM tx_fail('not_found'); END IF;
    INSERT INTO sessions (token_hash, user_id, created_at) VALUES (a->>'token_hash', a->>'user_id', now);
    RETURN jsonb_build_object('status', 201, 'out', jsonb_build_object('user', u));
END $$;

CREATE OR REPLACE FUNCTION op_session_revoke(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET revoked_at = now WHERE token_hash = a->>'_token' AND revoked_at IS NULL;
    RETURN jsonb_build_object('status', 204, 'out', NULL);
END $$;

CREATE OR REPLACE FUNCTION op_me(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE u jsonb := tx_user(uid);
BEGIN
    IF u IS NULL THEN PERFORM tx_fail('not_found'); END IF;
    RETURN jsonb_build_object('status', 200, 'out', u);
END $$;

-- my orders: the cursor is base64url("<created_at>:<order id>") of the
-- last item, as store/sqlite/accounts.c makes it
CREATE OR REPLACE FUNCTION tx_b64url(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT rtrim(translate(replace(encode(convert_to(t, 'UTF8'), 'base64'), E'\n', ''), '+/', '-_'), '=')
$$;

-- (after_key, after_id) of a list's cursor, base64url("<key>:<id>") of the
-- last item of the page before; first_key (and '') when there is none, so
-- that the first page starts before everything in the list's order
CREATE OR REPLACE FUNCTION tx_cursor_after(a jsonb, first_key bigint, OUT after_key bigint, OUT after_id text)
LANGUAGE plpgsql AS $$
DECLARE
    cur text := coalesce(a->>'cursor', '');
    raw text;
    m text[];
BEGIN
    after_key := first_key;
    after_id := '';
    IF cur = '' THEN RETURN; END IF;
    BEGIN
        raw := convert_from(decode(translate(cur, '-_', '+/') || repeat('=', (4 - length(cur) % 4) % 4), 'base64'), 'UTF8');
    EXCEPTION WHEN others THEN
        raw := '';
    END;
    m := regexp_match(raw, '^([+-]?[0-9]{1,18}):(.+)$');
    IF m IS NULL OR length(m[2]) >= 64 THEN
        PERFORM tx_invalid('cursor', 'The cursor is not one this server gave out.');
    END IF;
    after_key := m[1]::bigint;
    after_id := m[2];
END $$;

CREATE OR REPLACE FUNCTION op_my_orders(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    lim int := coalesce((a->>'limit')::int, 20);
    c record;
    after_at bigint;
    after_id text;
    ids text[];
    ats bigint[];
    items jsonb := '[]';
    next jsonb := 'null';
BEGIN
    IF lim < 1 OR lim > 100 THEN lim := 20; END IF;
    c := tx_cursor_after(a, 9223372036854775807); -- newest first
    after_at := c.after_key;
    after_id := c.after_id;
    -- ids compare byte-wise (COLLATE "C"), as in SQLite
    SELECT array_agg(id ORDER BY created_at DESC, id COLLATE "C" DESC),
           array_agg(created_at ORDER BY created_at DESC, id COLLATE "C" DESC)
      INTO ids, ats
      FROM (SELECT id, created_at FROM orders WHERE user_id = uid
              AND (created_at < after_at OR (created_at = after_at AND id COLLATE "C" < after_id))
            ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT lim + 1) p;
    FOR i IN 1..least(coalesce(array_length(ids, 1), 0), lim) LOOP
        items := items || jsonb_build_array(tx_order_json(ids[i]));
    END LOOP;
    IF coalesce(array_length(ids, 1), 0) > lim THEN
        next := to_jsonb(tx_b64url(ats[lim] || ':' || ids[lim]));
    END IF;
    RETURN jsonb_build_object('status', 200, 'out', jsonb_build_object('items', items, 'next_cursor', next));
END $$;

-- --- organizations and venues -------------------------------------------

CREATE OR REPLACE FUNCTION op_org_create(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE new_id text := tx_id('org');
BEGIN
    INSERT INTO organizations (id, name, created_at) VALUES (new_id, a->>'name', now);
    INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (new_id, uid, 'owner', now);
    RETURN jsonb_build_object('status', 201, 'out', jsonb_build_object('id', new_id, 'name', a->>'name', 'role', 'owner'));
END $$;

CREATE OR REPLACE FUNCTION op_member_add(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    org text := a->>'org_id';
    member text;
BEGIN
    PERFORM tx_require_role(org, uid, 3);
    SELECT id INTO member FROM users WHERE email = a->>'email';
    IF NOT FOUND THEN PERFORM tx_fail('user_not_found'); END IF;
    BEGIN
        INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (org, member, a->>'role', now);
    EXCEPTION WHEN unique_violation THEN
        PERFORM tx_fail('already_member');
    END;
    RETURN jsonb_build_object('status', 201, 'out', jsonb_build_object(
        'org_id', org, 'user', tx_user(member), 'role', a->>'role'));
END $$;

CREATE OR REPLACE FUNCTION tx_venue_json(vid text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', id, 'org_id', org_id, 'name', name, 'city', city, 'address', address,
                              'timezone', timezone, 'seat_count', seat_count, 'sections', layout)
    FROM venues WHERE id = vid
$$;

CREATE OR REPLACE FUNCTION op_venue_create(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    org text := a->>'org_id';
    new_id text := tx_id('ven');
    cnt int;
BEGIN
    PERFORM tx_require_role(org, uid, 2);
    IF jsonb_typeof(a->'sections') IS DISTINCT FROM 'array' THEN PERFORM tx_invalid('sections'); END IF;
    INSERT INTO venues (id, org_id, name, city, address, timezone, layout, seat_count, created_at)
    VALUES (new_id, org, a->>'name', a->>'city', a->>'address', a->>'timezone', a->'sections', 0, now);
    BEGIN
        INSERT INTO venue_seats (venue_id, ord, seat_id, section_id, row_id, number)
        SELECT new_id, row_number() OVER (ORDER BY s.i, r.j, n.k) - 1,
               (s.sec->>'id') || '-' || (r.rw->>'id') || '-' || n.k, s.sec->>'id', r.rw->>'id', n.k
        FROM jsonb_array_elements(a->'sections') WITH ORDINALITY s(sec, i),
             jsonb_array_elements(s.sec->'rows') WITH ORDINALITY r(rw, j),
             generate_series(1, (r.rw->>'seats')::int) n(k);
        GET DIAGNOSTICS cnt = ROW_COUNT;
    EXCEPTION WHEN unique_violation THEN
        PERFORM tx_invalid('sections', 'Seat ids must be unique.');
    END;
    UPDATE venues SET seat_count = cnt WHERE venues.id = new_id;
    RETURN jsonb_build_object('status', 201, 'out', tx_venue_json(new_id));
END $$;

CREATE OR REPLACE FUNCTION op_venue_get(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE v jsonb := tx_venue_json(a->>'venue_id');
BEGIN
    IF v IS NULL THEN PERFORM tx_fail('not_found'); END IF;
    RETURN jsonb_build_object('status', 200, 'out', v);
END $$;

-- --- events ----------------------------------------------------------------

-- The event as OP_EVENT_GET answers it (mode 'full'), or for the catalog
-- (mode 'catalog': no availability, plus starts_at_ms).
CREATE OR REPLACE FUNCTION tx_event_json(ev events, mode text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v venues;
    prices jsonb;
    tiers jsonb;
    minp bigint;
    o jsonb;
BEGIN
    SELECT * INTO v FROM venues WHERE id = ev.venue_id;
    SELECT coalesce(jsonb_agg(jsonb_build_object('section', section_id, 'price_cents', price_cents) ORDER BY position), '[]'),
           min(price_cents)
      INTO prices, minp FROM event_prices WHERE event_id = ev.id;
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', tier_id, 'name', name, 'price_cents', price_cents,
                                                 'capacity', capacity, 'available', capacity - held - sold)
                              ORDER BY position), '[]'),
           least(minp, min(price_cents))
      INTO tiers, minp FROM ga_tiers WHERE event_id = ev.id;
    o := jsonb_build_object(
        'id', ev.id, 'org_id', ev.org_id, 'title', ev.title, 'description', ev.description,
        'starts_at', tx_time(ev.starts_at), 'sale_starts_at', tx_time(ev.sale_starts_at),
        'sale_ends_at', tx_time(ev.sale_ends_at), 'currency', ev.currency,
        'max_tickets_per_order', ev.max_tickets_per_order, 'hold_ttl_seconds', ev.hold_ttl_seconds,
        'status', ev.status,
        'venue', jsonb_build_object('id', v.id, 'name', v.name, 'city', v.city, 'address', v.address,
                                    'timezone', v.timezone),
        'prices', prices, 'ga_tiers', tiers, 'min_price_cents', to_jsonb(minp));
    IF mode = 'catalog' THEN
        RETURN o || jsonb_build_object('starts_at_ms', ev.starts_at);
    END IF;
    RETURN o || jsonb_build_object('availability', (
        SELECT jsonb_build_object('seats_free', count(*) FILTER (WHERE status = 'free'),
                                  'seats_held', count(*) FILTER (WHERE status = 'held'),
                                  'seats_sold', count(*) FILTER (WHERE status = 'sold'))
        FROM event_seats WHERE event_id = ev.id));
END $$;

CREATE OR REPLACE FUNCTION tx_answer_event(eid text, http_status int) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('status', http_status, 'out', tx_event_json(e, 'full')) FROM events e WHERE e.id = eid
$$;

-- the merged times of an event (booking/rules.c rules_event_times())
CREATE OR REPLACE FUNCTION tx_check_times(f jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    st bigint := (f->>'starts_at')::bigint;
    ss bigint := (f->>'sale_starts_at')::bigint;
    se bigint := (f->>'sale_ends_at')::bigint;
BEGIN
    IF ss >= st THEN PERFORM tx_invalid('sale_starts_at', 'sale_starts_at must be before starts_at'); END IF;
    IF se > st THEN PERFORM tx_invalid('sale_ends_at', 'sale_ends_at must not be after starts_at'); END IF;
    IF se <= ss THEN PERFORM tx_invalid('sale_ends_at', 'sale_ends_at must be after sale_starts_at'); END IF;
END $$;

-- Write a complete set of event fields f for event eid of org.
CREATE OR REPLACE FUNCTION tx_event_write(eid text, org text, f jsonb, now bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    layout jsonb;
    p record;
    t record;
BEGIN
    SELECT v.layout INTO layout FROM venues v WHERE v.id = f->>'venue_id' AND v.org_id = org;
    IF layout IS NULL THEN
        PERFORM tx_invalid('venue_id', 'No venue of this organization has this id.');
    END IF;
    INSERT INTO events (id, org_id, venue_id, title, description, starts_at, sale_starts_at, sale_ends_at,
                        currency, max_tickets_per_order, hold_ttl_seconds, created_at)
    VALUES (eid, org, f->>'venue_id', f->>'title', coalesce(f->>'description', ''), (f->>'starts_at')::bigint,
            (f->>'sale_starts_at')::bigint, (f->>'sale_ends_at')::bigint, f->>'currency',
            coalesce((f->>'max_tickets_per_order')::int, 10), coalesce((f->>'hold_ttl_seconds')::int, 600), now)
    ON CONFLICT (id) DO UPDATE SET venue_id = excluded.venue_id, title = excluded.title,
        description = excluded.description, starts_at = excluded.starts_at,
        sale_starts_at = excluded.sale_starts_at, sale_ends_at = excluded.sale_ends_at,
        currency = excluded.currency, max_tickets_per_order = excluded.max_tickets_per_order,
        hold_ttl_seconds = excluded.hold_ttl_seconds;
    DELETE FROM event_prices WHERE event_id = eid;
    FOR p IN SELECT value AS v, ordinality AS i FROM jsonb_array_elements(coalesce(f->'prices', '[]')) WITH ORDINALITY LOOP
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(layout) s WHERE s->>'id' = p.v->>'section') THEN
            PERFORM tx_invalid('prices', 'A priced section is not in the venue.');
        END IF;
        BEGIN
            INSERT INTO event_prices (event_id, section_id, price_cents, position)
            VALUES (eid, p.v->>'section', (p.v->>'price_cents')::int, p.i);
        EXCEPTION WHEN unique_violation OR check_violation OR not_null_violation THEN
            PERFORM tx_invalid('prices', 'A section is priced twice or badly.');
        END;
    END LOOP;
    DELETE FROM ga_tiers WHERE event_id = eid;
    FOR t IN SELECT value AS v, ordinality AS i FROM jsonb_array_elements(coalesce(f->'ga_tiers', '[]')) WITH ORDINALITY LOOP
        BEGIN
            INSERT INTO ga_tiers (event_id, tier_id, name, price_cents, capacity, position)
            VALUES (eid, t.v->>'id', t.v->>'name', (t.v->>'price_cents')::int, (t.v->>'capacity')::int, t.i - 1);
        EXCEPTION WHEN unique_violation OR check_violation OR not_null_violation THEN
            PERFORM tx_invalid('ga_tiers', 'Tier ids must be unique.');
        END;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION op_event_create(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE new_id text := tx_id('evt');
BEGIN
    PERFORM tx_require_role(a->>'org_id', uid, 2);
    PERFORM tx_event_write(new_id, a->>'org_id', a, now);
    RETURN tx_answer_event(new_id, 201);
END $$;

-- the stored fields of a draft, in the shape of the create arguments
CREATE OR REPLACE FUNCTION tx_stored_fields(ev events) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'venue_id', ev.venue_id, 'title', ev.title, 'description', ev.description,
        'starts_at', ev.starts_at, 'sale_starts_at', ev.sale_starts_at, 'sale_ends_at', ev.sale_ends_at,
        'currency', ev.currency, 'max_tickets_per_order', ev.max_tickets_per_order,
        'hold_ttl_seconds', ev.hold_ttl_seconds,
        'prices', (SELECT coalesce(jsonb_agg(jsonb_build_object('section', section_id, 'price_cents', price_cents)
                                             ORDER BY position), '[]') FROM event_prices WHERE event_id = ev.id),
        'ga_tiers', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', tier_id, 'name', name,
                                               'price_cents', price_cents, 'capacity', capacity)
                                               ORDER BY position), '[]') FROM ga_tiers WHERE event_id = ev.id))
$$;

CREATE OR REPLACE FUNCTION op_event_patch(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    ev events;
    f jsonb;
BEGIN
    PERFORM 1 FROM events WHERE id = a->>'event_id' FOR UPDATE;
    ev := tx_event_for(a, uid, 2);
    IF ev.status = 'published' THEN PERFORM tx_fail('event_published'); END IF;
    f := tx_stored_fields(ev);
    IF jsonb_typeof(a->'fields') = 'object' THEN f := f || (a->'fields'); END IF;
    PERFORM tx_check_times(f);
    PERFORM tx_event_write(ev.id, ev.org_id, f, now);
    RETURN tx_answer_event(ev.id, 200);
END $$;

CREATE OR REPLACE FUNCTION op_event_publish(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE ev events;
BEGIN
    PERFORM 1 FROM events WHERE id = a->>'event_id' FOR UPDATE;
    ev := tx_event_for(a, uid, 2);
    IF ev.status = 'published' THEN RETURN tx_answer_event(ev.id, 200); END IF;
    INSERT INTO event_seats (event_id, ord, seat_id, price_cents)
    SELECT ev.id, vs.ord, vs.seat_id, p.price_cents FROM venue_seats vs
    JOIN event_prices p ON p.event_id = ev.id AND p.section_id = vs.section_id WHERE vs.venue_id = ev.venue_id;
    UPDATE events SET status = 'published', published_at = now WHERE id = ev.id;
    RETURN tx_answer_event(ev.id, 200) || jsonb_build_object('after_seatmap', ev.id, 'after_catalog', true);
END $$;

CREATE OR REPLACE FUNCTION op_event_get(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE ev events := tx_event(a->>'event_id');
BEGIN
    IF ev.status <> 'published' THEN PERFORM tx_event_access(ev, uid, 1); END IF;
    RETURN jsonb_build_object('status', 200, 'out', tx_event_json(ev, 'full'));
END $$;

CREATE OR REPLACE FUNCTION op_event_stats(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    ev events := tx_event_for(a, uid, 1);
    e text := ev.id;
BEGIN
    RETURN jsonb_build_object('status', 200, 'out', jsonb_build_object(
        'seats_total', (SELECT count(*) FROM event_seats WHERE event_id = e)
                       + (SELECT coalesce(sum(capacity), 0) FROM ga_tiers WHERE event_id = e),
        'seats_sold', (SELECT count(*) FROM event_seats WHERE event_id = e AND status = 'sold')
                      + (SELECT coalesce(sum(sold), 0) FROM ga_tiers WHERE event_id = e),
        'seats_held', (SELECT count(*) FROM event_seats WHERE event_id = e AND status = 'held')
                      + (SELECT coalesce(sum(held), 0) FROM ga_tiers WHERE event_id = e),
        'tickets_sold', (SELECT count(*) FROM tickets WHERE event_id = e AND status = 'valid'),
        'revenue_cents', (SELECT coalesce(sum(total_cents), 0) FROM orders WHERE event_id = e AND status = 'paid'),
        'checked_in', (SELECT count(*) FROM tickets WHERE event_id = e AND status = 'valid'
                       AND checked_in_at IS NOT NULL)));
END $$;

-- --- holds -------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tx_hold_answer(h holds, what jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('status', 201, 'out', jsonb_build_object('id', h.id, 'event_id', h.event_id)
        || what || jsonb_build_object('total_cents', h.total_cents, 'currency', h.currency,
                                      'expires_at', tx_time(h.expires_at), 'status', 'active'))
$$;

-- Take every seat for the hold, free seats locked in ord order; all or
-- nothing (a failure raises, and the op's block undoes the seats taken).
CREATE OR REPLACE FUNCTION tx_hold_seats(ev events, h holds, seats jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    n int := jsonb_array_length(seats);
    ids text[];
    taken int;
    total bigint;
    failed jsonb;
    missing jsonb;
BEGIN
    IF n = 0 OR (SELECT count(DISTINCT value) FROM jsonb_array_elements(seats)) <> n THEN
        PERFORM tx_invalid('seats', 'Name each seat once, at least one.');
    END IF;
    IF n > ev.max_tickets_per_order THEN PERFORM tx_fail('limit_exceeded'); END IF;
    -- = ANY(array): one probe of event_seats_id per seat, whatever the stats say
    SELECT array_agg(value #>> '{}') INTO ids FROM jsonb_array_elements(seats);
    WITH lck AS (SELECT es.ord FROM event_seats es WHERE es.event_id = ev.id
            AND es.seat_id = ANY (ids) AND es.status = 'free' ORDER BY es.ord FOR UPDATE),
    upd AS (UPDATE event_seats es SET status = 'held', hold_id = h.id FROM lck
            WHERE es.event_id = ev.id AND es.ord = lck.ord RETURNING es.ord, es.seat_id, es.price_cents),
    ins AS (INSERT INTO tixin_changes (event_id, ord, status) SELECT ev.id, ord, 'h' FROM upd)
    SELECT count(*), coalesce(sum(price_cents), 0) INTO taken, total FROM upd;
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
    INSERT INTO holds VALUES (h.*);
    RETURN tx_hold_answer(h, jsonb_build_object('seats', seats));
END $$;

CREATE OR REPLACE FUNCTION tx_hold_tier(ev events, h holds, tier text, q bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE price bigint;
BEGIN
    IF q IS NULL OR q < 1 THEN PERFORM tx_invalid('quantity'); END IF;
    IF q > ev.max_tickets_per_order THEN PERFORM tx_fail('limit_exceeded'); END IF;
    SELECT price_cents INTO price FROM ga_tiers WHERE event_id = ev.id AND tier_id = tier;
    IF NOT FOUND THEN PERFORM tx_invalid('tier', 'The event has no such tier.'); END IF;
    UPDATE ga_tiers SET held = held + q WHERE event_id = ev.id AND tier_id = tier AND held + sold + q <= capacity;
    IF NOT FOUND THEN PERFORM tx_fail('sold_out'); END IF;
    h.tier_id := tier;
    h.quantity := q;
    h.total_cents := price * q;
    INSERT INTO holds VALUES (h.*);
    PERFORM tx_tier(ev.id, tier);
    RETURN tx_hold_answer(h, jsonb_build_object('tier', tier, 'quantity', q));
END $$;

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
             now + ev.hold_ttl_seconds::bigint * 1000)::holds;
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
    WITH u AS (UPDATE event_seats SET status = 'free', hold_id = NULL WHERE hold_id = h.id RETURNING ord)
    INSERT INTO tixin_changes (event_id, ord, status) SELECT h.event_id, ord, 'f' FROM u;
END $$;

CREATE OR REPLACE FUNCTION op_hold_release(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE h holds;
BEGIN
    SELECT * INTO h FROM holds WHERE id = a->>'hold_id' AND user_id = uid AND status = 'active'
        AND expires_at > now FOR UPDATE;
    IF NOT FOUND THEN PERFORM tx_fail('not_found'); END IF;
    PERFORM tx_end_hold(h, 'released');
    RETURN jsonb_build_object('status', 204, 'out', NULL);
END $$;

-- The expiry sweep: overdue holds no other transaction holds (SKIP
-- LOCKED: another instance is expiring them), each ended exactly once.
CREATE OR REPLACE FUNCTION tixin_sweep(now bigint, lim int) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    h holds;
    n int := 0;
BEGIN
    FOR h IN SELECT * FROM holds WHERE status = 'active' AND expires_at <= now
             ORDER BY expires_at LIMIT lim FOR UPDATE SKIP LOCKED LOOP
        PERFORM tx_end_hold(h, 'expired');
        n := n + 1;
    END LOOP;
    RETURN jsonb_build_object('expired', n, 'changes', tx_finish_changes());
END $$;

-- --- orders -------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tx_order_json(o_id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', o.id, 'status', o.status, 'event_id', o.event_id, 'user_id', o.user_id,
        'hold_id', o.hold_id, 'total_cents', o.total_cents, 'currency', o.currency,
        'created_at', tx_time(o.created_at), 'refunded_at', tx_time(o.refunded_at),
        'tickets', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id,
                        CASE WHEN t.seat_id IS NOT NULL THEN 'seat' ELSE 'tier' END, coalesce(t.seat_id, t.tier_id),
                        'price_cents', t.price_cents, 'code', t.code, 'status', t.status,
                        'checked_in_at', tx_time(t.checked_in_at)) ORDER BY t.position), '[]')
                    FROM tickets t WHERE t.order_id = o.id))
    FROM orders o WHERE o.id = o_id
$$;

-- The order (locked) and the caller's relation to it; not_found when the
-- caller neither bought it nor is a member of the event's organization.
CREATE OR REPLACE FUNCTION tx_order_access(o_id text, uid text, OUT o orders, OUT buyer boolean, OUT role int)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT * INTO o FROM orders WHERE id = o_id FOR UPDATE;
    IF NOT FOUND THEN PERFORM tx_fail('not_found'); END IF;
    buyer := o.user_id = uid;
    role := tx_role((SELECT org_id FROM events WHERE id = o.event_id), uid);
    IF NOT buyer AND role = 0 THEN PERFORM tx_fail('not_found'); END IF;
END $$;

CREATE OR REPLACE FUNCTION op_order_get(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tx_order_access(a->>'order_id', uid);
    RETURN jsonb_build_object('status', 200, 'out', tx_order_json(a->>'order_id'));
END $$;

CREATE OR REPLACE FUNCTION tx_insert_ticket(o_id text, eid text, seat text, tier text, price bigint, pos int)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO tickets (id, order_id, event_id, seat_id, tier_id, price_cents, code, status, position)
    VALUES (tx_id('tkt'), o_id, eid, seat, tier, price, tx_code(), 'valid', pos)
$$;

-- Paying: the first call (no args._charge) checks the hold and asks the C
-- side to charge; the second carries the charge's outcome.
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
                   WHERE event_id = h.event_id AND hold_id = h.id RETURNING ord, seat_id, price_cents),
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

-- Refunding: rows first; the provider's refund is asked of the C side,
-- which runs it last, before COMMIT.
CREATE OR REPLACE FUNCTION op_order_cancel(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    acc record := tx_order_access(a->>'order_id', uid);
    o orders := acc.o;
    t record;
BEGIN
    IF NOT acc.buyer AND acc.role < 2 THEN PERFORM tx_fail('forbidden'); END IF;
    IF o.status = 'refunded' THEN PERFORM tx_fail('already_refunded'); END IF;
    WITH u AS (UPDATE event_seats SET status = 'free', order_id = NULL
               WHERE event_id = o.event_id AND order_id = o.id
                 AND seat_id IN (SELECT seat_id FROM tickets WHERE order_id = o.id AND seat_id IS NOT NULL
                                 AND status = 'valid') RETURNING ord)
    INSERT INTO tixin_changes (event_id, ord, status) SELECT o.event_id, ord, 'f' FROM u;
    FOR t IN SELECT tier_id, count(*) AS n FROM tickets WHERE order_id = o.id AND tier_id IS NOT NULL
             AND status = 'valid' GROUP BY tier_id ORDER BY tier_id LOOP
        UPDATE ga_tiers SET sold = sold - t.n WHERE event_id = o.event_id AND tier_id = t.tier_id;
        PERFORM tx_tier(o.event_id, t.tier_id);
    END LOOP;
    UPDATE tickets SET status = 'void' WHERE order_id = o.id;
    UPDATE orders SET status = 'refunded', refunded_at = now WHERE id = o.id;
    RETURN jsonb_build_object('status', 200, 'out', tx_order_json(o.id),
        'refund', jsonb_build_object('ref', o.payment_ref, 'amount', o.total_cents, 'currency', o.currency));
END $$;

CREATE OR REPLACE FUNCTION op_ticket_get(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE o jsonb;
BEGIN
    SELECT jsonb_build_object('id', t.id, 'code', t.code, 'event_id', t.event_id, 'status', t.status) INTO o
    FROM tickets t JOIN orders r ON r.id = t.order_id WHERE t.id = a->>'ticket_id' AND r.user_id = uid;
    IF o IS NULL THEN PERFORM tx_fail('not_found'); END IF;
    RETURN jsonb_build_object('status', 200, 'out', o);
END $$;

CREATE OR REPLACE FUNCTION op_checkin(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    ev events := tx_event_for(a, uid, 1);
    t tickets;
BEGIN
    SELECT * INTO t FROM tickets WHERE code = a->>'code' AND event_id = ev.id FOR UPDATE;
    IF NOT FOUND THEN PERFORM tx_fail('ticket_not_found'); END IF;
    IF t.status = 'void' THEN PERFORM tx_fail('ticket_void'); END IF;
    IF t.checked_in_at IS NOT NULL THEN
        PERFORM tx_fail('already_checked_in', jsonb_build_object('checked_in_at', tx_time(t.checked_in_at)));
    END IF;
    UPDATE tickets SET checked_in_at = now WHERE id = t.id;
    RETURN jsonb_build_object('status', 200, 'out', jsonb_build_object('ticket_id', t.id,
        CASE WHEN t.seat_id IS NOT NULL THEN 'seat' ELSE 'tier' END, coalesce(t.seat_id, t.tier_id),
        'checked_in_at', tx_time(now)));
END $$;

-- --- the caches (booking/seatmap.h, catalog.h) ----------------------------

CREATE OR REPLACE FUNCTION op_seatmap_load(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE ev events := tx_event(a->>'event_id');
BEGIN
    IF ev.status <> 'published' THEN PERFORM tx_fail('not_found'); END IF;
    RETURN jsonb_build_object('status', 200, 'out', NULL, 'after_seatmap', ev.id);
END $$;

CREATE OR REPLACE FUNCTION op_catalog_load(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE sql AS $$ SELECT jsonb_build_object('status', 200, 'out', NULL, 'after_catalog', true) $$;

CREATE OR REPLACE FUNCTION op_ping(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE sql AS $$ SELECT jsonb_build_object('status', 200, 'out', NULL) $$;

-- What seatmap_install() takes, or NULL for unknown and draft events.
CREATE OR REPLACE FUNCTION tixin_seatmap(eid text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('event_id', e.id, 'version', e.version, 'layout', v.layout,
        'nseats', v.seat_count,
        'prices', (SELECT coalesce(jsonb_object_agg(section_id, price_cents), '{}') FROM event_prices
                   WHERE event_id = e.id),
        'statuses', (SELECT coalesce(string_agg(coalesce(left(es.status, 1), 'x'), '' ORDER BY vs.ord), '')
                     FROM venue_seats vs LEFT JOIN event_seats es ON es.event_id = e.id AND es.ord = vs.ord
                     WHERE vs.venue_id = v.id),
        'tiers', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', tier_id, 'name', name,
                         'price_cents', price_cents, 'capacity', capacity, 'available', capacity - held - sold)
                         ORDER BY position), '[]') FROM ga_tiers WHERE event_id = e.id))
    FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = eid AND e.status = 'published'
$$;

-- The published events that have not started, soonest first, for
-- catalog_install().
CREATE OR REPLACE FUNCTION tixin_catalog(now bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(tx_event_json(e, 'catalog') ORDER BY e.starts_at, e.id COLLATE "C"), '[]')
    FROM events e WHERE e.status = 'published' AND e.starts_at > now
$$;

-- --- the one entry point --------------------------------------------------

CREATE OR REPLACE FUNCTION tx_run(op text, a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    CASE op
    WHEN 'user_create' THEN RETURN op_user_create(a, uid, now);
    WHEN 'user_by_email' THEN RETURN op_user_by_email(a, uid, now);
    WHEN 'session_create' THEN RETURN op_session_create(a, uid, now);
    WHEN 'session_revoke' THEN RETURN op_session_revoke(a, uid, now);
    WHEN 'me' THEN RETURN op_me(a, uid, now);
    WHEN 'my_orders' THEN RETURN op_my_orders(a, uid, now);
    WHEN 'org_create' THEN RETURN op_org_create(a, uid, now);
    WHEN 'member_add' THEN RETURN op_member_add(a, uid, now);
    WHEN 'venue_create' THEN RETURN op_venue_create(a, uid, now);
    WHEN 'venue_get' THEN RETURN op_venue_get(a, uid, now);
    WHEN 'event_create' THEN RETURN op_event_create(a, uid, now);
    WHEN 'event_patch' THEN RETURN op_event_patch(a, uid, now);
    WHEN 'event_publish' THEN RETURN op_event_publish(a, uid, now);
    WHEN 'event_get' THEN RETURN op_event_get(a, uid, now);
    WHEN 'event_stats' THEN RETURN op_event_stats(a, uid, now);
    WHEN 'hold_create' THEN RETURN op_hold_create(a, uid, now);
    WHEN 'hold_release' THEN RETURN op_hold_release(a, uid, now);
    WHEN 'order_create' THEN RETURN op_order_create(a, uid, now);
    WHEN 'order_get' THEN RETURN op_order_get(a, uid, now);
    WHEN 'order_cancel' THEN RETURN op_order_cancel(a, uid, now);
    WHEN 'ticket_get' THEN RETURN op_ticket_get(a, uid, now);
    WHEN 'checkin' THEN RETURN op_checkin(a, uid, now);
    WHEN 'seatmap_load' THEN RETURN op_seatmap_load(a, uid, now);
    WHEN 'catalog_load' THEN RETURN op_catalog_load(a, uid, now);
    WHEN 'ping' THEN RETURN op_ping(a, uid, now);
    END CASE;
END $$;

-- One job: auth, idempotency, the op in its own block, the version bumps.
--   op        the op's name (store_op without OP_, lower case)
--   token     the session token hash, or NULL
--   need_user 1 when the op needs a signed-in caller, 2 when optional
--   idem      the Idempotency-Key, or NULL; req its request hash
--   storable  {error code: HTTP status} of the errors idempotency stores
-- Returns {user_id, status, out} or {user_id, err, out} (+ replay,
-- changes, charge, refund, after_seatmap, after_catalog).
CREATE OR REPLACE FUNCTION tixin_op(op text, a jsonb, token text, need_user int, idem text, req text,
                                    now bigint, storable jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    uid text := '';
    k idempotency_keys;
    claimed boolean := false;
    r jsonb;
    msg text;
    det text;
BEGIN
    IF token IS NOT NULL THEN
        SELECT user_id INTO uid FROM sessions WHERE token_hash = token AND revoked_at IS NULL;
        uid := coalesce(uid, '');
    END IF;
    -- a token that names no live session fails every op but those where
    -- it is optional (store/sqlite/sqlite.c authenticate())
    IF (token IS NOT NULL AND uid = '' AND need_user <> 2) OR (token IS NULL AND need_user = 1) THEN
        RETURN jsonb_build_object('user_id', '', 'err', 'unauthenticated');
    END IF;
    IF idem IS NOT NULL AND uid <> '' THEN
        -- the claim: a concurrent job with the same key waits here until
        -- this one commits, then replays its answer
        INSERT INTO idempotency_keys (user_id, key, request_hash, status, created_at)
        VALUES (uid, idem, req, 0, now) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            SELECT * INTO k FROM idempotency_keys WHERE user_id = uid AND key = idem;
            IF k.request_hash <> req THEN
                RETURN jsonb_build_object('user_id', uid, 'err', 'idempotency_key_reused');
            END IF;
            IF k.status <> 0 THEN
                RETURN jsonb_build_object('user_id', uid, 'replay', true, 'status', k.status, 'err', k.err,
                                          'out', k.body);
            END IF;
            -- status 0: this transaction's own claim (the charge's second call)
        END IF;
        claimed := true;
    END IF;
    IF op = 'session_revoke' THEN a := a || jsonb_build_object('_token', token); END IF;
    BEGIN
        r := tx_run(op, a, uid, now);
    EXCEPTION WHEN SQLSTATE 'TX001' THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
        r := jsonb_build_object('err', msg, 'out', CASE WHEN det = '' THEN NULL ELSE det::jsonb END);
    END;
    IF r ? 'charge' THEN
        RETURN r || jsonb_build_object('user_id', uid);
    END IF;
    IF claimed THEN
        IF r->>'err' IS NULL OR storable ? (r->>'err') THEN
            UPDATE idempotency_keys SET status = coalesce((r->>'status')::int, (storable->>(r->>'err'))::int),
                err = r->>'err', body = r->'out'
            WHERE user_id = uid AND key = idem;
        ELSE
            DELETE FROM idempotency_keys WHERE user_id = uid AND key = idem;
        END IF;
    END IF;
    RETURN r || jsonb_build_object('user_id', uid, 'changes', tx_finish_changes());
END $$;
