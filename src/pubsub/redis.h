/*
 * redis.h - cluster mode's transport (pubsub/redis.c): every committed
 * seat change goes to every instance through Redis pub/sub, and the
 * failed sign-in counts are shared through Redis. Redis is never the
 * system of record: while it is down each instance goes on with what it
 * knows, and it catches up (every seat map reloaded) when Redis is back.
 */
#ifndef TIXIN_PUBSUB_REDIS_H
#define TIXIN_PUBSUB_REDIS_H

#include "store/store.h"

/* Parse url (redis://[:PASSWORD@]HOST[:PORT][/DB]), take over
 * pubsub_publish(), the seat maps' reloader and the login throttle's
 * remote, and start the Redis thread. Returns at once: the connection is
 * made (and remade, with backoff) in the background. -1 on a bad URL or
 * when the thread cannot start. store serves the seat-map reloads. */
int pubsub_redis_start(const char *url, store_t *store);
/* Stop the thread (after what is queued was sent) and give everything
 * back to the embedded transport. Call after the store's last publish. */
void pubsub_redis_stop(void);

typedef enum {
    PUBSUB_REDIS_OFF = -1, /* not configured (embedded mode) */
    PUBSUB_REDIS_DOWN = 0, /* configured, not connected and subscribed */
    PUBSUB_REDIS_UP = 1
} pubsub_redis_state;
pubsub_redis_state pubsub_redis_status(void);

#endif
