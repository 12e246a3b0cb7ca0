/*
 * events.c - events from draft to published, their public shape, stats.
 *
 * A draft is just its row, prices and GA tiers; publishing freezes it and
 * creates one event_seats row per seat on sale, from which point seats
 * change only through holds and orders. Create and patch share one writer
 * (event_write) that takes a complete set of fields: a patch is the stored
 * fields overlaid with the given ones, so both paths validate the same way.
 */
#include "booking/rules.h"
#include "store/sqlite/sq.h"

#include <stdio.h>
#include <string.h>
#include "core/util.h"

err_code sq_event_load(sq_ctx *c, const char *event_id, sq_event *ev)
{
    const sq_event *known = c->memo != NULL ? sq_memo_event(c->memo, event_id) : NULL;
    if (known != NULL) {
        *ev = *known;
        return E_OK;
    }
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT id, org_id, venue_id, currency, status, starts_at, sale_starts_at,"
                            " coalesce(sale_ends_at, -1), max_tickets_per_order, hold_ttl_seconds, version"
                            " FROM events WHERE id = ?",
                            "s", event_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->id, sizeof(ev->id), "%s", sq_text(st, 0));
    snprintf(ev->org_id, sizeof(ev->org_id), "%s", sq_text(st, 1));
    snprintf(ev->venue_id, sizeof(ev->venue_id), "%s", sq_text(st, 2));
    snprintf(ev->currency, sizeof(ev->currency), "%s", sq_text(st, 3));
    ev->published = strcmp(sq_text(st, 4), "published") == 0;
    ev->starts_at = sq_int(st, 5);
    ev->sale_starts_at = sq_int(st, 6);
    ev->sale_ends_at = sq_int(st, 7);
    ev->max_tickets = (int)sq_int(st, 8);
    ev->hold_ttl = (int)sq_int(st, 9);
    ev->version = sq_int(st, 10);
    sqlite3_reset(st);
    if (c->memo != NULL)
        sq_memo_put_event(c->memo, ev);
    return E_OK;
}

err_code sq_event_access(sq_ctx *c, const sq_event *ev, sq_role min)
{
    int role = c->job->user_id[0] != '\0' ? sq_member_role(c, ev->org_id) : ROLE_NONE;
    if (role < 0)
        return sq_fail(c->db);
    if (role == ROLE_NONE)
        return ev->published ? E_FORBIDDEN : E_NOT_FOUND;
    return role >= (int)min ? E_OK : E_FORBIDDEN;
}

err_code sq_event_for(sq_ctx *c, sq_role min, sq_event *ev)
{
    err_code e = sq_event_load(c, sq_arg_str(c, "event_id"), ev);
    return e == E_OK ? sq_event_access(c, ev, min) : e;
}

/* --- the public shape ---------------------------------------------------- */

/* prices [{section, price_cents}] and their minimum (or -1) */
static err_code prices_json(sq_ctx *c, const char *event_id, json_t *prices, int64_t *min)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT section_id, price_cents FROM event_prices WHERE event_id = ? ORDER BY rowid",
                            "s", event_id);
    int r;
    while ((r = sq_step(c->db, st)) == 1) {
        int64_t p = sq_int(st, 1);
        json_array_append_new(prices, json_pack("{s:s, s:I}", "section", sq_text(st, 0), "price_cents", (json_int_t)p));
        if (*min < 0 || p < *min)
            *min = p;
    }
    return r < 0 ? sq_fail(c->db) : E_OK;
}

/* ga_tiers [{id, name, price_cents, capacity, available}]; with_available 0
 * gives the shape of the create/patch fields instead */
static err_code tiers_json(sq_ctx *c, const char *event_id, int with_available, json_t *tiers, int64_t *min)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT tier_id, name, price_cents, capacity, capacity - held - sold"
                            " FROM ga_tiers WHERE event_id = ? ORDER BY position",
                            "s", event_id);
    int r;
    while ((r = sq_step(c->db, st)) == 1) {
        int64_t p = sq_int(st, 2);
        json_t *t = json_pack("{s:s, s:s, s:I, s:I}", "id", sq_text(st, 0), "name", sq_text(st, 1), "price_cents",
                              (json_int_t)p, "capacity", (json_int_t)sq_int(st, 3));
        if (with_available)
            json_object_set_new(t, "available", json_integer(sq_int(st, 4)));
        json_array_append_new(tiers, t);
        if (*min < 0 || p < *min)
            *min = p;
    }
    return r < 0 ? sq_fail(c->db) : E_OK;
}

/* {seats_free, seats_held, seats_sold}; all zeros for a draft, which has
 * no seats on sale yet */
static err_code availability_json(sq_ctx *c, const sq_event *ev, json_t **out)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT coalesce(sum(status = 'free'), 0), coalesce(sum(status = 'held'), 0),"
                            " coalesce(sum(status = 'sold'), 0) FROM event_seats WHERE event_id = ?",
                            "s", ev->id);
    if (sq_step(c->db, st) != 1)
        return sq_fail(c->db);
    *out = json_pack("{s:I, s:I, s:I}", "seats_free", (json_int_t)sq_int(st, 0), "seats_held",
                     (json_int_t)sq_int(st, 1), "seats_sold", (json_int_t)sq_int(st, 2));
    sqlite3_reset(st);
    return E_OK;
}

static json_t *event_base(sqlite3_stmt *st, const sq_event *ev)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:i, s:i, s:s,"
                     " s:{s:s, s:s, s:s, s:s, s:s}}",
                     "id", ev->id, "org_id", ev->org_id, "title", sq_text(st, 0), "description", sq_text(st, 1),
                     "starts_at", sq_jtime_ms(ev->starts_at), "sale_starts_at", sq_jtime_ms(ev->sale_starts_at),
                     "sale_ends_at", ev->sale_ends_at >= 0 ? sq_jtime_ms(ev->sale_ends_at) : json_null(), "currency",
                     ev->currency, "max_tickets_per_order", ev->max_tickets, "hold_ttl_seconds", ev->hold_ttl,
                     "status", ev->published ? "published" : "draft", "venue", "id", sq_text(st, 2), "name",
                     sq_text(st, 3), "city", sq_text(st, 4), "address", sq_text(st, 5), "timezone", sq_text(st, 6));
}

err_code sq_event_json(sq_ctx *c, const sq_event *ev, int mode, json_t **out)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT e.title, e.description, v.id, v.name, v.city, v.address, v.timezone"
                            " FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = ?",
                            "s", ev->id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    json_t *o = event_base(st, ev);
    sqlite3_reset(st);
    json_t *prices = json_array(), *tiers = json_array(), *avail = NULL;
    int64_t min = -1;
    json_object_set_new(o, "prices", prices);
    json_object_set_new(o, "ga_tiers", tiers);
    err_code e = prices_json(c, ev->id, prices, &min);
    if (e == E_OK)
        e = tiers_json(c, ev->id, 1, tiers, &min);
    json_object_set_new(o, "min_price_cents", min >= 0 ? json_integer(min) : json_null());
    if (e == E_OK && mode == SQ_EVENT_FULL && (e = availability_json(c, ev, &avail)) == E_OK)
        json_object_set_new(o, "availability", avail);
    if (mode == SQ_EVENT_CATALOG)
        json_object_set_new(o, "starts_at_ms", json_integer(ev->starts_at));
    if (e != E_OK) {
        json_decref(o);
        return e;
    }
    *out = o;
    return E_OK;
}

/* Reload ev and answer with it (after a write). */
static err_code answer_event(sq_ctx *c, const char *event_id, int status)
{
    sq_event ev;
    err_code e = sq_event_load(c, event_id, &ev);
    if (e == E_OK)
        e = sq_event_json(c, &ev, SQ_EVENT_FULL, &c->job->out);
    c->job->status = status;
    return e;
}

/* --- writing the fields (create and patch) ------------------------------- */

/* The venue's layout if it is org's, else NULL. */
static json_t *org_venue_layout(sq_ctx *c, const char *org_id, const char *venue_id)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT layout FROM venues WHERE id = ? AND org_id = ?", "ss", venue_id, org_id);
    if (sq_step(c->db, st) != 1)
        return NULL;
    json_t *layout = json_loads(sq_text(st, 0), 0, NULL);
    sqlite3_reset(st);
    return layout;
}

static int layout_has_section(json_t *layout, const char *section)
{
    size_t i;
    json_t *sec;
    json_array_foreach(layout, i, sec)
    {
        if (strcmp(json_string_value(json_object_get(sec, "id")), section) == 0)
            return 1;
    }
    return 0;
}

static err_code write_prices(sq_ctx *c, const char *event_id, json_t *layout, json_t *prices)
{
    if (sq_exec(c->db, "DELETE FROM event_prices WHERE event_id = ?", "s", event_id) < 0)
        return sq_fail(c->db);
    size_t i;
    json_t *p;
    json_array_foreach(prices, i, p)
    {
        const char *section = json_string_value(json_object_get(p, "section"));
        if (section == NULL || !layout_has_section(layout, section))
            return sq_invalid(c, "prices", "A priced section is not in the venue.");
        if (sq_exec(c->db, "INSERT INTO event_prices (event_id, section_id, price_cents) VALUES (?, ?, ?)", "ssj",
                    event_id, section, json_object_get(p, "price_cents")) < 0)
            return sq_was_constraint(c->db) ? sq_invalid(c, "prices", "A section is priced twice or badly.")
                                            : sq_fail(c->db);
    }
    return E_OK;
}

static err_code write_tiers(sq_ctx *c, const char *event_id, json_t *tiers)
{
    if (sq_exec(c->db, "DELETE FROM ga_tiers WHERE event_id = ?", "s", event_id) < 0)
        return sq_fail(c->db);
    size_t i;
    json_t *t;
    json_array_foreach(tiers, i, t)
    {
        if (sq_exec(c->db,
                    "INSERT INTO ga_tiers (event_id, tier_id, name, price_cents, capacity, position)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    "sjjjji", event_id, json_object_get(t, "id"), json_object_get(t, "name"),
                    json_object_get(t, "price_cents"), json_object_get(t, "capacity"), (int)i) < 0)
            return sq_was_constraint(c->db) ? sq_invalid(c, "ga_tiers", "Tier ids must be unique.") : sq_fail(c->db);
    }
    return E_OK;
}

static err_code upsert_row(sq_ctx *c, const char *event_id, const char *org_id, json_t *f)
{
    json_t *max = json_object_get(f, "max_tickets_per_order"), *ttl = json_object_get(f, "hold_ttl_seconds");
    json_t *dmax = json_integer(10), *dttl = json_integer(600);
    int r = sq_exec(c->db,
                    "INSERT INTO events (id, org_id, venue_id, title, description, starts_at, sale_starts_at,"
                    " sale_ends_at, currency, max_tickets_per_order, hold_ttl_seconds, created_at)"
                    " VALUES (?, ?, ?, ?, coalesce(?, ''), ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET venue_id = excluded.venue_id, title = excluded.title,"
                    " description = excluded.description, starts_at = excluded.starts_at,"
                    " sale_starts_at = excluded.sale_starts_at, sale_ends_at = excluded.sale_ends_at,"
                    " currency = excluded.currency, max_tickets_per_order = excluded.max_tickets_per_order,"
                    " hold_ttl_seconds = excluded.hold_ttl_seconds",
                    "ssjjjjjjjjjl", event_id, org_id, json_object_get(f, "venue_id"), json_object_get(f, "title"), json_object_get(f, "description"), json_object_get(f, "starts_at"),
                    json_object_get(f, "sale_starts_at"), json_object_get(f, "sale_ends_at"),
                    json_object_get(f, "currency"), max != NULL ? max : dmax, ttl != NULL ? ttl : dttl, c->now);
    json_decref(dmax);
    json_decref(dttl);
    return r < 0 ? sq_fail(c->db) : E_OK;
}

/* Write a complete set of event fields (f) for event_id of org_id. */
static err_code event_write(sq_ctx *c, const char *event_id, const char *org_id, json_t *f)
{
    const char *venue_id = json_string_value(json_object_get(f, "venue_id"));
    json_t *layout = venue_id != NULL ? org_venue_layout(c, org_id, venue_id) : NULL;
    if (layout == NULL)
        return sq_invalid(c, "venue_id", "No venue of this organization has this id.");
    err_code e = upsert_row(c, event_id, org_id, f);
    if (e == E_OK)
        e = write_prices(c, event_id, layout, json_object_get(f, "prices"));
    if (e == E_OK)
        e = write_tiers(c, event_id, json_object_get(f, "ga_tiers"));
    json_decref(layout);
    return e;
}

/* The stored fields of a draft, in the shape of the create arguments. */
static err_code stored_fields(sq_ctx *c, const sq_event *ev, json_t **out)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT title, description FROM events WHERE id = ?", "s", ev->id);
    if (sq_step(c->db, st) != 1)
        return sq_fail(c->db);
    json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:s, s:i, s:i}", "venue_id", ev->venue_id, "title",
                          sq_text(st, 0), "description", sq_text(st, 1), "starts_at", (json_int_t)ev->starts_at,
                          "sale_starts_at", (json_int_t)ev->sale_starts_at, "sale_ends_at",
                          ev->sale_ends_at >= 0 ? json_integer(ev->sale_ends_at) : json_null(), "currency",
                          ev->currency, "max_tickets_per_order", ev->max_tickets, "hold_ttl_seconds", ev->hold_ttl);
    sqlite3_reset(st);
    json_t *prices = json_array(), *tiers = json_array();
    int64_t min = -1;
    json_object_set_new(f, "prices", prices);
    json_object_set_new(f, "ga_tiers", tiers);
    err_code e = prices_json(c, ev->id, prices, &min);
    if (e == E_OK)
        e = tiers_json(c, ev->id, 0, tiers, &min);
    if (e != E_OK) {
        json_decref(f);
        return e;
    }
    *out = f;
    return E_OK;
}

err_code sq_op_event_create(sq_ctx *c)
{
    const char *org_id = sq_arg_str(c, "org_id");
    int role = sq_member_role(c, org_id);
    if (role < 0)
        return sq_fail(c->db);
    if (role == ROLE_NONE)
        return E_NOT_FOUND;
    if (role < ROLE_ADMIN)
        return E_FORBIDDEN;
    char id[48];
    id_new("evt", id, sizeof(id));
    err_code e = event_write(c, id, org_id, c->job->args);
    return e == E_OK ? answer_event(c, id, 201) : e;
}

err_code sq_op_event_patch(sq_ctx *c)
{
    sq_event ev;
    json_t *f = NULL;
    err_code e = sq_event_for(c, ROLE_ADMIN, &ev);
    if (e == E_OK && ev.published)
        e = E_EVENT_PUBLISHED;
    if (e == E_OK)
        e = stored_fields(c, &ev, &f);
    if (e != E_OK)
        return e;
    json_t *patch = json_object_get(c->job->args, "fields");
    if (json_is_object(patch))
        json_object_update(f, patch);
    /* The API checked the patch's times against each other; only here,
     * merged with the stored ones, can the whole be checked. */
    rule_err re;
    if (rules_event_times(f, &re) != 0)
        e = sq_invalid(c, re.field, re.message);
    else
        e = event_write(c, ev.id, ev.org_id, f);
    json_decref(f);
    return e == E_OK ? answer_event(c, ev.id, 200) : e;
}

err_code sq_op_event_publish(sq_ctx *c)
{
    sq_event ev;
    err_code e = sq_event_for(c, ROLE_ADMIN, &ev);
    if (e != E_OK || ev.published)
        return e == E_OK ? answer_event(c, ev.id, 200) : e;
    if (sq_exec(c->db,
                "INSERT INTO event_seats (event_id, ord, seat_id, price_cents)"
                " SELECT ?, vs.ord, vs.seat_id, p.price_cents FROM venue_seats vs JOIN event_prices p"
                " ON p.event_id = ? AND p.section_id = vs.section_id WHERE vs.venue_id = ?",
                "sss", ev.id, ev.id, ev.venue_id) < 0 ||
        sq_exec(c->db, "UPDATE events SET status = 'published', published_at = ? WHERE id = ?", "ls", c->now,
                ev.id) < 0)
        return sq_fail(c->db);
    snprintf(c->after_seatmap, sizeof(c->after_seatmap), "%s", ev.id);
    c->after_catalog = 1;
    return answer_event(c, ev.id, 200);
}

err_code sq_op_event_get(sq_ctx *c)
{
    sq_event ev;
    err_code e = sq_event_load(c, sq_arg_str(c, "event_id"), &ev);
    if (e == E_OK && !ev.published)
        e = sq_event_access(c, &ev, ROLE_STAFF); /* drafts: members only, 404 otherwise */
    return e == E_OK ? sq_event_json(c, &ev, SQ_EVENT_FULL, &c->job->out) : e;
}

/* Seats and GA places count alike (docs/openapi.yaml, Stats). */
err_code sq_op_event_stats(sq_ctx *c)
{
    sq_event ev;
    err_code e = sq_event_for(c, ROLE_STAFF, &ev);
    if (e != E_OK)
        return e;
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT"
                            " (SELECT count(*) FROM event_seats WHERE event_id = ?1)"
                            "   + (SELECT coalesce(sum(capacity), 0) FROM ga_tiers WHERE event_id = ?1),"
                            " (SELECT count(*) FROM event_seats WHERE event_id = ?1 AND status = 'sold')"
                            "   + (SELECT coalesce(sum(sold), 0) FROM ga_tiers WHERE event_id = ?1),"
                            " (SELECT count(*) FROM event_seats WHERE event_id = ?1 AND status = 'held')"
                            "   + (SELECT coalesce(sum(held), 0) FROM ga_tiers WHERE event_id = ?1),"
                            " (SELECT count(*) FROM tickets WHERE event_id = ?1 AND status = 'valid'),"
                            " (SELECT coalesce(sum(total_cents), 0) FROM orders WHERE event_id = ?1 AND status = 'paid'),"
                            " (SELECT count(*) FROM tickets WHERE event_id = ?1 AND status = 'valid'"
                            "   AND checked_in_at IS NOT NULL)",
                            "s", ev.id);
    if (sq_step(c->db, st) != 1)
        return sq_fail(c->db);
    c->job->out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "seats_total", (json_int_t)sq_int(st, 0), "seats_sold",
                            (json_int_t)sq_int(st, 1), "seats_held", (json_int_t)sq_int(st, 2), "tickets_sold",
                            (json_int_t)sq_int(st, 3), "revenue_cents", (json_int_t)sq_int(st, 4), "checked_in",
                            (json_int_t)sq_int(st, 5));
    sqlite3_reset(st);
    return E_OK;
}
