/*
 * http.h - what the HTTP layer offers to API handlers.
 *
 * The server (http/server.c) runs one h2o event loop per worker thread, all
 * accepting on one listening socket, HTTP/1.1 only. Requests are routed by
 * http/router.c on method + path pattern to a route_handler; handlers answer
 * with the http_send_* helpers below, at once or later from a task's done
 * callback (never from another thread).
 *
 * Everything in this header is called on a worker loop thread.
 */
#ifndef TIXIN_HTTP_HTTP_H
#define TIXIN_HTTP_HTTP_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <jansson.h>
#include "core/errors.h"
#include "store/store.h"

/* --- routing --------------------------------------------------------- */

#define ROUTE_MAX_PARAMS 4
/* Path parameters captured from "{name}" segments, in pattern order.
 * Values point into the request's path (not NUL-terminated; use
 * route_param_dup() for a C string in the request pool). */
typedef struct {
    int n;
    h2o_iovec_t v[ROUTE_MAX_PARAMS];
} route_params;

typedef int (*route_handler)(h2o_req_t *req, const route_params *p);

/* Register a route: method "GET"/"POST"/"PATCH"/"DELETE"; pattern like
 * "/api/v1/events/{id}/holds". A path that matches a pattern under another
 * method gets 405 method_not_allowed (with Allow); no pattern: 404. Query
 * strings are ignored for matching. Call before the server starts. */
void router_add(const char *method, const char *pattern, route_handler fn);
/* NUL-terminated copy of param i in the request pool. */
char *route_param_dup(h2o_req_t *req, const route_params *p, int i);

/* --- request helpers ------------------------------------------------- */

/* Parse the body as a JSON object. On failure (empty body, malformed
 * JSON, or valid JSON that is not an object) sends 400 invalid_json and
 * returns -1; on success returns 0 and *out is a new reference the caller
 * owns. */
int http_read_json(h2o_req_t *req, json_t **out);
/* Bearer token from "Authorization: Bearer X" (or the "tixin_session"
 * cookie). Writes the hex SHA-256 of it into hash and returns 1; 0 when
 * there is no token. CSRF: on methods other than GET/HEAD the cookie
 * counts only with an X-Requested-With header and, if an Origin header is
 * sent, an Origin naming this server. */
int http_token_hash(h2o_req_t *req, char hash[65]);
/* Value of a query parameter, URL-decoded, in the request pool; NULL when
 * absent. */
char *http_query_param(h2o_req_t *req, const char *name);
/* A request header value (name lower-case), or NULL. Pool-allocated. */
char *http_header(h2o_req_t *req, const char *name);

/* --- responses ------------------------------------------------------- */

/* Send JSON. Steals body (NULL: no body, e.g. 204). Gzips when the client
 * accepts it and the body is over 1 KiB. */
void http_send_json(h2o_req_t *req, int status, json_t *body);
/* Send prepared bytes (must live until the response is sent: pool memory
 * or static). content_type e.g. "image/svg+xml". */
void http_send_bytes(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body);
/* The same, for bytes that also exist gzipped (e.g. a cached rendering):
 * where http_send_bytes would compress, gz(arg, &len) is asked for the
 * gzip copy instead (it must live as long as body; NULL: compress here).
 * Headers are exactly those of http_send_bytes. */
typedef const char *(*http_gzip_fn)(void *arg, size_t *len);
void http_send_bytes_gz(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body, http_gzip_fn gz,
                        void *arg);
/* Send the error envelope {"error": {code, message, ...details}}; steals
 * details (may be NULL); message NULL means err_message(e). */
void http_send_error(h2o_req_t *req, err_code e, json_t *details, const char *message);
/* 422 invalid_field with "field": field and the given message. */
void http_send_invalid_field(h2o_req_t *req, const char *field, const char *message);
/* Answer with a finished store job: its replay body, its out (success) or
 * its error envelope. Does not free the job. */
void http_send_job(h2o_req_t *req, const store_job *j);
/* Add a response header (name lower-case, both copied into the pool). */
void http_add_header(h2o_req_t *req, const char *name, const char *value);

/* --- async ----------------------------------------------------------- */

/* Submit a store job for this request. When it finishes, done(req, j) runs
 * on this loop if the request is still alive (otherwise only the job is
 * freed, with store_job_free: anything malloc'd that hangs off j->ctx is
 * then not freed, so keep j->ctx in the request pool). done == NULL means
 * "http_send_job". j->ctx is borrowed while the job is out and is the
 * caller's value again when done runs. The job is freed after done
 * returns: done must neither free nor keep it (copy what it needs). */
typedef void (*api_done_fn)(h2o_req_t *req, store_job *j);
void api_submit(h2o_req_t *req, store_job *j, api_done_fn done);

/* Same for CPU work on the pool (core/task.h): run(pt) on a pool thread,
 * then done(req, pt) on this loop if the request is alive. pt is freed with
 * free() after done returns; embed pool_task_t first in a larger struct to
 * carry data. */
typedef void (*api_pool_done_fn)(h2o_req_t *req, pool_task_t *pt);
void api_pool_submit(h2o_req_t *req, pool_task_t *pt, api_pool_done_fn done);

/* The process-wide store (set by serve before the loops start). */
store_t *api_store(void);
void api_set_store(store_t *s);

#endif
