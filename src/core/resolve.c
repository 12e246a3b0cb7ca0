/*
 * resolve.c - host names looked up on threads of their own, so that no
 * thread a request waits for ever waits for DNS.
 *
 * The client libraries resolve a host name with a blocking getaddrinfo()
 * when they connect: libpq inside PQconnectStartParams() (on an HTTP worker
 * loop, store/pg/loop.c), hiredis in redisConnect() (on the threads that
 * publish a committed change, pubsub/redis_pub.c, and the Redis thread).
 * A slow or unreachable DNS server (a cluster DNS restarting, a node cut off
 * from it) would then stop those threads for the resolver's whole timeout
 * (5 s per try by default) at each reconnect, which is exactly when the
 * database or Redis restarted or moved: every request of a loop, also those
 * answered from memory, or every write, waited.
 *
 * So connects go to addresses kept here:
 *  - looked up once at start-up (resolve_now(), blocking, before any loop
 *    runs);
 *  - looked up again in the background, on a thread of its own per lookup,
 *    when they are older than MAX_AGE_MS at a connect, or a connect to them
 *    failed (resolve_again()); at most one lookup per RETRY_MS.
 * A connect never waits for a lookup: it takes the last addresses known (a
 * service address, e.g. Kubernetes', seldom changes; when it does, the
 * connects that fail bring in the new one). With none known yet (DNS was
 * down at start-up) the connect fails like one to a server that is down,
 * and the caller's backoff tries again. A failed lookup keeps what it had.
 *
 * A name may have several addresses (localhost: 127.0.0.1 and ::1). They
 * are kept IPv4 first, as hiredis orders them; libpq gets them all
 * (store/pg/hostaddr.c) and tries them in turn as it would have; a caller
 * that takes one (resolve_target(), Redis) gets the next one after each
 * failed connect.
 */
#include "core/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "core/log.h"
#include "core/util.h"

#define MAX_NAMES 16
#define MAX_AGE_MS 30000 /* addresses older than this are looked up again (and still used) */
#define RETRY_MS 1000    /* lookups of one name start at most this often */
#define NAME_MAX_LEN 256

typedef struct {
    char name[NAME_MAX_LEN];
    char addrs[RESOLVE_ADDRS_MAX][RESOLVE_ADDR_MAX];
    int naddrs;        /* 0 until a lookup succeeded */
    int cur;           /* the address resolve_target() gives */
    int64_t at;        /* mono_ms when the addresses were found */
    int64_t started;   /* mono_ms when the last lookup started (0: none yet) */
    int busy;          /* a lookup runs */
} entry;

typedef struct {
    char addrs[RESOLVE_ADDRS_MAX][RESOLVE_ADDR_MAX];
    int n;
} found;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry names[MAX_NAMES];
static int nnames;

static int is_name(const char *h)
{
    unsigned char bin[sizeof(struct in6_addr)];
    return h[0] != '\0' && h[0] != '/' && h[0] != '@' && strlen(h) < NAME_MAX_LEN &&
           inet_pton(AF_INET, h, bin) != 1 && inet_pton(AF_INET6, h, bin) != 1;
}

/* The addresses of one family from res, into f (no duplicates). */
static void take_family(const struct addrinfo *res, int family, found *f)
{
    for (const struct addrinfo *a = res; a != NULL && f->n < RESOLVE_ADDRS_MAX; a = a->ai_next) {
        if (a->ai_family != family)
            continue;
        const void *in = family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
                                            : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
        char text[RESOLVE_ADDR_MAX];
        if (inet_ntop(family, in, text, sizeof(text)) == NULL)
            continue;
        int dup = 0;
        for (int i = 0; i < f->n && !dup; i++)
            dup = strcmp(f->addrs[i], text) == 0;
        if (!dup)
            memcpy(f->addrs[f->n++], text, sizeof(text));
    }
}

/* The blocking lookup: IPv4 addresses first, then IPv6. */
static void lookup(const char *name, found *f)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    f->n = 0;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        log_msg(LOG_WARN, "cannot resolve %s: %s", name, gai_strerror(rc));
        return;
    }
    take_family(res, AF_INET, f);
    take_family(res, AF_INET6, f);
    freeaddrinfo(res);
}

/* Under lock: what a lookup of e found. A failed one keeps the old
 * addresses; a new list keeps pointing at the address in use. */
static void store_result(entry *e, const found *f)
{
    e->busy = 0;
    if (f->n == 0)
        return;
    const char *in_use = e->naddrs ? e->addrs[e->cur] : "";
    int cur = 0;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->addrs[i], in_use) == 0)
            cur = i;
    if (e->naddrs && cur == 0 && strcmp(f->addrs[0], in_use) != 0)
        log_msg(LOG_INFO, "%s is now %s (was %s)", e->name, f->addrs[0], in_use);
    memcpy(e->addrs, f->addrs, sizeof(e->addrs));
    e->naddrs = f->n;
    e->cur = cur;
    e->at = mono_ms();
}

/* Under lock: a blocking lookup of e, the lock released meanwhile. */
static void lookup_entry(entry *e)
{
    char name[NAME_MAX_LEN];
    found f;
    memcpy(name, e->name, sizeof(name));
    e->busy = 1;
    e->started = mono_ms();
    pthread_mutex_unlock(&lock);
    lookup(name, &f);
    pthread_mutex_lock(&lock);
    store_result(e, &f);
}

static void *lookup_thread(void *arg)
{
    pthread_mutex_lock(&lock);
    lookup_entry(arg);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Under lock: start a background lookup of e unless one runs or one
 * started less than RETRY_MS ago. */
static void refresh(entry *e)
{
    if (e->busy || (e->started != 0 && mono_ms() - e->started < RETRY_MS))
        return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    e->busy = 1; /* before the thread runs: it clears it */
    e->started = mono_ms();
    if (pthread_create(&t, &attr, lookup_thread, e) != 0)
        e->busy = 0;
    pthread_attr_destroy(&attr);
}

/* Under lock: the entry of a name (added when new), NULL when full. */
static entry *entry_of(const char *h)
{
    for (int i = 0; i < nnames; i++)
        if (strcmp(names[i].name, h) == 0)
            return &names[i];
    if (nnames == MAX_NAMES) {
        log_msg(LOG_ERROR, "too many host names to keep; %s is looked up at each connect", h);
        return NULL;
    }
    entry *e = &names[nnames++];
    snprintf(e->name, sizeof(e->name), "%s", h);
    return e;
}

/* Under lock: e's addresses for a connect, looked up again when due. */
static entry *for_connect(const char *host)
{
    entry *e = entry_of(host);
    if (e != NULL && (e->naddrs == 0 || mono_ms() - e->at >= MAX_AGE_MS))
        refresh(e);
    return e;
}

const char *resolve_target(const char *host, char *addr, size_t len)
{
    if (!is_name(host))
        return host;
    pthread_mutex_lock(&lock);
    entry *e = for_connect(host);
    const char *to = e == NULL ? host : NULL;
    if (e != NULL && e->naddrs > 0) {
        snprintf(addr, len, "%s", e->addrs[e->cur]);
        to = addr;
    }
    pthread_mutex_unlock(&lock);
    return to;
}

int resolve_all(const char *host, char (*addrs)[RESOLVE_ADDR_MAX], int max)
{
    if (!is_name(host))
        return -1;
    pthread_mutex_lock(&lock);
    entry *e = for_connect(host);
    int n = 0;
    for (; e != NULL && n < e->naddrs && n < max; n++)
        memcpy(addrs[n], e->addrs[n], RESOLVE_ADDR_MAX);
    pthread_mutex_unlock(&lock);
    return e == NULL ? -1 : n;
}

void resolve_again(const char *host)
{
    if (!is_name(host))
        return;
    pthread_mutex_lock(&lock);
    entry *e = entry_of(host);
    if (e != NULL) {
        if (e->naddrs > 1)
            e->cur = (e->cur + 1) % e->naddrs;
        refresh(e);
    }
    pthread_mutex_unlock(&lock);
}

void resolve_now(const char *host)
{
    if (!is_name(host))
        return;
    pthread_mutex_lock(&lock);
    entry *e = entry_of(host);
    if (e != NULL && !e->busy)
        lookup_entry(e);
    pthread_mutex_unlock(&lock);
}
