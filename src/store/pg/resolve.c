/*
 * resolve.c - the loops' PostgreSQL connects never look a host name up.
 *
 * libpq resolves a host name inside PQconnectStartParams() with a blocking
 * getaddrinfo(). On an HTTP worker loop (loop.c) a slow or unreachable DNS
 * server (a cluster DNS restarting, a node cut off from it) would then stop
 * every request of that loop, also those answered from memory, for the
 * resolver's whole timeout (5 s per try by default) at each reconnect, which
 * is exactly when PostgreSQL restarted or failed over. So the store's
 * connections (the loops', and its blocking threads', whose jobs a loop
 * waits for too) connect with libpq's "hostaddr" set to addresses looked
 * up here (conn.c), on other threads:
 *
 *  - once at start-up (pg_store_open(), blocking, before any loop runs);
 *  - again in the background, on a thread of its own per lookup, when the
 *    address is older than MAX_AGE_MS or a connect with it failed
 *    (pg_conn_failed()).
 *
 * One-off connections (tixin migrate, the checks at start-up) let libpq
 * resolve as usual.
 *
 * A connect never waits for a lookup: it takes the last address known (a
 * service address, e.g. Kubernetes', seldom changes; when it does, the
 * connects that fail bring in the new one). With no address known yet (DNS
 * was down at start-up) the connect fails like one to a server that is
 * down, and the backoff tries again. "host" stays in the parameters, for
 * what else libpq uses it for (the TLS host check, .pgpass).
 *
 * Per host of the URL (libpq takes a comma-separated list, tried in turn):
 * an IP address, a Unix socket directory or an empty entry needs no lookup
 * (its hostaddr entry stays empty), and a URL that sets hostaddr itself is
 * left alone. Only the first address of a name is kept; libpq would have
 * tried them all, but it would also have resolved them on the loop.
 */
#include "store/pg/pg.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include "core/log.h"
#include "core/util.h"

#define MAX_NAMES 16
#define MAX_AGE_MS 30000   /* an address older than this is looked up again (and still used) */
#define RETRY_MS 1000      /* a failed lookup is tried again after this */
#define NAME_MAX_LEN 256

typedef struct {
    char name[NAME_MAX_LEN];
    char addr[INET6_ADDRSTRLEN]; /* "" until a lookup succeeded */
    int64_t at;                  /* mono_ms of the last lookup's end (0: none yet) */
    int busy;                    /* a lookup thread is running */
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry names[MAX_NAMES];
static int nnames;

/* A host entry that a connect would have to resolve. */
static int is_name(const char *h, size_t len)
{
    char buf[NAME_MAX_LEN];
    unsigned char bin[sizeof(struct in6_addr)];
    if (len == 0 || h[0] == '/' || h[0] == '@' || len >= sizeof(buf))
        return 0;
    memcpy(buf, h, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, bin) != 1 && inet_pton(AF_INET6, buf, bin) != 1;
}

/* The blocking lookup: the first address of name, "" when there is none. */
static void lookup(const char *name, char *addr, size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    addr[0] = '\0';
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        log_msg(LOG_WARN, "postgres: cannot resolve %s: %s", name, gai_strerror(rc));
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
            log_msg(LOG_INFO, "postgres: %s is now %s (was %s)", e->name, addr, e->addr);
        snprintf(e->addr, sizeof(e->addr), "%s", addr);
        e->at = mono_ms();
    } else {
        e->at = mono_ms() - MAX_AGE_MS + RETRY_MS;
    }
    e->busy = 0;
}

static void *lookup_thread(void *arg)
{
    entry *e = arg;
    char name[NAME_MAX_LEN], addr[INET6_ADDRSTRLEN];
    pthread_mutex_lock(&lock);
    memcpy(name, e->name, sizeof(name));
    pthread_mutex_unlock(&lock);
    lookup(name, addr, sizeof(addr));
    pthread_mutex_lock(&lock);
    store_result(e, addr);
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
static entry *entry_of(const char *h, size_t len)
{
    for (int i = 0; i < nnames; i++)
        if (strlen(names[i].name) == len && memcmp(names[i].name, h, len) == 0)
            return &names[i];
    if (nnames == MAX_NAMES)
        return NULL;
    entry *e = &names[nnames++];
    memcpy(e->name, h, len);
    e->name[len] = '\0';
    return e;
}

/* url's "host" value, or NULL when there is none or url sets hostaddr
 * (free with PQconninfoFree(*opts)). */
static const char *hosts_of(const char *url, PQconninfoOption **opts)
{
    *opts = PQconninfoParse(url, NULL);
    const char *host = NULL;
    for (PQconninfoOption *o = *opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "hostaddr") == 0 && o->val != NULL && o->val[0] != '\0')
            return NULL;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
    }
    return host;
}

typedef enum { FOR_CONNECT, NOW, AGAIN } want;

/* The address of one host name into found ("" when none is known yet),
 * looked up now (NOW) or in the background when due or asked (AGAIN). */
static void address_of(const char *h, size_t n, want w, char *found, size_t len)
{
    pthread_mutex_lock(&lock);
    entry *e = entry_of(h, n);
    if (e != NULL && w == NOW && !e->busy) {
        char name[NAME_MAX_LEN];
        memcpy(name, e->name, sizeof(name));
        pthread_mutex_unlock(&lock);
        lookup(name, found, len);
        pthread_mutex_lock(&lock);
        store_result(e, found);
    } else if (e != NULL && (w == AGAIN || !e->addr[0] || mono_ms() - e->at >= MAX_AGE_MS)) {
        refresh(e);
    }
    snprintf(found, len, "%s", e != NULL ? e->addr : "");
    pthread_mutex_unlock(&lock);
}

/* The walk over url's hosts that the three calls share: the hostaddr list
 * into addr, and pg_resolve_hostaddr()'s answer. */
static int walk(const char *url, want w, char *addr, size_t len)
{
    PQconninfoOption *opts;
    const char *h = hosts_of(url, &opts);
    int rc = 0;
    size_t used = 0;
    for (int i = 0; h != NULL; h = strchr(h, ',') ? strchr(h, ',') + 1 : NULL, i++) {
        size_t n = strcspn(h, ",");
        char found[INET6_ADDRSTRLEN] = "";
        if (is_name(h, n)) {
            address_of(h, n, w, found, sizeof(found));
            rc = found[0] == '\0' ? -1 : rc == 0 ? 1 : rc; /* -1: a name without an address (yet) */
        }
        int k = used < len ? snprintf(addr + used, len - used, "%s%s", i ? "," : "", found) : 0;
        used += k > 0 ? (size_t)k : 0;
    }
    PQconninfoFree(opts);
    return used >= len ? -1 : rc; /* too many hosts for addr */
}

int pg_resolve_hostaddr(const char *url, char *addr, size_t len)
{
    return walk(url, FOR_CONNECT, addr, len);
}

void pg_resolve_again(const char *url)
{
    char addr[PG_HOSTADDR_MAX];
    walk(url, AGAIN, addr, sizeof(addr));
}

void pg_resolve_now(const char *url)
{
    char addr[PG_HOSTADDR_MAX];
    walk(url, NOW, addr, sizeof(addr));
}
