/*
 * accesslog.c - one JSON line per request, cheaply.
 *
 * Lines are formatted into a per-worker 16 KiB buffer (no lock, no
 * syscall per request) and written with one log_line() when the buffer
 * would overflow or when the worker's 200 ms timer fires, so at tens of
 * thousands of requests a second the log costs a few writes a second.
 * TIXIN_ACCESS_LOG picks all, off, or one request in N.
 */
#include "http/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/util.h"

#define BUF_SIZE (16 * 1024)
#define LINE_MAX_LEN 1024
#define FLUSH_MS 200

typedef struct {
    char buf[BUF_SIZE];
    size_t used;
    unsigned long seen;
    h2o_loop_t *loop;
    h2o_timeout_t timeout;
    h2o_timeout_entry_t entry;
    int started;
} worker_log;

static int every = 1;
static worker_log *logs;
static int nlogs;

void accesslog_init(int n, int nworkers)
{
    every = n;
    nlogs = nworkers;
    logs = calloc((size_t)nworkers, sizeof(*logs));
}

static void flush(worker_log *w)
{
    /* log_line appends the newline; our buffer holds complete lines with
     * their newlines except the last one */
    if (w->used == 0)
        return;
    log_line(w->buf, w->used - 1);
    w->used = 0;
}

static void on_flush_timer(h2o_timeout_entry_t *entry)
{
    worker_log *w = H2O_STRUCT_FROM_MEMBER(worker_log, entry, entry);
    flush(w);
}

void accesslog_worker_start(int worker, h2o_loop_t *loop)
{
    if (logs == NULL || worker < 0 || worker >= nlogs)
        return;
    worker_log *w = &logs[worker];
    w->loop = loop;
    h2o_timeout_init(loop, &w->timeout, FLUSH_MS);
    w->entry.cb = on_flush_timer;
    w->started = 1;
}

void accesslog_worker_stop(int worker)
{
    if (logs == NULL || worker < 0 || worker >= nlogs || !logs[worker].started)
        return;
    worker_log *w = &logs[worker];
    flush(w);
    if (h2o_timeout_is_linked(&w->entry))
        h2o_timeout_unlink(&w->entry);
    h2o_timeout_dispose(w->loop, &w->timeout);
    w->started = 0;
}

/* The seconds part comes from util's RFC 3339 formatter, cached per thread
 * for the current second; only the milliseconds change per line. */
size_t http_log_ts(char *out, size_t cap)
{
    static __thread int64_t cached_sec = -1;
    static __thread char cached[40];
    static __thread size_t cached_len;
    int64_t ms = now_ms();
    if (ms / 1000 != cached_sec) {
        cached_sec = ms / 1000;
        time_format(cached_sec * 1000, cached, sizeof(cached));
        cached_len = strlen(cached) - 1; /* without the trailing 'Z' */
    }
    int n = snprintf(out, cap, "%.*s.%03dZ", (int)cached_len, cached, (int)(ms % 1000));
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The line is assembled by hand, not with snprintf: at tens of thousands
 * of lines a second, printf's format parsing and float formatting were the
 * largest user-space cost of a request. out always has LINE_MAX_LEN bytes;
 * every put_ stops short of the end, and a line that hit the end is
 * dropped rather than written cut. */
typedef struct {
    char *p, *end;
} line_t;

static void put(line_t *l, const char *s, size_t len)
{
    if ((size_t)(l->end - l->p) < len) {
        l->p = l->end;
        return;
    }
    memcpy(l->p, s, len);
    l->p += len;
}

#define PUT_LIT(l, s) put((l), (s), sizeof(s) - 1)

static void put_uint(line_t *l, uint64_t v, int min_digits)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 || n < min_digits);
    put(l, tmp + sizeof(tmp) - n, (size_t)n);
}

/* JSON string contents: quotes, backslashes and bytes outside printable
 * ASCII escaped, so any path keeps the line valid JSON. */
static void put_escaped(line_t *l, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len && l->p < l->end; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put(l, esc, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(l, esc, 6);
        } else {
            put(l, (const char *)&c, 1);
        }
    }
}

static size_t format_line(char *out, http_reqctx *rc, h2o_req_t *req, double seconds)
{
    line_t l = {out, out + LINE_MAX_LEN};
    char ts[40];
    uint64_t us = seconds > 0 ? (uint64_t)(seconds * 1e6) : 0;
    PUT_LIT(&l, "{\"ts\":\"");
    put(&l, ts, http_log_ts(ts, sizeof(ts)));
    PUT_LIT(&l, "\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"");
    put(&l, rc->request_id, rc->request_id_len);
    if (rc->trace.valid) {
        char tid[33];
        trace_id_hex(&rc->trace, tid);
        PUT_LIT(&l, "\",\"trace_id\":\"");
        put(&l, tid, 32);
    }
    PUT_LIT(&l, "\",\"worker\":"); /* which loop: connections are spread over them */
    put_uint(&l, (uint64_t)rc->worker, 1);
    PUT_LIT(&l, ",\"method\":\"");
    put_escaped(&l, req->input.method.base, req->input.method.len);
    PUT_LIT(&l, "\",\"path\":\"");
    put_escaped(&l, req->input.path.base, req->input.path.len < 512 ? req->input.path.len : 512);
    PUT_LIT(&l, "\",\"route\":\"");
    put_escaped(&l, rc->route_tpl, strlen(rc->route_tpl));
    PUT_LIT(&l, "\",\"status\":");
    put_uint(&l, (uint64_t)req->res.status, 1);
    PUT_LIT(&l, ",\"duration_ms\":");
    put_uint(&l, us / 1000, 1);
    PUT_LIT(&l, ".");
    put_uint(&l, us % 1000, 3);
    PUT_LIT(&l, ",\"bytes\":");
    put_uint(&l, req->bytes_sent, 1);
    PUT_LIT(&l, "}\n");
    return l.p < l.end ? (size_t)(l.p - out) : 0;
}

void accesslog_request(http_reqctx *rc, h2o_req_t *req, double seconds)
{
    if (every == 0 || logs == NULL || rc->worker < 0 || rc->worker >= nlogs)
        return;
    worker_log *w = &logs[rc->worker];
    if (every > 1 && w->seen++ % (unsigned long)every != 0)
        return;
    char line[LINE_MAX_LEN];
    size_t n = format_line(line, rc, req, seconds);
    if (n == 0)
        return;
    if (w->used + n > BUF_SIZE)
        flush(w);
    memcpy(w->buf + w->used, line, n);
    w->used += n;
    if (w->started && !h2o_timeout_is_linked(&w->entry))
        h2o_timeout_link(w->loop, &w->timeout, &w->entry);
}
