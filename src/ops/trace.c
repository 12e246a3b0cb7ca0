/*
 * trace.c - trace contexts, spans, and their export over OTLP/HTTP JSON.
 *
 * Request threads only ever copy a finished span into the current half of
 * a double buffer under a mutex held for that copy (no I/O, no allocation
 * under it); when the half is full the span is dropped and counted. One
 * exporter thread swaps the halves (every second, or sooner when one is
 * half full), encodes the other half as one OTLP ExportTraceServiceRequest
 * in JSON and POSTs it.
 *
 * The POST is a plain blocking HTTP/1.1 request on a socket with 2 s
 * timeouts, one connection per batch: the only caller is the exporter
 * thread, batches go out at most a few times a second, and the receiver is
 * a local collector or agent. h2o's client would need an event loop in
 * that thread for no gain; a blocked exporter delays only spans, never a
 * request (the queue then drops and counts).
 */
#include "ops/trace.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "core/log.h"
#include "ops/metrics.h"
#include "core/textbuf.h"

#define QUEUE_CAP 4096
#define FLUSH_MS 1000
#define IO_TIMEOUT_S 2

static struct {
    int on;
    double ratio;
    char host[256], port[8], path[256];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    trace_span *half[2]; /* [QUEUE_CAP] each */
    size_t len;          /* used in half[cur] */
    int cur;
    int stopping;
} ex = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static __thread const trace_ctx *current;

/* --- ids and time ------------------------------------------------------- */

/* xorshift64* per thread, seeded from the kernel: ids need to be unique,
 * not secret, and getrandom() per request would be a syscall each. */
static uint64_t rnd(void)
{
    static __thread uint64_t state;
    while (state == 0 && getrandom(&state, sizeof(state), 0) != sizeof(state))
        ;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

static void rnd_bytes(uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rnd();
        memcpy(out + i, &v, n - i < 8 ? n - i : 8);
    }
}

static int all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void new_span_id(uint8_t id[8])
{
    do
        rnd_bytes(id, 8);
    while (all_zero(id, 8));
}

static int64_t unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- hex and traceparent --------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* the spec allows lower case only */
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = unhex_digit(s[2 * i]), lo = unhex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* W3C Trace Context: "vv-<32 hex>-<16 hex>-ff"; a future version may
 * append "-..." fields. 0 and *out filled when valid. */
static int parse_traceparent(const char *s, size_t len, trace_ctx *out, uint8_t parent[8])
{
    uint8_t version, flags;
    if (s == NULL || len < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return -1;
    if (unhex(s, &version, 1) != 0 || version == 0xff || (version == 0 && len != 55) || (len > 55 && s[55] != '-'))
        return -1;
    if (unhex(s + 3, out->trace_id, 16) != 0 || unhex(s + 36, parent, 8) != 0 || unhex(s + 53, &flags, 1) != 0)
        return -1;
    if (all_zero(out->trace_id, 16) || all_zero(parent, 8))
        return -1;
    out->sampled = flags & 1;
    return 0;
}

void trace_format_traceparent(const trace_ctx *c, char out[56])
{
    memcpy(out, "00-", 3);
    hex(c->trace_id, 16, out + 3);
    out[35] = '-';
    hex(c->span_id, 8, out + 36);
    out[52] = '-';
    memcpy(out + 53, c->sampled ? "01" : "00", 3);
}

void trace_id_hex(const trace_ctx *c, char out[33])
{
    hex(c->trace_id, 16, out);
}

/* --- spans ---------------------------------------------------------------- */

int trace_enabled(void)
{
    return ex.on;
}

const trace_ctx *trace_current(void)
{
    return current;
}

void trace_set_current(const trace_ctx *c)
{
    current = c;
}

static trace_span *span_new(const trace_ctx *ctx, const uint8_t *parent, const char *name, int kind)
{
    trace_span *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->ctx = *ctx;
    if (parent != NULL) {
        memcpy(s->parent_span_id, parent, 8);
        s->has_parent = 1;
    }
    s->kind = (uint8_t)kind;
    trace_span_set_name(s, name);
    s->start_ns = unix_ns();
    return s;
}

trace_span *trace_server_start(trace_ctx *ctx, const char *traceparent, size_t len, const char *name)
{
    uint8_t parent[8];
    int has_parent = parse_traceparent(traceparent, len, ctx, parent) == 0;
    if (!has_parent) {
        do
            rnd_bytes(ctx->trace_id, 16);
        while (all_zero(ctx->trace_id, 16));
        ctx->sampled = ex.ratio >= 1 || (double)(rnd() >> 11) * 0x1.0p-53 < ex.ratio;
    }
    new_span_id(ctx->span_id);
    ctx->valid = 1;
    ctx->asked = traceparent != NULL;
    return ctx->sampled ? span_new(ctx, has_parent ? parent : NULL, name, TRACE_SERVER) : NULL;
}

trace_span *trace_span_start(const trace_ctx *parent, const char *name, int kind)
{
    if (!ex.on || parent == NULL || !parent->valid || !parent->sampled)
        return NULL;
    trace_ctx ctx = *parent;
    new_span_id(ctx.span_id);
    return span_new(&ctx, parent->span_id, name, kind);
}

/* Bounded copy, cut at cap - 1 (span names and values are short). */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void trace_span_set_name(trace_span *s, const char *name)
{
    if (s != NULL)
        copy_str(s->name, sizeof(s->name), name);
}

void trace_span_set_name2(trace_span *s, const char *a, const char *b)
{
    if (s == NULL)
        return;
    copy_str(s->name, sizeof(s->name), a);
    size_t n = strlen(s->name);
    if (n + 1 < sizeof(s->name)) {
        s->name[n] = ' ';
        copy_str(s->name + n + 1, sizeof(s->name) - n - 1, b);
    }
}

static void *attr_slot(trace_span *s, const char *key)
{
    if (s == NULL || s->nattrs == TRACE_MAX_ATTRS)
        return NULL;
    s->attrs[s->nattrs].key = key;
    return &s->attrs[s->nattrs++];
}

void trace_span_attr_str(trace_span *s, const char *key, const char *value)
{
    if (attr_slot(s, key) != NULL)
        copy_str(s->attrs[s->nattrs - 1].s, sizeof(s->attrs[0].s), value);
}

void trace_span_attr_int(trace_span *s, const char *key, int64_t value)
{
    if (attr_slot(s, key) != NULL) {
        s->attrs[s->nattrs - 1].is_int = 1;
        s->attrs[s->nattrs - 1].i = value;
    }
}

void trace_span_parent(const trace_span *s, trace_ctx *out)
{
    *out = s->ctx;
    memcpy(out->span_id, s->parent_span_id, 8);
}

void trace_span_end(trace_span *s)
{
    if (s == NULL)
        return;
    s->end_ns = unix_ns();
    int queued = 0, wake = 0;
    pthread_mutex_lock(&ex.mu);
    if (ex.half[ex.cur] != NULL && ex.len < QUEUE_CAP && !ex.stopping) {
        ex.half[ex.cur][ex.len++] = *s;
        queued = 1;
        wake = ex.len == QUEUE_CAP / 2;
    }
    pthread_mutex_unlock(&ex.mu);
    if (wake)
        pthread_cond_signal(&ex.cv);
    if (!queued)
        metrics_count("tixin_trace_spans_dropped_total", 1);
    free(s);
}

/* --- OTLP JSON ------------------------------------------------------------ */

/* Written by hand, neither with jansson nor printf: at 100% sampling the
 * exporter encodes tens of thousands of spans a second, and a tree of
 * small allocations (jansson) or printf's format machinery per span made
 * it the busiest thread after the loops. Names and attribute values still
 * go through the JSON string escaper. */
#define PUT_LIT(t, lit) textbuf_put((t), (lit), sizeof(lit) - 1)

static void encode_attrs(textbuf *t, const trace_span *s)
{
    PUT_LIT(t, "[");
    for (int i = 0; i < s->nattrs; i++) {
        PUT_LIT(t, "{\"key\":");
        textbuf_json_str(t, s->attrs[i].key);
        if (s->attrs[i].is_int) { /* int64 travels as a string in OTLP JSON */
            PUT_LIT(t, ",\"value\":{\"intValue\":\"");
            textbuf_int(t, s->attrs[i].i);
            PUT_LIT(t, "\"}}");
        } else {
            PUT_LIT(t, ",\"value\":{\"stringValue\":");
            textbuf_json_str(t, s->attrs[i].s);
            PUT_LIT(t, "}}");
        }
        if (i + 1 < s->nattrs)
            PUT_LIT(t, ",");
    }
    PUT_LIT(t, "]");
}

static void put_hex(textbuf *t, const uint8_t *b, size_t n)
{
    char h[33];
    hex(b, n, h);
    textbuf_put(t, h, 2 * n);
}

static void encode_span(textbuf *t, const trace_span *s)
{
    PUT_LIT(t, "{\"traceId\":\"");
    put_hex(t, s->ctx.trace_id, 16);
    PUT_LIT(t, "\",\"spanId\":\"");
    put_hex(t, s->ctx.span_id, 8);
    if (s->has_parent) {
        PUT_LIT(t, "\",\"parentSpanId\":\"");
        put_hex(t, s->parent_span_id, 8);
    }
    PUT_LIT(t, "\",\"name\":");
    textbuf_json_str(t, s->name);
    PUT_LIT(t, ",\"kind\":");
    textbuf_int(t, s->kind);
    PUT_LIT(t, ",\"startTimeUnixNano\":\"");
    textbuf_int(t, s->start_ns);
    PUT_LIT(t, "\",\"endTimeUnixNano\":\"");
    textbuf_int(t, s->end_ns);
    PUT_LIT(t, "\",\"attributes\":");
    encode_attrs(t, s);
    PUT_LIT(t, ",\"status\":{\"code\":");
    textbuf_int(t, s->error ? 2 : 0);
    PUT_LIT(t, "}}");
}

/* One ExportTraceServiceRequest with every span under one resource. */
static char *encode_batch(const trace_span *spans, size_t n, size_t *len)
{
    textbuf t;
    if (textbuf_init(&t, 512 + n * 400) != 0)
        return NULL;
    textbuf_printf(&t,
                   "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
                   "\"value\":{\"stringValue\":\"tixin\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"tixin\","
                   "\"version\":\"%s\"},\"spans\":[",
                   TIXIN_VERSION);
    for (size_t i = 0; i < n; i++) {
        if (i)
            textbuf_put(&t, ",", 1);
        encode_span(&t, &spans[i]);
    }
    PUT_LIT(&t, "]}]}]}");
    return textbuf_take(&t, len);
}

/* --- the POST ------------------------------------------------------------- */

static int connect_endpoint(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(ex.host, ex.port, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {IO_TIMEOUT_S, 0};
    if (fd != -1 && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
                     setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
                     connect(fd, res->ai_addr, res->ai_addrlen) != 0)) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0 && errno != EINTR)
            return -1;
        if (w > 0)
            p += w, n -= (size_t)w;
    }
    return 0;
}

/* The response's status code, or -1. */
static int read_status(int fd)
{
    char buf[512];
    size_t got = 0;
    while (got < sizeof(buf) - 1 && memchr(buf, '\n', got) == NULL) {
        ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    int status;
    return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : -1;
}

static int post(const char *body, size_t len)
{
    char head[768];
    int n = snprintf(head, sizeof(head),
                     "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     ex.path, ex.host, ex.port, len);
    int fd = connect_endpoint(), status = -1;
    if (fd == -1)
        return -1;
    if (n > 0 && (size_t)n < sizeof(head) && send_all(fd, head, (size_t)n) == 0 && send_all(fd, body, len) == 0)
        status = read_status(fd);
    close(fd);
    return status >= 200 && status < 300 ? 0 : -1;
}

static void export_batch(const trace_span *spans, size_t n)
{
    size_t len;
    char *body = encode_batch(spans, n, &len);
    if (body != NULL && post(body, len) == 0) {
        metrics_count("tixin_trace_spans_exported_total", (long)n);
    } else {
        metrics_count("tixin_trace_export_failures_total", 1);
        metrics_count("tixin_trace_spans_dropped_total", (long)n);
    }
    free(body);
}

/* --- the exporter thread ------------------------------------------------------ */

static void *exporter_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tixin-otlp");
    pthread_mutex_lock(&ex.mu);
    for (;;) {
        if (!ex.stopping && ex.len < QUEUE_CAP / 2) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += FLUSH_MS / 1000;
            pthread_cond_timedwait(&ex.cv, &ex.mu, &until);
        }
        trace_span *batch = ex.half[ex.cur];
        size_t n = ex.len;
        int stop = ex.stopping;
        ex.cur ^= 1;
        ex.len = 0;
        pthread_mutex_unlock(&ex.mu);
        if (n > 0)
            export_batch(batch, n);
        pthread_mutex_lock(&ex.mu);
        if (stop && ex.len == 0)
            break;
    }
    pthread_mutex_unlock(&ex.mu);
    return NULL;
}

/* "http://host:port/path" into ex.host/port/path. */
static int parse_endpoint(const char *url)
{
    const char *p = url + 7, *slash = strchr(p, '/'), *end = slash ? slash : p + strlen(p);
    const char *colon = memrchr(p, ':', (size_t)(end - p));
    if (strncmp(url, "http://", 7) != 0 || end == p)
        return -1;
    const char *host_end = colon ? colon : end;
    if ((size_t)(host_end - p) >= sizeof(ex.host) || (colon && (size_t)(end - colon - 1) >= sizeof(ex.port)))
        return -1;
    snprintf(ex.host, sizeof(ex.host), "%.*s", (int)(host_end - p), p);
    snprintf(ex.port, sizeof(ex.port), "%.*s", colon ? (int)(end - colon - 1) : 2, colon ? colon + 1 : "80");
    snprintf(ex.path, sizeof(ex.path), "%s", slash ? slash : "/v1/traces");
    if (ex.host[0] == '[' && ex.host[strlen(ex.host) - 1] == ']') {
        memmove(ex.host, ex.host + 1, strlen(ex.host));
        ex.host[strlen(ex.host) - 1] = '\0';
    }
    return ex.host[0] && ex.port[0] ? 0 : -1;
}

int trace_start(const char *endpoint, double ratio)
{
    if (endpoint == NULL || endpoint[0] == '\0')
        return 0;
    if (parse_endpoint(endpoint) != 0) {
        log_msg(LOG_ERROR, "bad OTLP endpoint %s (want http://HOST:PORT/v1/traces)", endpoint);
        return -1;
    }
    ex.half[0] = calloc(QUEUE_CAP, sizeof(trace_span));
    ex.half[1] = calloc(QUEUE_CAP, sizeof(trace_span));
    ex.ratio = ratio;
    ex.stopping = 0;
    if (ex.half[0] == NULL || ex.half[1] == NULL || pthread_create(&ex.thread, NULL, exporter_main, NULL) != 0) {
        free(ex.half[0]);
        free(ex.half[1]);
        ex.half[0] = ex.half[1] = NULL;
        log_msg(LOG_ERROR, "cannot start the trace exporter");
        return -1;
    }
    ex.on = 1;
    log_msg(LOG_INFO, "tracing to %s, sampling %g of new traces", endpoint, ratio);
    return 0;
}

void trace_stop(void)
{
    if (!ex.on)
        return;
    pthread_mutex_lock(&ex.mu);
    ex.stopping = 1;
    pthread_mutex_unlock(&ex.mu);
    pthread_cond_signal(&ex.cv);
    pthread_join(ex.thread, NULL);
    ex.on = 0;
    free(ex.half[0]);
    free(ex.half[1]);
    ex.half[0] = ex.half[1] = NULL;
}
