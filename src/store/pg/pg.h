/*
 * pg.h - what the PostgreSQL backend's files share (internal to store/pg).
 *
 * The ops themselves are PL/pgSQL (store/pg/migrations/0003_ops.sql): a
 * job is one call of tixin_op() inside BEGIN ... COMMIT, so the C side is
 * only the engine around it: connections (conn.c), running a job and
 * publishing its changes (job.c), the loops' own pipelined connections
 * (loop.c), feeding the in-memory caches (caches.c), migrations
 * (migrate.c), and the store object with its threads (pg.c).
 */
#ifndef TIXIN_STORE_PG_PG_H
#define TIXIN_STORE_PG_PG_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "core/errors.h"
#include "store/store.h"

#define PG_CONNECT_TIMEOUT_MS 3000
#define PG_CONNECT_TIMEOUT_TEXT "3"
#define PG_RETRIES 3     /* attempts of a job that hit a serialization failure or deadlock */
#define PG_BATCH_MAX 32  /* jobs in one tixin_batch() */
#define PG_OP_NPARAMS 8  /* parameters of the "op" statement */

/* --- a connection that comes back by itself (conn.c) ---------------------- */

typedef struct {
    PGconn *c;
    char *url;
    int64_t retry_at;  /* mono_ms of the next reconnect attempt */
    int backoff_ms;
    int prepared;      /* session set up (temp table, statements) */
    int last_retryable; /* the last failure may be retried (pg_conn_retryable()) */
    int replica;       /* a read-only standby: no temp table, reads only */
    long seen_connects; /* conn.c's connect count when this one failed */
} pg_conn;

void pg_conn_init(pg_conn *pc, const char *url, int replica);
/* Connected and set up, reconnecting (with backoff) when the connection
 * was lost: 0, or -1 while the server cannot be reached. */
int pg_conn_ready(pg_conn *pc);
void pg_conn_close(pg_conn *pc);
/* A statement without rows: 0 ok, else the err_code of the failure. */
err_code pg_cmd(pg_conn *pc, const char *sql);
/* A prepared statement returning one JSON value: E_OK and *out (new
 * reference, NULL for SQL NULL), or the err_code of the failure (the
 * connection is marked for reconnect when it broke). */
err_code pg_call_json(pg_conn *pc, const char *stmt, int n, const char *const *values, json_t **out);
/* BEGIN and pg_call_json() in one round trip (libpq pipeline mode); the
 * transaction stays open (or failed: the caller rolls it back). */
err_code pg_begin_call_json(pg_conn *pc, const char *stmt, int n, const char *const *values, json_t **out);
/* 1 when the last failure was a serialization failure, a deadlock or the
 * server ending the session (the transaction did not commit: it may be
 * retried, on a new session for the latter). */
int pg_conn_retryable(const pg_conn *pc);
/* Blocking one-off connection for migrations (libpq resolves the host
 * itself); NULL and err on failure. */
PGconn *pg_connect_plain(const char *url, char *err, size_t errlen);
/* A non-blocking connect under way (PQconnectPoll()), or NULL and err; at
 * the address hostaddr.c gives, never after a lookup (as pg_conn_ready()). */
PGconn *pg_connect_start(const char *url, char *err, size_t errlen);
/* "cannot connect to PostgreSQL: " and c's error, on one line. */
void pg_connect_error(PGconn *c, char *err, size_t errlen);
/* Queue the session setup (pg_conn_ready()'s, for a primary, and a
 * lock_timeout of PG_LOOP_LOCK_TIMEOUT) on c in pipeline mode, without its
 * sync: 0, or -1 when c broke. A statement that waited that long for a row
 * lock fails with PG_RETRY_BLOCKING (see loop.c). */
#define PG_LOOP_LOCK_TIMEOUT "'100ms'"
#define PG_RETRY_BLOCKING 2
int pg_send_setup(PGconn *c);
/* The backoff bookkeeping of a connection not driven by pg_conn_ready()
 * (loop.c; pc->c is its PGconn): it broke (retry at once); a reconnect may
 * be tried now; an attempt failed (why is logged, backoff doubles); it is
 * connected and set up. */
void pg_conn_lost(pg_conn *pc);
int pg_conn_may_retry(const pg_conn *pc);
void pg_conn_failed(pg_conn *pc, const char *why);
void pg_conn_succeeded(pg_conn *pc);
/* One row of one JSON value in r (not cleared), as pg_call_json(); *retry
 * as pg_conn_retryable(), or PG_RETRY_BLOCKING. */
err_code pg_result_json(PGconn *c, const char *stmt, const PGresult *r, json_t **out, int *retry);

/* --- host names, looked up off the loops (hostaddr.c) ---------------------- */

/* libpq's host, port and hostaddr lists for a connect without a lookup. */
typedef struct {
    char host[1024], port[256], hostaddr[1024];
    int n; /* entries */
} pg_hosts;
/* The lists for connecting to url's hosts without a lookup on this thread
 * (every address of a name, each as an entry of its own): 1 and h filled,
 * 0 when no host of url needs a lookup (pass none of them), -1 when no
 * host has an address yet (a lookup runs in the background). */
int pg_resolve_hosts(const char *url, pg_hosts *h);
/* A connect with those addresses failed (pg_conn_failed()): look url's
 * names up again, in the background. */
void pg_resolve_again(const char *url);
/* Look url's names up now, blocking (at start-up, before the loops run). */
void pg_resolve_now(const char *url);

/* --- jobs (job.c) ------------------------------------------------------------ */

typedef struct pg_store pg_store;
/* Run j on pc in one transaction, publish its changes after COMMIT, do
 * its after-commit work; fills j's result (does not complete its task).
 * rc (NULL when there is no replica) serves the lag-tolerant reads. */
void pg_run_job(pg_store *s, pg_conn *pc, pg_conn *rc, store_job *j);
/* 1 when j may run in a batch (tixin_batch()): a seat hold or a release
 * without an Idempotency-Key; event_id gets its event ("" when unknown:
 * a release of a hold this process did not make, which runs alone). A
 * batch holds the jobs of one event: it bumps one event row, so batches
 * never wait for each other's event rows while holding one. */
int pg_job_batch_event(const store_job *j, char *event_id, size_t len);
/* Run n batchable jobs of one event on pc in one transaction
 * (tixin_batch()) and publish their changes after COMMIT; fills their
 * results (does not complete their tasks) and remembers the event of each
 * hold made. Answers how many of them would have had to wait for a row
 * lock: those are moved to the end of jobs, unanswered, to be run again
 * one by one (n = 1: it waits), after the others are answered. */
int pg_run_batch(pg_store *s, pg_conn *pc, store_job **jobs, int n);
/* One expiry sweep on pc (each hold expired exactly once across every
 * instance); publishes its changes. */
void pg_run_sweep(pg_store *s, pg_conn *pc);
/* Delete idempotency keys older than a day. */
void pg_purge(pg_conn *pc);
/* Pieces of the above for loop.c, which sends the same statements through
 * a pipeline: the parameters of "op" for j with args; the check of its
 * result (*r freed and E_INTERNAL unless an object); the answer put in j;
 * committed changes published in order; whether j may run on a loop (one
 * statement, no C work in its transaction, no after-commit loads, no
 * replica read) and whether it changes seats; a batch's parameter, the
 * check of its result and the answers put in its jobs (the return and the
 * order of jobs as pg_run_batch()). */
typedef struct {
    const char *values[PG_OP_NPARAMS];
    char *args_text;
    char now_text[24];
    char user[2];
} pg_op_params;
void pg_op_params_init(pg_op_params *p, const store_job *j, const json_t *args, int64_t now);
void pg_op_params_free(pg_op_params *p);
err_code pg_op_result_check(err_code e, json_t **r);
void pg_fill_job(store_job *j, json_t *r);
void pg_publish_changes(pg_store *s, json_t *changes);
int pg_job_on_loop(const store_job *j, int has_replica);
int pg_job_changes_seats(const store_job *j);
char *pg_batch_text(store_job **jobs, int n);
err_code pg_batch_result_check(err_code e, const json_t *r);
int pg_batch_answers(store_job **jobs, int n, err_code e, json_t *r);
/* Count a batch statement of n jobs (tixin_store_batches_total, _jobs_total). */
void pg_count_batch(int n);

/* The job queues (pg.c): jobs linked through task.msg.link; the first, and
 * up to max more batchable ones of event_id (not "") among the first
 * ones, the others keeping their places. */
store_job *pg_queue_take(h2o_linklist_t *queue);
int pg_queue_take_batchable(h2o_linklist_t *queue, const char *event_id, store_job **out, int max);
/* Queue j to the backend threads (the blocking path), from any thread. */
void pg_submit_blocking(pg_store *s, store_job *j);

/* --- a loop's own connections (loop.c) ---------------------------------------- */

typedef struct pg_loop pg_loop;
/* On the loop's thread (ctx's), before it serves: nconns connections to
 * url, connecting at once. */
pg_loop *pg_loop_new(pg_store *s, h2o_context_t *ctx, int nconns, const char *url);
/* On the loop's thread: 0 once it stops (pg_loop_stop()); jobs then take
 * the blocking path. */
int pg_loop_accepting(const pg_loop *l);
/* On the loop's thread: run j (pg_job_on_loop()) on this loop's
 * connections; its task completes on this loop. */
void pg_loop_submit(pg_loop *l, store_job *j);
/* On the loop's thread: take no more jobs, close the connections once the
 * jobs already taken are answered. */
void pg_loop_stop(pg_loop *l);
/* After the loop's thread ended: wait for its publishers, free. */
void pg_loop_free(pg_loop *l);

/* Publish order per event (pg.c): a job that may change seats calls
 * pg_publish_begin() before it runs and pg_publish_end() once it has
 * published (or failed); before publishing version V of an event,
 * pg_publish_wait() waits (briefly) until the event's seat map has V-1
 * while another such job of this process is under way. */
void pg_publish_begin(pg_store *s);
void pg_publish_end(pg_store *s);
void pg_publish_wait(pg_store *s, const char *event_id, int64_t version);

/* --- caches (caches.c) ----------------------------------------------------- */

/* Load the event's seat map into booking/seatmap.h. */
err_code pg_seatmap_load(pg_conn *pc, const char *event_id);
/* Reload the catalog (listed from lc, the primary or a replica) and the
 * seat maps of listed events not yet loaded (always from the primary pc). */
err_code pg_catalog_load(pg_conn *lc, pg_conn *pc);

/* --- migrations (migrate.c) -------------------------------------------------- */
int pg_migrate(PGconn *c, FILE *report, char *err, size_t errlen);

/* the embedded migrations (build/gen/pg_migrations.c) */
#include "store/migrations.h"
extern const migration_t pg_migrations[];
extern const int pg_migrations_count;

#endif
