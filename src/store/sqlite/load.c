/*
 * load.c - feeding the in-memory caches (booking/seatmap.h, catalog.h)
 * from the database.
 *
 * The caches are only ever filled with committed state: the ops here just
 * validate and ask the writer thread to do the work after COMMIT
 * (sq_ctx.after_*), where sq_seatmap_load()/sq_catalog_load() read the
 * database as committed, with the event's version after the batch's bump.
 * From then on pubsub keeps the maps current.
 */
#include "store/sqlite/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "booking/catalog.h"
#include "booking/seatmap.h"

/* layout and seat_count of the event's venue */
static err_code venue_layout(sq_ctx *c, const char *venue_id, json_t **layout, size_t *nseats)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT layout, seat_count FROM venues WHERE id = ?", "s", venue_id);
    if (sq_step(c->db, st) != 1)
        return sq_fail(c->db);
    *layout = json_loads(sq_text(st, 0), 0, NULL);
    *nseats = (size_t)sq_int(st, 1);
    sqlite3_reset(st);
    return *layout != NULL ? E_OK : E_INTERNAL;
}

static err_code price_map(sq_ctx *c, const char *event_id, json_t *prices)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT section_id, price_cents FROM event_prices WHERE event_id = ?", "s", event_id);
    int r;
    while ((r = sq_step(c->db, st)) == 1)
        json_object_set_new(prices, sq_text(st, 0), json_integer(sq_int(st, 1)));
    return r < 0 ? sq_fail(c->db) : E_OK;
}

/* 'x' for every seat, then the on-sale seats' states. */
static err_code seat_statuses(sq_ctx *c, const char *event_id, char *statuses, size_t nseats)
{
    memset(statuses, 'x', nseats);
    statuses[nseats] = '\0';
    sqlite3_stmt *st = sq_q(c->db, "SELECT ord, substr(status, 1, 1) FROM event_seats WHERE event_id = ?", "s",
                            event_id);
    int r;
    while ((r = sq_step(c->db, st)) == 1) {
        int64_t ord = sq_int(st, 0);
        if (ord >= 0 && (size_t)ord < nseats)
            statuses[ord] = sq_text(st, 1)[0];
    }
    return r < 0 ? sq_fail(c->db) : E_OK;
}

static err_code tier_list(sq_ctx *c, const char *event_id, json_t *tiers)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT tier_id, name, price_cents, capacity, capacity - held - sold"
                            " FROM ga_tiers WHERE event_id = ? ORDER BY position",
                            "s", event_id);
    int r;
    while ((r = sq_step(c->db, st)) == 1)
        json_array_append_new(tiers, json_pack("{s:s, s:s, s:I, s:I, s:I}", "id", sq_text(st, 0), "name",
                                               sq_text(st, 1), "price_cents", (json_int_t)sq_int(st, 2), "capacity",
                                               (json_int_t)sq_int(st, 3), "available", (json_int_t)sq_int(st, 4)));
    return r < 0 ? sq_fail(c->db) : E_OK;
}

err_code sq_seatmap_load(sq_ctx *c, const char *event_id)
{
    sq_event ev;
    err_code e = sq_event_load(c, event_id, &ev);
    if (e != E_OK || !ev.published)
        return e == E_OK ? E_NOT_FOUND : e;
    seatmap_spec spec = {.event_id = ev.id, .version = ev.version, .prices = json_object(), .tiers = json_array()};
    char *statuses = NULL;
    e = venue_layout(c, ev.venue_id, &spec.layout, &spec.nseats);
    if (e == E_OK && (statuses = malloc(spec.nseats + 1)) == NULL)
        abort();
    if (e == E_OK)
        e = price_map(c, ev.id, spec.prices);
    if (e == E_OK)
        e = seat_statuses(c, ev.id, statuses, spec.nseats);
    if (e == E_OK)
        e = tier_list(c, ev.id, spec.tiers);
    spec.statuses = statuses;
    if (e == E_OK && seatmap_install(&spec) != 0)
        e = E_INTERNAL;
    free(statuses);
    json_decref(spec.layout);
    json_decref(spec.prices);
    json_decref(spec.tiers);
    return e;
}

/* Ids of the published events that have not started, soonest first. */
static err_code listed_ids(sq_ctx *c, json_t *ids)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT id FROM events WHERE status = 'published' AND starts_at > ?"
                            " ORDER BY starts_at, id",
                            "l", c->now);
    int r;
    while ((r = sq_step(c->db, st)) == 1)
        json_array_append_new(ids, json_string(sq_text(st, 0)));
    return r < 0 ? sq_fail(c->db) : E_OK;
}

static err_code catalog_add_event(sq_ctx *c, const char *event_id, json_t *events)
{
    sq_event ev;
    json_t *o = NULL;
    err_code e = sq_event_load(c, event_id, &ev);
    if (e == E_OK)
        e = sq_event_json(c, &ev, SQ_EVENT_CATALOG, &o);
    if (e == E_OK)
        json_array_append_new(events, o);
    return e;
}

err_code sq_catalog_load(sq_ctx *c)
{
    json_t *ids = json_array(), *events = json_array();
    err_code e = listed_ids(c, ids);
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        if (e == E_OK)
            e = catalog_add_event(c, json_string_value(id), events);
    }
    if (e == E_OK)
        catalog_install(events); /* steals */
    else
        json_decref(events);
    json_array_foreach(ids, i, id)
    {
        if (e == E_OK && !seatmap_has(json_string_value(id)))
            e = sq_seatmap_load(c, json_string_value(id));
    }
    json_decref(ids);
    return e;
}

err_code sq_op_seatmap_load(sq_ctx *c)
{
    sq_event ev;
    err_code e = sq_event_load(c, sq_arg_str(c, "event_id"), &ev);
    if (e != E_OK || !ev.published)
        return e == E_OK ? E_NOT_FOUND : e;
    snprintf(c->after_seatmap, sizeof(c->after_seatmap), "%s", ev.id);
    return E_OK;
}

err_code sq_op_catalog_load(sq_ctx *c)
{
    c->after_catalog = 1;
    return E_OK;
}
