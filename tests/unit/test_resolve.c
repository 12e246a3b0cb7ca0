/*
 * test_resolve.c - store/pg/hostaddr.c (on core/resolve.c): which hosts of a PostgreSQL URL the
 * store's connects need an address for, and the "hostaddr" list they get
 * (localhost is looked up through /etc/hosts: no DNS server needed).
 */
#include "unit.h"

#include "store/pg/pg.h"

static int is_localhost(const char *addr)
{
    return strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0;
}

static void hosts_without_lookup(void)
{
    char addr[PG_HOSTADDR_MAX];
    CHECK_INT(pg_resolve_hostaddr("postgres://u@127.0.0.1:5432/db", addr, sizeof(addr)), 0);
    CHECK_INT(pg_resolve_hostaddr("postgres://u@[::1]:5432/db", addr, sizeof(addr)), 0);
    CHECK_INT(pg_resolve_hostaddr("postgres:///db?host=/var/run/postgresql", addr, sizeof(addr)), 0);
    CHECK_INT(pg_resolve_hostaddr("postgres:///db", addr, sizeof(addr)), 0);
    /* the URL's own hostaddr wins: nothing to add */
    CHECK_INT(pg_resolve_hostaddr("postgres://u@localhost/db?hostaddr=127.0.0.1", addr, sizeof(addr)), 0);
}

static void names_resolved_ahead(void)
{
    char addr[PG_HOSTADDR_MAX];
    const char *url = "postgres://u@localhost:5432/db";
    pg_resolve_now(url);
    CHECK_INT(pg_resolve_hostaddr(url, addr, sizeof(addr)), 1);
    CHECK(is_localhost(addr));
    /* a list: one entry per host, empty for the address */
    CHECK_INT(pg_resolve_hostaddr("postgres://u@127.0.0.1:5432,localhost:5433/db", addr, sizeof(addr)), 1);
    CHECK(addr[0] == ',' && is_localhost(addr + 1));
    /* a name never looked up: no address yet (a lookup starts elsewhere) */
    CHECK_INT(pg_resolve_hostaddr("postgres://u@no-such-host.invalid/db", addr, sizeof(addr)), -1);
}

void resolve_tests(void)
{
    RUN(hosts_without_lookup);
    RUN(names_resolved_ahead);
}
