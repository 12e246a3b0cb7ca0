/*
 * sales.c - per-event sell-out progress for /metrics, computed at scrape
 * time from the in-memory catalog and seat maps (no cost on the request
 * path). An event_id label is allowed here, and only here, because the
 * set is bounded: events whose sale is open now, at most MAX_EVENTS of
 * them (the soonest to start), and only those whose seat map is loaded
 * (every seat map is loaded on its first read). Everything else in
 * /metrics is free of per-event labels.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "booking/catalog.h"
#include "booking/seatmap.h"
#include "core/util.h"
#include "ops/metrics.h"

void obs_sales_collect(textbuf *t);

#define MAX_EVENTS 50

static int64_t json_time(const json_t *event, const char *key, int64_t absent)
{
    const char *s = json_string_value(json_object_get(event, key));
    int64_t ms;
    return s != NULL && time_parse(s, &ms) == 0 ? ms : absent;
}

static int on_sale(const catalog_entry *e, int64_t now)
{
    return e->starts_at_ms > now && json_time(e->event, "sale_starts_at", INT64_MAX) <= now &&
           json_time(e->event, "sale_ends_at", INT64_MAX) > now;
}

static void header(textbuf *t, const char *name, const char *type, const char *help)
{
    textbuf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

typedef struct {
    const char *id;
    seatmap_counts k;
} shown_event;

static void emit_seats(textbuf *t, const shown_event *ev, size_t n)
{
    static const char *const states[] = {"free", "held", "sold"};
    header(t, "tixin_event_seats", "gauge",
           "Seats of events on sale now by state (free, held, sold); at most 50 events, soonest first.");
    for (size_t i = 0; i < n; i++) {
        const int v[] = {ev[i].k.seats_free, ev[i].k.seats_held, ev[i].k.seats_sold};
        for (int s = 0; s < 3; s++)
            textbuf_printf(t, "tixin_event_seats{event_id=\"%s\",state=\"%s\"} %d\n", ev[i].id, states[s], v[s]);
    }
    header(t, "tixin_event_ga_available", "gauge", "General-admission places still available, same events.");
    for (size_t i = 0; i < n; i++)
        textbuf_printf(t, "tixin_event_ga_available{event_id=\"%s\"} %d\n", ev[i].id, ev[i].k.tiers_available);
}

void obs_sales_collect(textbuf *t)
{
    shown_event ev[MAX_EVENTS];
    catalog *c = catalog_acquire();
    size_t n, shown = 0, open = 0;
    const catalog_entry *es = catalog_entries(c, &n);
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        if (!on_sale(&es[i], now))
            continue;
        open++;
        if (shown < MAX_EVENTS && seatmap_get_counts(es[i].id, &ev[shown].k) == 0)
            ev[shown++].id = es[i].id;
    }
    emit_seats(t, ev, shown);
    header(t, "tixin_events_on_sale", "gauge", "Published events whose sale is open now.");
    textbuf_printf(t, "tixin_events_on_sale %zu\n", open);
    catalog_release(c);
}
