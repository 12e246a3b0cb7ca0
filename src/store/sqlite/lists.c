/*
 * lists.c - the organizer's lists: my organizations, an organization's
 * events (drafts included).
 *
 * Both are keyset pages like OP_MY_ORDERS (accounts.c) and share one
 * pager: a list fetches up to limit+1 rows {id, key, item} after the
 * cursor, so the extra row tells whether a next page exists without
 * counting. Pages are stable under inserts: a cursor names a position in
 * (key, id) order, not an offset.
 */
#include "store/sqlite/sq.h"

#include <stdint.h>
#include <string.h>

/* Append to rows up to n {id, key, item} after (after_key, after_id), in
 * ascending (key, id) order. */
typedef err_code (*fetch_fn)(sq_ctx *c, int64_t after_key, const char *after_id, int n, json_t *rows);

static void add_row(json_t *rows, const char *id, int64_t key, json_t *item)
{
    json_array_append_new(rows, json_pack("{s:s, s:I, s:o}", "id", id, "key", (json_int_t)key, "item", item));
}

/* {items, next_cursor} of up to limit + 1 rows: the extra one says that a
 * next page exists, which starts after the last item shown. */
static json_t *page_json(json_t *rows, int limit)
{
    json_t *items = json_array(), *next = json_null();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        if (i < (size_t)limit)
            json_array_append(items, json_object_get(row, "item"));
    if (json_array_size(rows) > (size_t)limit) {
        json_t *last = json_array_get(rows, limit - 1);
        char buf[SQ_CURSOR_MAX * 2];
        sq_cursor_encode(json_integer_value(json_object_get(last, "key")),
                         json_string_value(json_object_get(last, "id")), buf, sizeof(buf));
        next = json_string(buf);
    }
    return json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
}

err_code sq_page_args(sq_ctx *c, sq_page_at *at)
{
    at->limit = sq_arg_int(c, "limit", 20);
    if (at->limit < 1 || at->limit > 100)
        at->limit = 20;
    const char *cursor = sq_arg_str(c, "cursor");
    if (cursor[0] != '\0' && sq_cursor_decode(cursor, &at->key, at->id, sizeof(at->id)) != 0)
        return sq_invalid(c, "cursor", "The cursor is not one this server gave out.");
    return E_OK;
}

/* One page in ascending order from the job's limit/cursor. */
static err_code page(sq_ctx *c, fetch_fn fetch)
{
    sq_page_at at = {.key = INT64_MIN}; /* first page: everything comes after */
    err_code e = sq_page_args(c, &at);
    if (e != E_OK)
        return e;
    json_t *rows = json_array();
    e = fetch(c, at.key, at.id, (int)at.limit + 1, rows);
    if (e == E_OK)
        c->job->out = page_json(rows, (int)at.limit);
    json_decref(rows);
    return e;
}

/* --- my organizations: in the order I joined them ----------------------- */

static err_code fetch_orgs(sq_ctx *c, int64_t after_key, const char *after_id, int n, json_t *rows)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT m.org_id, m.created_at, o.name, m.role"
                            " FROM org_members m JOIN organizations o ON o.id = m.org_id WHERE m.user_id = ?"
                            " AND (m.created_at > ? OR (m.created_at = ? AND m.org_id > ?))"
                            " ORDER BY m.created_at, m.org_id LIMIT ?",
                            "sllsi", c->job->user_id, after_key, after_key, after_id, n);
    int r;
    while ((r = sq_step(c->db, st)) == 1)
        add_row(rows, sq_text(st, 0), sq_int(st, 1),
                json_pack("{s:s, s:s, s:s}", "id", sq_text(st, 0), "name", sq_text(st, 2), "role", sq_text(st, 3)));
    return r < 0 ? sq_fail(c->db) : E_OK;
}

err_code sq_op_my_organizations(sq_ctx *c)
{
    return page(c, fetch_orgs);
}

/* --- an organization's events: soonest first, drafts included ----------- */

/* Free on-sale seats plus what the GA tiers have left; 0 for a draft,
 * which has nothing on sale yet. */
static json_int_t available(const json_t *ev)
{
    if (strcmp(json_string_value(json_object_get(ev, "status")), "published") != 0)
        return 0;
    json_int_t n = json_integer_value(json_object_get(json_object_get(ev, "availability"), "seats_free"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(ev, "ga_tiers"), i, t)
        n += json_integer_value(json_object_get(t, "available"));
    return n;
}

/* The listing's event summary (GET /api/v1/events) plus status. */
static err_code event_item(sq_ctx *c, const char *event_id, json_t **item)
{
    sq_event ev;
    json_t *full = NULL;
    err_code e = sq_event_load(c, event_id, &ev);
    if (e == E_OK)
        e = sq_event_json(c, &ev, SQ_EVENT_FULL, &full);
    if (e != E_OK)
        return e;
    json_t *venue = json_object_get(full, "venue");
    *item = json_pack("{s:O, s:O, s:O, s:{s:O, s:O, s:O}, s:O, s:O, s:I, s:O}", "id", json_object_get(full, "id"),
                      "title", json_object_get(full, "title"), "starts_at", json_object_get(full, "starts_at"),
                      "venue", "id", json_object_get(venue, "id"), "name", json_object_get(venue, "name"), "city",
                      json_object_get(venue, "city"), "min_price_cents", json_object_get(full, "min_price_cents"),
                      "currency", json_object_get(full, "currency"), "available", available(full), "status",
                      json_object_get(full, "status"));
    json_decref(full);
    return *item != NULL ? E_OK : E_INTERNAL;
}

/* The ids first, then each item (its own statements). */
static err_code fetch_events(sq_ctx *c, int64_t after_key, const char *after_id, int n, json_t *rows)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT id, starts_at FROM events WHERE org_id = ?"
                            " AND (starts_at > ? OR (starts_at = ? AND id > ?))"
                            " ORDER BY starts_at, id LIMIT ?",
                            "sllsi", sq_arg_str(c, "org_id"), after_key, after_key, after_id, n);
    int r;
    while ((r = sq_step(c->db, st)) == 1)
        add_row(rows, sq_text(st, 0), sq_int(st, 1), json_null());
    if (r < 0)
        return sq_fail(c->db);
    size_t i;
    json_t *row, *item = NULL;
    json_array_foreach(rows, i, row)
    {
        err_code e = event_item(c, json_string_value(json_object_get(row, "id")), &item);
        if (e != E_OK)
            return e;
        json_object_set_new(row, "item", item);
    }
    return E_OK;
}

err_code sq_op_org_events(sq_ctx *c)
{
    int role = sq_member_role(c, sq_arg_str(c, "org_id"));
    if (role < 0)
        return sq_fail(c->db);
    if (role == ROLE_NONE) /* strangers do not learn that the org exists */
        return E_NOT_FOUND;
    return page(c, fetch_events);
}
