/*
 * hostaddr.c - the store's PostgreSQL connects never look a host name up
 * themselves.
 *
 * libpq resolves a host name with a blocking getaddrinfo() inside
 * PQconnectStartParams(), and the loops (loop.c) reconnect from inside the
 * event loop; the blocking threads run jobs that requests wait for too. So
 * their connects (conn.c) pass libpq the addresses core/resolve.c keeps,
 * as "hostaddr", and libpq does no lookup. One-off connections (tixin
 * migrate, the checks at start-up) let libpq resolve as usual.
 *
 * libpq takes lists: host=h1,h2 port=p1,p2 hostaddr=a1,a2, tried in turn
 * (an empty hostaddr entry: as host says, right for an IP address, a Unix
 * socket directory or an empty host). The URL's lists are rewritten with a
 * name's entry repeated once per address it has, so libpq still tries every
 * address of every host, in order, and "host" keeps the name for what else
 * libpq uses it for (the TLS host check, .pgpass). A name with no address
 * known yet is left out; if that leaves nothing, the connect fails as if
 * the server were down (the backoff tries again, and the lookup runs
 * meanwhile). A URL that sets hostaddr itself is left alone, and so are
 * hosts that the URL does not name (PGHOST, service files: libpq's).
 */
#include "store/pg/pg.h"

#include <string.h>
#include "core/resolve.h"

/* url's "host" and "port" values (NULL when absent), 0; -1 when url sets
 * hostaddr or names no host (free with PQconninfoFree(*opts)). */
static int hosts_of(const char *url, PQconninfoOption **opts, const char **host, const char **port)
{
    *opts = PQconninfoParse(url, NULL);
    *host = *port = NULL;
    for (PQconninfoOption *o = *opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "hostaddr") == 0 && o->val != NULL && o->val[0] != '\0')
            return -1;
        if (strcmp(o->keyword, "host") == 0)
            *host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            *port = o->val;
    }
    return *host != NULL ? 0 : -1;
}

static const char *next_item(const char *p)
{
    return strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
}

/* Item i of a comma-separated list into out ("" past its end); a list of
 * one item applies to every i (libpq's rule for port). */
static void item(const char *list, int i, char *out, size_t len)
{
    out[0] = '\0';
    if (list == NULL)
        return;
    if (strchr(list, ',') == NULL)
        i = 0;
    for (; i > 0 && list != NULL; i--)
        list = next_item(list);
    if (list != NULL)
        snprintf(out, len, "%.*s", (int)strcspn(list, ","), list);
}

static int add(char *list, size_t len, const char *s)
{
    size_t used = strlen(list);
    int k = snprintf(list + used, len - used, ",%s", s);
    return k < 0 || (size_t)k >= len - used ? -1 : 0;
}

/* One entry (host, port, hostaddr) more in the rewritten lists. */
static int add_entry(pg_hosts *h, const char *host, const char *port, const char *addr)
{
    if (h->n++ == 0) {
        snprintf(h->host, sizeof(h->host), "%s", host);
        snprintf(h->port, sizeof(h->port), "%s", port);
        snprintf(h->hostaddr, sizeof(h->hostaddr), "%s", addr);
        return 0;
    }
    if (add(h->host, sizeof(h->host), host) || add(h->port, sizeof(h->port), port))
        return -1;
    return add(h->hostaddr, sizeof(h->hostaddr), addr);
}

int pg_resolve_hosts(const char *url, pg_hosts *h)
{
    PQconninfoOption *opts;
    const char *hosts, *ports;
    memset(h, 0, sizeof(*h));
    int named = 0, rc = 0, i = 0;
    if (hosts_of(url, &opts, &hosts, &ports) == 0) {
        for (const char *p = hosts; p != NULL && rc == 0; p = next_item(p), i++) {
            char host[256], port[32], addrs[RESOLVE_ADDRS_MAX][RESOLVE_ADDR_MAX];
            snprintf(host, sizeof(host), "%.*s", (int)strcspn(p, ","), p);
            item(ports, i, port, sizeof(port));
            int n = resolve_all(host, addrs, RESOLVE_ADDRS_MAX);
            named |= n >= 0;
            if (n < 0)
                rc = add_entry(h, host, port, ""); /* no lookup needed */
            for (int k = 0; k < n && rc == 0; k++)
                rc = add_entry(h, host, port, addrs[k]);
        }
    }
    PQconninfoFree(opts);
    if (rc != 0 || (named && h->n == 0))
        return -1; /* lists too long, or no host has an address yet */
    return named;
}

/* Each name of url's hosts to fn. */
static void each_name(const char *url, void (*fn)(const char *host))
{
    PQconninfoOption *opts;
    const char *hosts, *ports;
    if (hosts_of(url, &opts, &hosts, &ports) == 0) {
        for (const char *p = hosts; p != NULL; p = next_item(p)) {
            char host[256];
            snprintf(host, sizeof(host), "%.*s", (int)strcspn(p, ","), p);
            fn(host);
        }
    }
    PQconninfoFree(opts);
}

void pg_resolve_again(const char *url)
{
    each_name(url, resolve_again);
}

void pg_resolve_now(const char *url)
{
    each_name(url, resolve_now);
}
