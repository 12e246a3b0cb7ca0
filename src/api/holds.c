/*
 * holds.c - placing and releasing holds. A hold is the only step that
 * takes seats; the request is checked for shape here (seat ids, tier and
 * quantity, at most 100 tickets) and everything that needs the event
 * (sale window, max_tickets_per_order, seat existence and availability)
 * is decided atomically by the store. Holds are money-bearing, so
 * creation honours Idempotency-Key.
 */
#include "api/api.h"
#include "api/common.h"

static const api_op create_op = {
    .op = OP_HOLD_CREATE, .flags = API_AUTH | API_IDEM, .rules = rules_hold, .params = {"event_id"}};
static const api_op release_op = {.op = OP_HOLD_RELEASE, .flags = API_AUTH, .params = {"hold_id"}};

static int create_hold(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &create_op);
}

static int release_hold(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &release_op);
}

void api_holds_register(void)
{
    router_add("POST", "/api/v1/events/{id}/holds", create_hold);
    router_add("DELETE", "/api/v1/holds/{id}", release_hold);
}
