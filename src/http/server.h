/*
 * server.h - the worker loops, for the parts that need a presence on each
 * of them (the live WebSocket hub keeps per-loop subscriber lists and a
 * multithread receiver per loop).
 */
#ifndef TIXIN_HTTP_SERVER_H
#define TIXIN_HTTP_SERVER_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include "core/config.h"

/* Called on each worker thread after its loop and context exist, before it
 * accepts connections (start), and when it stops accepting during a
 * graceful shutdown (stop: close long-lived connections such as
 * WebSockets). index runs 0..server_worker_count()-1. Register before
 * server_run(). */
typedef void (*server_worker_hook)(h2o_context_t *ctx, int index);
void server_on_worker_start(server_worker_hook fn);
void server_on_worker_stop(server_worker_hook fn);
int server_worker_count(void);
/* Index of the calling worker thread, -1 off the loops. */
int server_worker_index(void);

/* Listen, start cfg->threads loops, and block until SIGTERM/SIGINT has
 * drained in-flight requests. 0 on a clean stop. The signals are taken
 * with sigwait() on the calling thread: every thread started before
 * server_run() must have SIGTERM/SIGINT blocked (main blocks them before
 * starting any). */
int server_run(const config_t *cfg);

#endif
