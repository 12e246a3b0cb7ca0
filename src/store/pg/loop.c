/*
 * loop.c - an HTTP worker loop's own PostgreSQL connections: non-blocking
 * libpq in the h2o loop, pipelined, so the loop sends its jobs and reads
 * their answers itself instead of handing each job to a backend thread.
 *
 * The socket. As with hiredis (pubsub/redis_ev.c), h2o gets a dup() of
 * libpq's descriptor with H2O_SOCKET_FLAG_DONT_READ: h2o only reports
 * readability (libpq reads from its own descriptor) and, one-shot, that
 * libpq's unsent output may go on (PQflush() returned 1). The connect is
 * non-blocking too (PQconnectPoll()); libpq may replace its socket while
 * connecting, so the dup is renewed whenever the socket's inode changes,
 * and an attempt that takes longer than PG_CONNECT_TIMEOUT_MS is given up
 * (checked on the context's one-second timer). Host names are looked up
 * elsewhere (hostaddr.c): libpq would do it with a blocking getaddrinfo().
 * The session setup (plan mode, the temp change table, the prepared
 * statements) is the first item of the new connection's pipeline.
 *
 * The pipeline. Jobs submitted during one turn of the loop are queued and
 * sent at its end (the context's zero timeout): the seat holds and
 * releases of one event together as one tixin_batch() statement (as the
 * backend threads batch them, see pg.c), every other job as one "op"
 * statement. Each statement is followed by its own sync, so it is its own
 * transaction (what the blocking path's autocommit is), and answers come
 * back in the order sent: a FIFO of items per connection. At most
 * MAX_INFLIGHT statements are outstanding per connection; the jobs queued
 * meanwhile make the next batches larger. A serialization failure or
 * deadlock sends the statement again (PG_RETRIES attempts). Waiting for a
 * row lock in the pipeline holds up every statement sent after it, so it
 * is kept short: a batch's jobs that would have waited (another
 * transaction has their rows) go to pg.c's blocking path, to run alone
 * and wait there, and so do the jobs of a statement that waited longer
 * than the sessions' lock_timeout (PG_LOOP_LOCK_TIMEOUT; the event rows
 * that every batch locks last are normally held only for a COMMIT).
 *
 * Publishing. A change must reach pubsub after the version before it
 * (pg_publish_wait()), and publishing may block (cluster mode PUBLISHes
 * and waits for the other instances' acknowledgements, pubsub/redis_pub.c),
 * which a loop must never do. So a connection's answers that changed seats
 * go to that connection's publisher threads, which take them in the order
 * they committed on it, publish them and then complete their jobs; answers
 * without changes complete on the loop at once. A queue per connection
 * is what makes the waits safe: a change waits only for an earlier commit
 * of its event, and the earliest unpublished commit of all is never
 * queued behind a waiting one (on its connection, those committed before
 * it), so something always moves. Several threads per queue, because a
 * wait may also be for a version made by another instance, which only
 * pubsub brings (or nothing does, and the wait runs out): waits overlap
 * instead of adding up, as they did on the backend threads.
 *
 * Failures. A connection that breaks fails the jobs in its pipeline with
 * E_UNAVAILABLE (whether they committed is unknown, as with any lost
 * connection), and the next job reconnects at once, then with conn.c's
 * backoff; while no connection can be made the queued jobs fail at once
 * (so /readyz answers 503), and the first job after PostgreSQL is back
 * reconnects: nothing needs a restart.
 */
#include "store/pg/pg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/log.h"
#include "core/util.h"

#define MAX_INFLIGHT 8
#define PUBLISHERS 4 /* threads per connection */

typedef enum { IT_SETUP, IT_OP, IT_BATCH } item_kind;

/* One statement (and its sync) in a connection's pipeline. */
typedef struct item {
    struct item *next;
    item_kind kind;
    int attempts;
    int seats;          /* pg_publish_begin() was called for it */
    PGresult *res;      /* the first failed result, else the last one */
    json_t *changes;    /* committed changes to publish */
    int n;
    store_job *jobs[PG_BATCH_MAX];
} item;

typedef struct {
    item *head, *tail;
} fifo;

typedef enum { C_DOWN, C_CONNECTING, C_SETUP, C_READY } conn_state;

typedef struct {
    pg_loop *l;
    pg_conn pc;          /* PGconn and backoff (conn.c) */
    conn_state state;
    int64_t connect_started;
    h2o_socket_t *sock;  /* on a dup() of PQsocket() */
    ino_t sock_ino;      /* which socket the dup is of */
    int write_armed;
    h2o_timeout_entry_t connect_timer;
    fifo sent;
    int inflight;
    /* the publisher threads */
    pthread_t publishers[PUBLISHERS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fifo to_publish;
    int stopping;
} lconn;

struct pg_loop {
    pg_store *s;
    h2o_context_t *ctx;
    h2o_linklist_t queue;      /* submitted, not yet sent */
    h2o_timeout_entry_t flush_entry;
    int closing;
    int nconns;
    lconn conns[];
};

static void flush(pg_loop *l);
static void conn_broken(lconn *c);

/* --- items ----------------------------------------------------------------- */

static void fifo_push(fifo *f, item *it)
{
    it->next = NULL;
    if (f->tail != NULL)
        f->tail->next = it;
    else
        f->head = it;
    f->tail = it;
}

static item *fifo_pop(fifo *f)
{
    item *it = f->head;
    if (it != NULL && (f->head = it->next) == NULL)
        f->tail = NULL;
    return it;
}

static item *item_new(item_kind kind, store_job **jobs, int n, pg_store *s)
{
    item *it = calloc(1, sizeof(*it));
    if (it == NULL)
        abort();
    it->kind = kind;
    it->n = n;
    if (n > 0)
        memcpy(it->jobs, jobs, (size_t)n * sizeof(*jobs));
    for (int i = 0; i < n && !it->seats; i++)
        it->seats = pg_job_changes_seats(jobs[i]);
    if (it->seats)
        pg_publish_begin(s);
    return it;
}

static void item_free(item *it)
{
    PQclear(it->res);
    json_decref(it->changes);
    free(it);
}

static void complete_jobs(item *it)
{
    for (int i = 0; i < it->n; i++)
        task_complete(&it->jobs[i]->task);
}

/* --- the publisher ------------------------------------------------------------ */

static void *publisher_main(void *arg)
{
    lconn *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (c->to_publish.head == NULL && !c->stopping)
            pthread_cond_wait(&c->cv, &c->mu);
        item *it = fifo_pop(&c->to_publish);
        pthread_mutex_unlock(&c->mu);
        if (it == NULL)
            return NULL; /* stopping and drained */
        if (it->changes != NULL)
            pg_publish_changes(c->l->s, it->changes);
        pg_publish_end(c->l->s);
        complete_jobs(it);
        item_free(it);
    }
}

/* An answered item: its jobs complete here, or after publishing. */
static void dispatch(lconn *c, item *it)
{
    if (!it->seats) {
        complete_jobs(it);
        item_free(it);
        return;
    }
    pthread_mutex_lock(&c->mu);
    fifo_push(&c->to_publish, it);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void fail_item(lconn *c, item *it, err_code e)
{
    for (int i = 0; i < it->n; i++)
        it->jobs[i]->err = e;
    json_decref(it->changes);
    it->changes = NULL;
    dispatch(c, it);
}

/* --- the socket --------------------------------------------------------------- */

static void on_readable(h2o_socket_t *sock, const char *err);

static void detach(lconn *c)
{
    if (c->sock != NULL)
        h2o_socket_close(c->sock);
    c->sock = NULL;
    c->write_armed = 0;
}

static ino_t inode_of(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* (Re)attach the h2o socket to libpq's current socket: 0, or -1. */
static int attach(lconn *c)
{
    int pgfd = PQsocket(c->pc.c);
    ino_t ino = inode_of(pgfd);
    if (c->sock != NULL && ino == c->sock_ino)
        return 0;
    detach(c);
    int fd = pgfd >= 0 ? dup(pgfd) : -1;
    if (fd < 0)
        return -1;
    c->sock = h2o_evloop_socket_create(c->l->ctx->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    c->sock->data = c;
    c->sock_ino = ino;
    h2o_socket_read_start(c->sock, on_readable);
    return 0;
}

static void on_writable(h2o_socket_t *sock, const char *err);

static void arm_write(lconn *c)
{
    if (!c->write_armed && c->sock != NULL) {
        c->write_armed = 1;
        h2o_socket_notify_write(c->sock, on_writable);
    }
}

/* Push libpq's buffered output; the rest when the socket can take it. */
static void flush_out(lconn *c)
{
    if (c->state < C_SETUP)
        return;
    int r = PQflush(c->pc.c);
    if (r < 0)
        conn_broken(c);
    else if (r > 0)
        arm_write(c);
}

/* --- connecting ------------------------------------------------------------- */

static void timer_stop(lconn *c)
{
    if (h2o_timeout_is_linked(&c->connect_timer))
        h2o_timeout_unlink(&c->connect_timer);
}

/* Forget c's socket and fail its pipeline (the caller closes the PGconn). */
static void end_session(lconn *c)
{
    timer_stop(c);
    detach(c);
    item *it;
    while ((it = fifo_pop(&c->sent)) != NULL)
        fail_item(c, it, E_UNAVAILABLE);
    c->inflight = 0;
    c->state = C_DOWN;
}

static void connect_failed(lconn *c, const char *why)
{
    end_session(c);
    pg_conn_failed(&c->pc, why); /* closes it, backs off */
    flush(c->l); /* the queued jobs: another connection, or they fail */
}

static void start_setup(lconn *c)
{
    timer_stop(c);
    PGconn *pgc = c->pc.c;
    if (PQsetnonblocking(pgc, 1) != 0 || !PQenterPipelineMode(pgc) || pg_send_setup(pgc) != 0 ||
        !PQpipelineSync(pgc)) {
        connect_failed(c, "postgres session setup failed");
        return;
    }
    c->state = C_SETUP;
    fifo_push(&c->sent, item_new(IT_SETUP, NULL, 0, c->l->s));
    c->inflight++;
    flush_out(c);
}

static void connect_poll(lconn *c)
{
    PostgresPollingStatusType st = PQconnectPoll(c->pc.c);
    if (st != PGRES_POLLING_FAILED && attach(c) != 0)
        st = PGRES_POLLING_FAILED;
    if (st == PGRES_POLLING_OK)
        start_setup(c);
    else if (st == PGRES_POLLING_FAILED) {
        char why[300];
        pg_connect_error(c->pc.c, why, sizeof(why));
        connect_failed(c, why);
    } else if (st == PGRES_POLLING_WRITING)
        arm_write(c);
}

static void on_connect_timer(h2o_timeout_entry_t *entry)
{
    lconn *c = H2O_STRUCT_FROM_MEMBER(lconn, connect_timer, entry);
    if (c->state != C_CONNECTING && c->state != C_SETUP)
        return;
    if (mono_ms() - c->connect_started < PG_CONNECT_TIMEOUT_MS) {
        h2o_timeout_link(c->l->ctx->loop, &c->l->ctx->one_sec_timeout, &c->connect_timer);
        return;
    }
    connect_failed(c, "cannot connect to PostgreSQL: timeout");
}

/* Start connecting c unless its backoff says not yet: 0 under way. */
static int connect_start(lconn *c)
{
    if (!pg_conn_may_retry(&c->pc))
        return -1;
    char why[300];
    c->pc.c = pg_connect_start(c->pc.url, why, sizeof(why)); /* no lookup: hostaddr.c */
    if (c->pc.c == NULL) {
        pg_conn_failed(&c->pc, why);
        return -1;
    }
    c->state = C_CONNECTING;
    c->connect_started = mono_ms();
    if (attach(c) != 0) {
        connect_failed(c, "cannot connect to PostgreSQL: no socket");
        return -1;
    }
    h2o_timeout_link(c->l->ctx->loop, &c->l->ctx->one_sec_timeout, &c->connect_timer);
    arm_write(c); /* libpq: start as if PQconnectPoll() said WRITING */
    return 0;
}

/* The session is gone: its pipeline fails, the next job reconnects. */
static void conn_broken(lconn *c)
{
    if (c->state == C_DOWN)
        return;
    end_session(c);
    pg_conn_lost(&c->pc); /* closes it */
    flush(c->l);
}

/* --- sending ---------------------------------------------------------------- */

static int send_item(lconn *c, item *it)
{
    PGconn *pgc = c->pc.c;
    int ok;
    if (it->kind == IT_OP) {
        pg_op_params p;
        pg_op_params_init(&p, it->jobs[0], it->jobs[0]->args, now_ms());
        ok = PQsendQueryPrepared(pgc, "op", PG_OP_NPARAMS, p.values, NULL, NULL, 0);
        pg_op_params_free(&p);
    } else {
        char now_text[24];
        snprintf(now_text, sizeof(now_text), "%lld", (long long)now_ms());
        char *text = pg_batch_text(it->jobs, it->n);
        const char *values[2] = {text, now_text};
        ok = PQsendQueryPrepared(pgc, "batch", 2, values, NULL, NULL, 0);
        free(text);
    }
    fifo_push(&c->sent, it);
    c->inflight++;
    return ok && PQpipelineSync(pgc) ? 0 : -1;
}

/* The next item out of the loop's queue: a batch of one event's holds and
 * releases, or one job. */
static item *next_item(pg_loop *l)
{
    store_job *jobs[PG_BATCH_MAX];
    char ev[64];
    store_job *j = pg_queue_take(&l->queue);
    if (!pg_job_batch_event(j, ev, sizeof(ev)))
        return item_new(IT_OP, &j, 1, l->s);
    jobs[0] = j;
    int n = 1 + pg_queue_take_batchable(&l->queue, ev, jobs + 1, PG_BATCH_MAX - 1);
    pg_count_batch(n); /* here, not in send_item(): a retry sends it again */
    return item_new(IT_BATCH, jobs, n, l->s);
}

/* The ready connection with the most room, or NULL. */
static lconn *pick(pg_loop *l)
{
    lconn *best = NULL;
    for (int i = 0; i < l->nconns; i++) {
        lconn *c = &l->conns[i];
        if (c->state == C_READY && c->inflight < MAX_INFLIGHT && (best == NULL || c->inflight < best->inflight))
            best = c;
    }
    return best;
}

/* No connection is up or coming: start one, or fail the queue. */
static void ensure_connecting(pg_loop *l)
{
    int coming = 0;
    for (int i = 0; i < l->nconns; i++) {
        lconn *c = &l->conns[i];
        if (c->state == C_DOWN)
            connect_start(c);
        coming += c->state != C_DOWN;
    }
    if (coming)
        return;
    store_job *j;
    while ((j = pg_queue_take(&l->queue)) != NULL) {
        j->err = E_UNAVAILABLE;
        task_complete(&j->task);
    }
}

static void close_if_done(pg_loop *l);

static void flush(pg_loop *l)
{
    lconn *c;
    while (!h2o_linklist_is_empty(&l->queue) && (c = pick(l)) != NULL) {
        if (send_item(c, next_item(l)) != 0) {
            conn_broken(c);
            return; /* conn_broken() flushed the rest */
        }
    }
    for (int i = 0; i < l->nconns; i++)
        if (l->conns[i].state == C_READY)
            flush_out(&l->conns[i]);
    if (!h2o_linklist_is_empty(&l->queue))
        ensure_connecting(l);
    close_if_done(l);
}

static void on_flush(h2o_timeout_entry_t *entry)
{
    flush(H2O_STRUCT_FROM_MEMBER(pg_loop, flush_entry, entry));
}

void pg_loop_submit(pg_loop *l, store_job *j)
{
    h2o_linklist_insert(&l->queue, &j->task.msg.link);
    if (!h2o_timeout_is_linked(&l->flush_entry))
        h2o_timeout_link(l->ctx->loop, &l->ctx->zero_timeout, &l->flush_entry);
}

/* --- answers ------------------------------------------------------------------- */

static int result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Send it again when its failure may be retried, or hand its jobs to the
 * blocking path when it waited too long for a row lock: 1 when done. */
static int resent(lconn *c, item *it, int retry)
{
    if (retry == PG_RETRY_BLOCKING) {
        for (int i = 0; i < it->n; i++)
            pg_submit_blocking(c->l->s, it->jobs[i]);
        it->n = 0;
        dispatch(c, it);
        return 1;
    }
    if (!retry || ++it->attempts >= PG_RETRIES)
        return 0;
    PQclear(it->res);
    it->res = NULL;
    if (send_item(c, it) != 0)
        conn_broken(c);
    return 1;
}

static void changes_of(item *it, json_t *r)
{
    json_t *ch = json_object_get(r, "changes");
    if (json_array_size(ch) > 0)
        it->changes = json_incref(ch);
}

static void finish_op(lconn *c, item *it)
{
    json_t *r = NULL;
    int retry;
    err_code e = pg_op_result_check(pg_result_json(c->pc.c, "op", it->res, &r, &retry), &r);
    if (e != E_OK && resent(c, it, retry))
        return;
    if (e != E_OK)
        it->jobs[0]->err = e;
    else {
        pg_fill_job(it->jobs[0], r);
        changes_of(it, r);
    }
    json_decref(r);
    dispatch(c, it);
}

static void finish_batch(lconn *c, item *it)
{
    json_t *r = NULL;
    int retry;
    err_code e = pg_result_json(c->pc.c, "batch", it->res, &r, &retry);
    e = pg_batch_result_check(e, r);
    if (e != E_OK && resent(c, it, retry)) {
        json_decref(r);
        return;
    }
    int n = it->n - pg_batch_answers(it->jobs, it->n, e, r);
    for (int i = n; i < it->n; i++) /* alone now, where waiting holds up nothing else */
        pg_submit_blocking(c->l->s, it->jobs[i]);
    it->n = n;
    if (e == E_OK)
        changes_of(it, r);
    json_decref(r);
    dispatch(c, it);
}

static void finish_setup(lconn *c, item *it)
{
    int ok = it->res == NULL || result_ok(it->res);
    if (!ok)
        log_msg(LOG_ERROR, "postgres session setup: %s", PQresultErrorMessage(it->res));
    item_free(it);
    if (!ok) {
        connect_failed(c, "postgres session setup failed");
        return;
    }
    c->state = C_READY;
    pg_conn_succeeded(&c->pc);
    flush(c->l);
}

static void finish(lconn *c, item *it)
{
    c->inflight--;
    if (it->kind == IT_SETUP)
        finish_setup(c, it);
    else if (it->kind == IT_OP)
        finish_op(c, it);
    else
        finish_batch(c, it);
}

/* Every complete answer libpq has: a statement's result, then (after a
 * NULL) its sync's. */
static void read_answers(lconn *c)
{
    int nulls = 0;
    while (c->state >= C_SETUP && c->sent.head != NULL && !PQisBusy(c->pc.c)) {
        PGresult *r = PQgetResult(c->pc.c);
        if (r == NULL) {
            if (++nulls > 1)
                break;
            continue;
        }
        nulls = 0;
        item *it = c->sent.head;
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            finish(c, fifo_pop(&c->sent));
        } else if (it->res == NULL || (result_ok(it->res) && !result_ok(r))) {
            PQclear(it->res);
            it->res = r;
        } else {
            PQclear(r);
        }
    }
}

/* The answers libpq has, then the rest of the output and the jobs that
 * waited for room in the pipeline. */
static void answers_then_more(lconn *c)
{
    read_answers(c);
    if (c->state >= C_SETUP) {
        flush_out(c);
        flush(c->l);
    }
}

static void on_readable(h2o_socket_t *sock, const char *err)
{
    lconn *c = sock->data;
    if (c->state == C_CONNECTING) {
        connect_poll(c);
        return;
    }
    if (!PQconsumeInput(c->pc.c) || PQstatus(c->pc.c) == CONNECTION_BAD) {
        conn_broken(c);
        return;
    }
    answers_then_more(c);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    lconn *c = sock->data;
    c->write_armed = 0;
    if (c->state == C_CONNECTING) {
        connect_poll(c);
        return;
    }
    flush_out(c);
    /* PQflush() reads what it can when the socket takes no more: answers
     * may be waiting in libpq's buffer with nothing left to read */
    answers_then_more(c);
}

/* --- the loop's side ---------------------------------------------------------- */

static void close_if_done(pg_loop *l)
{
    if (!l->closing || !h2o_linklist_is_empty(&l->queue))
        return;
    for (int i = 0; i < l->nconns; i++)
        if (l->conns[i].sent.head != NULL && l->conns[i].state != C_SETUP)
            return;
    if (h2o_timeout_is_linked(&l->flush_entry))
        h2o_timeout_unlink(&l->flush_entry);
    for (int i = 0; i < l->nconns; i++) {
        lconn *c = &l->conns[i];
        end_session(c); /* its pipeline is at most a session setup */
        PQfinish(c->pc.c);
        c->pc.c = NULL;
    }
}

pg_loop *pg_loop_new(pg_store *s, h2o_context_t *ctx, int nconns, const char *url)
{
    pg_loop *l = calloc(1, sizeof(*l) + (size_t)nconns * sizeof(lconn));
    if (l == NULL)
        abort();
    l->s = s;
    l->ctx = ctx;
    l->nconns = nconns;
    h2o_linklist_init_anchor(&l->queue);
    l->flush_entry.cb = on_flush;
    for (int i = 0; i < nconns; i++) {
        lconn *c = &l->conns[i];
        c->l = l;
        pg_conn_init(&c->pc, url, 0);
        c->connect_timer.cb = on_connect_timer;
        if (pthread_mutex_init(&c->mu, NULL) != 0 || pthread_cond_init(&c->cv, NULL) != 0)
            abort();
        for (int k = 0; k < PUBLISHERS; k++)
            if (pthread_create(&c->publishers[k], NULL, publisher_main, c) != 0)
                abort();
        connect_start(c);
    }
    return l;
}

int pg_loop_accepting(const pg_loop *l)
{
    return !l->closing;
}

void pg_loop_stop(pg_loop *l)
{
    l->closing = 1;
    close_if_done(l);
}

void pg_loop_free(pg_loop *l)
{
    if (l == NULL)
        return;
    for (int i = 0; i < l->nconns; i++) {
        lconn *c = &l->conns[i];
        pthread_mutex_lock(&c->mu);
        c->stopping = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        for (int k = 0; k < PUBLISHERS; k++)
            pthread_join(c->publishers[k], NULL);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        pg_conn_close(&c->pc); /* the loop closed its session already */
    }
    free(l);
}
