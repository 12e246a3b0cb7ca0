/*
 * redis.c - cluster mode's transport over Redis: seat changes fan out to
 * every instance, failed sign-ins are counted cluster-wide, and seat maps
 * are reloaded whenever something may have been missed.
 *
 * Why a thread of its own (with its own h2o evloop, hiredis attached by
 * pubsub/redis_ev.c) rather than hiredis on every worker loop: changes are
 * committed by the store's threads, not by the loops, and every instance
 * needs exactly one subscription, not one per loop. This thread holds the
 * subscribed connection and one command connection (sign-in counters,
 * catalog requests, pings, and PUBLISHes that could not go out directly),
 * and keeps reconnect backoff, Redis stalls and the seat-map
 * reloads' bookkeeping off the request loops; other threads only hand it
 * messages (one lock, at most one write(2) to wake it). Listeners were
 * thread-safe already.
 *
 * Catalogs: publishing an event installs its seat map before the catalog
 * lists it (seatmap_on_new_event); that instance then asks every other one
 * to reload its catalog (OP_CATALOG_LOAD) on a channel of its own, and the
 * publishing thread waits (up to CATALOG_WAIT_MS) until every instance that
 * got the request (PUBLISH answers how many) has acknowledged its reload:
 * publishing an event is rare, and its answer then means the event is
 * listed by every instance, not only by the one that published it.
 *
 * Flow of a change committed here: pubsub_publish() -> publish() on the
 * committing thread: delivered to the local listeners at once through
 * order.c (so this instance reads its own writes), encoded (wire.c) and
 * PUBLISHed by that thread, which waits until the other instances applied
 * it (pubsub/redis_pub.c) before the store answers, or queued to this
 * thread when its connection is down. Every instance's subscriber (this one included: it
 * skips its own origin) decodes it and hands it to order.c, which calls
 * the listeners in version order per event.
 *
 * Redis is never the system of record. While it is down: publishes are
 * dropped (the other instances will see a version skip or reload
 * everything when it is back), sign-in throttling is per instance, and
 * /readyz says "degraded" (api/health.c). Each connection is retried with
 * backoff (100 ms doubling to 2 s); the publisher is pinged every second
 * and dropped when a ping goes unanswered for 3 s. Whenever the
 * subscription is (re)established every seat map reloads from the store,
 * and live subscribers get fresh snapshots as the maps are reinstalled.
 */
#include "pubsub/redis.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

#include "api/login_limit.h"
#include "booking/catalog.h"
#include "booking/seatmap.h"
#include "core/log.h"
#include "core/resolve.h"
#include "core/task.h"
#include "core/util.h"
#include "pubsub/order.h"
#include "pubsub/redis_ev.h"
#include "pubsub/redis_pub.h"
#include "pubsub/wire.h"

#define CHANGES_CHANNEL "tixin:changes"
#define CHANGE_ACK_CHANNEL "tixin:change-ack" /* "ORIGIN VERSION EVENT": applied */
#define LOGIN_CHANNEL "tixin:login"
#define CATALOG_CHANNEL "tixin:catalog"   /* "ORIGIN SEQ EVENT": EVENT was published, reload the catalog */
#define CATALOG_ACK_CHANNEL "tixin:catalog-ack" /* "ORIGIN SEQ": reloaded, as ORIGIN asked */
#define CATALOG_WAIT_MS 500
#define CATALOG_TRIES 20 /* reloads until the catalog lists the event (the load may read a lagging replica) */
#define MAX_CATALOG_WAITS 8
#define LOGIN_KEY_PREFIX "tixin:login:"
#define TICK_MS 50
#define PING_EVERY_MS 1000
#define PING_DEADLINE_MS 3000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define RELOAD_RETRY_MS 1000
#define RELOAD_MIN_GAP_MS 250 /* one event is reloaded at most this often */
#define RECENT_RELOADS 64
#define MAX_QUEUED 100000 /* messages waiting for this thread; more are dropped */

/* INCR the email's counter, start its window on the first failure, and
 * tell every instance the count and the window's time left. */
static const char login_fail_script[] =
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end "
    "local t = redis.call('PTTL', KEYS[1]) "
    "redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. n .. ' ' .. t) "
    "return n";

/* --- messages to the Redis thread ----------------------------------------- */

typedef enum { M_PUBLISH, M_LOGIN_FAIL, M_LOGIN_CLEAR, M_RELOAD, M_CATALOG, M_STOP } msg_kind;

typedef struct {
    h2o_multithread_message_t super;
    msg_kind kind;
    uint64_t key;        /* login; catalog: the wait's sequence number */
    char event_id[48];   /* reload, catalog */
    size_t len;          /* publish: the encoded change follows */
    char data[];
} rmsg;

/* --- one connection --------------------------------------------------------- */

typedef struct {
    const char *name;
    int subscriber;
    redisAsyncContext *ac; /* NULL while down */
    int up;                /* connected (and, for the subscriber, subscribed) */
    int64_t next_try;
    int backoff_ms;
    int64_t last_ping, ping_sent;
} rconn;

typedef struct {
    char event_id[48];
    int64_t when;
} retry;

static struct {
    char host[256], password[256];
    int port, db;
    char origin[17];
    store_t *store;
    pthread_t thread;
    int running;
    h2o_evloop_t *loop;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t inbox, tasks;
    h2o_timeout_t tick_timeout;
    h2o_timeout_entry_t tick;
    rconn pub, sub;
    int stopping;
    int queued;          /* atomic: messages in the inbox */
    int status;          /* atomic: pubsub_redis_state */
    retry *retries;      /* failed reloads, retried later */
    size_t nretries, retries_cap;
    int reloads_running; /* store jobs whose completion comes back here */
    retry recent[RECENT_RELOADS]; /* the last reloads started (ring) */
    size_t recent_next;
    struct {                      /* catalog reloads we asked for and wait on */
        uint64_t seq;
        long need, got;
        int64_t deadline;
    } waits[MAX_CATALOG_WAITS];
} R = {.status = PUBSUB_REDIS_OFF};

static void send_msg(rmsg *m)
{
    if (m->kind != M_STOP && __atomic_add_fetch(&R.queued, 1, __ATOMIC_RELAXED) > MAX_QUEUED) {
        __atomic_sub_fetch(&R.queued, 1, __ATOMIC_RELAXED);
        free(m);
        return;
    }
    h2o_multithread_send_message(&R.inbox, &m->super);
}

static rmsg *msg_new(msg_kind kind, size_t len)
{
    rmsg *m = calloc(1, sizeof(*m) + len);
    if (m == NULL)
        abort();
    m->kind = kind;
    m->len = len;
    return m;
}

/* --- hooks called on other threads ----------------------------------------- */

static void publish(pubsub_change *c)
{
    order_submit(c, mono_ms());
    size_t len;
    char *bytes = wire_encode(c, R.origin, &len);
    if (bytes == NULL) {
        log_msg(LOG_ERROR, "redis: change of event %s cannot be encoded", c->event_id);
        return;
    }
    if (redis_pub_change(CHANGES_CHANNEL, bytes, len, c->event_id, c->version) != 0) {
        rmsg *m = msg_new(M_PUBLISH, len);
        memcpy(m->data, bytes, len);
        send_msg(m);
    }
    free(bytes);
}

static void request_reload(const char *event_id)
{
    rmsg *m = msg_new(M_RELOAD, 0);
    snprintf(m->event_id, sizeof(m->event_id), "%s", event_id);
    send_msg(m);
}

/* The publishing thread's side of the catalog wait. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t next, done[MAX_CATALOG_WAITS + 1]; /* done: finished seqs (small set) */
} cw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}};

static int cw_finished_locked(uint64_t seq)
{
    for (int i = 0; i <= MAX_CATALOG_WAITS; i++)
        if (cw.done[i] == seq)
            return 1;
    return 0;
}

/* Redis thread: the wait for seq is over (all acknowledged, timed out, or
 * nobody to wait for). */
static void catalog_wait_end(uint64_t seq)
{
    pthread_mutex_lock(&cw.lock);
    cw.done[seq % (MAX_CATALOG_WAITS + 1)] = seq;
    pthread_cond_broadcast(&cw.cond);
    pthread_mutex_unlock(&cw.lock);
}

static __thread int on_redis_thread;

static void new_event(const char *event_id)
{
    if (on_redis_thread) /* it would wait for itself */
        return;
    rmsg *m = msg_new(M_CATALOG, 0);
    snprintf(m->event_id, sizeof(m->event_id), "%s", event_id);
    pthread_mutex_lock(&cw.lock);
    uint64_t seq = m->key = ++cw.next;
    pthread_mutex_unlock(&cw.lock);
    send_msg(m);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CATALOG_WAIT_MS / 1000 + 1; /* the Redis thread times out first */
    pthread_mutex_lock(&cw.lock);
    while (!cw_finished_locked(seq) && pthread_cond_timedwait(&cw.cond, &cw.lock, &until) == 0)
        ;
    pthread_mutex_unlock(&cw.lock);
}

static void login_fail(uint64_t key)
{
    rmsg *m = msg_new(M_LOGIN_FAIL, 0);
    m->key = key;
    send_msg(m);
}

static void login_clear(uint64_t key)
{
    rmsg *m = msg_new(M_LOGIN_CLEAR, 0);
    m->key = key;
    send_msg(m);
}

static const login_limit_remote login_remote = {login_fail, login_clear};

/* --- state ----------------------------------------------------------------------- */

static void update_status(void)
{
    int s = R.pub.up && R.sub.up ? PUBSUB_REDIS_UP : PUBSUB_REDIS_DOWN;
    int old = __atomic_exchange_n(&R.status, s, __ATOMIC_RELAXED);
    if (old != s)
        log_msg(s == PUBSUB_REDIS_UP ? LOG_INFO : LOG_WARN, "redis: %s", s == PUBSUB_REDIS_UP ? "up" : "down (degraded)");
}

pubsub_redis_state pubsub_redis_status(void)
{
    return __atomic_load_n(&R.status, __ATOMIC_RELAXED);
}

/* --- seat-map reloads (on the Redis thread) ------------------------------------ */

static retry *find_retry(retry *list, size_t n, const char *event_id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].event_id, event_id) == 0)
            return &list[i];
    return NULL;
}

static void retry_add(const char *event_id, int64_t when)
{
    if (find_retry(R.retries, R.nretries, event_id) != NULL)
        return;
    R.retries = array_grow(R.retries, &R.retries_cap, R.nretries + 1, sizeof(*R.retries));
    retry *r = &R.retries[R.nretries++];
    snprintf(r->event_id, sizeof(r->event_id), "%s", event_id);
    r->when = when;
}

/* A catalog reload another instance asked for (and waits on). */
typedef struct {
    char ack[96];       /* the request, sent back as the acknowledgement */
    char event_id[48];  /* the event that must be listed afterwards */
    int tries;
} catalog_req;

static void reload_start_acked(const char *event_id, catalog_req *req);

/* Acknowledge once the catalog lists the event, or it never will (a
 * started event is not listed) after CATALOG_TRIES reloads. */
static void catalog_req_done(catalog_req *req)
{
    if (!catalog_has(req->event_id) && ++req->tries < CATALOG_TRIES && !R.stopping) {
        reload_start_acked(NULL, req);
        return;
    }
    if (R.pub.up)
        redisAsyncCommand(R.pub.ac, NULL, NULL, "PUBLISH %s %s", CATALOG_ACK_CHANNEL, req->ack);
    free(req);
}

static void reload_done(task_t *t)
{
    store_job *j = (store_job *)t;
    R.reloads_running--;
    if (j->ctx != NULL)
        catalog_req_done(j->ctx);
    const char *id = json_string_value(json_object_get(j->args, "event_id"));
    if (j->err != E_OK && j->err != E_NOT_FOUND && id != NULL && !R.stopping) {
        log_msg(LOG_WARN, "redis: reload of seat map %s failed (%s); retrying", id, err_name(j->err));
        retry_add(id, mono_ms() + RELOAD_RETRY_MS);
    }
    store_job_free(j);
}

/* Reload the event's seat map, or (event_id NULL) the catalog, for req
 * when not NULL (taken over). */
static void reload_start_acked(const char *event_id, catalog_req *req)
{
    store_job *j = store_job_new(event_id ? OP_SEATMAP_LOAD : OP_CATALOG_LOAD, reload_done);
    if (event_id != NULL)
        json_object_set_new(j->args, "event_id", json_string(event_id));
    else /* not from a lagging replica: this reload must see what was just published */
        json_object_set_new(j->args, "primary", json_true());
    j->ctx = req;
    R.reloads_running++;
    store_submit(R.store, j);
}

static void reload_start(const char *event_id)
{
    reload_start_acked(event_id, NULL);
}

/* --- catalog reloads across instances (Redis thread) ------------------------ */

static void on_catalog_published(redisAsyncContext *ac, void *r, void *priv)
{
    uint64_t seq = (uint64_t)(uintptr_t)priv;
    redisReply *reply = r;
    long receivers = reply != NULL && reply->type == REDIS_REPLY_INTEGER ? (long)reply->integer : 0;
    for (int i = 0; i < MAX_CATALOG_WAITS; i++) {
        if (R.waits[i].seq == 0 && receivers > 1) { /* receivers counts our own subscriber */
            R.waits[i].seq = seq;
            R.waits[i].need = receivers - 1;
            R.waits[i].got = 0;
            R.waits[i].deadline = mono_ms() + CATALOG_WAIT_MS;
            return;
        }
    }
    catalog_wait_end(seq);
}

static void catalog_ask(uint64_t seq, const char *event_id)
{
    if (!R.pub.up) {
        catalog_wait_end(seq);
        return;
    }
    char body[96];
    snprintf(body, sizeof(body), "%s %llu %s", R.origin, (unsigned long long)seq, event_id);
    redisAsyncCommand(R.pub.ac, on_catalog_published, (void *)(uintptr_t)seq, "PUBLISH %s %s", CATALOG_CHANNEL, body);
}

/* ack: 1 for an acknowledgement of seq, 0 to end waits past their deadline. */
static void catalog_waits_update(uint64_t seq, int ack, int64_t now)
{
    for (int i = 0; i < MAX_CATALOG_WAITS; i++) {
        if (R.waits[i].seq == 0 || (ack && R.waits[i].seq != seq))
            continue;
        if ((ack && ++R.waits[i].got >= R.waits[i].need) || (!ack && now >= R.waits[i].deadline)) {
            catalog_wait_end(R.waits[i].seq);
            R.waits[i].seq = 0;
        }
    }
}

/* "ORIGIN SEQ EVENT" on either catalog channel. */
static void on_catalog_msg(const char *body, int is_ack)
{
    char origin[sizeof(R.origin)], event_id[48];
    unsigned long long seq;
    if (sscanf(body, "%16s %llu %47s", origin, &seq, event_id) != 3)
        return;
    if (is_ack && strcmp(origin, R.origin) == 0) {
        catalog_waits_update(seq, 1, 0);
    } else if (!is_ack && strcmp(origin, R.origin) != 0) {
        catalog_req *req = calloc(1, sizeof(*req));
        if (req == NULL)
            abort();
        snprintf(req->ack, sizeof(req->ack), "%s", body);
        snprintf(req->event_id, sizeof(req->event_id), "%s", event_id);
        reload_start_acked(NULL, req);
    }
}

/* A reload asked for by a seat map: now, or later when the event was
 * reloaded moments ago (a map that keeps finding gaps must not hammer the
 * store). */
static void reload_asked(const char *event_id)
{
    int64_t now = mono_ms();
    retry *last = find_retry(R.recent, RECENT_RELOADS, event_id);
    if (last != NULL && now - last->when < RELOAD_MIN_GAP_MS) {
        retry_add(event_id, last->when + RELOAD_MIN_GAP_MS);
        return;
    }
    if (last == NULL) {
        last = &R.recent[R.recent_next++ % RECENT_RELOADS];
        snprintf(last->event_id, sizeof(last->event_id), "%s", event_id);
    }
    last->when = now;
    reload_start(event_id);
}

static void retry_due(int64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < R.nretries; i++) {
        if (R.retries[i].when <= now)
            reload_start(R.retries[i].event_id);
        else
            R.retries[keep++] = R.retries[i];
    }
    R.nretries = keep;
}

/* --- subscriber -------------------------------------------------------------------- */

static void on_change_msg(const char *p, size_t len)
{
    char origin[sizeof(R.origin)];
    pubsub_change *c = wire_decode(p, len, origin, sizeof(origin));
    if (c == NULL) {
        log_msg(LOG_WARN, "redis: undecodable message on %s", CHANGES_CHANNEL);
        return;
    }
    if (strcmp(origin, R.origin) != 0) { /* ours were delivered when published */
        order_submit(c, mono_ms());
        /* its publisher waits for this (pubsub/redis_pub.c) */
        char ack[128];
        snprintf(ack, sizeof(ack), "%s %lld %s", origin, (long long)c->version, c->event_id);
        if (R.pub.up)
            redisAsyncCommand(R.pub.ac, NULL, NULL, "PUBLISH %s %s", CHANGE_ACK_CHANNEL, ack);
    }
    pubsub_change_unref(c);
}

/* "ORIGIN VERSION EVENT": an instance applied one of ours. */
static void on_change_ack(const char *p)
{
    char origin[sizeof(R.origin)], event_id[48];
    long long version;
    if (sscanf(p, "%16s %lld %47s", origin, &version, event_id) == 3 && strcmp(origin, R.origin) == 0)
        redis_pub_acked(event_id, version);
}

static void on_login_msg(const char *p)
{
    unsigned long long key;
    long long failures, ttl;
    if (sscanf(p, "%llx %lld %lld", &key, &failures, &ttl) == 3)
        login_limit_apply(key, (int)failures, ttl, now_ms());
}

static void on_subscribed(rconn *c)
{
    c->up = 1;
    c->backoff_ms = BACKOFF_MIN_MS;
    update_status();
    /* whatever was published while we were not listening is lost: read
     * every loaded map (and the catalog) again */
    seatmap_reload_all();
    reload_start(NULL);
}

static void on_sub_reply(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    const char *kind = reply->element[0]->str;
    const redisReply *chan = reply->element[1], *body = reply->element[2];
    if (kind == NULL || chan->str == NULL)
        return;
    if (strcmp(kind, "subscribe") == 0 && body->type == REDIS_REPLY_INTEGER && body->integer == 5)
        on_subscribed(ac->data);
    else if (strcmp(kind, "message") == 0 && body->type == REDIS_REPLY_STRING) {
        if (strcmp(chan->str, CHANGES_CHANNEL) == 0)
            on_change_msg(body->str, (size_t)body->len);
        else if (strcmp(chan->str, CHANGE_ACK_CHANNEL) == 0)
            on_change_ack(body->str);
        else if (strcmp(chan->str, LOGIN_CHANNEL) == 0)
            on_login_msg(body->str);
        else if (strcmp(chan->str, CATALOG_CHANNEL) == 0)
            on_catalog_msg(body->str, 0);
        else if (strcmp(chan->str, CATALOG_ACK_CHANNEL) == 0)
            on_catalog_msg(body->str, 1);
    }
}

/* --- connections ---------------------------------------------------------------------- */

static void on_ping_reply(redisAsyncContext *ac, void *r, void *priv)
{
    rconn *c = ac->data;
    if (r != NULL)
        c->ping_sent = 0;
}

static void conn_lost(rconn *c, const char *why)
{
    if (c->up || c->backoff_ms >= BACKOFF_MAX_MS || c->backoff_ms == BACKOFF_MIN_MS)
        log_msg(LOG_WARN, "redis %s %s:%d: %s", c->name, R.host, R.port, why);
    if (!c->up)
        resolve_again(R.host); /* a connect failed: Redis may have moved to another address */
    c->ac = NULL;
    c->up = 0;
    c->ping_sent = 0;
    c->next_try = mono_ms() + c->backoff_ms;
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    update_status();
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    conn_lost(ac->data, ac->errstr[0] ? ac->errstr : "disconnected");
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    rconn *c = ac->data;
    if (status != REDIS_OK) {
        conn_lost(c, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    if (R.password[0])
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", R.password);
    if (c->subscriber) {
        redisAsyncCommand(ac, on_sub_reply, NULL, "SUBSCRIBE %s %s %s %s %s", CHANGES_CHANNEL, CHANGE_ACK_CHANNEL,
                          LOGIN_CHANNEL, CATALOG_CHANNEL, CATALOG_ACK_CHANNEL);
        return;
    }
    if (R.db)
        redisAsyncCommand(ac, NULL, NULL, "SELECT %d", R.db);
    c->up = 1;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->last_ping = mono_ms();
    update_status();
}

static void conn_start(rconn *c)
{
    char addr[RESOLVE_ADDR_MAX];
    const char *to = resolve_target(R.host, addr, sizeof(addr)); /* no lookup on this thread */
    redisAsyncContext *ac = to != NULL ? redisAsyncConnect(to, R.port) : NULL;
    if (ac == NULL || ac->err || redis_ev_attach(R.loop, ac) != 0) {
        c->ac = NULL;
        conn_lost(c, to == NULL ? "host name not resolved yet" : ac && ac->err ? ac->errstr : "cannot connect");
        if (ac != NULL)
            redisAsyncFree(ac);
        return;
    }
    ac->data = c;
    c->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

/* Free ac now, without its disconnect callback; the replies still due are
 * abandoned (their callbacks get NULL). */
static void ac_free_now(redisAsyncContext *ac)
{
    redisAsyncSetDisconnectCallback(ac, NULL);
    redisAsyncFree(ac);
}

/* Close c at once: redisAsyncDisconnect() would wait for the replies still
 * due, and a server cut off by the network (packets dropped, not refused)
 * never sends them, so the connection stayed "up" and every write kept
 * trying it. */
static void conn_drop(rconn *c, const char *why)
{
    ac_free_now(c->ac);
    conn_lost(c, why);
}

static void conn_tick(rconn *c, int64_t now)
{
    if (c->ac == NULL) {
        if (!R.stopping && now >= c->next_try)
            conn_start(c);
        return;
    }
    if (c->subscriber || !c->up)
        return;
    if (c->ping_sent != 0 && now - c->ping_sent > PING_DEADLINE_MS) {
        conn_drop(c, "no answer to PING");
    } else if (c->ping_sent == 0 && now - c->last_ping >= PING_EVERY_MS) {
        c->last_ping = c->ping_sent = now;
        redisAsyncCommand(c->ac, on_ping_reply, NULL, "PING");
    }
}

/* --- the thread ------------------------------------------------------------------------ */

static void handle(rmsg *m)
{
    redisAsyncContext *ac = R.pub.up ? R.pub.ac : NULL;
    char key[64];
    snprintf(key, sizeof(key), "%016llx", (unsigned long long)m->key);
    switch (m->kind) {
    case M_PUBLISH:
        if (ac != NULL)
            redisAsyncCommand(ac, NULL, NULL, "PUBLISH %s %b", CHANGES_CHANNEL, m->data, m->len);
        break;
    case M_LOGIN_FAIL:
        if (ac != NULL)
            redisAsyncCommand(ac, NULL, NULL, "EVAL %s 1 %s%s %d %s %s", login_fail_script, LOGIN_KEY_PREFIX, key,
                              LOGIN_LIMIT_WINDOW_MS, LOGIN_CHANNEL, key);
        break;
    case M_LOGIN_CLEAR:
        if (ac != NULL) {
            redisAsyncCommand(ac, NULL, NULL, "DEL %s%s", LOGIN_KEY_PREFIX, key);
            redisAsyncCommand(ac, NULL, NULL, "PUBLISH %s %s", LOGIN_CHANNEL, strcat(key, " 0 0"));
        }
        break;
    case M_CATALOG:
        catalog_ask(m->key, m->event_id);
        break;
    case M_RELOAD:
        if (!R.stopping)
            reload_asked(m->event_id);
        break;
    case M_STOP:
        R.stopping = 1;
        break;
    }
}

/* Take the messages off the list; handle them unless the thread is gone. */
static void drain(h2o_linklist_t *messages, int run)
{
    while (!h2o_linklist_is_empty(messages)) {
        rmsg *m = H2O_STRUCT_FROM_MEMBER(rmsg, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        if (m->kind != M_STOP)
            __atomic_sub_fetch(&R.queued, 1, __ATOMIC_RELAXED);
        if (run)
            handle(m);
        free(m);
    }
}

static void on_inbox(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    drain(messages, 1);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    int64_t now = mono_ms();
    order_expire(now);
    retry_due(now);
    catalog_waits_update(0, 0, now);
    conn_tick(&R.pub, now);
    conn_tick(&R.sub, now);
    h2o_timeout_link(R.loop, &R.tick_timeout, &R.tick);
}

static void disconnect_all(void)
{
    rconn *conns[] = {&R.pub, &R.sub};
    for (int i = 0; i < 2; i++) {
        redisAsyncContext *ac = conns[i]->ac;
        if (ac != NULL) {
            conns[i]->ac = NULL;
            ac_free_now(ac);
        }
        conns[i]->up = 0;
    }
}

static void *thread_main(void *arg)
{
    on_redis_thread = 1;
    task_set_current_receiver(&R.tasks);
    h2o_timeout_link(R.loop, &R.tick_timeout, &R.tick);
    while (!R.stopping)
        h2o_evloop_run(R.loop, INT32_MAX);
    /* let queued PUBLISHes go out and running reloads come back (bounded:
     * a reload the store never answers leaves the thread's queue alive) */
    int64_t deadline = mono_ms() + 5000;
    while (mono_ms() < deadline &&
           (R.reloads_running > 0 || (R.pub.up && R.pub.ac != NULL && sdslen(R.pub.ac->c.obuf) > 0)))
        h2o_evloop_run(R.loop, 10);
    disconnect_all();
    if (h2o_timeout_is_linked(&R.tick))
        h2o_timeout_unlink(&R.tick);
    h2o_evloop_run(R.loop, 0);
    return NULL;
}

/* --- start and stop ------------------------------------------------------------------- */

/* redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] */
static int parse_url(const char *url)
{
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *p = url + 8, *at = strchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        if ((size_t)(at - pw) >= sizeof(R.password))
            return -1;
        memcpy(R.password, pw, (size_t)(at - pw));
        R.password[at - pw] = '\0';
        p = at + 1;
    }
    size_t n = strcspn(p, ":/");
    if (n == 0 || n >= sizeof(R.host))
        return -1;
    memcpy(R.host, p, n);
    R.host[n] = '\0';
    p += n;
    R.port = 6379;
    if (*p == ':' && (sscanf(p + 1, "%d", &R.port) != 1 || R.port <= 0 || R.port > 65535))
        return -1;
    p = strchr(p, '/');
    R.db = 0;
    if (p != NULL && p[1] != '\0' && (sscanf(p + 1, "%d", &R.db) != 1 || R.db < 0))
        return -1;
    return 0;
}

int pubsub_redis_start(const char *url, store_t *store)
{
    if (parse_url(url) != 0) {
        log_msg(LOG_ERROR, "redis: bad URL (redis://[:PASSWORD@]HOST[:PORT][/DB] expected)");
        return -1;
    }
    char rnd[32];
    token_new(rnd, sizeof(rnd));
    snprintf(R.origin, sizeof(R.origin), "%.16s", rnd);
    R.store = store;
    resolve_now(R.host); /* the connects take this address (core/resolve.c) */
    R.pub = (rconn){.name = "publisher", .backoff_ms = BACKOFF_MIN_MS};
    R.sub = (rconn){.name = "subscriber", .subscriber = 1, .backoff_ms = BACKOFF_MIN_MS};
    R.stopping = 0;
    R.loop = h2o_evloop_create();
    R.queue = h2o_multithread_create_queue(R.loop);
    h2o_multithread_register_receiver(R.queue, &R.inbox, on_inbox);
    h2o_multithread_register_receiver(R.queue, &R.tasks, task_receive);
    h2o_timeout_init(R.loop, &R.tick_timeout, TICK_MS);
    R.tick.cb = on_tick;
    __atomic_store_n(&R.status, PUBSUB_REDIS_DOWN, __ATOMIC_RELAXED);
    redis_pub_init(R.host, R.port, R.password);
    pubsub_set_publisher(publish);
    seatmap_set_reloader(request_reload);
    seatmap_on_new_event(new_event);
    login_limit_set_remote(&login_remote);
    if (pthread_create(&R.thread, NULL, thread_main, NULL) != 0) {
        log_msg(LOG_ERROR, "redis: cannot start its thread");
        pubsub_redis_stop();
        return -1;
    }
    R.running = 1;
    log_msg(LOG_INFO, "redis: cluster pub/sub through %s:%d (instance %s)", R.host, R.port, R.origin);
    return 0;
}

void pubsub_redis_stop(void)
{
    if (R.loop == NULL)
        return;
    pubsub_set_publisher(NULL);
    seatmap_set_reloader(NULL);
    seatmap_on_new_event(NULL);
    login_limit_set_remote(NULL);
    if (R.running) {
        send_msg(msg_new(M_STOP, 0));
        pthread_join(R.thread, NULL);
        R.running = 0;
    }
    /* what the thread did not take (a stop while messages were queued) */
    drain(&R.inbox._messages, 0);
    if (R.reloads_running > 0) {
        log_msg(LOG_WARN, "redis: %d seat-map reloads still running at exit", R.reloads_running);
        return; /* their completions still need the queue */
    }
    h2o_multithread_unregister_receiver(R.queue, &R.inbox);
    h2o_multithread_unregister_receiver(R.queue, &R.tasks);
    h2o_multithread_destroy_queue(R.queue);
    h2o_timeout_dispose(R.loop, &R.tick_timeout);
    h2o_evloop_destroy(R.loop);
    R.loop = NULL;
    order_clear();
    free(R.retries);
    R.retries = NULL;
    R.nretries = R.retries_cap = 0;
    __atomic_store_n(&R.status, PUBSUB_REDIS_OFF, __ATOMIC_RELAXED);
}
