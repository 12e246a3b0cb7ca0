/*
 * pubsub.h - fan-out of seat and tier changes.
 *
 * After a store transaction commits, the backend publishes one
 * pubsub_change per touched event. Every listener gets every change, in
 * publish order per event: the in-memory seat maps (booking/seatmap.c) and
 * the live WebSocket subscribers (api/live.c) listen here.
 *
 * Embedded mode (pubsub/local.c) calls the listeners right away on the
 * publishing thread. Cluster mode (pubsub/redis.c) also sends every change
 * through Redis and calls the listeners for every instance's changes, in
 * version order per event, from whichever thread completes the sequence,
 * so listeners must not assume which thread calls them: they must be
 * thread-safe and quick (hand work to their own loops, never block).
 */
#ifndef TIXIN_PUBSUB_PUBSUB_H
#define TIXIN_PUBSUB_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int ord;          /* seat index in the venue layout */
    char status;      /* 'f' free, 'h' held, 's' sold */
} pubsub_seat;

typedef struct {
    char tier_id[64];
    int available;    /* capacity - held - sold after the change */
} pubsub_tier;

typedef struct pubsub_change {
    int refcnt;                 /* atomic; starts at 1 */
    char event_id[48];
    int64_t version;            /* events.version after this change */
    long long published_us;     /* wall clock at pubsub_publish (lag metric; 0 when
                                 * it came from another instance) */
    size_t nseats, seats_cap;
    pubsub_seat *seats;
    size_t ntiers, tiers_cap;
    pubsub_tier *tiers;
} pubsub_change;

pubsub_change *pubsub_change_new(const char *event_id);
void pubsub_change_add_seat(pubsub_change *c, int ord, char status);
void pubsub_change_add_tier(pubsub_change *c, const char *tier_id, int available);
void pubsub_change_ref(pubsub_change *c);
void pubsub_change_unref(pubsub_change *c);

typedef void (*pubsub_listener)(pubsub_change *c, void *data);
/* Register before the server starts; listeners run in registration order. */
void pubsub_listen(pubsub_listener fn, void *data);
/* Publish a committed change: in embedded mode, deliver it to every
 * listener right away; in cluster mode, hand it to the publisher that
 * pubsub/redis.c installed. Does not take over the caller's reference. */
void pubsub_publish(pubsub_change *c);

/* --- for the cluster transport (pubsub/redis.c) ----------------------- */

/* Call every listener with c, in registration order, on this thread. */
void pubsub_deliver(pubsub_change *c);
/* Route pubsub_publish() to fn from now on (NULL: back to delivering
 * locally). Set before the store starts publishing. */
typedef void (*pubsub_publisher)(pubsub_change *c);
void pubsub_set_publisher(pubsub_publisher fn);

#endif
