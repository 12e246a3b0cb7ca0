/*
 * changes.h - the seat/tier change log of a store transaction (internal to
 * src/store). A backend keeps one log per job (so a job rolled back to its
 * SAVEPOINT loses exactly its own changes) and merges the survivors into
 * the batch's log; after COMMIT the batch log becomes one pubsub_change per
 * touched event, the last status of each seat/tier winning.
 */
#ifndef TIXIN_STORE_CHANGES_H
#define TIXIN_STORE_CHANGES_H

#include <stddef.h>
#include <stdint.h>
#include "pubsub/pubsub.h"
#include "store/store.h"

store_changes *store_changes_new(void);
void store_changes_free(store_changes *c);
void store_changes_clear(store_changes *c);
/* Append every change of src to dst (src is left unchanged). */
void store_changes_merge(store_changes *dst, const store_changes *src);

/* The distinct events touched, in first-touch order. */
size_t store_changes_nevents(const store_changes *c);
const char *store_changes_event(const store_changes *c, size_t i);

/* The change of event i as a new pubsub_change (refcnt 1) at version. */
pubsub_change *store_changes_build(const store_changes *c, size_t i, int64_t version);

#endif
