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
    uint64_t install_seq;  /* changes with every (re)install, even at the same version */
    int seats_free, seats_held, seats_sold;
    int tiers_available;   /* sum over GA tiers */
} seatmap_counts;
int seatmap_get_counts(const char *event_id, seatmap_counts *out);

/* --- rendered views (seatmap.c renders each once per version) ---------- */

/* Rendered bytes shared by every thread: immutable once made, freed when
 * the last reference goes. The gzip copy is made on first demand. */
typedef struct seatmap_body seatmap_body;
struct seatmap_body {
    int refcnt;              /* atomic */
    int64_t version;         /* seat-map version the bytes show */
    char etag[40];           /* strong tag, quotes included ("" for live messages) */
    char *data;
    size_t len;
    char *gz;                /* set once by seatmap_body_gzip(), atomically */
    size_t gz_len;
    /* seat views: where the body's chunks end (one per section, so a
     * change re-deflates only its section: core/gzip.c) and the map's
     * cache of deflated chunks for this view (the map's, borrowed) */
    size_t *cuts;
    unsigned char *stored;   /* NULL, or per chunk: volatile, sent stored (gzip.h) */
    int ncuts;
    struct gzip_chunks *chunks;
};
/* A body (refcount 1, no ETag) around malloc'd bytes it takes over: for
 * renderings cached elsewhere (catalog.c keeps event pages and listings). */
seatmap_body *seatmap_body_new(char *data, size_t len, int64_t version);
void seatmap_body_ref(seatmap_body *b);
void seatmap_body_unref(seatmap_body *b);
/* The gzip copy (made on first call, then shared); NULL if zlib failed. */
const char *seatmap_body_gzip(seatmap_body *b, size_t *len);
/* A body's chunks (cuts[i] ends chunk i, the last is b->len; malloc'd,
 * taken over), which of them are volatile (stored: NULL or malloc'd, taken
 * over; see gzip_chunked()) and the cache their deflated runs go to (not
 * owned: it must outlive every use of the body's gzip copy). */
void seatmap_body_set_chunks(seatmap_body *b, size_t *cuts, unsigned char *stored, int ncuts,
                             struct gzip_chunks *chunks);
/* The cache of the event page's deflated chunks (api/browse.c: the page's
 * fixed part is deflated once, only its availability each version); it
 * lives as long as the event's map; NULL when the event has no map. */
struct gzip_chunks *seatmap_page_chunks(const char *event_id);

typedef enum {
    SEATMAP_VIEW_FULL,       /* GET .../seats: {event_id, version, seats, tiers}, ETag "v<N>-f" */
    SEATMAP_VIEW_COMPACT,    /* GET .../seats?view=compact, ETag "v<N>-c" */
    SEATMAP_VIEW_SNAPSHOT,   /* live: {"type":"snapshot", version, seats:[{id,status}], tiers:[{id,available}]} */
    SEATMAP_VIEW__COUNT
} seatmap_view;
/* The current rendering of a view: a new reference the caller drops with
 * seatmap_body_unref(). NULL when the event's map is not loaded. */
seatmap_body *seatmap_view_get(const char *event_id, seatmap_view view);

/* The GA tiers as a JSON array [{id, name, price_cents, capacity,
 * available}] (malloc'd, caller frees) and, in *counts, the counts of the
 * same version. NULL when the map is not loaded. */
char *seatmap_tiers_json(const char *event_id, seatmap_counts *counts);

/* The live messages for one change: {"type":"seats", version, changes:
 * [{id, status}]} (NULL when the change has no seats) and {"type":"tiers",
 * version, tiers: [{id, available}]} (NULL when no tiers). New references.
 * Returns -1 when the event's map is not loaded. Thread-safe. */
struct pubsub_change;
int seatmap_render_change(const struct pubsub_change *c, seatmap_body **seats, seatmap_body **tiers);

/* --- gaps (cluster mode) ------------------------------------------------
 * A change whose version skips one (a change lost between instances, or
 * Redis was down) marks the map stale: it still applies what it gets, keeps
 * the changes it applied since, and asks the reloader to reload it from the
 * store (OP_SEATMAP_LOAD). The reload's install replaces the state and
 * replays the kept changes newer than the reload. Without a reloader (the
 * embedded store, which cannot skip) a gap is only logged. */
typedef void (*seatmap_reload_fn)(const char *event_id);
void seatmap_set_reloader(seatmap_reload_fn fn);
/* Mark every loaded map stale and ask for its reload (Redis came back). */
void seatmap_reload_all(void);
/* Called (on the installing thread, no lock held) after an install that
 * replaced a loaded map, so live subscribers can get a fresh snapshot.
 * Register before the server starts; one hook. */
void seatmap_on_reinstall(seatmap_reload_fn fn);
/* Called (no lock held) after the first install of the map of an event the
 * catalog does not list yet: it has just been published, here or on another
 * instance. Cluster mode tells the other instances to reload their
 * catalogs. One hook, set before the server starts. */
void seatmap_on_new_event(seatmap_reload_fn fn);
/* The map's version, or -1 when it is not loaded. */
int64_t seatmap_version(const char *event_id);

/* Start-up/shutdown and the pubsub listener. */
void seatmap_init(void);
void seatmap_free_all(void);

#endif
