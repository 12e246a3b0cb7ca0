/*
 * browse.c - the public read path: listings, event pages and seat views.
 *
 * These are most of the traffic in a ticket drop, so they are answered
 * from memory without a store round trip: the catalog snapshot
 * (booking/catalog.c) holds the published events with their JSON pre-made,
 * and the seat maps (booking/seatmap.c) hold availability and the seat
 * views rendered once per version. Handlers here only pick, filter and
 * concatenate bytes; event pages and listings are cached once rendered (in
 * the catalog snapshot, with their gzip copy: booking/catalog.h) and reused
 * while the seat-map state (pages: version and install) or the exact
 * content (listings: the entries shown and their availability) is
 * unchanged. The store is used only as a fallback: for drafts
 * (members may see them), and to load a published event's map that is not
 * in memory yet.
 *
 * Seat views exist only for published events (unknown or draft: 404).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "api/live.h"
#include "booking/catalog.h"
#include "booking/seatmap.h"
#include "core/util.h"
#include "http/http.h"

#define JSON_TYPE "application/json; charset=utf-8"
#define LIST_DEFAULT 20
#define LIST_MAX 100

/* --- shared bits ------------------------------------------------------- */

void browse_load_seatmap(h2o_req_t *req, const char *event_id, void *ctx, api_done_fn done)
{
    store_job *j = store_job_new(OP_SEATMAP_LOAD, NULL);
    json_object_set_new(j->args, "event_id", json_string(event_id));
    j->ctx = ctx;
    api_submit(req, j, done);
}

static h2o_iovec_t pool_printf(h2o_req_t *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static h2o_iovec_t pool_printf(h2o_req_t *req, const char *fmt, ...)
{
    char *buf = h2o_mem_alloc_pool(&req->pool, 128);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, 128, fmt, ap);
    va_end(ap);
    return h2o_iovec_init(buf, n < 0 ? 0 : n >= 128 ? 127 : (size_t)n);
}

/* Next comma-separated item of a header value, trimmed; 0 at the end. */
static int next_item(h2o_iovec_t v, size_t *k, h2o_iovec_t *item)
{
    while (*k < v.len && (v.base[*k] == ' ' || v.base[*k] == '\t' || v.base[*k] == ','))
        (*k)++;
    if (*k >= v.len)
        return 0;
    size_t start = *k;
    while (*k < v.len && v.base[*k] != ',')
        (*k)++;
    size_t end = *k;
    while (end > start && (v.base[end - 1] == ' ' || v.base[end - 1] == '\t'))
        end--;
    *item = h2o_iovec_init(v.base + start, end - start);
    return 1;
}

static int header_value(h2o_req_t *req, const h2o_token_t *t, h2o_iovec_t *v)
{
    ssize_t i = h2o_find_header(&req->headers, t, -1);
    if (i == -1)
        return 0;
    *v = req->headers.entries[i].value;
    return 1;
}

/* --- seat views -------------------------------------------------------- */

static void body_release(void *slot)
{
    seatmap_body_unref(*(seatmap_body **)slot);
}

/* If-None-Match: "*" or a list of (weak or strong) tags, compared weakly. */
static int etag_matches(h2o_req_t *req, const char *etag)
{
    h2o_iovec_t v, item;
    size_t k = 0, elen = strlen(etag);
    if (!header_value(req, H2O_TOKEN_IF_NONE_MATCH, &v))
        return 0;
    while (next_item(v, &k, &item)) {
        if (item.len >= 2 && item.base[0] == 'W' && item.base[1] == '/')
            item.base += 2, item.len -= 2;
        if ((item.len == 1 && item.base[0] == '*') || h2o_memis(item.base, item.len, etag, elen))
            return 1;
    }
    return 0;
}

static void add_const_header(h2o_req_t *req, const h2o_token_t *t, const char *v)
{
    h2o_add_header(&req->pool, &req->res.headers, t, NULL, v, strlen(v));
}

/* The body lives until the response is gone (h2o keeps pointers into it,
 * the ETag among them): the request pool drops the caller's reference. */
static void keep_until_sent(h2o_req_t *req, seatmap_body *b)
{
    seatmap_body **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), body_release);
    *slot = b;
}

static const char *rendered_gzip(void *arg, size_t *len)
{
    return seatmap_body_gzip(arg, len);
}

/* 200 with a body rendered once and cached (seat views, event pages,
 * listings): the HTTP layer negotiates gzip and takes the body's own gzip
 * copy, made once per body. Small bodies get Vary too: the same URL may be
 * gzipped at another version. */
static void send_body(h2o_req_t *req, seatmap_body *b)
{
    if (b->len <= 1024)
        add_const_header(req, H2O_TOKEN_VARY, "accept-encoding");
    http_send_bytes_gz(req, 200, JSON_TYPE, h2o_iovec_init(b->data, b->len), rendered_gzip, b);
}

/* A seat view, with its ETag (304 when the client has it). Takes over the
 * caller's reference. */
static void send_cached(h2o_req_t *req, seatmap_body *b)
{
    keep_until_sent(req, b);
    add_const_header(req, H2O_TOKEN_ETAG, b->etag);
    add_const_header(req, H2O_TOKEN_CACHE_CONTROL, "no-cache");
    if (etag_matches(req, b->etag)) {
        add_const_header(req, H2O_TOKEN_VARY, "accept-encoding");
        http_send_bytes(req, 304, NULL, h2o_iovec_init(NULL, 0));
        return;
    }
    send_body(req, b);
}

typedef struct {
    char *event_id;
    seatmap_view view;
    int load_tried;
} seats_req;

static void seats_serve(h2o_req_t *req, seats_req *s);

static void seats_loaded(h2o_req_t *req, store_job *j)
{
    if (j->err != E_OK) {
        http_send_job(req, j);
        return;
    }
    seats_serve(req, j->ctx);
}

static void seats_serve(h2o_req_t *req, seats_req *s)
{
    seatmap_body *b = seatmap_view_get(s->event_id, s->view);
    if (b != NULL) {
        send_cached(req, b);
    } else if (s->load_tried) {
        http_send_error(req, E_NOT_FOUND, NULL, NULL);
    } else {
        s->load_tried = 1;
        browse_load_seatmap(req, s->event_id, s, seats_loaded);
    }
}

static int on_seats(h2o_req_t *req, const route_params *p)
{
    seats_req *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));
    s->event_id = route_param_dup(req, p, 0);
    s->load_tried = 0;
    const char *view = http_query_param(req, "view");
    if (view == NULL || strcmp(view, "full") == 0) {
        s->view = SEATMAP_VIEW_FULL;
    } else if (strcmp(view, "compact") == 0) {
        s->view = SEATMAP_VIEW_COMPACT;
    } else {
        http_send_invalid_field(req, "view", "view must be \"compact\" or \"full\"");
        return 0;
    }
    seats_serve(req, s);
    return 0;
}

/* --- rendered bodies (event pages, listings) ---------------------------- */

/* 200 with a body rendered here and cached in the catalog. Takes over
 * the caller's reference. */
static void send_rendered(h2o_req_t *req, seatmap_body *b)
{
    keep_until_sent(req, b);
    send_body(req, b);
}

static seatmap_body *body_concat(const h2o_iovec_t *parts, size_t n, int64_t version)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += parts[i].len;
    char *data = malloc(len + 1);
    if (data == NULL)
        abort();
    char *p = data;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, parts[i].base, parts[i].len);
        p += parts[i].len;
    }
    *p = '\0';
    return seatmap_body_new(data, len, version);
}

/* --- the event page ---------------------------------------------------- */

typedef struct {
    char *event_id;
    int load_tried;
} page_req;

static void page_serve(h2o_req_t *req, page_req *pr);

/* Not from memory: drafts (shown to members only), unknown events, or a
 * published map that would not load. The store decides, with the caller's
 * token when there is one. */
static void page_from_store(h2o_req_t *req, const char *event_id)
{
    store_job *j = store_job_new(OP_EVENT_GET, NULL);
    j->has_token = http_token_hash(req, j->token_hash);
    json_object_set_new(j->args, "event_id", json_string(event_id));
    api_submit(req, j, NULL);
}

static void page_loaded(h2o_req_t *req, store_job *j)
{
    page_req *pr = j->ctx;
    if (j->err != E_OK)
        page_from_store(req, pr->event_id);
    else
        page_serve(req, pr);
}

/* The page's gzip copy in two chunks: the event's fixed part, deflated
 * once, and what changes with every sale (tiers, availability), sent as a
 * stored block: a few hundred bytes that deflate would shrink by a few
 * dozen, for ~35,000 instructions at every version. */
static void page_chunk(seatmap_body *b, const catalog_entry *e)
{
    size_t *cuts = malloc(2 * sizeof(*cuts));
    unsigned char *stored = malloc(2);
    if (cuts == NULL || stored == NULL)
        abort();
    cuts[0] = e->page_head_len;
    cuts[1] = b->len;
    stored[0] = 0;
    stored[1] = 1;
    seatmap_body_set_chunks(b, cuts, stored, 2, seatmap_page_chunks(e->id));
}

/* 0 when answered from memory. */
static int page_from_memory(h2o_req_t *req, catalog *c, const catalog_entry *e)
{
    seatmap_counts n;
    seatmap_body *b = seatmap_get_counts(e->id, &n) == 0 ? catalog_page_get(c, e, &n) : NULL;
    if (b != NULL) {
        send_rendered(req, b);
        return 0;
    }
    char *tiers = seatmap_tiers_json(e->id, &n);
    if (tiers == NULL)
        return -1;
    h2o_iovec_t parts[] = {
        h2o_iovec_init(e->page_head, e->page_head_len),
        h2o_iovec_init(H2O_STRLIT("\"ga_tiers\":")),
        h2o_iovec_init(tiers, strlen(tiers)),
        pool_printf(req, ",\"availability\":{\"seats_free\":%d,\"seats_held\":%d,\"seats_sold\":%d}}",
                    n.seats_free, n.seats_held, n.seats_sold),
    };
    b = body_concat(parts, sizeof(parts) / sizeof(parts[0]), n.version);
    free(tiers);
    page_chunk(b, e);
    catalog_page_put(c, e, &n, b);
    send_rendered(req, b);
    return 0;
}

static void page_serve(h2o_req_t *req, page_req *pr)
{
    catalog *c = catalog_acquire();
    const catalog_entry *e = catalog_find(c, pr->event_id);
    int answered = e != NULL && page_from_memory(req, c, e) == 0;
    catalog_release(c);
    if (answered)
        return;
    if (e != NULL && !pr->load_tried) {
        pr->load_tried = 1;
        browse_load_seatmap(req, pr->event_id, pr, page_loaded);
        return;
    }
    page_from_store(req, pr->event_id);
}

static int on_event(h2o_req_t *req, const route_params *p)
{
    page_req *pr = h2o_mem_alloc_pool(&req->pool, sizeof(*pr));
    pr->event_id = route_param_dup(req, p, 0);
    pr->load_tried = 0;
    page_serve(req, pr);
    return 0;
}

/* --- listings ---------------------------------------------------------- */

typedef struct {
    const char *city_lc, *q_lc;      /* NULL: no filter */
    int64_t from, to;                /* INT64_MIN / INT64_MAX: open */
    int limit;
    int has_cursor;
    int64_t cursor_ms;
    const char *cursor_id;
    int loads_pending, loads_done;   /* seat maps being loaded first */
} list_req;

static char *pool_folded(h2o_req_t *req, const char *s)
{
    char *d = api_pool_strdup(req, s, strlen(s));
    catalog_fold_case(d);
    return d;
}

static int parse_limit(const char *s, int *out)
{
    if (s == NULL) {
        *out = LIST_DEFAULT;
        return 0;
    }
    if (*s == '\0' || strlen(s) > 4 || strspn(s, "0123456789") != strlen(s))
        return -1;
    *out = atoi(s);
    return *out >= 1 && *out <= LIST_MAX ? 0 : -1;
}

/* The cursor is base64url("<starts_at_ms>:<id>") of the last item shown. */
static int parse_cursor(h2o_req_t *req, const char *s, list_req *l)
{
    h2o_iovec_t raw = h2o_decode_base64url(&req->pool, s, strlen(s));
    if (raw.base == NULL || raw.len == 0 || raw.len > 128)
        return -1;
    char *text = h2o_mem_alloc_pool(&req->pool, raw.len + 1);
    memcpy(text, raw.base, raw.len);
    text[raw.len] = '\0';
    char *colon = strchr(text, ':'), *end;
    if (colon == NULL || colon == text || colon[1] == '\0' || strlen(text) != raw.len)
        return -1;
    *colon = '\0';
    l->cursor_ms = strtoll(text, &end, 10);
    if (*end != '\0')
        return -1;
    l->cursor_id = colon + 1;
    l->has_cursor = 1;
    return 0;
}

static int parse_time_param(h2o_req_t *req, const char *name, int64_t *out)
{
    const char *s = http_query_param(req, name);
    if (s == NULL)
        return 0;
    if (time_parse(s, out) != 0) {
        http_send_invalid_field(req, name, "must be an RFC 3339 time");
        return -1;
    }
    return 0;
}

/* -1 after answering 422. */
static int parse_list(h2o_req_t *req, list_req *l)
{
    memset(l, 0, sizeof(*l));
    l->from = INT64_MIN;
    l->to = INT64_MAX;
    const char *city = http_query_param(req, "city"), *q = http_query_param(req, "q");
    l->city_lc = city && *city ? pool_folded(req, city) : NULL;
    l->q_lc = q && *q ? pool_folded(req, q) : NULL;
    if (parse_time_param(req, "from", &l->from) != 0 || parse_time_param(req, "to", &l->to) != 0)
        return -1;
    if (parse_limit(http_query_param(req, "limit"), &l->limit) != 0) {
        http_send_invalid_field(req, "limit", "limit must be an integer from 1 to 100");
        return -1;
    }
    const char *cursor = http_query_param(req, "cursor");
    if (cursor != NULL && *cursor != '\0' && parse_cursor(req, cursor, l) != 0) {
        http_send_invalid_field(req, "cursor", "invalid cursor");
        return -1;
    }
    return 0;
}

static int entry_matches(const list_req *l, const catalog_entry *e)
{
    return (l->city_lc == NULL || strcmp(e->city_lc, l->city_lc) == 0) &&
           (l->q_lc == NULL || strstr(e->title_lc, l->q_lc) != NULL);
}

/* Up to limit + 1 matching entries (the extra one says "there is more"). */
static size_t list_select(const list_req *l, const catalog *c, const catalog_entry **out)
{
    size_t n, found = 0;
    const catalog_entry *all = catalog_entries(c, &n);
    int64_t lower = now_ms() + 1; /* not started yet */
    if (l->from > lower)
        lower = l->from;
    size_t i = catalog_seek(c, lower, NULL);
    if (l->has_cursor) {
        size_t k = catalog_seek(c, l->cursor_ms, l->cursor_id);
        if (k > i)
            i = k;
    }
    for (; i < n && all[i].starts_at_ms <= l->to && found <= (size_t)l->limit; i++)
        if (entry_matches(l, &all[i]))
            out[found++] = &all[i];
    return found;
}

static int entry_available(const catalog_entry *e)
{
    seatmap_counts n;
    if (seatmap_get_counts(e->id, &n) != 0)
        return e->ga_available; /* map would not load: GA only */
    return n.seats_free + n.tiers_available;
}

static h2o_iovec_t make_cursor(h2o_req_t *req, const catalog_entry *e)
{
    char raw[160];
    int n = snprintf(raw, sizeof(raw), "%lld:%s", (long long)e->starts_at_ms, e->id);
    if (n < 0 || (size_t)n >= sizeof(raw))
        n = sizeof(raw) - 1;
    char *enc = h2o_mem_alloc_pool(&req->pool, h2o_base64_encode_capacity((size_t)n) + 2);
    size_t len = h2o_base64_encode(enc + 1, raw, (size_t)n, 1);
    enc[0] = '"';
    enc[len + 1] = '"';
    return h2o_iovec_init(enc, len + 2);
}

/* The body is a function of the entries shown, their availability and
 * whether there is more (the cursor): that is its cache key. */
static void list_render(h2o_req_t *req, const list_req *l, catalog *c, const catalog_entry **items, size_t found)
{
    size_t shown = found > (size_t)l->limit ? (size_t)l->limit : found, n;
    const catalog_entry *all = catalog_entries(c, &n);
    int64_t *key = h2o_mem_alloc_pool(&req->pool, sizeof(*key) * (shown * 2 + 1));
    size_t nkey = 0;
    key[nkey++] = found > shown;
    for (size_t i = 0; i < shown; i++) {
        key[nkey++] = items[i] - all;
        key[nkey++] = entry_available(items[i]);
    }
    seatmap_body *b = catalog_list_get(c, key, nkey);
    if (b != NULL) {
        send_rendered(req, b);
        return;
    }
    h2o_iovec_t *parts = h2o_mem_alloc_pool(&req->pool, sizeof(*parts) * (shown * 2 + 4));
    size_t np = 0;
    parts[np++] = h2o_iovec_init(H2O_STRLIT("{\"items\":["));
    for (size_t i = 0; i < shown; i++) {
        parts[np++] = h2o_iovec_init(items[i]->item_head, items[i]->item_head_len);
        parts[np++] = pool_printf(req, i + 1 < shown ? "%d}," : "%d}", (int)key[2 + i * 2]);
    }
    parts[np++] = h2o_iovec_init(H2O_STRLIT("],\"next_cursor\":"));
    parts[np++] = found > shown ? make_cursor(req, items[shown - 1]) : h2o_iovec_init(H2O_STRLIT("null"));
    parts[np++] = h2o_iovec_init(H2O_STRLIT("}"));
    b = body_concat(parts, np, 0);
    catalog_list_put(c, key, nkey, b);
    send_rendered(req, b);
}

static void list_serve(h2o_req_t *req, list_req *l);

static void list_map_loaded(h2o_req_t *req, store_job *j)
{
    list_req *l = j->ctx;
    if (--l->loads_pending == 0)
        list_serve(req, l);
}

/* Ask the store for the maps the page lacks (once); 1 when waiting. */
static int list_load_missing(h2o_req_t *req, list_req *l, const catalog_entry **items, size_t shown)
{
    if (l->loads_done)
        return 0;
    l->loads_done = 1;
    for (size_t i = 0; i < shown; i++) {
        if (seatmap_has(items[i]->id))
            continue;
        l->loads_pending++;
        browse_load_seatmap(req, items[i]->id, l, list_map_loaded);
    }
    return l->loads_pending > 0;
}

static void list_serve(h2o_req_t *req, list_req *l)
{
    const catalog_entry **items = h2o_mem_alloc_pool(&req->pool, sizeof(*items) * ((size_t)l->limit + 1));
    catalog *c = catalog_acquire();
    size_t found = list_select(l, c, items);
    size_t shown = found > (size_t)l->limit ? (size_t)l->limit : found;
    if (!list_load_missing(req, l, items, shown))
        list_render(req, l, c, items, found);
    catalog_release(c);
}

static int on_list(h2o_req_t *req, const route_params *p)
{
    list_req *l = h2o_mem_alloc_pool(&req->pool, sizeof(*l));
    if (parse_list(req, l) == 0)
        list_serve(req, l);
    return 0;
}

void api_browse_register(void)
{
    router_add("GET", "/api/v1/events", on_list);
    router_add("GET", "/api/v1/events/{id}", on_event);
    router_add("GET", "/api/v1/events/{id}/seats", on_seats);
}
