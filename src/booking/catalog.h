/*
 * catalog.h - the published events, in memory, for listings and event pages.
 *
 * The store installs the whole list at start-up and again after every
 * publish or change of a published event (OP_CATALOG_LOAD). Readers get an
 * immutable, reference-counted snapshot; installing swaps the pointer, so a
 * reader never sees half a list. Availability is not in here: it changes
 * with every hold and is read from booking/seatmap.h at render time; but
 * each snapshot caches the bodies rendered from it (event pages per
 * seat-map version, listings per exact content), so a body is rendered and
 * gzipped once while neither the catalog nor its availability changes.
 */
#ifndef TIXIN_BOOKING_CATALOG_H
#define TIXIN_BOOKING_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "booking/seatmap.h"

/* events: array of event objects exactly as OP_EVENT_GET's out (without
 * "availability"), plus "starts_at_ms" (integer) for sorting and filters,
 * all with status "published". Steals the reference. */
void catalog_install(json_t *events);
void catalog_init(void);
void catalog_free(void);

/* --- reading (catalog.c builds all of this once per install) ------------ */

/* One published event, with what the hot reads need pre-made. */
typedef struct {
    const char *id;
    int64_t starts_at_ms;
    const char *title_lc;     /* title through catalog_fold_case(), for q= */
    const char *city_lc;      /* venue city through catalog_fold_case(), for city= */
    /* listing item up to and including "available": e.g.
     * {"id":..,"title":..,"starts_at":..,"venue":{..},"min_price_cents":..,"currency":..,"available": */
    const char *item_head;
    size_t item_head_len;
    /* event page: the event object without ga_tiers/availability/
     * starts_at_ms, without its closing brace, ending in ',' */
    const char *page_head;
    size_t page_head_len;
    /* sum of the GA tiers' available at install time (fallback only) */
    int ga_available;
    json_t *event;            /* the installed object (borrowed) */
} catalog_entry;

typedef struct catalog catalog;
/* A reference to the current snapshot (never NULL after catalog_init);
 * drop it with catalog_release(). */
catalog *catalog_acquire(void);
void catalog_release(catalog *c);
/* Entries sorted by (starts_at_ms, id). */
const catalog_entry *catalog_entries(const catalog *c, size_t *n);
/* Index of the first entry after (starts_at_ms, id) in that order; id NULL
 * means the first entry with starts_at >= starts_at_ms. */
size_t catalog_seek(const catalog *c, int64_t starts_at_ms, const char *id);
/* The entry of a published event, or NULL. */
const catalog_entry *catalog_find(const catalog *c, const char *event_id);
/* --- rendered bodies cached in the snapshot (thread-safe) --------------- */

/* The event page of e rendered from the seat-map state n says (its version
 * and install_seq): a new reference, or NULL when not cached. */
seatmap_body *catalog_page_get(catalog *c, const catalog_entry *e, const seatmap_counts *n);
/* Cache b, rendered from the state n says, as e's page (replacing the one
 * there); takes no reference from the caller. */
void catalog_page_put(catalog *c, const catalog_entry *e, const seatmap_counts *n, seatmap_body *b);
/* A listing body by its exact content key (whatever determines its bytes,
 * e.g. the entries shown and their availability): a new reference or NULL. */
seatmap_body *catalog_list_get(catalog *c, const int64_t *key, size_t nkey);
/* Cache b under key (copied), replacing what shared its slot. */
void catalog_list_put(catalog *c, const int64_t *key, size_t nkey, seatmap_body *b);

/* Lower-case UTF-8 in place (ASCII, Latin-1, Latin Extended-A, Greek,
 * Cyrillic; other characters unchanged), as the search keys were made. */
void catalog_fold_case(char *s);
/* 1 when the event is in the current catalog. */
int catalog_has(const char *event_id);

#endif
