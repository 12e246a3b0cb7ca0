/*
 * wire.h - the compact text form of a pubsub_change on the Redis channel
 * (pubsub/wire.c):
 *
 *   ORIGIN|EVENT_ID|VERSION|ORD STATUS,ORD STATUS...|TIER=AVAILABLE,...
 *   e.g. 3f9c0a1b2c3d4e5f|evt_...|57|12h,13h|ga=3
 *
 * ORIGIN names the publishing process, so it can skip its own changes
 * when they come back. Event and tier ids never hold '|', ',' or '='
 * (ids are base32, tier ids [A-Za-z0-9_-]); the encoder refuses any that do.
 */
#ifndef TIXIN_PUBSUB_WIRE_H
#define TIXIN_PUBSUB_WIRE_H

#include <stddef.h>
#include "pubsub/pubsub.h"

/* malloc'd bytes (length in *len), or NULL when an id cannot be sent. */
char *wire_encode(const pubsub_change *c, const char *origin, size_t *len);
/* A new change (refcnt 1), its origin copied to origin (cap bytes), or
 * NULL when the bytes are not a change. */
pubsub_change *wire_decode(const char *p, size_t len, char *origin, size_t cap);

#endif
