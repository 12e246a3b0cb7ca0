/*
 * checkins.c - door check-in: a member of the event's organization scans a
 * ticket code. The first scan wins; the store decides (atomically) whether
 * the code is this event's, void, or already used.
 */
#include "api/api.h"
#include "api/common.h"

static const api_op checkin_op = {
    .op = OP_CHECKIN, .flags = API_AUTH, .rules = rules_checkin, .params = {"event_id"}};

static int checkin(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &checkin_op);
}

void api_checkins_register(void)
{
    router_add("POST", "/api/v1/events/{id}/checkins", checkin);
}
