/*
 * pg.c - the PostgreSQL backend (cluster mode): the store object, where
 * each job runs, and the threads that are not loops.
 *
 * Design. Every op is PL/pgSQL (0003_ops.sql), so a job is one tixin_op()
 * call in one transaction: correctness comes from PostgreSQL (constraints,
 * conditional updates, row locks taken in one order), never from this
 * process's memory, and any number of instances can share the database.
 *
 * Two paths. A job submitted on an HTTP worker loop whose op is one
 * statement (pg_job_on_loop(): nearly all of them, the seat holds and
 * releases first) runs on that loop's own connections (loop.c,
 * TIXIN_PG_CONNECTIONS per loop, default 1): non-blocking libpq in the
 * h2o loop, prepared statements, pipelined, no thread hop to send or to
 * read the answer; only an answer that changed seats goes through the
 * connection's publisher thread, because publishing may block. Everything
 * else takes the blocking path: a small pool of backend threads with one
 * blocking connection each (BLOCKING_THREADS) runs the jobs of threads
 * that are not loops (CLI subcommands, the password-hash pool's chained
 * jobs, the Redis thread's reloads, start-up) and the ops that are more
 * than one statement or do blocking work inside or after their
 * transaction (orders and refunds call the payment provider between
 * statements, publishing an event and the cache loads feed the caches with
 * more queries, replica reads). That keeps the loops free of every
 * blocking call and the blocking code as it was, where it is rare; the
 * alternative, posting non-loop jobs to a loop and making multi-statement
 * transactions a state machine on a shared pipeline, would add more than
 * it saves.
 *
 * Both paths batch the hot writes: the queued seat holds and releases of
 * one event (up to PG_BATCH_MAX) run as one statement in one transaction
 * (job.c pg_run_batch(), 0004_fast_holds.sql), so an event's version is
 * bumped, and its row lock held until COMMIT, once per batch rather than
 * once per write; jobs that queue while a loop's pipeline is full make its
 * next batches larger. One more thread and connection sweep expired holds
 * every 250 ms (FOR UPDATE SKIP LOCKED, so with many instances sweeping
 * each hold still expires exactly once and its change is published once,
 * by the instance that expired it) and purge old idempotency keys every
 * minute. Changes are published in version order per event
 * (pg_publish_wait(), below), whichever path committed them.
 * A lost connection fails the jobs that used it with E_UNAVAILABLE (so
 * /readyz answers 503) and is reopened with backoff (conn.c); nothing
 * needs a restart when PostgreSQL is back.
 */
#include "store/backend.h"
#include "store/pg/pg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "booking/seatmap.h"
#include "core/log.h"
#include "core/util.h"
#include "http/server.h"

#define BLOCKING_THREADS 4
#define DEFAULT_LOOP_CONNECTIONS 1
#define MAX_LOOP_CONNECTIONS 8
#define MAX_LOOPS 64
#define BATCH_SCAN 128 /* queued jobs looked at for a batch */
#define SWEEP_EVERY_MS 250
#define PURGE_EVERY_MS (60 * 1000)
/* How long a change waits for the one before it (pg_publish_wait()). The
 * wait normally ends as soon as that one is published (microseconds to a
 * few ms); the bound is only a guard. It must be generous: a change that
 * overtakes the one before it is dropped as old by the seat maps when no
 * reloader (Redis) heals the gap, so on a starved machine 50 ms was seen
 * to leave a single instance's seat map wrong for two seats. */
#define PUBLISH_WAIT_MS 1000

struct pg_store {
    struct store base;
    char *url;
    int nworkers;
    pthread_t *threads;
    pg_conn *conns;
    pg_conn *replicas; /* one per worker, or NULL: no replica */
    pg_loop *loops[MAX_LOOPS]; /* by worker index, created by the loops */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* queued jobs, linked through their task's message link (unused until
     * task_complete() hands the job back to its loop) */
    h2o_linklist_t queue;
    int stopping;
    /* the sweeper */
    pthread_t sweeper;
    pg_conn sweep_conn;
    int sweeper_started;
    pthread_cond_t sweep_cv;
    /* publish order per event (pg_publish_wait()) */
    pthread_mutex_t pub_mu;
    pthread_cond_t pub_cv;
    int writing; /* seat-changing jobs between their start and publish */
};

/* --- publish order ------------------------------------------------------------ */

void pg_publish_begin(pg_store *s)
{
    pthread_mutex_lock(&s->pub_mu);
    s->writing++;
    pthread_mutex_unlock(&s->pub_mu);
}

void pg_publish_end(pg_store *s)
{
    pthread_mutex_lock(&s->pub_mu);
    s->writing--;
    pthread_cond_broadcast(&s->pub_cv);
    pthread_mutex_unlock(&s->pub_mu);
}

/* The seat map is behind the version before this one while another
 * seat-changing job of this process is under way: that job may hold it. */
static int must_wait(pg_store *s, const char *event_id, int64_t version)
{
    int64_t v = seatmap_version(event_id);
    return v >= 0 && v < version - 1 && s->writing > 1;
}

void pg_publish_wait(pg_store *s, const char *event_id, int64_t version)
{
    struct timespec until, now;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += PUBLISH_WAIT_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->pub_mu);
    while (must_wait(s, event_id, version)) {
        /* a short slice: the version may also come from another instance
         * (through pubsub), which signals nothing here */
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
            break;
        now.tv_nsec += 1000000L;
        if (now.tv_nsec >= 1000000000L) {
            now.tv_sec++;
            now.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->pub_cv, &s->pub_mu, &now);
    }
    pthread_mutex_unlock(&s->pub_mu);
}

/* --- the queue and the workers ------------------------------------------------ */

store_job *pg_queue_take(h2o_linklist_t *queue)
{
    if (h2o_linklist_is_empty(queue))
        return NULL;
    store_job *j = H2O_STRUCT_FROM_MEMBER(store_job, task.msg.link, queue->next);
    h2o_linklist_unlink(&j->task.msg.link);
    return j;
}

/* After a batchable job of event_id (not ""): up to max more batchable
 * jobs of that event out of the queue's first BATCH_SCAN (the others keep
 * their places). */
int pg_queue_take_batchable(h2o_linklist_t *queue, const char *event_id, store_job **out, int max)
{
    int n = 0, scanned = 0;
    char ev[64];
    h2o_linklist_t *link = queue->next;
    while (event_id[0] != '\0' && link != queue && n < max && scanned++ < BATCH_SCAN) {
        h2o_linklist_t *next = link->next;
        store_job *j = H2O_STRUCT_FROM_MEMBER(store_job, task.msg.link, link);
        if (pg_job_batch_event(j, ev, sizeof(ev)) && strcmp(ev, event_id) == 0) {
            h2o_linklist_unlink(link);
            out[n++] = j;
        }
        link = next;
    }
    return n;
}

typedef struct {
    pg_store *s;
    int index;
} worker_arg;

static void *worker_run(void *arg)
{
    worker_arg *wa = arg;
    pg_store *s = wa->s;
    pg_conn *pc = &s->conns[wa->index];
    pg_conn *rc = s->replicas != NULL ? &s->replicas[wa->index] : NULL;
    free(wa);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (h2o_linklist_is_empty(&s->queue) && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        store_job *batch[PG_BATCH_MAX];
        char ev[64];
        store_job *j = pg_queue_take(&s->queue);
        int n = j != NULL && pg_job_batch_event(j, ev, sizeof(ev))
                    ? 1 + pg_queue_take_batchable(&s->queue, ev, batch + 1, PG_BATCH_MAX - 1)
                    : 0;
        pthread_mutex_unlock(&s->mu);
        if (j == NULL)
            return NULL; /* stopping and drained */
        if (n == 0) {
            pg_run_job(s, pc, rc, j);
            task_complete(&j->task);
            continue;
        }
        batch[0] = j;
        int again = pg_run_batch(s, pc, batch, n);
        for (int i = 0; i < n; i++) {
            if (i >= n - again) /* alone now: it may wait for its rows */
                pg_run_batch(s, pc, &batch[i], 1);
            task_complete(&batch[i]->task);
        }
    }
}

static void *sweeper_main(void *arg)
{
    pg_store *s = arg;
    int64_t next_purge = mono_ms();
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->mu);
        pg_run_sweep(s, &s->sweep_conn);
        if (mono_ms() >= next_purge) {
            next_purge = mono_ms() + PURGE_EVERY_MS;
            pg_purge(&s->sweep_conn);
        }
        pthread_mutex_lock(&s->mu);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SWEEP_EVERY_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!s->stopping)
            pthread_cond_timedwait(&s->sweep_cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* --- the loops ----------------------------------------------------------------- */

/* The store whose connections the loops open (the one being served), and
 * the calling loop's connections (NULL off the loops). */
static pg_store *served;
static __thread pg_loop *this_loop;

static int loop_connections(void)
{
    const char *v = getenv("TIXIN_PG_CONNECTIONS");
    int n = v != NULL ? atoi(v) : DEFAULT_LOOP_CONNECTIONS;
    return n < 1 ? 1 : n > MAX_LOOP_CONNECTIONS ? MAX_LOOP_CONNECTIONS : n;
}

static void on_worker_start(h2o_context_t *ctx, int index)
{
    pg_store *s = served;
    if (s == NULL || index < 0 || index >= MAX_LOOPS)
        return;
    this_loop = s->loops[index] = pg_loop_new(s, ctx, loop_connections(), s->url);
}

static void on_worker_stop(h2o_context_t *ctx, int index)
{
    if (this_loop != NULL)
        pg_loop_stop(this_loop);
}

/* Jobs of a loop's own thread, coming back to it, of one-statement ops. */
static int on_loop(pg_store *s, store_job *j)
{
    return this_loop != NULL && served == s && pg_loop_accepting(this_loop) && j->task.origin != NULL &&
           j->task.origin == task_current_receiver() && pg_job_on_loop(j, s->replicas != NULL);
}

void pg_submit_blocking(pg_store *s, store_job *j)
{
    pthread_mutex_lock(&s->mu);
    h2o_linklist_insert(&s->queue, &j->task.msg.link); /* at the tail */
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void pg_submit(store_t *base, store_job *j)
{
    pg_store *s = (pg_store *)base;
    if (on_loop(s, j))
        pg_loop_submit(this_loop, j);
    else
        pg_submit_blocking(s, j);
}

/* Workers start with the store (the CLI needs them too); the sweeper
 * starts with store_start(), like the SQLite backend's timer. */
static int start_workers(pg_store *s)
{
    for (int i = 0; i < s->nworkers; i++) {
        worker_arg *wa = malloc(sizeof(*wa));
        if (wa == NULL)
            abort();
        *wa = (worker_arg){s, i};
        if (pthread_create(&s->threads[i], NULL, worker_run, wa) != 0) {
            free(wa);
            s->nworkers = i;
            return -1;
        }
    }
    return 0;
}

static int pgs_start(store_t *base)
{
    pg_store *s = (pg_store *)base;
    if (s->sweeper_started)
        return 0;
    if (pthread_create(&s->sweeper, NULL, sweeper_main, s) != 0)
        return -1;
    s->sweeper_started = 1;
    return 0;
}

static void pgs_close(store_t *base)
{
    pg_store *s = (pg_store *)base;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_cond_broadcast(&s->sweep_cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->threads[i], NULL);
    if (s->sweeper_started)
        pthread_join(s->sweeper, NULL);
    for (int i = 0; i < MAX_LOOPS; i++)
        pg_loop_free(s->loops[i]);
    if (served == s)
        served = NULL;
    store_job *j;
    while ((j = pg_queue_take(&s->queue)) != NULL) { /* only when no worker could start */
        j->err = E_UNAVAILABLE;
        task_complete(&j->task);
    }
    for (int i = 0; i < s->nworkers; i++) {
        pg_conn_close(&s->conns[i]);
        if (s->replicas != NULL)
            pg_conn_close(&s->replicas[i]);
    }
    pg_conn_close(&s->sweep_conn);
    pthread_mutex_destroy(&s->pub_mu);
    pthread_cond_destroy(&s->pub_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->sweep_cv);
    free(s->threads);
    free(s->conns);
    free(s->replicas);
    free(s->url);
    free(s);
}

static const store_backend pg_backend = {"postgres", pgs_start, pgs_close, pg_submit};

static void init_sync(pg_store *s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_cond_init(&s->cv, NULL) != 0 ||
        pthread_cond_init(&s->sweep_cv, &ca) != 0 || pthread_mutex_init(&s->pub_mu, NULL) != 0 ||
        pthread_cond_init(&s->pub_cv, &ca) != 0)
        abort();
    pthread_condattr_destroy(&ca);
}

/* The loops that start from now on open connections of their own to s. */
static void serve_from_loops(pg_store *s)
{
    static int hooked;
    served = s;
    if (!hooked) {
        hooked = 1;
        server_on_worker_start(on_worker_start);
        server_on_worker_stop(on_worker_stop);
    }
}

store_t *pg_store_open(const char *url, const char *replica_url, char *err, size_t errlen)
{
    PGconn *c = pg_connect_plain(url, err, errlen);
    if (c == NULL)
        return NULL;
    pg_resolve_now(url); /* the store's own connects take these addresses (hostaddr.c) */
    if (replica_url != NULL && replica_url[0] != '\0')
        pg_resolve_now(replica_url);
    int rc = pg_migrate(c, NULL, err, errlen);
    PQfinish(c);
    if (rc != 0)
        return NULL;
    pg_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->base.backend = &pg_backend;
    s->url = strdup(url);
    s->nworkers = BLOCKING_THREADS;
    s->threads = calloc((size_t)s->nworkers, sizeof(*s->threads));
    s->conns = calloc((size_t)s->nworkers, sizeof(*s->conns));
    if (s->url == NULL || s->threads == NULL || s->conns == NULL)
        abort();
    init_sync(s);
    h2o_linklist_init_anchor(&s->queue);
    for (int i = 0; i < s->nworkers; i++)
        pg_conn_init(&s->conns[i], url, 0);
    pg_conn_init(&s->sweep_conn, url, 0);
    if (replica_url != NULL && replica_url[0] != '\0') {
        s->replicas = calloc((size_t)s->nworkers, sizeof(*s->replicas));
        if (s->replicas == NULL)
            abort();
        for (int i = 0; i < s->nworkers; i++)
            pg_conn_init(&s->replicas[i], replica_url, 1);
    }
    if (start_workers(s) != 0)
        log_msg(LOG_WARN, "postgres: only %d backend threads started", s->nworkers);
    serve_from_loops(s);
    return &s->base;
}

int pg_store_migrate(const char *url, FILE *report, char *err, size_t errlen)
{
    PGconn *c = pg_connect_plain(url, err, errlen);
    if (c == NULL)
        return -1;
    int rc = pg_migrate(c, report, err, errlen);
    PQfinish(c);
    return rc;
}
