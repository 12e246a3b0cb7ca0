/*
 * respond.c - every byte the API sends goes out through here.
 *
 * One send path (send_body_gz) sets the status, content type and
 * Content-Length (so h2o never falls back to chunked encoding), gzips
 * bodies over 1 KiB for clients that accept it (core/gzip.c) unless the
 * caller has a gzip copy already (http_send_bytes_gz), and hands h2o a single
 * final buffer.
 * Buffers either live in the request pool or are malloc'd and freed by a
 * pool-dispose hook, so nothing outlives the request and nothing is copied
 * twice. Also here: the request id, and the filter that dresses h2o's own
 * early errors (413 before any handler ran) in the JSON envelope.
 */
#include "http/internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "core/gzip.h"

#define GZIP_MIN 1024
#define JSON_TYPE "application/json; charset=utf-8"

/* --- headers ----------------------------------------------------------- */

void http_add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_iovec_t n = h2o_strdup(&req->pool, name, strlen(name));
    h2o_iovec_t v = h2o_strdup(&req->pool, value, strlen(value));
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
}

static int has_res_header(h2o_req_t *req, const h2o_token_t *token)
{
    return h2o_find_header(&req->res.headers, token, -1) != -1;
}

/* --- request id -------------------------------------------------------- */

static int request_id_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == ':';
}

static size_t client_request_id(h2o_req_t *req, char *out)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i == -1)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len == 0 || v.len > 64)
        return 0;
    for (size_t k = 0; k < v.len; k++)
        if (!request_id_char_ok(v.base[k]))
            return 0;
    memcpy(out, v.base, v.len);
    return v.len;
}

/* 16 hex chars from a per-thread generator seeded once from libsodium:
 * unique enough to correlate logs, and no syscall per request. */
static size_t fresh_request_id(char *out)
{
    static __thread uint64_t state;
    static const char hex[] = "0123456789abcdef";
    if (state == 0)
        randombytes_buf(&state, sizeof(state)), state |= 1;
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    uint64_t x = state * 0x2545F4914F6CDD1DULL;
    for (int i = 0; i < 16; i++, x >>= 4)
        out[i] = hex[x & 15];
    return 16;
}

void respond_set_request_id(h2o_req_t *req, http_reqctx *rc)
{
    size_t n = client_request_id(req, rc->request_id);
    if (n == 0)
        n = fresh_request_id(rc->request_id);
    rc->request_id[n] = '\0';
    rc->request_id_len = n;
    /* rc lives in the request pool, as long as the headers do */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, rc->request_id, n);
}

/* --- gzip -------------------------------------------------------------- */

/* q=0 (also "0.0", "0.000"): the coding is refused. */
static int q_is_zero(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    if (end - p < 3 || strncasecmp(p, "q=0", 3) != 0)
        return 0;
    for (p += 3; p < end && *p != ' '; p++)
        if (*p != '.' && *p != '0')
            return 0;
    return 1;
}

/* Accept-Encoding lists "gzip" (or "*") without refusing it with q=0. */
static int accepts_gzip(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_ENCODING, -1);
    if (i == -1)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    const char *p = v.base, *end = v.base + v.len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        const char *semi = memchr(p, ';', (size_t)(item_end - p));
        h2o_iovec_t name = h2o_str_stripws(p, (size_t)((semi ? semi : item_end) - p));
        if (h2o_lcstris(name.base, name.len, H2O_STRLIT("gzip")) || h2o_memis(name.base, name.len, H2O_STRLIT("*")))
            return semi == NULL || !q_is_zero(semi + 1, item_end);
        p = item_end + 1;
    }
    return 0;
}

static void *pool_alloc(void *ctx, size_t n)
{
    return h2o_mem_alloc_pool(&((h2o_req_t *)ctx)->pool, n);
}

/* Compress into the request pool; {NULL,0} on failure (send plain). */
static h2o_iovec_t gzip_into_pool(h2o_req_t *req, const char *data, size_t len)
{
    size_t n = 0;
    char *out = gzip_into(data, len, &n, pool_alloc, req);
    return out != NULL ? h2o_iovec_init(out, n) : h2o_iovec_init(NULL, 0);
}

/* --- the one send path ------------------------------------------------- */

static h2o_generator_t oneshot_generator = {NULL, NULL};

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

static void send_body_gz(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body, http_gzip_fn gz_fn,
                         void *gz_arg)
{
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    if (status == 204 || status == 304) {
        body = h2o_iovec_init(NULL, 0);
        req->res.content_length = SIZE_MAX; /* no Content-Length at all */
    } else {
        if (content_type != NULL)
            h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, content_type, strlen(content_type), 1);
        if (body.len > GZIP_MIN && !has_res_header(req, H2O_TOKEN_CONTENT_ENCODING)) {
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("accept-encoding"));
            if (accepts_gzip(req)) {
                h2o_iovec_t gz = h2o_iovec_init(NULL, 0);
                if (gz_fn != NULL)
                    gz.base = (char *)gz_fn(gz_arg, &gz.len);
                if (gz.base == NULL)
                    gz = gzip_into_pool(req, body.base, body.len);
                if (gz.base != NULL) {
                    body = gz;
                    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_ENCODING, NULL, H2O_STRLIT("gzip"));
                }
            }
        }
        req->res.content_length = body.len;
    }
    h2o_start_response(req, &oneshot_generator);
    h2o_send(req, body.len ? &body : NULL, body.len ? 1 : 0, H2O_SEND_STATE_FINAL);
}

static void send_body(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body)
{
    send_body_gz(req, status, content_type, body, NULL, NULL);
}

static void free_owned(void *p)
{
    free(*(char **)p);
}

void respond_send_owned(h2o_req_t *req, int status, const char *content_type, char *text, size_t len)
{
    char **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), free_owned);
    *slot = text;
    send_body(req, status, content_type, h2o_iovec_init(text, len));
}

void http_send_bytes(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body)
{
    if (content_type != NULL) /* the caller's string may not outlive the call */
        content_type = h2o_strdup(&req->pool, content_type, strlen(content_type)).base;
    send_body(req, status, content_type, body);
}

void http_send_bytes_gz(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body, http_gzip_fn gz,
                        void *arg)
{
    if (content_type != NULL)
        content_type = h2o_strdup(&req->pool, content_type, strlen(content_type)).base;
    send_body_gz(req, status, content_type, body, gz, arg);
}

void http_send_json(h2o_req_t *req, int status, json_t *body)
{
    if (body == NULL) {
        send_body(req, status, JSON_TYPE, h2o_iovec_init(NULL, 0));
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        http_send_error(req, E_INTERNAL, NULL, NULL);
        return;
    }
    respond_send_owned(req, status, JSON_TYPE, text, strlen(text));
}

/* --- errors and jobs --------------------------------------------------- */

static json_t *error_envelope(err_code e, json_t *details, const char *message)
{
    json_t *inner = json_object();
    json_object_set_new(inner, "code", json_string(err_name(e)));
    json_object_set_new(inner, "message", json_string(message ? message : err_message(e)));
    if (json_is_object(details))
        json_object_update_missing(inner, details);
    json_decref(details);
    json_t *env = json_object();
    json_object_set_new(env, "error", inner);
    return env;
}

void http_send_error(h2o_req_t *req, err_code e, json_t *details, const char *message)
{
    http_send_json(req, err_http_status(e), error_envelope(e, details, message));
}

void http_send_invalid_field(h2o_req_t *req, const char *field, const char *message)
{
    http_send_error(req, E_INVALID_FIELD, json_pack("{s:s}", "field", field), message);
}

void http_send_job(h2o_req_t *req, const store_job *j)
{
    if (j->replayed && j->replay_body != NULL) {
        h2o_iovec_t copy = h2o_strdup(&req->pool, j->replay_body, strlen(j->replay_body));
        send_body(req, j->status, JSON_TYPE, copy);
        return;
    }
    if (j->err != E_OK) {
        char *text = store_job_render_body(j);
        if (text == NULL) {
            http_send_error(req, j->err, NULL, NULL);
            return;
        }
        respond_send_owned(req, err_http_status(j->err), JSON_TYPE, text, strlen(text));
        return;
    }
    int status = j->status ? j->status : 200;
    if (status == 204 || j->out == NULL) {
        send_body(req, status, JSON_TYPE, h2o_iovec_init(NULL, 0));
        return;
    }
    char *text = json_dumps(j->out, JSON_COMPACT);
    if (text == NULL) {
        http_send_error(req, E_INTERNAL, NULL, NULL);
        return;
    }
    respond_send_owned(req, status, JSON_TYPE, text, strlen(text));
}

/* --- h2o's own errors in the contract's shape --------------------------- */

/* h2o answers an oversized body itself (before any handler, with
 * h2o_send_error_generic on the host's fallback path): swap its text for
 * the JSON envelope. Only 413 is rewritten; h2o's other early errors
 * (malformed request lines) close the connection anyway. */
typedef struct {
    h2o_ostream_t super;
    h2o_iovec_t body;
} swap_ostream;

static void swap_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t cnt, h2o_send_state_t state)
{
    swap_ostream *s = (swap_ostream *)self;
    if (cnt != 0 && s->body.base != NULL) {
        h2o_ostream_send_next(self, req, &s->body, 1, state);
        s->body = h2o_iovec_init(NULL, 0);
        return;
    }
    h2o_ostream_send_next(self, req, NULL, 0, state);
}

static void early_error_on_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    if (req->res.status == 413 && http_reqctx_of(req) == NULL) {
        static const char body[] = "{\"error\":{\"code\":\"payload_too_large\","
                                   "\"message\":\"The request body is larger than 1 MiB.\"}}";
        router_track(req); /* request id, metrics and access line like any other */
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT(JSON_TYPE), 1);
        req->res.content_length = sizeof(body) - 1;
        swap_ostream *s = (swap_ostream *)h2o_add_ostream(req, sizeof(*s), slot);
        s->super.do_send = swap_do_send;
        s->body = h2o_iovec_init(body, sizeof(body) - 1);
        slot = &s->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void respond_register_filter(h2o_pathconf_t *pathconf)
{
    h2o_filter_t *f = h2o_create_filter(pathconf, sizeof(*f));
    f->on_setup_ostream = early_error_on_setup;
}
