/*
 * hostaddr.c - the store's PostgreSQL connects never look a host name up
 * themselves.
 *
 * libpq resolves a host name with a blocking getaddrinfo() inside
 * PQconnectStartParams(), and the loops (loop.c) reconnect from inside the
 * event loop; the blocking threads run jobs that requests wait for too. So
 * their connects (conn.c) pass libpq's "hostaddr", made here from the
 * addresses core/resolve.c keeps, and libpq does no lookup; "host" stays in
 * the parameters for what else libpq uses it for (the TLS host check,
 * .pgpass). One-off connections (tixin migrate, the checks at start-up) let
 * libpq resolve as usual.
 *
 * libpq takes a comma-separated list of hosts, tried in turn; hostaddr is
 * then a list of as many entries, an empty one meaning "as host says":
 * right for an IP address, a Unix socket directory or an empty host, which
 * need no lookup. A URL that sets hostaddr itself is left alone.
 */
#include "store/pg/pg.h"

#include <string.h>
#include "core/resolve.h"

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

/* Each host entry of url in turn, as a string, to fn; stops at fn's first
 * non-zero answer and returns it. */
static int each_host(const char *url, int (*fn)(const char *host, int i, void *arg), void *arg)
{
    PQconninfoOption *opts;
    const char *h = hosts_of(url, &opts);
    int rc = 0;
    for (int i = 0; h != NULL && rc == 0; h = strchr(h, ',') ? strchr(h, ',') + 1 : NULL, i++) {
        char one[256];
        size_t n = strcspn(h, ",");
        if (n >= sizeof(one))
            n = 0; /* too long to be a name: left to libpq */
        memcpy(one, h, n);
        one[n] = '\0';
        rc = fn(one, i, arg);
    }
    PQconninfoFree(opts);
    return rc;
}

typedef struct {
    char *addr;
    size_t len, used;
    int named; /* a host needed a lookup */
} list;

static int add_entry(const char *host, int i, void *arg)
{
    list *l = arg;
    char addr[RESOLVE_ADDR_MAX];
    const char *to = resolve_target(host, addr, sizeof(addr));
    if (to == NULL)
        return -1; /* a name without an address yet */
    l->named |= to != host;
    int k = snprintf(l->addr + l->used, l->len - l->used, "%s%s", i ? "," : "", to == host ? "" : to);
    if (k < 0 || (size_t)k >= l->len - l->used)
        return -1; /* too many hosts for addr */
    l->used += (size_t)k;
    return 0;
}

int pg_resolve_hostaddr(const char *url, char *addr, size_t len)
{
    list l = {addr, len, 0, 0};
    addr[0] = '\0';
    if (each_host(url, add_entry, &l) != 0)
        return -1;
    return l.named;
}

static int again(const char *host, int i, void *arg)
{
    resolve_again(host);
    return 0;
}

static int now(const char *host, int i, void *arg)
{
    resolve_now(host);
    return 0;
}

void pg_resolve_again(const char *url)
{
    each_host(url, again, NULL);
}

void pg_resolve_now(const char *url)
{
    each_host(url, now, NULL);
}
