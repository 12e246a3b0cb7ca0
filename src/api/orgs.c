/*
 * orgs.c - organizations, their members and their venues.
 *
 * Creating is for signed-in users (the store decides owner/admin rights);
 * so is listing my organizations and an organization's events (drafts
 * too, for any member: the organizer's pages are built from them).
 * A venue's layout is public and never changes once created, so GET
 * /venues/{id} is answered with a strong ETag (hash of the body) and
 * allows shared caching; a matching If-None-Match gets 304.
 */
#include "api/api.h"
#include "api/common.h"

#include <stdlib.h>
#include <string.h>
#include "core/util.h"

#define VENUE_CACHE_CONTROL "public, max-age=300"

/* 1 when the If-None-Match header lists etag (or is "*"). */
static int etag_matches(h2o_req_t *req, const char *etag)
{
    const char *inm = http_header(req, "if-none-match");
    return inm && (strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL);
}

static void venue_done(h2o_req_t *req, store_job *j)
{
    if (j->err != E_OK) {
        http_send_job(req, j);
        return;
    }
    char *text = store_job_render_body(j);
    if (!text) {
        http_send_error(req, E_INTERNAL, NULL, NULL);
        return;
    }
    char hash[65], etag[40];
    size_t n = strlen(text);
    sha256_hex(text, n, hash);
    snprintf(etag, sizeof(etag), "\"%.32s\"", hash);
    http_add_header(req, "etag", etag);
    http_add_header(req, "cache-control", VENUE_CACHE_CONTROL);
    if (etag_matches(req, etag)) {
        http_send_bytes(req, 304, "application/json", h2o_iovec_init(NULL, 0));
    } else {
        char *body = api_pool_strdup(req, text, n);
        http_send_bytes(req, 200, "application/json", h2o_iovec_init(body, n));
    }
    free(text);
}

static const api_op org_op = {.op = OP_ORG_CREATE, .flags = API_AUTH, .rules = rules_org};
static const api_op member_op = {
    .op = OP_MEMBER_ADD, .flags = API_AUTH, .rules = rules_member, .params = {"org_id"}};
static const api_op venue_create_op = {
    .op = OP_VENUE_CREATE, .flags = API_AUTH, .rules = rules_venue, .params = {"org_id"}};
static const api_op venue_get_op = {.op = OP_VENUE_GET, .params = {"venue_id"}, .done = venue_done};
static const api_op my_orgs_op = {.op = OP_MY_ORGANIZATIONS, .flags = API_AUTH | API_LIST};
static const api_op org_events_op = {.op = OP_ORG_EVENTS, .flags = API_AUTH | API_LIST, .params = {"org_id"}};

static int create_org(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &org_op);
}

static int add_member(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &member_op);
}

static int create_venue(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &venue_create_op);
}

static int get_venue(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &venue_get_op);
}

static int my_orgs(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &my_orgs_op);
}

static int org_events(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &org_events_op);
}

void api_orgs_register(void)
{
    router_add("POST", "/api/v1/organizations", create_org);
    router_add("POST", "/api/v1/organizations/{org}/members", add_member);
    router_add("POST", "/api/v1/organizations/{org}/venues", create_venue);
    router_add("GET", "/api/v1/me/organizations", my_orgs);
    router_add("GET", "/api/v1/organizations/{org}/events", org_events);
    router_add("GET", "/api/v1/venues/{id}", get_venue);
}
