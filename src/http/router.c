/*
 * router.c - the one h2o handler every request goes through.
 *
 * It gives each request its http_reqctx (see internal.h) and picks the
 * route_handler by method and path pattern. A few dozen routes are matched
 * linearly, segment by segment against patterns split once at
 * registration, so matching allocates nothing. The same walk tells a 405
 * (path known under other methods, listed in Allow) from a 404.
 */
#include "http/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ops/metrics.h"
#include "ops/trace.h"

#define MAX_ROUTES 128
#define MAX_SEGS 12

typedef struct {
    const char *text; /* NULL for a "{param}" segment */
    size_t len;
} seg_t;

typedef struct {
    char method[8];
    char *pattern;    /* the template, also the metrics/access-log label */
    seg_t segs[MAX_SEGS];
    int nsegs;
    route_handler fn;
    int metrics_id;
} route_t;

static route_t routes[MAX_ROUTES];
static int nroutes;
static int unmatched_metrics_id = -1;
static int (*fallback)(h2o_req_t *req);
static int fallback_metrics_id = -1;

static void die(const char *why, const char *pattern)
{
    fprintf(stderr, "router: %s: %s\n", why, pattern);
    abort();
}

void router_add(const char *method, const char *pattern, route_handler fn)
{
    if (nroutes == MAX_ROUTES)
        die("too many routes", pattern);
    if (strlen(method) >= sizeof(routes[0].method) || pattern[0] != '/')
        die("bad route", pattern);
    route_t *r = &routes[nroutes++];
    strcpy(r->method, method);
    r->pattern = strdup(pattern);
    r->fn = fn;
    r->metrics_id = -1;
    /* split "/a/{id}/b" into segments pointing into r->pattern */
    const char *p = r->pattern + 1;
    while (*p != '\0' || r->nsegs == 0) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (r->nsegs == MAX_SEGS)
            die("too many segments", pattern);
        int is_param = len >= 2 && p[0] == '{' && p[len - 1] == '}';
        r->segs[r->nsegs++] = (seg_t){is_param ? NULL : p, len};
        if (end == NULL)
            break;
        p = end + 1;
    }
}

void router_freeze(void)
{
    for (int i = 0; i < nroutes; i++)
        routes[i].metrics_id = metrics_route_id(routes[i].method, routes[i].pattern);
    unmatched_metrics_id = metrics_route_id("ANY", "unmatched");
    if (fallback != NULL)
        fallback_metrics_id = metrics_route_id("GET", "static");
}

void router_set_fallback(int (*fn)(h2o_req_t *req))
{
    fallback = fn;
}

/* No route knows the path: the fallback (the web UI's files) may answer. */
static int try_fallback(h2o_req_t *req, http_reqctx *rc)
{
    if (fallback == NULL)
        return -1;
    rc->route = fallback_metrics_id;
    rc->route_tpl = "static";
    if (fallback(req) == 0)
        return 0;
    rc->route = unmatched_metrics_id;
    rc->route_tpl = "unmatched";
    return -1;
}

char *route_param_dup(h2o_req_t *req, const route_params *p, int i)
{
    if (i < 0 || i >= p->n)
        return NULL;
    return h2o_strdup(&req->pool, p->v[i].base, p->v[i].len).base;
}

/* Match path (no query) against r; fills params on success. */
static int route_match(const route_t *r, const char *path, size_t len, route_params *params)
{
    if (len == 0 || path[0] != '/')
        return 0;
    const char *p = path + 1, *end = path + len;
    params->n = 0;
    for (int i = 0; i < r->nsegs; i++) {
        if (p > end)
            return 0;
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *segend = slash ? slash : end;
        size_t slen = (size_t)(segend - p);
        if (r->segs[i].text == NULL) {
            if (slen == 0 || params->n == ROUTE_MAX_PARAMS)
                return 0;
            params->v[params->n++] = h2o_iovec_init(p, slen);
        } else if (slen != r->segs[i].len || memcmp(p, r->segs[i].text, slen) != 0) {
            return 0;
        }
        if (slash == NULL)
            return i == r->nsegs - 1;
        p = slash + 1;
    }
    return 0; /* path has more segments than the pattern */
}

static int method_is(const route_t *r, h2o_iovec_t m)
{
    return m.len == strlen(r->method) && memcmp(m.base, r->method, m.len) == 0;
}

/* 405 with Allow listing every method the path exists under. */
static void send_not_allowed(h2o_req_t *req, const char *path, size_t len)
{
    char allow[64] = "";
    size_t used = 0;
    route_params scratch;
    for (int i = 0; i < nroutes; i++) {
        if (!route_match(&routes[i], path, len, &scratch) || strstr(allow, routes[i].method) != NULL)
            continue;
        int n = snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", routes[i].method);
        if (n > 0 && (size_t)n < sizeof(allow) - used)
            used += (size_t)n;
    }
    http_add_header(req, "allow", allow);
    http_send_error(req, E_METHOD_NOT_ALLOWED, NULL, NULL);
}

/* --- the per-request context ------------------------------------------ */

typedef struct {
    h2o_req_prefilter_t super; /* linked into req->prefilters to find rc */
    http_reqctx rc;
} reqctx_box;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* h2o is disposing of the request (our logger, see server.c): it is over. */
void router_request_end(h2o_req_t *req)
{
    http_reqctx *rc = http_reqctx_of(req);
    if (rc == NULL)
        return;
    double seconds = (double)(mono_ns() - rc->start_ns) / 1e9;
    async_request_gone(rc);
    metrics_observe_request(rc->worker, rc->route, req->res.status, seconds);
    if (rc->span != NULL) {
        trace_span_attr_int(rc->span, "http.response.status_code", req->res.status);
        rc->span->error = req->res.status >= 500;
        trace_span_end(rc->span);
        rc->span = NULL;
    }
    accesslog_request(rc, req, seconds);
    server_inflight_add(rc->worker, -1);
}

/* A response is starting: h2o's own error paths clear the headers, so put
 * X-Request-Id back if it went missing. */
static void reqctx_on_setup_ostream(h2o_req_prefilter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    reqctx_box *box = (reqctx_box *)self;
    if (h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1) == -1)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                              box->rc.request_id, box->rc.request_id_len);
    /* traceresponse for callers that take part in tracing (sent a
     * traceparent) and for recorded traces; not on every response */
    if (box->rc.trace.valid && (box->rc.trace.asked || box->rc.trace.sampled)) {
        char *tp = h2o_mem_alloc_pool(&req->pool, 56);
        trace_format_traceparent(&box->rc.trace, tp);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("traceresponse"), 0, NULL, tp, 55);
    }
    h2o_setup_next_prefilter(self, req, slot);
}

http_reqctx *http_reqctx_of(h2o_req_t *req)
{
    for (h2o_req_prefilter_t *pf = req->prefilters; pf != NULL; pf = pf->next)
        if (pf->on_setup_ostream == reqctx_on_setup_ostream)
            return &((reqctx_box *)pf)->rc;
    return NULL;
}

/* The request's trace context from its traceparent (or a new trace) and,
 * when sampled, its server span; named after the route once matched. */
static void trace_request_begin(h2o_req_t *req, http_reqctx *rc)
{
    rc->trace.valid = 0;
    rc->span = NULL;
    if (!trace_enabled())
        return;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1);
    h2o_iovec_t tp = i == -1 ? h2o_iovec_init(NULL, 0) : req->headers.entries[i].value;
    rc->span = trace_server_start(&rc->trace, tp.base, tp.len, "unmatched");
}

static void trace_request_route(http_reqctx *rc, const route_t *r)
{
    if (rc->span == NULL)
        return;
    trace_span_set_name2(rc->span, r->method, r->pattern);
    trace_span_attr_str(rc->span, "http.request.method", r->method);
    trace_span_attr_str(rc->span, "http.route", r->pattern);
}

http_reqctx *router_track(h2o_req_t *req)
{
    reqctx_box *box = h2o_mem_alloc_pool(&req->pool, sizeof(*box));
    http_reqctx *rc = &box->rc;
    rc->worker = server_worker_index();
    rc->route = unmatched_metrics_id;
    rc->route_tpl = "unmatched";
    rc->start_ns = mono_ns();
    h2o_linklist_init_anchor(&rc->pending);
    box->super.on_setup_ostream = reqctx_on_setup_ostream;
    box->super.next = req->prefilters;
    req->prefilters = &box->super;
    server_inflight_add(rc->worker, 1);
    respond_set_request_id(req, rc);
    trace_request_begin(req, rc);
    return rc;
}

int router_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    http_reqctx *rc = router_track(req);
    const char *path = req->path_normalized.base;
    size_t len = req->path_normalized.len;
    route_params params;
    int path_known = 0;

    for (int i = 0; i < nroutes; i++) {
        if (!route_match(&routes[i], path, len, &params))
            continue;
        if (!method_is(&routes[i], req->method)) {
            path_known = 1;
            continue;
        }
        rc->route = routes[i].metrics_id;
        rc->route_tpl = routes[i].pattern;
        trace_request_route(rc, &routes[i]);
        trace_set_current(&rc->trace);
        routes[i].fn(req, &params);
        trace_set_current(NULL);
        return 0;
    }
    if (path_known)
        send_not_allowed(req, path, len);
    else if (try_fallback(req, rc) != 0)
        http_send_error(req, E_NOT_FOUND, NULL, "No such route.");
    return 0;
}
