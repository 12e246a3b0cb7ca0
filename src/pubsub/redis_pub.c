/*
 * redis_pub.c - a committed change leaves from the thread that committed
 * it, and that thread waits until the other instances applied it.
 *
 * Why: the store answers the request that made a change right after
 * publishing it. Read-your-writes across instances (a client holds seats
 * through one instance and reads the seat map through the other, as a
 * load balancer may send it) needs the change applied everywhere before
 * that answer. So each publishing thread PUBLISHes on a blocking
 * connection of its own (PUBLISH answers how many subscribers got it,
 * ours included), and every other instance's subscriber acknowledges each
 * change it applied (pubsub/redis.c); the thread waits for those
 * acknowledgements, at most ACK_WAIT_MS: a slow or dead instance delays a
 * write by that much, never blocks it. Redis down: nothing is waited for,
 * and the caller queues the change to the Redis thread instead.
 */
#include "pubsub/redis_pub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

#include "core/resolve.h"
#include "core/util.h"

#define ACK_WAIT_MS 100
#define ACK_SLOTS 64 /* changes waited on at once; more are not waited on */

static struct {
    char host[256], password[256];
    int port;
} where;

void redis_pub_init(const char *host, int port, const char *password)
{
    snprintf(where.host, sizeof(where.host), "%s", host);
    snprintf(where.password, sizeof(where.password), "%s", password);
    where.port = port;
}

/* --- one blocking connection per publishing thread ------------------------ */

#define SYNC_TIMEOUT_MS 200
#define SYNC_RETRY_MS 500

typedef struct {
    redisContext *c;
    int64_t retry_at;
} sync_conn;

static pthread_key_t sync_key;
static pthread_once_t sync_once = PTHREAD_ONCE_INIT;

static void sync_conn_free(void *p)
{
    sync_conn *s = p;
    if (s->c != NULL)
        redisFree(s->c);
    free(s);
}

static void sync_key_make(void)
{
    if (pthread_key_create(&sync_key, sync_conn_free) != 0)
        abort();
}

/* The calling thread's connection, connected; NULL while it cannot be. */
static redisContext *sync_get(void)
{
    pthread_once(&sync_once, sync_key_make);
    sync_conn *s = pthread_getspecific(sync_key);
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            abort();
        pthread_setspecific(sync_key, s);
    }
    int64_t now = mono_ms();
    if (s->c != NULL || now < s->retry_at)
        return s->c;
    struct timeval tv = {0, SYNC_TIMEOUT_MS * 1000};
    char addr[RESOLVE_ADDR_MAX];
    const char *to = resolve_target(where.host, addr, sizeof(addr)); /* no lookup here: a write waits */
    s->c = to != NULL ? redisConnectWithTimeout(to, where.port, tv) : NULL;
    redisReply *auth = NULL;
    if (s->c != NULL && !s->c->err && redisSetTimeout(s->c, tv) == REDIS_OK &&
        (!where.password[0] || (auth = redisCommand(s->c, "AUTH %s", where.password)) != NULL)) {
        freeReplyObject(auth);
        return s->c;
    }
    if (s->c != NULL)
        redisFree(s->c);
    s->c = NULL;
    s->retry_at = now + SYNC_RETRY_MS;
    resolve_again(where.host);
    return NULL;
}

/* --- waiting for the acknowledgements ------------------------------------- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct {
        int used, got;
        char event_id[48];
        int64_t version;
    } slots[ACK_SLOTS];
} acks = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {{0}}};

/* A slot counting the acknowledgements of (event_id, version), taken
 * before publishing (they may arrive before PUBLISH answers); -1 if none. */
static int slot_take(const char *event_id, int64_t version)
{
    pthread_mutex_lock(&acks.lock);
    int k = -1;
    for (int i = 0; i < ACK_SLOTS && k < 0; i++) {
        if (!acks.slots[i].used) {
            k = i;
            acks.slots[k].used = 1;
            acks.slots[k].got = 0;
            acks.slots[k].version = version;
            snprintf(acks.slots[k].event_id, sizeof(acks.slots[k].event_id), "%s", event_id);
        }
    }
    pthread_mutex_unlock(&acks.lock);
    return k;
}

/* Wait until slot k has need acknowledgements or ACK_WAIT_MS passed, and
 * free it. */
static void slot_wait_release(int k, long need)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += ACK_WAIT_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&acks.lock);
    while (acks.slots[k].got < need && pthread_cond_timedwait(&acks.cond, &acks.lock, &until) == 0)
        ;
    acks.slots[k].used = 0;
    pthread_mutex_unlock(&acks.lock);
}

void redis_pub_acked(const char *event_id, int64_t version)
{
    pthread_mutex_lock(&acks.lock);
    for (int i = 0; i < ACK_SLOTS; i++) {
        if (acks.slots[i].used && acks.slots[i].version == version && strcmp(acks.slots[i].event_id, event_id) == 0) {
            acks.slots[i].got++;
            pthread_cond_broadcast(&acks.cond);
        }
    }
    pthread_mutex_unlock(&acks.lock);
}

/* --- publishing -------------------------------------------------------------- */

/* PUBLISH from this thread: the number of subscribers that got it, or -1. */
static long publish_here(const char *channel, const char *bytes, size_t len)
{
    redisContext *c = sync_get();
    redisReply *r = c ? redisCommand(c, "PUBLISH %s %b", channel, bytes, len) : NULL;
    if (r != NULL) {
        long n = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
        freeReplyObject(r);
        return n;
    }
    if (c != NULL) { /* broken: reconnect later */
        sync_conn *s = pthread_getspecific(sync_key);
        redisFree(s->c);
        s->c = NULL;
        s->retry_at = mono_ms() + SYNC_RETRY_MS;
    }
    return -1;
}

int redis_pub_change(const char *channel, const char *bytes, size_t len, const char *event_id, int64_t version)
{
    int k = slot_take(event_id, version);
    long receivers = publish_here(channel, bytes, len);
    if (k >= 0)
        slot_wait_release(k, receivers - 1); /* our own subscriber does not acknowledge */
    return receivers >= 0 ? 0 : -1;
}
