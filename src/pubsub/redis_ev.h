/*
 * redis_ev.h - runs a hiredis async connection on an h2o 2.2 evloop
 * (pubsub/redis_ev.c). hiredis ships adapters for libevent, libev, libuv...
 * but not for h2o's own loop, which is what this binary links.
 */
#ifndef TIXIN_PUBSUB_REDIS_EV_H
#define TIXIN_PUBSUB_REDIS_EV_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <hiredis/async.h>

/* Attach ac (fresh from redisAsyncConnect, before any command or connect
 * callback) to loop. 0 on success; on -1 the caller still owns ac. The
 * adapter frees itself when hiredis frees ac. Loop thread only. */
int redis_ev_attach(h2o_evloop_t *loop, redisAsyncContext *ac);

#endif
