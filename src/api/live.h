/*
 * live.h - what api/browse.c and api/live.c share: both answer from the
 * in-memory seat maps and, when an event's map is not loaded yet, ask the
 * store to load it before answering.
 */
#ifndef TIXIN_API_LIVE_H
#define TIXIN_API_LIVE_H

#include "http/http.h"

/* Submit OP_SEATMAP_LOAD for event_id on behalf of req; done(req, j) runs
 * on this loop afterwards with j->ctx == ctx (j->err E_NOT_FOUND for
 * unknown or unpublished events). Implemented in api/browse.c. */
void browse_load_seatmap(h2o_req_t *req, const char *event_id, void *ctx, api_done_fn done);

#endif
