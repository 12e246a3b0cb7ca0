/*
 * events.c - the organizer's side of events: create (as a draft), patch
 * while a draft, publish, and stats. Validation is booking/rules.c; who may
 * do what (owner/admin/staff) and the checks against stored values (venue
 * of the org, sections of the venue, patched times against stored ones)
 * are the store's, so every route here is a plain api_op.
 */
#include "api/api.h"
#include "api/common.h"

static const api_op create_op = {
    .op = OP_EVENT_CREATE, .flags = API_AUTH, .rules = rules_event_create, .params = {"org_id"}};
static const api_op patch_op = {
    .op = OP_EVENT_PATCH, .flags = API_AUTH, .rules = rules_event_patch, .wrap = "fields", .params = {"event_id"}};
static const api_op publish_op = {.op = OP_EVENT_PUBLISH, .flags = API_AUTH, .params = {"event_id"}};
static const api_op stats_op = {.op = OP_EVENT_STATS, .flags = API_AUTH, .params = {"event_id"}};

static int create_event(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &create_op);
}

static int patch_event(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &patch_op);
}

static int publish_event(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &publish_op);
}

static int event_stats(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &stats_op);
}

void api_events_register(void)
{
    router_add("POST", "/api/v1/organizations/{org}/events", create_event);
    router_add("PATCH", "/api/v1/events/{id}", patch_event);
    router_add("POST", "/api/v1/events/{id}/publish", publish_event);
    router_add("GET", "/api/v1/events/{id}/stats", event_stats);
}
