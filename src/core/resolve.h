/*
 * resolve.h - host names looked up off the threads that must not wait for
 * DNS (core/resolve.c): the request loops, and the threads whose work a
 * request waits for (store threads, Redis publishers).
 */
#ifndef TIXIN_CORE_RESOLVE_H
#define TIXIN_CORE_RESOLVE_H

#include <stddef.h>

#define RESOLVE_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
#define RESOLVE_ADDRS_MAX 4 /* addresses kept per name */

/* What to connect to for host, never after a lookup on this thread:
 * host itself when it needs no lookup (an IP address, a socket path, "");
 * addr, filled with one of host's addresses when some are known (looked up
 * again in the background once they are old); NULL when none is known yet
 * (a lookup has started in the background): fail this connect as if the
 * server were down, and try again later. */
const char *resolve_target(const char *host, char *addr, size_t len);
/* All of host's addresses known (at most max, IPv4 first) into addrs: their
 * number (0: none yet, a lookup has started), or -1 when host needs no
 * lookup. */
int resolve_all(const char *host, char (*addrs)[RESOLVE_ADDR_MAX], int max);
/* Connecting to what resolve_target() gave failed: the next address is
 * given from now on, and the name is looked up again in the background (it
 * may have moved). */
void resolve_again(const char *host);
/* Look host up now, blocking: at start-up, before the loops run. */
void resolve_now(const char *host);

#endif
