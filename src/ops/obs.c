/*
 * obs.c - the glue between the server and ops/: starting metrics and
 * tracing from the configuration, and the one hook every store call goes
 * through (store_submit). Timing store calls there, rather than in each
 * backend, gives every backend the same latency histogram, spans and
 * business counters: a hold created is a successful OP_HOLD_CREATE that was
 * not an idempotent replay, whichever database ran it. Only what a backend
 * does on its own (hold expiry) is counted inside the backend.
 */
#include "ops/obs.h"

#include <stddef.h>
#include <time.h>
#include "ops/metrics.h"
#include "ops/trace.h"

void obs_sales_collect(textbuf *t); /* sales.c */

/* Label values of tixin_store_call_duration_seconds{op}. */
static const char *const op_names[OP__COUNT] = {
    [OP_USER_CREATE] = "user_create",       [OP_USER_BY_EMAIL] = "user_by_email",
    [OP_SESSION_CREATE] = "session_create", [OP_SESSION_REVOKE] = "session_revoke",
    [OP_ME] = "me",                         [OP_MY_ORDERS] = "my_orders",
    [OP_ORG_CREATE] = "org_create",         [OP_MEMBER_ADD] = "member_add",
    [OP_MY_ORGANIZATIONS] = "my_organizations", [OP_ORG_EVENTS] = "org_events",
    [OP_VENUE_CREATE] = "venue_create",     [OP_VENUE_GET] = "venue_get",
    [OP_EVENT_CREATE] = "event_create",     [OP_EVENT_PATCH] = "event_patch",
    [OP_EVENT_PUBLISH] = "event_publish",   [OP_EVENT_GET] = "event_get",
    [OP_EVENT_STATS] = "event_stats",       [OP_HOLD_CREATE] = "hold_create",
    [OP_HOLD_RELEASE] = "hold_release",     [OP_ORDER_CREATE] = "order_create",
    [OP_ORDER_GET] = "order_get",           [OP_ORDER_CANCEL] = "order_cancel",
    [OP_TICKET_GET] = "ticket_get",         [OP_CHECKIN] = "checkin",
    [OP_SEATMAP_LOAD] = "seatmap_load",     [OP_CATALOG_LOAD] = "catalog_load",
    [OP_PING] = "ping",
};

static const char *op_name(store_op op)
{
    return op >= 0 && op < OP__COUNT && op_names[op] != NULL ? op_names[op] : "other";
}

int obs_start(const config_t *cfg)
{
    metrics_set_enabled(cfg->metrics);
    for (int op = 0; op < OP__COUNT; op++)
        metrics_store_op_name(op, op_name((store_op)op));
    metrics_add_collector(obs_sales_collect);
    return trace_start(cfg->otlp_endpoint, cfg->trace_sample);
}

void obs_stop(void)
{
    trace_stop();
}

/* --- the store hook ------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What a finished call means for the business counters. */
static void count_outcome(const store_job *j)
{
    if (j->err != E_OK || j->replayed)
        return;
    switch (j->op) {
    case OP_HOLD_CREATE:
        metrics_count("tixin_holds_created_total", 1);
        break;
    case OP_HOLD_RELEASE:
        metrics_count("tixin_holds_released_total", 1);
        break;
    case OP_ORDER_CREATE:
        metrics_count("tixin_orders_paid_total", 1);
        metrics_count("tixin_tickets_sold_total", (long)json_array_size(json_object_get(j->out, "tickets")));
        break;
    case OP_ORDER_CANCEL:
        metrics_count("tixin_orders_refunded_total", 1);
        break;
    case OP_CHECKIN:
        metrics_count("tixin_checkins_total", 1);
        break;
    default:
        break;
    }
}

static void store_call_done(task_t *t)
{
    store_job *j = (store_job *)((char *)t - offsetof(store_job, task));
    int failed = j->err == E_INTERNAL || j->err == E_UNAVAILABLE;
    metrics_observe_store((int)j->op, failed, (double)(mono_ns() - j->obs_start_ns) / 1e9);
    count_outcome(j);
    const trace_ctx *prev = trace_current();
    trace_ctx parent;
    if (j->obs_span != NULL) {
        trace_span_attr_str(j->obs_span, "tixin.store.result", err_name(j->err));
        j->obs_span->error = (uint8_t)failed;
        trace_span_parent(j->obs_span, &parent);
        trace_span_end(j->obs_span);
        j->obs_span = NULL;
        trace_set_current(&parent); /* calls made from done stay in the trace */
    }
    j->task.done = j->obs_done;
    if (j->task.done != NULL)
        j->task.done(t); /* may free j */
    trace_set_current(prev);
}

void obs_store_submitted(store_job *j)
{
    j->obs_start_ns = mono_ns();
    j->obs_done = j->task.done;
    j->task.done = store_call_done;
    j->obs_span = NULL;
    const trace_ctx *parent = trace_current();
    if (parent != NULL && parent->sampled) {
        j->obs_span = trace_span_start(parent, "store", TRACE_CLIENT);
        trace_span_set_name2(j->obs_span, "store", op_name(j->op));
        trace_span_attr_str(j->obs_span, "db.operation", op_name(j->op));
    }
}
