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
#include <time.h>
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

/* JSON-escape at most max bytes of s into out; returns bytes written. */
static size_t json_escape(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            /* bytes outside printable ASCII: \u00XX keeps the line valid JSON */
            out[o++] = '\\', out[o++] = 'u', out[o++] = '0', out[o++] = '0';
            out[o++] = hex[c >> 4], out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
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
    return n > 0 ? (size_t)n : 0;
}

static size_t format_line(char *line, http_reqctx *rc, h2o_req_t *req, double seconds)
{
    char ts[40], method[40], path[600];
    http_log_ts(ts, sizeof(ts));
    size_t ml = json_escape(method, sizeof(method), req->input.method.base, req->input.method.len);
    size_t pl = json_escape(path, sizeof(path), req->input.path.base, req->input.path.len);
    int n = snprintf(line, LINE_MAX_LEN,
                     "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\","
                     "\"method\":\"%.*s\",\"path\":\"%.*s\",\"route\":\"%s\",\"status\":%d,"
                     "\"duration_ms\":%.3f,\"bytes\":%zu}\n",
                     ts, rc->request_id, (int)ml, method, (int)pl, path, rc->route_tpl, req->res.status,
                     seconds * 1000.0, req->bytes_sent);
    if (n < 0)
        return 0;
    if (n >= LINE_MAX_LEN) {
        line[LINE_MAX_LEN - 1] = '\n';
        return 0; /* cut JSON is worse than none */
    }
    return (size_t)n;
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
