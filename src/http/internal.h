/*
 * internal.h - what the files of http/ share among themselves and with
 * api/health.c. Not for API handlers: they use http.h only.
 *
 * Every routed request gets one http_reqctx in its pool, linked into
 * req->prefilters so it can be found again from req. The single "this
 * request is over" hook is an h2o logger (h2o calls loggers from
 * h2o_dispose_request, before the pool is freed, however the request
 * ended): router_request_end() ends pending async work's claim on the
 * request (async.c), records metrics and writes the access line
 * (accesslog.c), and lowers the worker's in-flight count that graceful
 * shutdown waits for.
 */
#ifndef TIXIN_HTTP_INTERNAL_H
#define TIXIN_HTTP_INTERNAL_H

#include <stdint.h>
#include "http/http.h"
#include "core/config.h"
#include "http/server.h"
#include "ops/trace.h"

#define HTTP_MAX_BODY (1024 * 1024)

typedef struct http_reqctx {
    int worker;               /* index of the owning worker loop */
    int route;                /* metrics route id (router.c) */
    const char *route_tpl;    /* route template for the access log */
    int64_t start_ns;         /* monotonic, at routing */
    char request_id[68];      /* NUL-terminated, <= 64 chars */
    size_t request_id_len;
    h2o_linklist_t pending;   /* async.c entries waiting on this request */
    trace_ctx trace;          /* valid only when tracing is on (ops/trace.h) */
    struct trace_span *span;  /* the server span, when sampled */
} http_reqctx;

/* --- server.c --------------------------------------------------------- */
/* 1 once a graceful shutdown has begun (readyz answers 503). */
int server_draining(void);
/* Per-worker counters that graceful shutdown waits on (loop thread only):
 * routed requests alive, and async work not yet back on its loop. */
void server_inflight_add(int worker, int delta);
void server_pending_add(int worker, int delta);

/* --- router.c --------------------------------------------------------- */
/* The root h2o handler: makes the reqctx and dispatches. */
int router_on_req(h2o_handler_t *self, h2o_req_t *req);
/* Register the route templates with metrics (before the loops start). */
void router_freeze(void);
/* Give req its reqctx (request id, in-flight count, metrics and access
 * line at the end). The root handler does this for every request; the
 * early-error filter for the ones h2o answers before routing. */
http_reqctx *router_track(h2o_req_t *req);
/* The request is being disposed of (called by the logger in server.c). */
void router_request_end(h2o_req_t *req);
/* What answers paths that no route matches (before the 404): returns 0
 * when it answered, -1 to decline. Its requests are labelled "static". */
void router_set_fallback(int (*fn)(h2o_req_t *req));
/* The reqctx of a tracked request, or NULL. */
http_reqctx *http_reqctx_of(h2o_req_t *req);

/* --- respond.c -------------------------------------------------------- */
/* Install the filter that turns h2o's own plain-text errors (413 for an
 * oversized body, decided before any handler runs) into the contract's
 * JSON envelope. */
void respond_register_filter(h2o_pathconf_t *pathconf);
/* Set X-Request-Id for this request from the client's (sanitized) or a
 * fresh random one; copies it into rc. */
void respond_set_request_id(h2o_req_t *req, http_reqctx *rc);
/* Send malloc'd text (ownership taken; freed with the request pool). */
void respond_send_owned(h2o_req_t *req, int status, const char *content_type, char *text, size_t len);

/* --- static.c --------------------------------------------------------- */
/* Load the web UI's files from root ("" = find web/ next to the binary,
 * see static.c) into memory; 0 also when none is found (UI off), -1 when
 * a configured root cannot be loaded. */
int static_load(const char *root);
void static_free(void);
/* Answer a GET/HEAD that no route matched with a web file (or index.html
 * for client-side routes): 0 when answered, -1 to decline (then 404). */
int static_serve(h2o_req_t *req);

/* --- async.c ---------------------------------------------------------- */
/* The request is over: detach every pending async entry from it. */
void async_request_gone(http_reqctx *rc);

/* --- accesslog.c ------------------------------------------------------ */
void accesslog_init(int every, int nworkers);
/* Write (buffered) the access line of a finished request. */
void accesslog_request(http_reqctx *rc, h2o_req_t *req, double seconds);
/* Per-worker: arm the flush timer, flush on exit. */
void accesslog_worker_start(int worker, h2o_loop_t *loop);
void accesslog_worker_stop(int worker);
/* "2026-11-26T05:44:37.123Z" (UTC, milliseconds); returns its length. */
size_t http_log_ts(char *out, size_t cap);

#endif
