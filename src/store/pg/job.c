/*
 * job.c - one store job on PostgreSQL: BEGIN, tixin_op() (which does auth,
 * idempotency, the op and the version bumps, see 0003_ops.sql), the C
 * work the op asks for (charging, refunding), COMMIT, then the changes
 * published and the caches fed. And batches of the hot writes (seat holds
 * and releases without an Idempotency-Key): several jobs of one event in
 * one tixin_batch() statement (0004_fast_holds.sql), one transaction, one
 * version bump and one COMMIT for all of them (see pg.c for why).
 *
 * Why publishing waits for the version before it: the seat maps apply a
 * change only when its version is newer than theirs, so changes of one
 * event must reach pubsub in version order. PostgreSQL already orders the
 * transactions of one event (each bumps the event's row last and keeps
 * its lock until COMMIT), but two backend threads could publish in the
 * other order after their COMMITs return; so a change waits (briefly,
 * pg.c pg_publish_wait()) until the seat map has the version before it.
 * Nothing is held across the round trips: the event row's lock is held
 * only from the version bump to the end of the COMMIT, and the ops
 * without C work in their transaction (holds) are one autocommit
 * statement, BEGIN, op and COMMIT in one round trip.
 * Serialization failures and deadlocks (none are expected: locks are
 * taken in one order) are retried a few times.
 */
#include "store/pg/pg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "booking/payment.h"
#include "core/log.h"
#include "core/util.h"
#include "ops/metrics.h"
#include "pubsub/pubsub.h"

#define SWEEP_LIMIT "1000"
#define IDEM_TTL_MS (24 * 3600 * 1000LL)

enum { USER_NO = 0, USER_NEEDED = 1, USER_OPTIONAL = 2 };
/* TX: the op runs inside BEGIN ... COMMIT because C work happens in its
 * transaction (charge, refund); the others are one statement in
 * autocommit: one round trip. SEATS: the op may change seats or tiers
 * (its changes are published in order, see pg_publish_wait()). */
enum { TX = 1, SEATS = 2 };

static const struct {
    const char *name;
    int user;
    int flags;
} ops[OP__COUNT] = {
    [OP_USER_CREATE] = {"user_create", USER_NO},
    [OP_USER_BY_EMAIL] = {"user_by_email", USER_NO},
    [OP_SESSION_CREATE] = {"session_create", USER_NO},
    [OP_SESSION_REVOKE] = {"session_revoke", USER_NEEDED},
    [OP_ME] = {"me", USER_NEEDED},
    [OP_MY_ORDERS] = {"my_orders", USER_NEEDED},
    [OP_ORG_CREATE] = {"org_create", USER_NEEDED},
    [OP_MEMBER_ADD] = {"member_add", USER_NEEDED},
    [OP_MY_ORGANIZATIONS] = {"my_organizations", USER_NEEDED},
    [OP_ORG_EVENTS] = {"org_events", USER_NEEDED},
    [OP_VENUE_CREATE] = {"venue_create", USER_NEEDED},
    [OP_VENUE_GET] = {"venue_get", USER_NO},
    [OP_EVENT_CREATE] = {"event_create", USER_NEEDED},
    [OP_EVENT_PATCH] = {"event_patch", USER_NEEDED},
    [OP_EVENT_PUBLISH] = {"event_publish", USER_NEEDED},
    [OP_EVENT_GET] = {"event_get", USER_OPTIONAL},
    [OP_EVENT_STATS] = {"event_stats", USER_NEEDED},
    [OP_HOLD_CREATE] = {"hold_create", USER_NEEDED, SEATS},
    [OP_HOLD_RELEASE] = {"hold_release", USER_NEEDED, SEATS},
    [OP_ORDER_CREATE] = {"order_create", USER_NEEDED, TX | SEATS},
    [OP_ORDER_GET] = {"order_get", USER_NEEDED},
    [OP_ORDER_CANCEL] = {"order_cancel", USER_NEEDED, TX | SEATS},
    [OP_TICKET_GET] = {"ticket_get", USER_NEEDED},
    [OP_CHECKIN] = {"checkin", USER_NEEDED},
    [OP_SEATMAP_LOAD] = {"seatmap_load", USER_NO},
    [OP_CATALOG_LOAD] = {"catalog_load", USER_NO},
    [OP_PING] = {"ping", USER_NO},
};

int pg_job_on_loop(const store_job *j, int has_replica)
{
    if ((ops[j->op].flags & TX) || j->op == OP_EVENT_PUBLISH || j->op == OP_SEATMAP_LOAD ||
        j->op == OP_CATALOG_LOAD)
        return 0;
    return !(has_replica && j->op == OP_VENUE_GET && !j->has_token);
}

int pg_job_changes_seats(const store_job *j)
{
    return (ops[j->op].flags & SEATS) != 0;
}

/* {code: status} of the errors an idempotent job stores (402 and 409, as
 * the SQLite backend), built once from core/errors.h. */
static char *storable_text;
static pthread_once_t storable_once = PTHREAD_ONCE_INIT;

static void build_storable(void)
{
    json_t *o = json_object();
    for (int e = 1; e < E__COUNT; e++) {
        int st = err_http_status((err_code)e);
        if (st == 402 || st == 409)
            json_object_set_new(o, err_name((err_code)e), json_integer(st));
    }
    storable_text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
}

static err_code code_named(const char *name)
{
    for (int e = E_OK + 1; name != NULL && e < E__COUNT; e++)
        if (strcmp(name, err_name((err_code)e)) == 0)
            return (err_code)e;
    return E_INTERNAL;
}

/* --- publishing ------------------------------------------------------------ */

/* Publish committed changes, each after the version before it. */
void pg_publish_changes(pg_store *s, json_t *changes)
{
    size_t i, k;
    json_t *ch, *v;
    json_array_foreach(changes, i, ch)
    {
        pubsub_change *pc = pubsub_change_new(json_string_value(json_object_get(ch, "event_id")));
        pc->version = json_integer_value(json_object_get(ch, "version"));
        json_array_foreach(json_object_get(ch, "seats"), k, v)
        {
            const char *st = json_string_value(json_array_get(v, 1));
            pubsub_change_add_seat(pc, (int)json_integer_value(json_array_get(v, 0)), st != NULL ? st[0] : 'f');
        }
        json_array_foreach(json_object_get(ch, "tiers"), k, v)
        {
            pubsub_change_add_tier(pc, json_string_value(json_array_get(v, 0)),
                                   (int)json_integer_value(json_array_get(v, 1)));
        }
        pg_publish_wait(s, pc->event_id, pc->version);
        pubsub_publish(pc);
        pubsub_change_unref(pc);
    }
}

/* COMMIT (unless the op ran in autocommit), then publish r's changes. */
static err_code commit_publish(pg_store *s, pg_conn *pc, json_t *r, int tx)
{
    err_code e = tx ? pg_cmd(pc, "COMMIT") : E_OK;
    if (e == E_OK)
        pg_publish_changes(s, json_object_get(r, "changes"));
    return e;
}

/* --- the C work an op asks for -------------------------------------------- */

/* r asks for a charge: charge, and put the outcome in args._charge for
 * the second call of tixin_op(). */
static void charge(store_job *j, json_t *ask, json_t *args)
{
    json_t *amount = json_object_get(ask, "amount");
    char ref[160];
    const char *field = NULL;
    err_code e = payment_charge(json_object_get(j->args, "payment"), json_integer_value(amount),
                                json_string_value(json_object_get(ask, "currency")), ref, sizeof(ref), &field);
    json_t *outcome;
    if (e == E_OK)
        outcome = json_pack("{s:s}", "ref", ref);
    else if (e == E_INVALID_FIELD)
        outcome = json_pack("{s:s, s:{s:s}}", "err", err_name(e), "details", "field", field);
    else
        outcome = json_pack("{s:s}", "err", err_name(e));
    json_object_set_new(args, "_charge", outcome);
}

static err_code refund(json_t *ask)
{
    return payment_refund(json_string_value(json_object_get(ask, "ref")),
                          json_integer_value(json_object_get(ask, "amount")),
                          json_string_value(json_object_get(ask, "currency")));
}

/* --- the job ------------------------------------------------------------------ */

void pg_op_params_init(pg_op_params *p, const store_job *j, const json_t *args, int64_t now)
{
    pthread_once(&storable_once, build_storable);
    p->args_text = json_dumps(args, JSON_COMPACT);
    snprintf(p->now_text, sizeof(p->now_text), "%lld", (long long)now);
    p->user[0] = (char)('0' + ops[j->op].user);
    p->user[1] = '\0';
    const char *values[PG_OP_NPARAMS] = {ops[j->op].name,
                                         p->args_text,
                                         j->has_token ? j->token_hash : NULL,
                                         p->user,
                                         j->idem_key[0] != '\0' ? j->idem_key : NULL,
                                         j->request_hash,
                                         p->now_text,
                                         storable_text};
    memcpy(p->values, values, sizeof(values));
}

void pg_op_params_free(pg_op_params *p)
{
    free(p->args_text);
}

/* tixin_op() for j with args; begin: open the transaction in the same
 * round trip. */
static err_code call_op(pg_conn *pc, store_job *j, json_t *args, int64_t now, int begin, json_t **r)
{
    pg_op_params p;
    pg_op_params_init(&p, j, args, now);
    err_code e = begin ? pg_begin_call_json(pc, "op", PG_OP_NPARAMS, p.values, r)
                       : pg_call_json(pc, "op", PG_OP_NPARAMS, p.values, r);
    pg_op_params_free(&p);
    return pg_op_result_check(e, r);
}

err_code pg_op_result_check(err_code e, json_t **r)
{
    if (e == E_OK && !json_is_object(*r)) {
        json_decref(*r);
        *r = NULL;
        e = E_INTERNAL;
    }
    return e;
}

/* The op (inside its transaction when tx), with the charge round when
 * asked. */
static err_code run_op(pg_conn *pc, store_job *j, int64_t now, int tx, json_t **r)
{
    json_t *args = json_deep_copy(j->args);
    err_code e = call_op(pc, j, args, now, tx, r);
    json_t *ask = e == E_OK ? json_object_get(*r, "charge") : NULL;
    if (ask != NULL) {
        charge(j, ask, args);
        json_decref(*r);
        *r = NULL;
        e = call_op(pc, j, args, now, 0, r);
    }
    json_decref(args);
    ask = e == E_OK ? json_object_get(*r, "refund") : NULL;
    if (ask != NULL && (e = refund(ask)) != E_OK) {
        json_decref(*r);
        *r = NULL;
    }
    return e;
}

/* j's answer from tixin_op()'s result r. */
void pg_fill_job(store_job *j, json_t *r)
{
    snprintf(j->user_id, sizeof(j->user_id), "%s", json_string_value(json_object_get(r, "user_id")) ?: "");
    const char *err = json_string_value(json_object_get(r, "err"));
    json_t *out = json_object_get(r, "out");
    j->err = err != NULL ? code_named(err) : E_OK;
    j->status = (int)json_integer_value(json_object_get(r, "status"));
    if (j->status == 0)
        j->status = 200;
    j->out = json_is_null(out) ? NULL : json_incref(out);
    if (json_is_true(json_object_get(r, "replay"))) {
        /* rendered like the first answer was: both came out of jsonb */
        j->replay_body = store_job_render_body(j);
        j->replayed = 1;
    }
}

static void after_commit(pg_conn *pc, json_t *r)
{
    const char *seatmap = json_string_value(json_object_get(r, "after_seatmap"));
    if (seatmap != NULL && pg_seatmap_load(pc, seatmap) != E_OK)
        log_msg(LOG_ERROR, "seat map load of %s failed", seatmap);
    if (json_is_true(json_object_get(r, "after_catalog")) && pg_catalog_load(pc, pc) != E_OK)
        log_msg(LOG_ERROR, "catalog reload failed");
}

static void rollback(pg_conn *pc)
{
    if (pc->c != NULL && PQtransactionStatus(pc->c) != PQTRANS_IDLE)
        pg_cmd(pc, "ROLLBACK");
}

typedef err_code (*attempt_fn)(pg_store *s, pg_conn *pc, void *what, json_t **r);

/* Attempts, at most PG_RETRIES, while an attempt fails in a way that may
 * be retried (pg_conn_retryable(): a serialization failure, a deadlock, the
 * session ended), with the publishing of changes held meanwhile
 * (pg_publish_begin()) when the work changes seats. */
static err_code with_retries(pg_store *s, pg_conn *pc, int seats, attempt_fn fn, void *what, json_t **r)
{
    err_code e = E_INTERNAL;
    if (seats)
        pg_publish_begin(s);
    for (int i = 0; i < PG_RETRIES; i++) {
        pc->last_retryable = 0;
        e = fn(s, pc, what, r);
        if (e == E_OK || !pg_conn_retryable(pc))
            break;
    }
    if (seats)
        pg_publish_end(s);
    return e;
}

/* One attempt of a job (what): E_OK with *r (committed and published), or
 * a failure (rolled back). */
static err_code attempt(pg_store *s, pg_conn *pc, void *what, json_t **r)
{
    store_job *j = what;
    *r = NULL;
    if (pg_conn_ready(pc) != 0)
        return E_UNAVAILABLE;
    int tx = (ops[j->op].flags & TX) != 0;
    err_code e = run_op(pc, j, now_ms(), tx, r);
    if (e == E_OK)
        e = commit_publish(s, pc, *r, tx);
    if (e != E_OK) {
        rollback(pc);
        json_decref(*r);
        *r = NULL;
    }
    return e;
}

/* The lag-tolerant public reads on the replica: E_OK when answered there,
 * else the caller asks the primary. Anonymous jobs only: a token, even a
 * bad one, must be checked on the primary. A venue the replica does not
 * have yet may have just been created (replication lag), so "not found" is
 * asked again on the primary: a creator must read their own write. A
 * catalog load marked {"primary": true} (another instance just published an
 * event and waits for us to list it) must not read a lagging copy either. */
static err_code replica_read(pg_conn *rc, pg_conn *pc, store_job *j)
{
    if (rc == NULL || j->has_token || (j->op != OP_VENUE_GET && j->op != OP_CATALOG_LOAD) || pg_conn_ready(rc) != 0)
        return E_UNAVAILABLE;
    j->status = 200;
    if (j->op == OP_CATALOG_LOAD) {
        if (json_is_true(json_object_get(j->args, "primary")))
            return E_UNAVAILABLE;
        return pg_catalog_load(rc, pc) == E_OK ? E_OK : E_UNAVAILABLE;
    }
    const char *values[1] = {json_string_value(json_object_get(j->args, "venue_id"))};
    if (values[0] == NULL || pg_call_json(rc, "venue", 1, values, &j->out) != E_OK || j->out == NULL)
        return E_UNAVAILABLE;
    j->err = E_OK;
    return E_OK;
}

void pg_run_job(pg_store *s, pg_conn *pc, pg_conn *rc, store_job *j)
{
    json_t *r = NULL;
    if (replica_read(rc, pc, j) == E_OK)
        return;
    err_code e = with_retries(s, pc, (ops[j->op].flags & SEATS) != 0, attempt, j, &r);
    if (e != E_OK) {
        j->err = e;
        return;
    }
    pg_fill_job(j, r);
    if (j->err == E_OK && !j->replayed)
        after_commit(pc, r);
    json_decref(r);
}

/* --- batches of the hot writes (0004_fast_holds.sql) ------------------------ */

/* The events of the holds this process made, for batching releases with
 * the other writes of their event: a direct-mapped cache (an entry is
 * never wrong, a hold's event does not change; an overwritten one only
 * makes its release run in a batch of its own). */
#define HOLD_EVENTS 16384

static struct {
    char hold_id[40];
    char event_id[48];
} hold_events[HOLD_EVENTS];
static pthread_mutex_t hold_events_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned hold_slot(const char *hold_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = hold_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % HOLD_EVENTS;
}

static void hold_event_remember(const char *hold_id, const char *event_id)
{
    if (hold_id == NULL || event_id == NULL || strlen(hold_id) >= sizeof(hold_events[0].hold_id) ||
        strlen(event_id) >= sizeof(hold_events[0].event_id))
        return;
    unsigned k = hold_slot(hold_id);
    pthread_mutex_lock(&hold_events_mu);
    strcpy(hold_events[k].hold_id, hold_id);
    strcpy(hold_events[k].event_id, event_id);
    pthread_mutex_unlock(&hold_events_mu);
}

int pg_job_batch_event(const store_job *j, char *event_id, size_t len)
{
    if (!j->has_token || j->idem_key[0] != '\0')
        return 0;
    if (j->op == OP_HOLD_CREATE) {
        const char *e = json_string_value(json_object_get(j->args, "event_id"));
        if (!json_is_array(json_object_get(j->args, "seats")) || e == NULL)
            return 0;
        snprintf(event_id, len, "%s", e);
        return 1;
    }
    const char *hid = json_string_value(json_object_get(j->args, "hold_id"));
    if (j->op != OP_HOLD_RELEASE || hid == NULL)
        return 0;
    event_id[0] = '\0';
    unsigned k = hold_slot(hid);
    pthread_mutex_lock(&hold_events_mu);
    if (strcmp(hold_events[k].hold_id, hid) == 0)
        snprintf(event_id, len, "%s", hold_events[k].event_id);
    pthread_mutex_unlock(&hold_events_mu);
    return 1;
}

/* j as one of tixin_batch()'s jobs */
static json_t *batch_item(const store_job *j)
{
    if (j->op == OP_HOLD_CREATE)
        return json_pack("{s:s, s:s, s:O, s:O}", "op", "hold", "token", j->token_hash, "event_id",
                         json_object_get(j->args, "event_id"), "seats", json_object_get(j->args, "seats"));
    return json_pack("{s:s, s:s, s:O}", "op", "release", "token", j->token_hash, "hold_id",
                     json_object_get(j->args, "hold_id"));
}

err_code pg_batch_result_check(err_code e, const json_t *r)
{
    return e == E_OK && !json_is_array(json_object_get(r, "answers")) ? E_INTERNAL : e;
}

/* One attempt of a batch (what: its jobs as JSON text): E_OK with *r
 * {answers, changes} (committed and published), or a failure (nothing
 * committed: one statement in autocommit). */
static err_code batch_attempt(pg_store *s, pg_conn *pc, void *what, json_t **r)
{
    const char *jobs_text = what;
    *r = NULL;
    if (pg_conn_ready(pc) != 0)
        return E_UNAVAILABLE;
    char now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now_ms());
    const char *values[2] = {jobs_text, now_text};
    err_code e = pg_call_json(pc, "batch", 2, values, r);
    e = pg_batch_result_check(e, *r);
    if (e == E_OK)
        pg_publish_changes(s, json_object_get(*r, "changes"));
    if (e != E_OK) {
        json_decref(*r);
        *r = NULL;
    }
    return e;
}

char *pg_batch_text(store_job **jobs, int n)
{
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, batch_item(jobs[i]));
    char *text = json_dumps(items, JSON_COMPACT);
    json_decref(items);
    return text;
}

int pg_batch_answers(store_job **jobs, int n, err_code e, json_t *r)
{
    json_t *answers = json_object_get(r, "answers");
    store_job *again[n];
    int nagain = 0, ndone = 0;
    for (int i = 0; i < n; i++) {
        store_job *j = jobs[i];
        json_t *a = json_array_get(answers, (size_t)i);
        if (e == E_OK && n > 1 && json_is_true(json_object_get(a, "retry"))) {
            again[nagain++] = j;
            continue;
        }
        if (e != E_OK || !json_is_object(a) || json_object_get(a, "retry") != NULL)
            j->err = e != E_OK ? e : E_INTERNAL; /* a job alone never retries */
        else
            pg_fill_job(j, a);
        if (j->op == OP_HOLD_CREATE && j->err == E_OK && j->out != NULL)
            hold_event_remember(json_string_value(json_object_get(j->out, "id")),
                                json_string_value(json_object_get(j->out, "event_id")));
        jobs[ndone++] = j;
    }
    memcpy(jobs + ndone, again, (size_t)nagain * sizeof(*again));
    return nagain;
}

void pg_count_batch(int n)
{
    metrics_count("tixin_store_batches_total", 1);
    metrics_count("tixin_store_jobs_total", n);
}

int pg_run_batch(pg_store *s, pg_conn *pc, store_job **jobs, int n)
{
    char *text = pg_batch_text(jobs, n);
    pg_count_batch(n);
    json_t *r = NULL;
    err_code e = with_retries(s, pc, 1, batch_attempt, text, &r);
    free(text);
    int nagain = pg_batch_answers(jobs, n, e, r);
    json_decref(r);
    return nagain;
}

void pg_run_sweep(pg_store *s, pg_conn *pc)
{
    if (pg_conn_ready(pc) != 0)
        return;
    char now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now_ms());
    const char *values[2] = {now_text, SWEEP_LIMIT};
    json_t *r = NULL;
    pg_publish_begin(s);
    err_code e = pg_call_json(pc, "sweep", 2, values, &r);
    if (e == E_OK)
        e = commit_publish(s, pc, r, 0);
    pg_publish_end(s);
    if (e == E_OK)
        metrics_count("tixin_holds_expired_total", (long)json_integer_value(json_object_get(r, "expired")));
    if (e != E_OK) {
        rollback(pc);
        if (e != E_UNAVAILABLE)
            log_msg(LOG_ERROR, "hold expiry failed: %s", err_name(e));
    }
    json_decref(r);
}

void pg_purge(pg_conn *pc)
{
    if (pg_conn_ready(pc) != 0)
        return;
    char cutoff[24];
    snprintf(cutoff, sizeof(cutoff), "%lld", (long long)(now_ms() - IDEM_TTL_MS));
    const char *values[1] = {cutoff};
    json_t *r = NULL;
    pg_call_json(pc, "purge", 1, values, &r);
    json_decref(r);
}
