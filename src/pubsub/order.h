/*
 * order.h - delivers the changes of every instance to the local listeners
 * in version order per event (pubsub/order.c), for cluster mode.
 *
 * Two instances commit versions 5 and 6 of an event one after the other,
 * but their PUBLISHes may reach Redis (and this instance's own change may
 * reach pubsub_deliver()) in the other order. A change that arrives ahead
 * of the one before it waits up to ORDER_HOLD_MS for it; when the missing
 * change does not come (its instance died between COMMIT and PUBLISH, or
 * Redis dropped it), the waiting ones are delivered anyway and the seat
 * map, seeing the skip, reloads itself (booking/seatmap.h). Duplicates and
 * older versions are dropped. The version expected next is the seat map's
 * own; an event whose map is not loaded has no ordering to keep.
 */
#ifndef TIXIN_PUBSUB_ORDER_H
#define TIXIN_PUBSUB_ORDER_H

#include <stdint.h>
#include "pubsub/pubsub.h"

#define ORDER_HOLD_MS 250

/* Deliver c now, hold it, or drop it. Any thread; the caller keeps its
 * reference. */
void order_submit(pubsub_change *c, int64_t now_ms);
/* Deliver what has waited past its deadline (called every few ms). */
void order_expire(int64_t now_ms);
/* Drop everything held (shutdown). */
void order_clear(void);

#endif
