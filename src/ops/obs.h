/*
 * obs.h - what the rest of the server calls to be observed: start/stop of
 * metrics and tracing for `serve`, and the store's per-call hook.
 */
#ifndef TIXIN_OPS_OBS_H
#define TIXIN_OPS_OBS_H

#include "core/config.h"
#include "store/store.h"

/* Apply cfg (metrics on/off, tracing), register the scrape-time
 * collectors. After metrics_init, before the loops serve. 0 on success. */
int obs_start(const config_t *cfg);
/* Flush and stop the trace exporter (after the loops stopped). */
void obs_stop(void);

/* store_submit() calls this first: times the call, opens its child span
 * under the caller's trace, and on completion records latency by op, the
 * business counters the outcome implies (holds, orders, tickets,
 * check-ins) and ends the span, before the caller's done runs. */
void obs_store_submitted(store_job *j);

#endif
