-- 0005_organizer_lists: the organizer's lists, OP_MY_ORGANIZATIONS and
-- OP_ORG_EVENTS (store.h), as src/store/sqlite/lists.c answers them:
-- keyset pages in ascending (key, id) order whose cursor is
-- base64url("<key>:<id>") of a page's last item, read by tx_cursor_after()
-- (0003) like op_my_orders()'s.
--
-- tx_run() (0003) dispatches by a CASE over every op; rather than repeat
-- it here, it is renamed tx_run_0003 and the new tx_run() answers the new
-- ops and hands every other op to it.

-- {status, out: {items, next_cursor}} from up to lim + 1 rendered rows
-- (item, key, id), the extra one telling that a next page exists
CREATE OR REPLACE FUNCTION tx_page(rows jsonb, lim int) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('status', 200, 'out', jsonb_build_object(
        'items', coalesce((SELECT jsonb_agg(r->'item' ORDER BY n)
                             FROM jsonb_array_elements(rows) WITH ORDINALITY AS e(r, n) WHERE n <= lim), '[]'),
        'next_cursor', CASE WHEN jsonb_array_length(rows) > lim
                            THEN to_jsonb(tx_b64url((rows->(lim - 1)->>'key') || ':' || (rows->(lim - 1)->>'id')))
                            ELSE 'null'::jsonb END))
$$;

CREATE OR REPLACE FUNCTION tx_page_limit(a jsonb) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN coalesce((a->>'limit')::int, 20) BETWEEN 1 AND 100 THEN coalesce((a->>'limit')::int, 20) ELSE 20 END
$$;

-- the organizations the caller is a member of, in the order joined
CREATE OR REPLACE FUNCTION op_my_organizations(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    lim int := tx_page_limit(a);
    c record := tx_cursor_after(a, '-9223372036854775808'::bigint);
BEGIN
    RETURN tx_page((
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'item', jsonb_build_object('id', o.id, 'name', o.name, 'role', p.role),
                   'key', p.created_at, 'id', o.id) ORDER BY p.created_at, p.org_id COLLATE "C"), '[]')
        FROM (SELECT org_id, role, created_at FROM org_members WHERE user_id = uid
                AND (created_at > c.after_key OR (created_at = c.after_key AND org_id COLLATE "C" > c.after_id))
              ORDER BY created_at, org_id COLLATE "C" LIMIT lim + 1) p
        JOIN organizations o ON o.id = p.org_id), lim);
END $$;

-- the listing's event summary (GET /api/v1/events) plus status; available
-- is 0 for a draft, which has nothing on sale yet
CREATE OR REPLACE FUNCTION tx_event_summary(ev events) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE f jsonb := tx_event_json(ev, 'full');
BEGIN
    RETURN jsonb_build_object(
        'id', f->'id', 'title', f->'title', 'starts_at', f->'starts_at',
        'venue', jsonb_build_object('id', f->'venue'->'id', 'name', f->'venue'->'name', 'city', f->'venue'->'city'),
        'min_price_cents', f->'min_price_cents', 'currency', f->'currency',
        'available', CASE WHEN ev.status = 'published'
                          THEN (f->'availability'->>'seats_free')::bigint
                               + coalesce((SELECT sum((t->>'available')::bigint)
                                             FROM jsonb_array_elements(f->'ga_tiers') t), 0)
                          ELSE 0 END,
        'status', f->'status');
END $$;

-- every event of an organization, drafts included, soonest first; any
-- member may list them, strangers get not_found
CREATE OR REPLACE FUNCTION op_org_events(a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    lim int := tx_page_limit(a);
    c record;
BEGIN
    PERFORM tx_require_role(a->>'org_id', uid, 1);
    c := tx_cursor_after(a, '-9223372036854775808'::bigint);
    RETURN tx_page((
        SELECT coalesce(jsonb_agg(jsonb_build_object('item', tx_event_summary(e), 'key', e.starts_at, 'id', e.id)
                                  ORDER BY e.starts_at, e.id COLLATE "C"), '[]')
        FROM (SELECT * FROM events WHERE org_id = a->>'org_id'
                AND (starts_at > c.after_key OR (starts_at = c.after_key AND id COLLATE "C" > c.after_id))
              ORDER BY starts_at, id COLLATE "C" LIMIT lim + 1) e), lim);
END $$;

ALTER FUNCTION tx_run(text, jsonb, text, bigint) RENAME TO tx_run_0003;

CREATE FUNCTION tx_run(op text, a jsonb, uid text, now bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    CASE op
    WHEN 'my_organizations' THEN RETURN op_my_organizations(a, uid, now);
    WHEN 'org_events' THEN RETURN op_org_events(a, uid, now);
    ELSE RETURN tx_run_0003(op, a, uid, now);
    END CASE;
END $$;
