/*
 * pg.h - what the PostgreSQL backend's files share (internal to store/pg).
 *
 * The ops themselves are PL/pgSQL (store/pg/migrations/0003_ops.sql): a
 * job is one call of tixin_op() inside BEGIN ... COMMIT, so the C side is
 * only the engine around it: connections (conn.c), running a job and
 * publishing its changes (job.c), feeding the in-memory caches (caches.c),
 * migrations (migrate.c), and the store object with its threads (pg.c).
 */
#ifndef TIXIN_STORE_PG_PG_H
#define TIXIN_STORE_PG_PG_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "core/errors.h"
#include "store/store.h"

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
/* Blocking one-off connection for migrations; NULL and err on failure. */
PGconn *pg_connect_plain(const char *url, char *err, size_t errlen);

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
