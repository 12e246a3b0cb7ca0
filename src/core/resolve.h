/*
 * resolve.h - host names looked up off the threads that must not wait for
 * DNS (core/resolve.c): the request loops, and the threads whose work a
 * request waits for (store threads, Redis publishers).
 */
#ifndef TIXIN_CORE_RESOLVE_H
#define TIXIN_CORE_RESOLVE_H

#include <stddef.h>

#define RESOLVE_ADDR_MAX 46 /* INET6_ADDRSTRLEN */

/* What to connect to for host, never after a lookup on this thread:
 * host itself when it needs no lookup (an IP address, a socket path, "");
 * addr, filled with host's address when one is known (looked up again in
 * the background once it is old); NULL when none is known yet (a lookup
 * has started in the background): fail this connect as if the server
 * were down, and try again later. */
const char *resolve_target(const char *host, char *addr, size_t len);
/* Connecting to what resolve_target() gave failed: the name may have
 * moved; look it up again, in the background. */
void resolve_again(const char *host);
/* Look host up now, blocking: at start-up, before the loops run. */
void resolve_now(const char *host);

#endif
