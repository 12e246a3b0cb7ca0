/*
 * caches.c - feeding the in-memory caches (booking/seatmap.h, catalog.h)
 * from PostgreSQL, after COMMIT only, as the SQLite backend does
 * (store/sqlite/load.c): the database builds what seatmap_install() and
 * catalog_install() take (tixin_seatmap(), tixin_catalog() in
 * 0003_ops.sql), this file hands it over.
 */
#include "store/pg/pg.h"

#include <string.h>
#include "booking/catalog.h"
#include "booking/seatmap.h"
#include "core/util.h"

err_code pg_seatmap_load(pg_conn *pc, const char *event_id)
{
    const char *values[1] = {event_id};
    json_t *m = NULL;
    err_code e = pg_call_json(pc, "seatmap", 1, values, &m);
    if (e != E_OK || m == NULL)
        return e == E_OK ? E_NOT_FOUND : e;
    const char *statuses = json_string_value(json_object_get(m, "statuses"));
    seatmap_spec spec = {
        .event_id = json_string_value(json_object_get(m, "event_id")),
        .version = json_integer_value(json_object_get(m, "version")),
        .layout = json_object_get(m, "layout"),
        .prices = json_object_get(m, "prices"),
        .statuses = statuses,
        .nseats = (size_t)json_integer_value(json_object_get(m, "nseats")),
        .tiers = json_object_get(m, "tiers"),
    };
    if (statuses == NULL || strlen(statuses) != spec.nseats || seatmap_install(&spec) != 0)
        e = E_INTERNAL;
    json_decref(m);
    return e;
}

err_code pg_catalog_load(pg_conn *lc, pg_conn *pc)
{
    char now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now_ms());
    const char *values[1] = {now_text};
    json_t *events = NULL;
    err_code e = pg_call_json(lc, "catalog", 1, values, &events);
    if (e != E_OK || !json_is_array(events)) {
        json_decref(events);
        return e != E_OK ? e : E_INTERNAL;
    }
    json_t *ids = json_array();
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        json_array_append(ids, json_object_get(ev, "id"));
    }
    catalog_install(events); /* steals */
    json_array_foreach(ids, i, ev)
    {
        if (e == E_OK && !seatmap_has(json_string_value(ev)))
            e = pg_seatmap_load(pc, json_string_value(ev));
    }
    json_decref(ids);
    return e;
}
