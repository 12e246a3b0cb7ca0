/*
 * redis_pub.h - publishing a committed change from the thread that
 * committed it, and waiting until the other instances applied it
 * (pubsub/redis_pub.c; used by pubsub/redis.c).
 */
#ifndef TIXIN_PUBSUB_REDIS_PUB_H
#define TIXIN_PUBSUB_REDIS_PUB_H

#include <stddef.h>
#include <stdint.h>

/* Where to connect; called once before any publish. */
void redis_pub_init(const char *host, int port, const char *password);
/* PUBLISH bytes on channel from the calling thread, then wait (bounded)
 * until every other subscribed instance acknowledged (event_id, version).
 * 0 when Redis took it; -1 when it could not be sent from here. */
int redis_pub_change(const char *channel, const char *bytes, size_t len, const char *event_id, int64_t version);
/* An instance acknowledged (event_id, version): called by the subscriber. */
void redis_pub_acked(const char *event_id, int64_t version);

#endif
