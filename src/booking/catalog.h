/*
 * catalog.h - the published events, in memory, for listings and event pages.
 *
 * The store installs the whole list at start-up and again after every
 * publish or change of a published event (OP_CATALOG_LOAD). Readers get an
 * immutable, reference-counted snapshot; installing swaps the pointer, so a
 * reader never sees half a list. Availability is not in here: it changes
 * with every hold and is read from booking/seatmap.h at render time.
 */
#ifndef TIXIN_BOOKING_CATALOG_H
#define TIXIN_BOOKING_CATALOG_H

#include <jansson.h>

/* events: array of event objects exactly as OP_EVENT_GET's out (without
 * "availability"), plus "starts_at_ms" (integer) for sorting and filters,
 * all with status "published". Steals the reference. */
void catalog_install(json_t *events);
void catalog_init(void);
void catalog_free(void);

#endif
