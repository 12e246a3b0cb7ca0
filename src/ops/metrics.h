/*
 * metrics.h - Prometheus counters for the HTTP layer and whoever else wants
 * one. Hot-path updates touch only the calling worker's own slots (no
 * locks, no atomics); a scrape sums the slots of every worker.
 */
#ifndef TIXIN_OPS_METRICS_H
#define TIXIN_OPS_METRICS_H

#include <stddef.h>

/* The version `tixin version` prints and tixin_build_info carries. */
#ifndef TIXIN_VERSION
#define TIXIN_VERSION "0.1.0"
#endif

/* Size the per-worker slots; call once before the worker loops start. */
void metrics_init(int nworkers);
/* Route templates are the label values of the per-route series: register
 * each one (router.c does) and get its index. Before metrics_init. */
int metrics_route_id(const char *method, const char *route);
/* One finished request on worker w (route -1: unmatched). */
void metrics_observe_request(int w, int route, int status, double seconds);
/* Requests being served now on worker w (+1 / -1). */
void metrics_in_flight_add(int w, int delta);
/* A free-form counter, e.g. metrics_count("tixin_holds_created_total", 1).
 * Thread-safe (atomic add); names are registered on first use (at most 64
 * distinct names), so keep them static strings. */
void metrics_count(const char *name, long n);
/* Render the exposition text (malloc'd, caller frees); *len set. */
char *metrics_render(size_t *len);

#endif
