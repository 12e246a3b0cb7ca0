/*
 * health.c - liveness, readiness and metrics, for orchestrators and
 * Prometheus rather than for users. /healthz answers from the loop alone
 * (the process is up); /readyz asks the store with a ping through the same
 * async path as every API call, and says "unavailable" once a graceful
 * shutdown has begun so load balancers stop sending traffic first.
 *
 * Cluster mode: Redis down is "degraded", still 200: booking goes on
 * (Redis is not the system of record) and taking every instance out of
 * the load balancer because a shared cache is down would turn a partial
 * outage (live updates late, throttling per instance) into a full one.
 * The body tells operators: {"status":"degraded","redis":"down"}.
 */
#include "api/api.h"

#include <stdlib.h>
#include "http/http.h"
#include "http/internal.h"
#include "ops/metrics.h"
#include "pubsub/redis.h"

#define JSON_TYPE "application/json; charset=utf-8"

static void send_static(h2o_req_t *req, int status, const char *body)
{
    http_send_bytes(req, status, JSON_TYPE, h2o_iovec_init(body, strlen(body)));
}

static void send_unready(h2o_req_t *req)
{
    send_static(req, 503, "{\"status\":\"unavailable\"}");
}

static int get_healthz(h2o_req_t *req, const route_params *p)
{
    send_static(req, 200, "{\"status\":\"ok\"}");
    return 0;
}

static void readyz_done(h2o_req_t *req, store_job *j)
{
    if (j->err != E_OK || server_draining())
        send_unready(req);
    else if (pubsub_redis_status() == PUBSUB_REDIS_DOWN)
        send_static(req, 200, "{\"status\":\"degraded\",\"redis\":\"down\"}");
    else
        send_static(req, 200, "{\"status\":\"ready\"}");
}

static int get_readyz(h2o_req_t *req, const route_params *p)
{
    store_job *j;
    if (server_draining() || api_store() == NULL || (j = store_job_new(OP_PING, NULL)) == NULL) {
        send_unready(req);
        return 0;
    }
    api_submit(req, j, readyz_done);
    return 0;
}

static int get_metrics(h2o_req_t *req, const route_params *p)
{
    size_t len;
    char *text = metrics_render(&len);
    if (text == NULL) {
        http_send_error(req, E_INTERNAL, NULL, NULL);
        return 0;
    }
    respond_send_owned(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    return 0;
}

void api_health_register(void)
{
    router_add("GET", "/healthz", get_healthz);
    router_add("GET", "/readyz", get_readyz);
    router_add("GET", "/metrics", get_metrics);
}
