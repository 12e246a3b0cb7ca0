/*
 * metrics.h - Prometheus metrics for GET /metrics.
 *
 * Hot-path updates from a worker loop touch only that worker's own slots
 * (no locks, no atomic read-modify-write); updates from other threads
 * (the store's writer, the CPU pool, a pub/sub subscriber) go to shared
 * slots with atomic adds. A scrape sums everything. Label values come
 * only from fixed sets (route templates, store op names, statuses), never
 * from ids, so the series count is bounded whatever the traffic.
 */
#ifndef TIXIN_OPS_METRICS_H
#define TIXIN_OPS_METRICS_H

#include <stddef.h>
#include "core/textbuf.h"

/* The version `tixin version` prints and tixin_build_info carries. */
#ifndef TIXIN_VERSION
#define TIXIN_VERSION "0.1.0"
#endif

/* Size the per-worker slots; call once before the worker loops start. */
void metrics_init(int nworkers);
/* 0 turns every recording call below into an early return (TIXIN_METRICS=off). */
void metrics_set_enabled(int on);
/* Route templates are the label values of the per-route series: register
 * each one (router.c does) and get its index. Before metrics_init. */
int metrics_route_id(const char *method, const char *route);
/* One finished request on worker w (route -1: unmatched). */
void metrics_observe_request(int w, int route, int status, double seconds);
/* Requests being served now on worker w (+1 / -1). */
void metrics_in_flight_add(int w, int delta);

/* Named counters and gauges: any thread (atomic add). Names are static
 * strings registered on first use (at most 64); the ones of the known
 * table in metrics.c (e.g. "tixin_holds_created_total",
 * "tixin_websocket_subscribers") exist from the start with their help.
 * A name ending in _microseconds_total counts microseconds and is exposed
 * as _seconds_total in seconds (Prometheus' base unit). */
void metrics_count(const char *name, long n);
void metrics_gauge_add(const char *name, long delta);
void metrics_gauge_set(const char *name, long value);

/* Store calls: label value of op index i (static string), before any
 * observation; then one finished call (failed: the store itself failed,
 * i.e. internal/unavailable, not a refusal such as a 409). Any thread. */
void metrics_store_op_name(int op, const char *name);
void metrics_observe_store(int op, int failed, double seconds);
/* Pub/sub: from a change's publication (after COMMIT) to its delivery to
 * the listeners. metrics_now_us() is the wall clock (microseconds) to
 * stamp a change with, comparable across instances; _since observes now
 * minus that stamp (0: not stamped, ignored). */
void metrics_observe_pubsub_lag(double seconds);
long long metrics_now_us(void);
void metrics_observe_pubsub_lag_since(long long published_us);

/* Extra series computed at scrape time (e.g. per-event sales, bounded):
 * fn appends exposition text to t. At most 8; before serving. */
void metrics_add_collector(void (*fn)(textbuf *t));

/* Render the exposition text (malloc'd, caller frees); *len set. */
char *metrics_render(size_t *len);

#endif
