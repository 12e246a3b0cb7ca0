/*
 * sqlite.c - the embedded backend's engine: one writer thread owning one
 * connection, group commit, and the duties store.h puts around every op
 * (auth, idempotency, change publishing, hold expiry).
 *
 * Why one thread: SQLite has one write lock; many threads would only queue
 * on it, each paying its own fsync. Here whatever is queued (up to
 * BATCH_MAX jobs) runs in one transaction and one COMMIT (one fsync)
 * answers them all. A failing job must undo only its own writes: ops that
 * can fail after writing run inside a SAVEPOINT of their own; the hot ones
 * (holds, releases, orders, reads) check everything before their first
 * write and run without one (CHECKS_FIRST below: a savepoint makes SQLite
 * copy every page the job touches). BATCH_MAX is above the number of
 * connections a busy server has waiting on a write, so a batch normally
 * takes the whole queue: the bigger the batch, the more jobs share each
 * dirtied page (one WAL frame) and the fsync. Jobs are completed only
 * after that COMMIT, so nobody is ever told about a booking that could
 * still be lost.
 * Reads use the same thread too: simple, and cheap next to the fsync.
 * Within a batch the writer remembers session lookups and loaded events
 * (memo.c), forgotten after any job that may change them.
 *
 * The writer's own cost is counted on /metrics (tixin_store_*: jobs,
 * batches, its thread's CPU time, the queue wait of jobs, the wall time of
 * batches and of their COMMITs), so per-job CPU and where a write's
 * latency goes can be read off a running server (bench/run prints them).
 *
 * Checkpoints are not the writer's job. SQLite's default (autocheckpoint
 * every 1,000 WAL pages, run by whichever connection commits) would put
 * the copy of WAL frames into the database file, its pread/pwrite and its
 * fsync on the writer thread, between two batches. Instead the writer's
 * connection has a WAL hook (which replaces the autocheckpoint) that only
 * wakes a checkpointer thread once the WAL has grown past CKPT_FRAMES; that
 * thread, with its own connection, runs PASSIVE checkpoints (they never
 * take the write lock, so batches go on meanwhile) every CKPT_EVERY_MS
 * while there is something to copy, and never sooner than CKPT_GAP_MS after
 * the last one even when the hook asks: the hot pages (an event's seat
 * rows, the right end of the holds b-tree) are rewritten by every batch,
 * and a checkpoint copies only the newest frame of each page, so spacing
 * them copies each hot page once per gap instead of once per commit. SQLite restarts the WAL from its start
 * on the first write after a checkpoint has copied all of it; when writes
 * pause (no commit since the last look) the checkpointer runs a TRUNCATE
 * checkpoint so that the file shrinks back. Under continuous writes the
 * checkpointer never copies the last frames before the next COMMIT adds
 * more, so the WAL would grow without bound: past CKPT_RESET_FRAMES the
 * checkpointer steps aside and the writer, between two batches, copies the
 * few frames left itself (see wal_catch_up()); its next transaction then
 * starts the WAL over (the file keeps its size and is overwritten).
 * Which commits are synced (TIXIN_SQLITE_SYNC=auto, the default): a batch
 * that carries anything but holds, releases, the expiry sweep and reads
 * commits with synchronous=FULL (fdatasync of the WAL before its jobs are
 * answered); a batch of only those commits with NORMAL, which leaves the
 * WAL's sync to the next FULL commit or checkpoint. Why that is safe: the
 * WAL is one file written in order, so the next synced commit makes every
 * frame before it durable too - an order can never outlive the hold it was
 * made from; and what a power loss can take back is only the last holds
 * and releases, a hold vanishing frees its seats (as its expiry would) and
 * a release undone leaves a hold that expires by its timer: nothing paid,
 * sold or issued is ever lost, nothing is oversold. A process crash loses
 * nothing in either mode (the frames are in the OS's page cache). Why it
 * pays: holds and releases are most writes in a drop, and the fsync is
 * most of their latency (milliseconds on a cheap disk, at every commit).
 * Durability does not depend on checkpoints: a commit is durable once its WAL frames
 * are synced (synchronous=FULL, see db.c), and the checkpointer syncs the
 * database file before it lets the WAL be reused. On close the writer
 * stops first, then the checkpointer runs a last TRUNCATE checkpoint.
 */
#include "store/backend.h"
#include "store/sqlite/sq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "core/log.h"
#include "core/util.h"
#include "ops/metrics.h"
#include "pubsub/pubsub.h"

#define BATCH_MAX 1024
#define SWEEP_EVERY_MS 250
#define IDEM_TTL_MS (24 * 3600 * 1000LL)
#define IDEM_PURGE_EVERY_MS (60 * 1000)
#define CKPT_FRAMES 1000           /* wake the checkpointer past this WAL size */
#define CKPT_EVERY_MS 1000         /* its period while the WAL is not empty */
#define CKPT_GAP_MS 250            /* at least this long between two checkpoints */
#define CKPT_RESET_FRAMES 32768    /* ~128 MB of 4 KiB pages: let the WAL restart */
#define CKPT_NICE 10               /* the checkpointer's priority (nice) */

typedef struct {
    struct store base;
    sq_db *db;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    store_job **q; /* ring buffer */
    int64_t *qt;   /* its jobs' submit times (us, monotonic) */
    size_t qhead, qlen, qcap;
    int stopping;
    /* owned by the writer thread */
    store_changes *batch_changes, *job_changes;
    sq_memo *memo;
    int64_t next_sweep, next_purge; /* mono_ms */
    sq_sync sync;                    /* TIXIN_SQLITE_SYNC */
    int synced;                      /* the connection is at synchronous=FULL */
    double rate_per_ms;              /* jobs arriving (gather()) */
    int64_t last_take_us;
    /* the checkpointer (its own connection, thread and lock) */
    char *path;
    sqlite3 *ckpt_db;
    pthread_t ckpt_thread;
    int ckpt_started;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    int ckpt_stopping, ckpt_wanted;
    unsigned long commits; /* bumped by the WAL hook, under ckpt_mu */
    int wal_frames;        /* the WAL's size after the last COMMIT (writer's) */
    int hook_frames;       /* the same, under ckpt_mu (the checkpointer's) */
} sq_store;

/* What the batch does after COMMIT (from the jobs that succeeded). */
typedef struct {
    int catalog;
    json_t *seatmaps; /* event ids */
} after_commit;

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Waits on cv (mu held) until signalled or the monotonic deadline (us):
 * both condition variables use CLOCK_MONOTONIC (init_sync()). */
static void wait_until_us(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_us)
{
    struct timespec ts = {deadline_us / 1000000, (deadline_us % 1000000) * 1000};
    pthread_cond_timedwait(cv, mu, &ts);
}

/* --- the op table ------------------------------------------------------ */

/* CHECKS_FIRST: the op makes every check, and so meets every failure it
 * can answer, before its first write (or never writes). It then needs no
 * SAVEPOINT of its own, which is most of the cost of a small job: a
 * savepoint makes SQLite copy every page the job touches into a journal.
 * A failure after a write can then only be unexpected (I/O, a bug), and
 * run_job() fails the whole batch for it, which rolls it all back.
 * KEEPS_MEMO: the op writes no session, user or event, so what the batch
 * memo (memo.c) holds stays true after it and the op may use it; after
 * any other op the memo is emptied. */
/* RELAXED: losing the op's effect in a power cut harms nobody (see the
 * top comment), so a batch of only such ops commits without a sync. */
enum { NEEDS_USER = 1, TOKEN_OPTIONAL = 2, CHECKS_FIRST = 4, KEEPS_MEMO = 8, RELAXED = 16 };
#define READS (CHECKS_FIRST | KEEPS_MEMO | RELAXED) /* an op that only reads */
static const struct {
    sq_op_fn fn;
    int flags;
} ops[OP__COUNT] = {
    [OP_USER_CREATE] = {sq_op_user_create, CHECKS_FIRST},
    [OP_USER_BY_EMAIL] = {sq_op_user_by_email, READS},
    [OP_SESSION_CREATE] = {sq_op_session_create, CHECKS_FIRST},
    [OP_SESSION_REVOKE] = {sq_op_session_revoke, NEEDS_USER | CHECKS_FIRST},
    [OP_ME] = {sq_op_me, NEEDS_USER | READS},
    [OP_MY_ORDERS] = {sq_op_my_orders, NEEDS_USER | READS},
    [OP_ORG_CREATE] = {sq_op_org_create, NEEDS_USER},
    [OP_MEMBER_ADD] = {sq_op_member_add, NEEDS_USER},
    [OP_MY_ORGANIZATIONS] = {sq_op_my_organizations, NEEDS_USER | READS},
    [OP_ORG_EVENTS] = {sq_op_org_events, NEEDS_USER | READS},
    [OP_VENUE_CREATE] = {sq_op_venue_create, NEEDS_USER},
    [OP_VENUE_GET] = {sq_op_venue_get, READS},
    [OP_EVENT_CREATE] = {sq_op_event_create, NEEDS_USER},
    [OP_EVENT_PATCH] = {sq_op_event_patch, NEEDS_USER},
    [OP_EVENT_PUBLISH] = {sq_op_event_publish, NEEDS_USER},
    [OP_EVENT_GET] = {sq_op_event_get, TOKEN_OPTIONAL | READS},
    [OP_EVENT_STATS] = {sq_op_event_stats, NEEDS_USER | READS},
    [OP_HOLD_CREATE] = {sq_op_hold_create, NEEDS_USER | CHECKS_FIRST | KEEPS_MEMO | RELAXED},
    [OP_HOLD_RELEASE] = {sq_op_hold_release, NEEDS_USER | CHECKS_FIRST | KEEPS_MEMO | RELAXED},
    [OP_ORDER_CREATE] = {sq_op_order_create, NEEDS_USER | CHECKS_FIRST | KEEPS_MEMO},
    [OP_ORDER_GET] = {sq_op_order_get, NEEDS_USER | READS},
    [OP_ORDER_CANCEL] = {sq_op_order_cancel, NEEDS_USER},
    [OP_TICKET_GET] = {sq_op_ticket_get, NEEDS_USER | READS},
    [OP_CHECKIN] = {sq_op_checkin, NEEDS_USER | CHECKS_FIRST | KEEPS_MEMO},
    [OP_SEATMAP_LOAD] = {sq_op_seatmap_load, READS},
    [OP_CATALOG_LOAD] = {sq_op_catalog_load, READS},
    [OP_PING] = {NULL, READS},
};

/* --- auth and idempotency ---------------------------------------------- */

static err_code authenticate(sq_ctx *c)
{
    store_job *j = c->job;
    int flags = ops[j->op].flags;
    j->user_id[0] = '\0';
    if (!j->has_token)
        return (flags & NEEDS_USER) ? E_UNAUTHENTICATED : E_OK;
    const char *known = c->memo != NULL ? sq_memo_user(c->memo, j->token_hash) : NULL;
    if (known != NULL) {
        snprintf(j->user_id, sizeof(j->user_id), "%s", known);
        return E_OK;
    }
    sqlite3_stmt *st =
        sq_q(c->db, "SELECT user_id FROM sessions WHERE token_hash = ? AND revoked_at IS NULL", "s", j->token_hash);
    int r = sq_step(c->db, st);
    if (r < 0)
        return sq_fail(c->db);
    if (r == 0)
        return (flags & TOKEN_OPTIONAL) ? E_OK : E_UNAUTHENTICATED;
    snprintf(j->user_id, sizeof(j->user_id), "%s", sq_text(st, 0));
    sqlite3_reset(st);
    if (c->memo != NULL)
        sq_memo_put_user(c->memo, j->token_hash, j->user_id);
    return E_OK;
}

static int uses_idempotency(const store_job *j)
{
    return j->idem_key[0] != '\0' && j->user_id[0] != '\0';
}

static err_code err_by_name(const char *name)
{
    for (int e = 1; e < E__COUNT; e++)
        if (strcmp(err_name((err_code)e), name) == 0)
            return (err_code)e;
    return E_INTERNAL;
}

/* The error code a stored error body names. */
static err_code stored_err(const char *body)
{
    json_t *doc = json_loads(body, 0, NULL);
    const char *code = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
    err_code e = code != NULL ? err_by_name(code) : E_INTERNAL;
    json_decref(doc);
    return e;
}

/* E_OK with *replayed = 0 (run the op) or 1 (job answered from storage). */
static err_code idem_lookup(sq_ctx *c, int *replayed)
{
    store_job *j = c->job;
    *replayed = 0;
    sqlite3_stmt *st = sq_q(c->db, "SELECT request_hash, status, body FROM idempotency_keys"
                                   " WHERE user_id = ? AND key = ?",
                            "ss", j->user_id, j->idem_key);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_OK;
    err_code e = E_OK;
    if (strcmp(sq_text(st, 0), j->request_hash) != 0) {
        e = E_IDEMPOTENCY_KEY_REUSED;
    } else {
        *replayed = 1;
        j->replayed = 1;
        j->status = (int)sq_int(st, 1);
        j->replay_body = strdup(sq_text(st, 2));
        if (j->status >= 400)
            e = stored_err(j->replay_body);
    }
    sqlite3_reset(st);
    return e;
}

static int idem_storable(err_code e)
{
    int status = err_http_status(e);
    return e == E_OK || status == 402 || status == 409;
}

static err_code idem_store(sq_ctx *c, err_code e)
{
    store_job *j = c->job;
    j->err = e;
    char *body = store_job_render_body(j);
    int status = e == E_OK ? j->status : err_http_status(e);
    int r = sq_exec(c->db,
                    "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    "sssisl", j->user_id, j->idem_key, j->request_hash, status, body, c->now);
    free(body);
    return r < 0 ? sq_fail(c->db) : E_OK;
}

/* --- one job ------------------------------------------------------------ */

static void keep_after(const sq_ctx *c, after_commit *after)
{
    if (c->after_catalog)
        after->catalog = 1;
    if (c->after_seatmap[0] != '\0')
        json_array_append_new(after->seatmaps, json_string(c->after_seatmap));
}

/* Runs the op proper: auth, idempotency, the op. */
static err_code run_op(sq_ctx *c, int *replayed)
{
    store_job *j = c->job;
    *replayed = 0;
    err_code e = authenticate(c);
    if (e == E_OK && uses_idempotency(j))
        e = idem_lookup(c, replayed);
    if (e != E_OK || *replayed || ops[j->op].fn == NULL)
        return e;
    return ops[j->op].fn(c);
}

/* The job's writes are undone; its changes and details go with them. */
static int undo_job(sq_store *s, store_job *j, int keep_details)
{
    store_changes_clear(s->job_changes);
    if (!keep_details) {
        json_decref(j->out);
        j->out = NULL;
    }
    return sq_simple(s->db, "ROLLBACK TO job");
}

/* A failed job's writes must go: ROLLBACK TO its savepoint, or, for a
 * CHECKS_FIRST job (no savepoint), nothing to do when it wrote nothing;
 * -1 when it did (the batch must fail). */
static int drop_failed(sq_store *s, store_job *j, int savepoint, int64_t changes_before, int keep_details)
{
    if (savepoint)
        return undo_job(s, j, keep_details);
    store_changes_clear(s->job_changes);
    if (sqlite3_total_changes64(sq_handle(s->db)) == changes_before)
        return 0;
    log_msg(LOG_ERROR, "store op %d failed after writing (%s): the batch is rolled back", (int)j->op, err_name(j->err));
    return -1;
}

/* 0, or -1 when the transaction is lost (the batch must fail). */
static int run_job(sq_store *s, store_job *j, int64_t now, after_commit *after)
{
    int flags = ops[j->op].flags;
    sq_ctx c = {.db = s->db, .job = j, .changes = s->job_changes, .now = now};
    int savepoint = !(flags & CHECKS_FIRST);
    if (flags & KEEPS_MEMO)
        c.memo = s->memo;
    else
        sq_memo_clear(s->memo); /* now, and so after this job too */
    int64_t before = sqlite3_total_changes64(sq_handle(s->db));
    store_changes_clear(s->job_changes);
    if (savepoint && sq_simple(s->db, "SAVEPOINT job") != 0)
        return -1;
    int replayed;
    err_code e = run_op(&c, &replayed);
    sq_reset_all(s->db);
    if (e == E_OK && j->status == 0)
        j->status = 200;
    j->err = e;
    if (e != E_OK && !c.keep_on_error && drop_failed(s, j, savepoint, before, 1) != 0)
        return -1;
    if (!replayed && uses_idempotency(j) && idem_storable(e)) {
        err_code se = idem_store(&c, e);
        if (se != E_OK) {
            e = j->err = se;
            if (drop_failed(s, j, savepoint, before, 0) != 0)
                return -1;
        }
    }
    if (savepoint && sq_simple(s->db, "RELEASE job") != 0)
        return -1;
    if (e == E_OK || c.keep_on_error)
        store_changes_merge(s->batch_changes, s->job_changes);
    if (e == E_OK)
        keep_after(&c, after);
    return sqlite3_get_autocommit(sq_handle(s->db)) ? -1 : 0;
}

/* The expiry sweep (and, now and then, the purge of old idempotency
 * keys), as one more savepoint of the batch. */
static int run_sweep(sq_store *s, int64_t now)
{
    sq_ctx c = {.db = s->db, .changes = s->job_changes, .now = now};
    store_changes_clear(s->job_changes);
    if (sq_simple(s->db, "SAVEPOINT sweep") != 0)
        return -1;
    err_code e = sq_expire_due(&c);
    if (e == E_OK && mono_ms() >= s->next_purge) {
        s->next_purge = mono_ms() + IDEM_PURGE_EVERY_MS;
        if (sq_exec(s->db, "DELETE FROM idempotency_keys WHERE created_at < ?", "l", now - IDEM_TTL_MS) < 0)
            e = sq_fail(s->db);
    }
    sq_reset_all(s->db);
    if (e != E_OK) {
        log_msg(LOG_ERROR, "hold expiry failed: %s", err_name(e));
        sq_simple(s->db, "ROLLBACK TO sweep");
        store_changes_clear(s->job_changes);
    }
    if (sq_simple(s->db, "RELEASE sweep") != 0)
        return -1;
    store_changes_merge(s->batch_changes, s->job_changes);
    return sqlite3_get_autocommit(sq_handle(s->db)) ? -1 : 0;
}

/* --- the batch ------------------------------------------------------------ */

/* Bump every touched event's version once; versions[i] for event i. */
static int bump_versions(sq_store *s, int64_t *versions)
{
    size_t n = store_changes_nevents(s->batch_changes);
    for (size_t i = 0; i < n; i++) {
        const char *id = store_changes_event(s->batch_changes, i);
        if (sq_exec(s->db, "UPDATE events SET version = version + 1 WHERE id = ?", "s", id) < 0)
            return -1;
        sqlite3_stmt *st = sq_q(s->db, "SELECT version FROM events WHERE id = ?", "s", id);
        int r = sq_step(s->db, st);
        if (r < 0)
            return -1;
        versions[i] = r == 1 ? sq_int(st, 0) : 0;
        sqlite3_reset(st);
    }
    return 0;
}

static void publish_changes(sq_store *s, const int64_t *versions)
{
    size_t n = store_changes_nevents(s->batch_changes);
    for (size_t i = 0; i < n; i++) {
        pubsub_change *pc = store_changes_build(s->batch_changes, i, versions[i]);
        pubsub_publish(pc);
        pubsub_change_unref(pc);
    }
}

static void fail_job(store_job *j)
{
    j->err = E_UNAVAILABLE;
    j->replayed = 0;
    free(j->replay_body);
    j->replay_body = NULL;
    json_decref(j->out);
    j->out = NULL;
}

/* Post-commit work: seat maps of newly published events, then the catalog
 * (which installs the maps of any listed event still missing). */
static void run_after(sq_store *s, after_commit *after, int64_t now)
{
    sq_ctx c = {.db = s->db, .changes = s->job_changes, .now = now};
    size_t i;
    json_t *id;
    json_array_foreach(after->seatmaps, i, id)
    {
        if (sq_seatmap_load(&c, json_string_value(id)) != E_OK)
            log_msg(LOG_ERROR, "seat map load of %s failed", json_string_value(id));
    }
    if (after->catalog && sq_catalog_load(&c) != E_OK)
        log_msg(LOG_ERROR, "catalog reload failed");
    sq_reset_all(s->db);
}

/* synchronous for the batch's COMMIT (the top comment says why); the
 * pragma runs only when the level changes. */
static int set_sync_level(sq_store *s, store_job **jobs, size_t n)
{
    int full = s->sync == SQ_SYNC_FULL;
    for (size_t i = 0; i < n && !full && s->sync == SQ_SYNC_AUTO; i++)
        full = !(ops[jobs[i]->op].flags & RELAXED);
    if (s->sync == SQ_SYNC_NORMAL || full == s->synced)
        return 0;
    s->synced = full;
    return sq_simple(s->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

/* The transaction: 0 committed, -1 failed (and rolled back). */
static int run_transaction(sq_store *s, store_job **jobs, size_t n, int sweep, int64_t now, after_commit *after,
                           int64_t **versions, int64_t *commit_us)
{
    if (set_sync_level(s, jobs, n) != 0 || sq_simple(s->db, "BEGIN IMMEDIATE") != 0)
        return -1;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++)
        ok = run_job(s, jobs[i], now, after) == 0;
    if (ok && sweep)
        ok = run_sweep(s, now) == 0;
    *versions = calloc(store_changes_nevents(s->batch_changes) + 1, sizeof(**versions));
    if (*versions == NULL)
        abort();
    if (ok)
        ok = bump_versions(s, *versions) == 0;
    int64_t t0 = clock_us(CLOCK_MONOTONIC);
    if (ok)
        ok = sq_simple(s->db, "COMMIT") == 0;
    *commit_us = clock_us(CLOCK_MONOTONIC) - t0;
    if (ok && s->synced)
        metrics_count("tixin_store_synced_commits_total", 1);
    if (!ok && !sqlite3_get_autocommit(sq_handle(s->db)))
        sq_simple(s->db, "ROLLBACK");
    return ok ? 0 : -1;
}

static void run_batch(sq_store *s, store_job **jobs, size_t n, int sweep, int64_t *commit_us)
{
    int64_t now = now_ms();
    after_commit after = {0, json_array()};
    int64_t *versions = NULL;
    store_changes_clear(s->batch_changes);
    sq_memo_clear(s->memo);
    if (run_transaction(s, jobs, n, sweep, now, &after, &versions, commit_us) == 0) {
        publish_changes(s, versions);
        run_after(s, &after, now);
    } else {
        for (size_t i = 0; i < n; i++)
            fail_job(jobs[i]);
    }
    free(versions);
    json_decref(after.seatmaps);
    for (size_t i = 0; i < n; i++)
        task_complete(&jobs[i]->task);
}

/* --- the queue and the thread ----------------------------------------- */

/* Up to max queued jobs; *waited += the microseconds they spent queued. */
static size_t take(sq_store *s, store_job **out, size_t max, int64_t *waited)
{
    size_t n = 0;
    int64_t now = clock_us(CLOCK_MONOTONIC);
    while (s->qlen > 0 && n < max) {
        *waited += now - s->qt[s->qhead];
        out[n++] = s->q[s->qhead];
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
    return n;
}

/* The writer's figures, as counters on /metrics: per job, writer CPU is
 * cpu/jobs; where a write's latency goes is queue wait, then the batch
 * (of which commit is the COMMIT and its fsync). */
typedef struct {
    int64_t waited, cpu, wall, commit;
} batch_figures;

static void count_batch(size_t n, const batch_figures *f)
{
    metrics_count("tixin_store_jobs_total", (long)n);
    metrics_count("tixin_store_batches_total", 1);
    metrics_count("tixin_store_queue_wait_microseconds_total", (long)f->waited);
    metrics_count("tixin_store_writer_cpu_microseconds_total", (long)f->cpu);
    metrics_count("tixin_store_batch_wall_microseconds_total", (long)f->wall);
    metrics_count("tixin_store_jobs_batch_wall_microseconds_total", (long)(f->wall * (int64_t)n)); /* as its jobs see it */
    metrics_count("tixin_store_commit_wall_microseconds_total", (long)f->commit);
}

/* Gathering. With an fsync at every COMMIT, jobs pile up during the sync
 * and the next batch takes them all. Commits that skip the sync (holds and
 * releases, see the top comment) end in a fraction of a millisecond, and a
 * writer that starts the next batch at once runs batches of one or two
 * jobs: each new batch is a new seat-map version, so every reader then
 * re-renders, and its COMMIT writes the shared pages (the event's row,
 * the right end of the holds b-tree) again; measured, CPU per request rose
 * by a quarter. So while jobs arrive faster than one per GATHER_US / 2, a
 * batch waits for company: until GATHER_MIN are queued or its first job
 * has waited GATHER_US. At a trickle nothing waits. */
#define GATHER_US 2000
#define GATHER_MIN 32


static void gather(sq_store *s)
{
    if (s->qlen == 0 || s->stopping || s->rate_per_ms * GATHER_US / 1000 < 2.0)
        return;
    int64_t deadline = s->qt[s->qhead] + GATHER_US;
    while (s->qlen < GATHER_MIN && !s->stopping && clock_us(CLOCK_MONOTONIC) < deadline)
        wait_until_us(&s->cv, &s->mu, deadline);
}

/* The arrival rate gather() goes by: jobs per millisecond over the last
 * takes (a moving average). */
static void note_rate(sq_store *s, size_t n)
{
    int64_t now = clock_us(CLOCK_MONOTONIC);
    double ms = (double)(now - s->last_take_us) / 1000.0;
    if (s->last_take_us > 0 && ms > 0)
        s->rate_per_ms = 0.7 * s->rate_per_ms + 0.3 * ((double)n / ms);
    s->last_take_us = now;
}

static void wait_for_work(sq_store *s)
{
    while (s->qlen == 0 && !s->stopping) {
        int64_t left = s->next_sweep - mono_ms();
        if (left <= 0)
            return;
        wait_until_us(&s->cv, &s->mu, clock_us(CLOCK_MONOTONIC) + left * 1000);
    }
}

/* The checkpointer alone never catches up with a writer that commits
 * without pause, and SQLite restarts the WAL only when every frame has
 * been copied. So once the WAL is past CKPT_RESET_FRAMES the writer copies
 * the few frames the checkpointer has not (a PASSIVE checkpoint of its own,
 * between batches, when the checkpointer is not busy), and its next
 * transaction starts the WAL over. */
static void wal_catch_up(sq_store *s)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(sq_handle(s->db), NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK && log == done) {
        s->wal_frames = 0;
        pthread_mutex_lock(&s->ckpt_mu);
        s->hook_frames = 0;
        pthread_mutex_unlock(&s->ckpt_mu);
    } else if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log_msg(LOG_ERROR, "sqlite checkpoint (writer): %s", sqlite3_errmsg(sq_handle(s->db)));
}

static void *writer_main(void *arg)
{
    sq_store *s = arg;
    store_job *batch[BATCH_MAX];
    pthread_setname_np(pthread_self(), "tixin-store");
    for (;;) {
        batch_figures f = {0};
        pthread_mutex_lock(&s->mu);
        wait_for_work(s);
        gather(s);
        size_t n = take(s, batch, BATCH_MAX, &f.waited);
        note_rate(s, n);
        int stop = n == 0 && s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return NULL;
        int64_t cpu0 = clock_us(CLOCK_THREAD_CPUTIME_ID), wall0 = clock_us(CLOCK_MONOTONIC);
        int sweep = mono_ms() >= s->next_sweep;
        if (sweep)
            s->next_sweep = mono_ms() + SWEEP_EVERY_MS;
        run_batch(s, batch, n, sweep, &f.commit);
        f.cpu = clock_us(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        f.wall = clock_us(CLOCK_MONOTONIC) - wall0;
        count_batch(n, &f);
        if (s->wal_frames >= CKPT_RESET_FRAMES && s->ckpt_started) {
            int64_t t0 = clock_us(CLOCK_MONOTONIC);
            wal_catch_up(s);
            metrics_count("tixin_store_wal_catch_ups_total", 1);
            metrics_count("tixin_store_wal_catch_up_microseconds_total", (long)(clock_us(CLOCK_MONOTONIC) - t0));
        }
    }
}

/* --- the checkpointer ---------------------------------------------------- */

/* Runs on the writer thread after each COMMIT, with the WAL's size in
 * frames; replaces SQLite's autocheckpoint. */
static int wal_hook(void *arg, sqlite3 *h, const char *dbname, int frames)
{
    (void)h;
    (void)dbname;
    sq_store *s = arg;
    /* frames this COMMIT wrote (the WAL restarts from 0 after a full
     * checkpoint): the I/O a batch costs, on /metrics */
    metrics_count("tixin_store_wal_frames_total", frames >= s->wal_frames ? frames - s->wal_frames : frames);
    s->wal_frames = frames;
    pthread_mutex_lock(&s->ckpt_mu);
    s->commits++;
    s->hook_frames = frames;
    if (frames >= CKPT_FRAMES && !s->ckpt_wanted) {
        s->ckpt_wanted = 1;
        pthread_cond_signal(&s->ckpt_cv);
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    return SQLITE_OK;
}

/* One checkpoint in mode: the WAL's size in frames after it (0 when it
 * was truncated or restarted), -1 on error or when it could not finish. */
static int checkpoint(sq_store *s, int mode)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, mode, &log, &done);
    if (rc == SQLITE_BUSY)
        return -1;
    if (rc != SQLITE_OK) {
        log_msg(LOG_ERROR, "sqlite checkpoint: %s", sqlite3_errmsg(s->ckpt_db));
        return -1;
    }
    return log < 0 ? 0 : log;
}


static void *ckpt_main(void *arg)
{
    sq_store *s = arg;
    unsigned long seen = 0;
    pthread_setname_np(pthread_self(), "tixin-ckpt");
    /* Background work: on a small box it shares the cores with the loops
     * and the writer, and nothing waits for it (PASSIVE checkpoints), so
     * it should run when they do not. Linux applies nice per thread. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), CKPT_NICE) != 0)
        log_msg(LOG_DEBUG, "checkpointer: setpriority: %s", strerror(errno));
    int dirty = 0; /* the WAL may hold frames not yet copied or truncated */
    int64_t last = 0; /* mono_ms of the last checkpoint */
    pthread_mutex_lock(&s->ckpt_mu);
    while (!s->ckpt_stopping) {
        /* no gap once the WAL nears CKPT_RESET_FRAMES: back-to-back
         * checkpoints then catch up with the writer now and then, and the
         * WAL restarts without the writer's catch-up (a ~40 ms stall of
         * every write, mostly its fsync, measured every ~5 s in the paced
         * mix; without it p99 went from 11-19 ms to 7-14 ms) */
        int64_t gap = s->hook_frames >= CKPT_RESET_FRAMES / 8 * 7 ? 0 : last + CKPT_GAP_MS - mono_ms();
        int64_t wait_ms = gap > 0 ? gap : CKPT_EVERY_MS;
        if (gap > 0 || !s->ckpt_wanted)
            wait_until_us(&s->ckpt_cv, &s->ckpt_mu, clock_us(CLOCK_MONOTONIC) + wait_ms * 1000);
        if (s->ckpt_stopping)
            break;
        if (gap > 0 && mono_ms() < last + CKPT_GAP_MS)
            continue; /* woken by a commit before the gap was over */
        int wanted = s->ckpt_wanted;
        s->ckpt_wanted = 0;
        int idle = s->commits == seen;
        dirty |= !idle;
        seen = s->commits;
        /* past CKPT_RESET_FRAMES a busy writer catches up itself: stay
         * out of its way (a running checkpoint would make it fail BUSY) */
        if ((!wanted && !dirty) || (!idle && s->hook_frames >= CKPT_RESET_FRAMES))
            continue;
        pthread_mutex_unlock(&s->ckpt_mu);
        last = mono_ms();
        checkpoint(s, SQLITE_CHECKPOINT_PASSIVE);
        int truncated = 0;
        if (idle && !wanted) {
            truncated = checkpoint(s, SQLITE_CHECKPOINT_TRUNCATE) == 0;
            dirty = !truncated;
        }
        pthread_mutex_lock(&s->ckpt_mu);
        if (truncated && s->commits == seen)
            s->hook_frames = 0;
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    return NULL;
}

static int ckpt_start(sq_store *s)
{
    char err[256];
    sq_db *db = sq_db_open(s->path, err, sizeof(err));
    if (db == NULL) {
        log_msg(LOG_ERROR, "checkpointer: %s", err);
        return -1;
    }
    s->ckpt_db = sq_db_release(db);
    sqlite3_wal_hook(sq_handle(s->db), wal_hook, s);
    if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0) {
        sqlite3_wal_autocheckpoint(sq_handle(s->db), 1000);
        sqlite3_close(s->ckpt_db);
        s->ckpt_db = NULL;
        return -1;
    }
    s->ckpt_started = 1;
    return 0;
}

/* After the writer stopped: stop the checkpointer, copy and truncate the
 * WAL once more, close its connection. */
static void ckpt_stop(sq_store *s)
{
    if (!s->ckpt_started)
        return;
    pthread_mutex_lock(&s->ckpt_mu);
    s->ckpt_stopping = 1;
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
    pthread_join(s->ckpt_thread, NULL);
    checkpoint(s, SQLITE_CHECKPOINT_TRUNCATE);
    if (sqlite3_close(s->ckpt_db) != SQLITE_OK)
        log_msg(LOG_ERROR, "sqlite close (checkpointer): %s", sqlite3_errmsg(s->ckpt_db));
    s->ckpt_db = NULL;
    s->ckpt_started = 0;
}

static void sq_submit(store_t *base, store_job *j)
{
    sq_store *s = (sq_store *)base;
    pthread_mutex_lock(&s->mu);
    if (s->qlen == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 1024;
        store_job **q = malloc(cap * sizeof(*q));
        int64_t *qt = malloc(cap * sizeof(*qt));
        if (q == NULL || qt == NULL)
            abort();
        for (size_t i = 0; i < s->qlen; i++) {
            q[i] = s->q[(s->qhead + i) % s->qcap];
            qt[i] = s->qt[(s->qhead + i) % s->qcap];
        }
        free(s->q);
        free(s->qt);
        s->q = q;
        s->qt = qt;
        s->qhead = 0;
        s->qcap = cap;
    }
    s->q[(s->qhead + s->qlen) % s->qcap] = j;
    s->qt[(s->qhead + s->qlen) % s->qcap] = clock_us(CLOCK_MONOTONIC);
    s->qlen++;
    if (s->qlen == 1 || s->qlen == GATHER_MIN) /* the writer waits for these two */
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int sq_start(store_t *base)
{
    sq_store *s = (sq_store *)base;
    if (s->started)
        return 0;
    s->next_sweep = mono_ms();
    s->next_purge = mono_ms();
    if (ckpt_start(s) != 0)
        log_msg(LOG_WARN, "no checkpointer thread: the writer checkpoints");
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0)
        return -1;
    s->started = 1;
    return 0;
}

static void sq_close(store_t *base)
{
    sq_store *s = (sq_store *)base;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started)
        pthread_join(s->thread, NULL);
    ckpt_stop(s);
    /* jobs queued without a running thread are answered, never dropped */
    store_job *j;
    int64_t waited = 0;
    while (take(s, &j, 1, &waited) == 1) {
        fail_job(j);
        task_complete(&j->task);
    }
    if (sq_db_close(s->db) != 0)
        log_msg(LOG_ERROR, "sqlite database did not close cleanly");
    store_changes_free(s->batch_changes);
    store_changes_free(s->job_changes);
    sq_memo_free(s->memo);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->ckpt_mu);
    pthread_cond_destroy(&s->ckpt_cv);
    free(s->path);
    free(s->q);
    free(s->qt);
    free(s);
}

static const store_backend sqlite_backend = {"sqlite", sq_start, sq_close, sq_submit};

static int init_sync(sq_store *s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->cv, &ca);
    if (rc == 0)
        rc = pthread_cond_init(&s->ckpt_cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc == 0 && pthread_mutex_init(&s->mu, NULL) == 0 && pthread_mutex_init(&s->ckpt_mu, NULL) == 0 ? 0 : -1;
}

store_t *sqlite_store_open(const char *path, char *err, size_t errlen)
{
    sq_db *db = sq_db_open(path, err, errlen);
    if (db == NULL)
        return NULL;
    if (sq_migrate(sq_handle(db), NULL, err, errlen) != 0) {
        sq_db_close(db);
        return NULL;
    }
    sq_store *s = calloc(1, sizeof(*s));
    if (s == NULL || init_sync(s) != 0)
        abort();
    s->base.backend = &sqlite_backend;
    s->db = db;
    s->path = strdup(path);
    if (s->path == NULL)
        abort();
    s->batch_changes = store_changes_new();
    s->job_changes = store_changes_new();
    s->memo = sq_memo_new();
    s->sync = sq_sync_policy();
    s->synced = s->sync != SQ_SYNC_NORMAL; /* how sq_db_open() left it */
    return &s->base;
}

int sqlite_store_migrate(const char *path, FILE *report, char *err, size_t errlen)
{
    sq_db *db = sq_db_open(path, err, errlen);
    if (db == NULL)
        return -1;
    int rc = sq_migrate(sq_handle(db), report, err, errlen);
    sq_db_close(db);
    return rc;
}
