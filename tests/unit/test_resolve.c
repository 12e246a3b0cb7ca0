/*
 * test_resolve.c - core/resolve.c and store/pg/hostaddr.c: which hosts need
 * a lookup, the addresses kept (IPv4 first, the next one after a failed
 * connect) and the libpq host/port/hostaddr lists made from them.
 * localhost is looked up through /etc/hosts: no DNS server is needed.
 */
#include "unit.h"

#include <stdio.h>
#include "core/resolve.h"
#include "store/pg/pg.h"

static void hosts_without_lookup(void)
{
    pg_hosts h;
    char addr[RESOLVE_ADDR_MAX];
    CHECK_INT(pg_resolve_hosts("postgres://u@127.0.0.1:5432/db", &h), 0);
    CHECK_INT(pg_resolve_hosts("postgres://u@[::1]:5432/db", &h), 0);
    CHECK_INT(pg_resolve_hosts("postgres:///db?host=/var/run/postgresql", &h), 0);
    CHECK_INT(pg_resolve_hosts("postgres:///db", &h), 0);
    /* the URL's own hostaddr wins: nothing to add */
    CHECK_INT(pg_resolve_hosts("postgres://u@localhost/db?hostaddr=127.0.0.1", &h), 0);
    CHECK_STR(resolve_target("10.1.2.3", addr, sizeof(addr)), "10.1.2.3");
    CHECK_STR(resolve_target("/tmp", addr, sizeof(addr)), "/tmp");
}

/* localhost's addresses as the cache keeps them: IPv4 first. */
static int localhost_addrs(char (*addrs)[RESOLVE_ADDR_MAX])
{
    resolve_now("localhost");
    int n = resolve_all("localhost", addrs, RESOLVE_ADDRS_MAX);
    CHECK(n >= 1);
    CHECK_STR(addrs[0], "127.0.0.1");
    return n;
}

static void every_address_in_the_lists(void)
{
    char addrs[RESOLVE_ADDRS_MAX][RESOLVE_ADDR_MAX], want_host[256] = "127.0.0.1", want_port[64] = "5432",
                                                     want_addr[256] = "";
    int n = localhost_addrs(addrs);
    for (int i = 0; i < n; i++) {
        strcat(want_host, ",localhost");
        strcat(want_port, ",5433");
        strcat(want_addr, ",");
        strcat(want_addr, addrs[i]);
    }
    pg_hosts h;
    CHECK_INT(pg_resolve_hosts("postgres://u@127.0.0.1:5432,localhost:5433/db", &h), 1);
    CHECK_INT(h.n, n + 1);
    CHECK_STR(h.host, want_host);
    CHECK_STR(h.port, want_port);
    CHECK_STR(h.hostaddr, want_addr);
    /* one port for every host stays one port per entry */
    CHECK_INT(pg_resolve_hosts("postgres://u@localhost:6000/db", &h), 1);
    CHECK_INT(h.n, n);
    CHECK(strncmp(h.port, "6000", 4) == 0 && strncmp(h.hostaddr, "127.0.0.1", 9) == 0);
}

static void names_without_addresses(void)
{
    pg_hosts h;
    /* never looked up: nothing to connect to (a lookup starts elsewhere) */
    CHECK_INT(pg_resolve_hosts("postgres://u@no-such-host.invalid/db", &h), -1);
    /* in a list, it is left out and the others remain */
    CHECK_INT(pg_resolve_hosts("postgres://u@no-such-host.invalid:1,127.0.0.1:2/db", &h), 1);
    CHECK_INT(h.n, 1);
    CHECK_STR(h.host, "127.0.0.1");
    CHECK_STR(h.port, "2");
    CHECK_STR(h.hostaddr, "");
}

static void next_address_after_a_failure(void)
{
    char addrs[RESOLVE_ADDRS_MAX][RESOLVE_ADDR_MAX], addr[RESOLVE_ADDR_MAX];
    int n = localhost_addrs(addrs);
    CHECK_STR(resolve_target("localhost", addr, sizeof(addr)), "127.0.0.1");
    resolve_again("localhost");
    CHECK_STR(resolve_target("localhost", addr, sizeof(addr)), addrs[1 % n]);
    resolve_again("localhost");
    CHECK_STR(resolve_target("localhost", addr, sizeof(addr)), addrs[2 % n]);
}

void resolve_tests(void)
{
    RUN(hosts_without_lookup);
    RUN(every_address_in_the_lists);
    RUN(names_without_addresses);
    RUN(next_address_after_a_failure);
}
