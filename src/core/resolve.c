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
 * So connects go to an address kept here (resolve_target()):
 *  - looked up once at start-up (resolve_now(), blocking, before any loop
 *    runs);
 *  - looked up again in the background, on a thread of its own per lookup,
 *    when it is older than MAX_AGE_MS or a connect to it failed
 *    (resolve_again()).
 * A connect never waits for a lookup: it takes the last address known (a
 * service address, e.g. Kubernetes', seldom changes; when it does, the
 * connects that fail bring in the new one). With no address known yet (DNS
 * was down at start-up) the connect fails like one to a server that is
 * down, and the caller's backoff tries again. A failed lookup keeps the
 * address it had. Only the first address of a name is kept.
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
#define MAX_AGE_MS 30000 /* an address older than this is looked up again (and still used) */
#define RETRY_MS 1000    /* a failed lookup is tried again after this */
#define NAME_MAX_LEN 256

typedef struct {
    char name[NAME_MAX_LEN];
    char addr[RESOLVE_ADDR_MAX]; /* "" until a lookup succeeded */
    int64_t at;                  /* mono_ms of the last lookup's end (0: none yet) */
    int busy;                    /* a lookup thread is running */
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry names[MAX_NAMES];
static int nnames;

/* A host that connecting to would resolve. */
static int is_name(const char *h)
{
    unsigned char bin[sizeof(struct in6_addr)];
    return h[0] != '\0' && h[0] != '/' && h[0] != '@' && strlen(h) < NAME_MAX_LEN &&
           inet_pton(AF_INET, h, bin) != 1 && inet_pton(AF_INET6, h, bin) != 1;
}

/* The blocking lookup: the first address of name, "" when there is none. */
static void lookup(const char *name, char *addr, size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    addr[0] = '\0';
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        log_msg(LOG_WARN, "cannot resolve %s: %s", name, gai_strerror(rc));
        return;
    }
    const void *a = res->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                                               : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
    if (inet_ntop(res->ai_family, a, addr, (socklen_t)len) == NULL)
        addr[0] = '\0';
    freeaddrinfo(res);
}

/* Under lock: what a lookup of e found (a failed one keeps the old address). */
static void store_result(entry *e, const char *addr)
{
    if (addr[0] != '\0') {
        if (e->addr[0] != '\0' && strcmp(e->addr, addr) != 0)
            log_msg(LOG_INFO, "%s is now %s (was %s)", e->name, addr, e->addr);
        snprintf(e->addr, sizeof(e->addr), "%s", addr);
        e->at = mono_ms();
    } else {
        e->at = mono_ms() - MAX_AGE_MS + RETRY_MS;
    }
    e->busy = 0;
}

/* Under lock: a blocking lookup of e, the lock released meanwhile. */
static void lookup_entry(entry *e)
{
    char name[NAME_MAX_LEN], addr[RESOLVE_ADDR_MAX];
    memcpy(name, e->name, sizeof(name));
    pthread_mutex_unlock(&lock);
    lookup(name, addr, sizeof(addr));
    pthread_mutex_lock(&lock);
    store_result(e, addr);
}

static void *lookup_thread(void *arg)
{
    pthread_mutex_lock(&lock);
    lookup_entry(arg);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Under lock: start a background lookup of e unless one runs. */
static void refresh(entry *e)
{
    if (e->busy)
        return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    e->busy = pthread_create(&t, &attr, lookup_thread, e) == 0;
    pthread_attr_destroy(&attr);
}

/* Under lock: the entry of a name (added when new), NULL when full. */
static entry *entry_of(const char *h)
{
    for (int i = 0; i < nnames; i++)
        if (strcmp(names[i].name, h) == 0)
            return &names[i];
    if (nnames == MAX_NAMES)
        return NULL;
    entry *e = &names[nnames++];
    snprintf(e->name, sizeof(e->name), "%s", h);
    return e;
}

typedef enum { FOR_CONNECT, NOW, AGAIN } want;

/* The three calls: the address of name into addr ("" when none is known). */
static void address_of(const char *name, want w, char *addr, size_t len)
{
    pthread_mutex_lock(&lock);
    entry *e = entry_of(name);
    if (e != NULL && w == NOW && !e->busy)
        lookup_entry(e);
    else if (e != NULL && (w == AGAIN || !e->addr[0] || mono_ms() - e->at >= MAX_AGE_MS))
        refresh(e);
    snprintf(addr, len, "%s", e != NULL ? e->addr : "");
    pthread_mutex_unlock(&lock);
}

const char *resolve_target(const char *host, char *addr, size_t len)
{
    if (!is_name(host))
        return host;
    address_of(host, FOR_CONNECT, addr, len);
    return addr[0] != '\0' ? addr : NULL;
}

void resolve_again(const char *host)
{
    char addr[RESOLVE_ADDR_MAX];
    if (is_name(host))
        address_of(host, AGAIN, addr, sizeof(addr));
}

void resolve_now(const char *host)
{
    char addr[RESOLVE_ADDR_MAX];
    if (is_name(host))
        address_of(host, NOW, addr, sizeof(addr));
}
