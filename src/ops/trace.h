/*
 * trace.h - OpenTelemetry-style tracing, exported as OTLP/HTTP JSON.
 *
 * Each HTTP request gets a trace context: the W3C `traceparent` it came
 * with (its sampled flag decides), or a new trace sampled with the
 * configured ratio. Sampled requests record a server span; code that calls
 * out (store jobs, Redis) starts child spans under trace_current() or a
 * context it kept. Finished spans are copied into a bounded queue that ONE
 * background thread drains and POSTs to the collector; a full queue drops
 * the span (and counts it), it never blocks the caller.
 *
 * With no endpoint configured, trace_enabled() is 0 and nothing here costs
 * more than that test.
 */
#ifndef TIXIN_OPS_TRACE_H
#define TIXIN_OPS_TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t sampled; /* spans under this context are recorded */
    uint8_t valid;   /* 0: no trace at all (tracing off) */
    uint8_t asked;   /* the request carried a traceparent (valid or not) */
} trace_ctx;

enum { TRACE_INTERNAL = 1, TRACE_SERVER = 2, TRACE_CLIENT = 3 };

#define TRACE_MAX_ATTRS 4

typedef struct trace_span {
    trace_ctx ctx;              /* this span's own ids */
    uint8_t parent_span_id[8];
    uint8_t has_parent;
    uint8_t kind;
    uint8_t error;
    char name[64];
    int64_t start_ns, end_ns;   /* unix time, nanoseconds */
    int nattrs;
    struct {
        const char *key;        /* static string */
        int is_int;
        int64_t i;
        char s[48];
    } attrs[TRACE_MAX_ATTRS];
} trace_span;

/* Start the exporter (endpoint "http://HOST:PORT/PATH"; ratio 0..1 for
 * traces without a parent). 0 on success, -1 (logged) on a bad endpoint. */
int trace_start(const char *endpoint, double ratio);
/* Export what is queued and stop the exporter thread. */
void trace_stop(void);
int trace_enabled(void);

/* A server span for an incoming request: ctx gets the request's context
 * (child of traceparent when that is valid, else a new trace); the span
 * (malloc'd) is returned only when sampled, else NULL. */
trace_span *trace_server_start(trace_ctx *ctx, const char *traceparent, size_t len, const char *name);
/* A child span of parent (NULL, invalid or unsampled parent: NULL). */
trace_span *trace_span_start(const trace_ctx *parent, const char *name, int kind);
void trace_span_set_name(trace_span *s, const char *name);
/* The name "a b" (e.g. method and route template, op kind and name). */
void trace_span_set_name2(trace_span *s, const char *a, const char *b);
void trace_span_attr_str(trace_span *s, const char *key, const char *value);
void trace_span_attr_int(trace_span *s, const char *key, int64_t value);
/* End s (now), queue it for export and free it. NULL is fine. */
void trace_span_end(trace_span *s);
/* The context s's parent had (to continue work under the same parent). */
void trace_span_parent(const trace_span *s, trace_ctx *out);

/* The context of the work this thread is doing now (NULL: none). The HTTP
 * layer sets it around handlers; completions of store jobs set it to the
 * job's parent around their callback. */
const trace_ctx *trace_current(void);
void trace_set_current(const trace_ctx *c);

/* "00-<trace id>-<span id>-<flags>" (55 chars + NUL into out[56]). */
void trace_format_traceparent(const trace_ctx *c, char out[56]);
/* The trace id as 32 hex chars + NUL. */
void trace_id_hex(const trace_ctx *c, char out[33]);

#endif
