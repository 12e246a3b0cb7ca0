/*
 * seatmap.h - the in-memory seat map of every published event.
 *
 * A cache derived from the store, never the system of record: the store
 * installs an event's map when it is published or first asked for, and from
 * then on every committed change reaches it through pubsub (seatmap.c
 * listens there). Reads (the seat views, availability counts, the live
 * snapshot) are answered from here without touching the store; rendered
 * bodies are cached per version and shared by all threads.
 */
#ifndef TIXIN_BOOKING_SEATMAP_H
#define TIXIN_BOOKING_SEATMAP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* What the store hands over to install (or replace) an event's map.
 * Borrowed for the call only. */
typedef struct {
    const char *event_id;
    int64_t version;
    /* venue sections as stored: [{id, name, rows: [{id, seats}]}]; seat ord
     * runs over sections, then rows, then numbers 1..seats, from 0 */
    json_t *layout;
    /* {section_id: price_cents} for the sections on sale */
    json_t *prices;
    /* one char per ord: 'f', 'h', 's', or 'x' (not on sale) */
    const char *statuses;
    size_t nseats;
    /* [{id, name, price_cents, capacity, available}] in display order */
    json_t *tiers;
} seatmap_spec;

/* Install or replace; a replacement keeps whichever version is newer. */
int seatmap_install(const seatmap_spec *spec);
/* 1 when the event's map is loaded. */
int seatmap_has(const char *event_id);

/* Availability counts for listings and event pages; 0 when loaded. */
typedef struct {
    int64_t version;
    int seats_free, seats_held, seats_sold;
    int tiers_available;   /* sum over GA tiers */
} seatmap_counts;
int seatmap_get_counts(const char *event_id, seatmap_counts *out);

/* Start-up/shutdown and the pubsub listener. */
void seatmap_init(void);
void seatmap_free_all(void);

#endif
