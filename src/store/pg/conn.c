/*
 * conn.c - one PostgreSQL connection's life: opened, set up once per
 * session (the temp change table, the prepared statements of the hot
 * calls), and reopened after it broke, with a backoff doubling from 100 ms
 * to 2 s so that a server that is down is not hammered while every job
 * fails fast with E_UNAVAILABLE (which is what /readyz reports, without a
 * restart of tixin when it comes back). Two users: the blocking path of
 * pg.c (pg_conn_ready(), PQexec) and the loops' non-blocking pipelined
 * connections of loop.c, which share the backoff bookkeeping, the setup
 * statements and the reading of a result here.
 */
#include "store/pg/pg.h"

#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/util.h"

#define LOCK_TIMEOUT "55P03" /* lock_not_available: the loops' lock_timeout */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

/* Successful connects so far, process-wide: a connection waiting out its
 * backoff tries again at once when another one got through (the server is
 * back), instead of failing jobs for up to BACKOFF_MAX_MS more. */
static _Atomic long connects;

static const struct {
    const char *name, *sql;
} statements[] = {
    {"op", "SELECT tixin_op($1, $2::jsonb, $3, $4::int, $5, $6, $7::bigint, $8::jsonb)"},
    {"sweep", "SELECT tixin_sweep($1::bigint, $2::int)"},
    {"seatmap", "SELECT tixin_seatmap($1)"},
    {"catalog", "SELECT tixin_catalog($1::bigint)"},
    {"venue", "SELECT tx_venue_json($1)"},
    {"batch", "SELECT tixin_batch($1::jsonb, $2::bigint)"},
    {"purge", "WITH d AS (DELETE FROM idempotency_keys WHERE created_at < $1::bigint RETURNING 1)"
              " SELECT to_jsonb(count(*)) FROM d"},
};

static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message; /* NOTICEs (e.g. "already exists, skipping") are not news */
}

static const char *const connect_keys[] = {"dbname", "connect_timeout", "application_name",
                                           "host", "port", "hostaddr", NULL};

void pg_connect_error(PGconn *c, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot connect to PostgreSQL: %s", c != NULL ? PQerrorMessage(c) : "out of memory");
    char *nl = strchr(err, '\n');
    if (nl != NULL)
        *nl = '\0';
}

/* c when ok, else NULL (c closed) and why in err. */
static PGconn *connected(PGconn *c, int ok, char *err, size_t errlen)
{
    if (!ok) {
        pg_connect_error(c, err, errlen);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

/* After dbname (the URL, which libpq expands): host, port and hostaddr
 * (h NULL: the URL's, resolved by libpq) override the URL's. wait:
 * connected, or a non-blocking connect under way. */
static PGconn *open_conn(const char *url, const pg_hosts *h, int wait, char *err, size_t errlen)
{
    const char *vals[] = {url, PG_CONNECT_TIMEOUT_TEXT, "tixin", h ? h->host : NULL, h ? h->port : NULL,
                          h ? h->hostaddr : NULL, NULL};
    PGconn *c = wait ? PQconnectdbParams(connect_keys, vals, 1) : PQconnectStartParams(connect_keys, vals, 1);
    int ok = c != NULL && (wait ? PQstatus(c) == CONNECTION_OK : PQstatus(c) != CONNECTION_BAD);
    return connected(c, ok, err, errlen);
}

/* A connection of the store's threads: to the addresses hostaddr.c gives
 * for url's host names, never after a lookup on this thread. */
static PGconn *open_resolved(const char *url, int wait, char *err, size_t errlen)
{
    pg_hosts h;
    int named = pg_resolve_hosts(url, &h);
    if (named < 0) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: its host name is not resolved yet");
        return NULL;
    }
    return open_conn(url, named ? &h : NULL, wait, err, errlen);
}

PGconn *pg_connect_plain(const char *url, char *err, size_t errlen)
{
    return open_conn(url, NULL, 1, err, errlen);
}

PGconn *pg_connect_start(const char *url, char *err, size_t errlen)
{
    return open_resolved(url, 0, err, errlen);
}

void pg_conn_init(pg_conn *pc, const char *url, int replica)
{
    memset(pc, 0, sizeof(*pc));
    pc->replica = replica;
    pc->url = strdup(url);
    if (pc->url == NULL)
        abort();
}

void pg_conn_close(pg_conn *pc)
{
    PQfinish(pc->c);
    pc->c = NULL;
    pc->prepared = 0;
    free(pc->url);
    pc->url = NULL;
}

/* generic plans at once: the ops' statements look rows up by key, and
 * planning them anew on every call (custom plans) costs more CPU than
 * running them; a standby is read-only: no change table there (it runs no
 * op) */
#define SETUP_PLANS "SET plan_cache_mode = force_generic_plan"
#define SETUP_SESSION(replica) ((replica) ? "SELECT 1" : "SELECT tx_session()")

static int session_setup(pg_conn *pc)
{
    PGresult *r = PQexec(pc->c, SETUP_PLANS);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    r = ok ? PQexec(pc->c, SETUP_SESSION(pc->replica)) : NULL;
    ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    for (size_t i = 0; ok && i < sizeof(statements) / sizeof(statements[0]); i++) {
        r = PQprepare(pc->c, statements[i].name, statements[i].sql, 0, NULL);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok)
        log_msg(LOG_ERROR, "postgres session setup: %s", PQerrorMessage(pc->c));
    return ok ? 0 : -1;
}

int pg_send_setup(PGconn *c)
{
    int ok = PQsendQueryParams(c, SETUP_PLANS, 0, NULL, NULL, NULL, NULL, 0) &&
             PQsendQueryParams(c, "SET lock_timeout = " PG_LOOP_LOCK_TIMEOUT, 0, NULL, NULL, NULL, NULL, 0) &&
             PQsendQueryParams(c, SETUP_SESSION(0), 0, NULL, NULL, NULL, NULL, 0);
    for (size_t i = 0; ok && i < sizeof(statements) / sizeof(statements[0]); i++)
        ok = PQsendPrepare(c, statements[i].name, statements[i].sql, 0, NULL);
    return ok ? 0 : -1;
}

static void drop(pg_conn *pc)
{
    PQfinish(pc->c);
    pc->c = NULL;
    pc->prepared = 0;
    pc->backoff_ms = pc->backoff_ms ? pc->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (pc->backoff_ms > BACKOFF_MAX_MS)
        pc->backoff_ms = BACKOFF_MAX_MS;
    pc->retry_at = mono_ms() + pc->backoff_ms;
    pc->seen_connects = connects;
}

void pg_conn_lost(pg_conn *pc)
{
    log_msg(LOG_WARN, "postgres connection lost; reconnecting");
    drop(pc);
    pc->retry_at = 0; /* at once: the server may be back already */
}

int pg_conn_may_retry(const pg_conn *pc)
{
    return mono_ms() >= pc->retry_at || connects != pc->seen_connects;
}

void pg_conn_failed(pg_conn *pc, const char *why)
{
    pg_resolve_again(pc->url); /* the server may have moved to another address */
    if (pc->backoff_ms == 0 || pc->backoff_ms >= BACKOFF_MAX_MS)
        log_msg(LOG_WARN, "%s", why);
    drop(pc);
}

void pg_conn_succeeded(pg_conn *pc)
{
    if (pc->backoff_ms != 0)
        log_msg(LOG_INFO, "postgres connection restored");
    pc->backoff_ms = 0;
    pc->prepared = 1;
    connects++;
}

int pg_conn_ready(pg_conn *pc)
{
    /* reading what is pending (never blocks: libpq's sockets are
     * non-blocking) notices a server that closed this idle connection,
     * e.g. on restart, before a job is sent into it: the first read takes
     * its goodbye message, the second sees the end of the stream */
    if (pc->c != NULL && pc->prepared && PQconsumeInput(pc->c) && PQconsumeInput(pc->c) &&
        PQstatus(pc->c) == CONNECTION_OK)
        return 0;
    if (pc->c != NULL)
        pg_conn_lost(pc);
    if (!pg_conn_may_retry(pc))
        return -1;
    char err[512];
    pc->c = open_resolved(pc->url, 1, err, sizeof(err));
    if (pc->c == NULL || session_setup(pc) != 0) {
        pg_conn_failed(pc, pc->c == NULL ? err : "postgres session setup failed");
        return -1;
    }
    pg_conn_succeeded(pc);
    return 0;
}

/* The err_code of a failed result (logged unless it is a broken
 * connection, which pg_conn_ready() reports). */
static err_code failure_of(PGconn *c, const PGresult *r)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(c) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strcmp(state, "53300") == 0)
        return E_UNAVAILABLE;
    if (strcmp(state, "40001") != 0 && strcmp(state, "40P01") != 0 && strcmp(state, LOCK_TIMEOUT) != 0)
        log_msg(LOG_ERROR, "postgres: %s", PQresultErrorMessage(r));
    return E_INTERNAL;
}

static err_code failure(pg_conn *pc, PGresult *r)
{
    return failure_of(pc->c, r);
}

/* A statement that failed this way did not commit and may run again:
 * serialization failure, deadlock, or the server ending the session
 * (57P0x: shutdown, restart). Only for the statements before COMMIT. */
static int retryable(const PGresult *r)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL && strcmp(state, LOCK_TIMEOUT) == 0)
        return PG_RETRY_BLOCKING;
    return state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                             strncmp(state, "57P0", 4) == 0);
}

int pg_conn_retryable(const pg_conn *pc)
{
    return pc->last_retryable;
}

err_code pg_cmd(pg_conn *pc, const char *sql)
{
    PGresult *r = PQexec(pc->c, sql);
    err_code e = PQresultStatus(r) == PGRES_COMMAND_OK ? E_OK : failure(pc, r);
    PQclear(r);
    return e;
}

err_code pg_result_json(PGconn *c, const char *stmt, const PGresult *r, json_t **out, int *retry)
{
    *out = NULL;
    *retry = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        *retry = retryable(r);
        return failure_of(c, r);
    }
    if (PQgetisnull(r, 0, 0))
        return E_OK;
    json_error_t jerr;
    *out = json_loads(PQgetvalue(r, 0, 0), JSON_DECODE_ANY, &jerr);
    if (*out != NULL)
        return E_OK;
    log_msg(LOG_ERROR, "postgres: bad JSON from %s: %s", stmt, jerr.text);
    return E_INTERNAL;
}

/* One row of one JSON value in r (which is cleared), as pg_call_json(). */
static err_code json_result(pg_conn *pc, const char *stmt, PGresult *r, json_t **out)
{
    err_code e = pg_result_json(pc->c, stmt, r, out, &pc->last_retryable);
    PQclear(r);
    return e;
}

err_code pg_call_json(pg_conn *pc, const char *stmt, int n, const char *const *values, json_t **out)
{
    *out = NULL;
    return json_result(pc, stmt, PQexecPrepared(pc->c, stmt, n, values, NULL, NULL, 0), out);
}

/* The last result of the pipeline's next query (NULL when it had none). */
static PGresult *next_query_result(PGconn *c)
{
    PGresult *last = NULL, *r;
    for (int i = 0; i < 16 && (r = PQgetResult(c)) != NULL; i++) {
        PQclear(last);
        last = r;
    }
    return last;
}

err_code pg_begin_call_json(pg_conn *pc, const char *stmt, int n, const char *const *values, json_t **out)
{
    *out = NULL;
    if (!PQenterPipelineMode(pc->c))
        return failure(pc, NULL);
    int sent = PQsendQueryParams(pc->c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
               PQsendQueryPrepared(pc->c, stmt, n, values, NULL, NULL, 0) && PQpipelineSync(pc->c);
    PGresult *begin = sent ? next_query_result(pc->c) : NULL;
    PGresult *r = sent ? next_query_result(pc->c) : NULL;
    /* the sync point's result ends the pipeline */
    for (int i = 0; sent && i < 4; i++) {
        PGresult *x = PQgetResult(pc->c);
        int sync = x != NULL && PQresultStatus(x) == PGRES_PIPELINE_SYNC;
        PQclear(x);
        if (sync || x == NULL)
            break;
    }
    err_code e;
    if (!PQexitPipelineMode(pc->c)) {
        /* results left unread: the session is unusable, start a new one */
        log_msg(LOG_ERROR, "postgres: pipeline not drained: %s", PQerrorMessage(pc->c));
        pc->prepared = 0;
        e = E_UNAVAILABLE;
        PQclear(r);
    } else if (PQresultStatus(begin) != PGRES_COMMAND_OK) {
        pc->last_retryable = retryable(begin);
        e = failure(pc, begin);
        PQclear(r);
    } else {
        e = json_result(pc, stmt, r, out);
    }
    PQclear(begin);
    return e;
}
