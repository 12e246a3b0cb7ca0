/*
 * orders.c - paying a hold, reading and cancelling orders, and the QR code
 * of a ticket. Paying is money-bearing and honours Idempotency-Key; the
 * store checks the hold, calls the payment provider and issues tickets in
 * one transaction. The QR image is rendered here from the ticket's code
 * (api/qrsvg.c) once the store has confirmed the caller owns the ticket.
 */
#include "api/api.h"
#include "api/common.h"
#include "api/qrsvg.h"

#include <stdlib.h>

static void qr_done(h2o_req_t *req, store_job *j)
{
    if (j->err != E_OK) {
        http_send_job(req, j);
        return;
    }
    const char *code = json_string_value(json_object_get(j->out, "code"));
    size_t n;
    char *svg = code ? qrsvg_render(code, &n) : NULL;
    if (!svg) {
        http_send_error(req, E_INTERNAL, NULL, "Could not render the ticket's QR code.");
        return;
    }
    char *body = api_pool_strdup(req, svg, n);
    free(svg);
    http_add_header(req, "cache-control", "private, no-store");
    http_send_bytes(req, 200, "image/svg+xml", h2o_iovec_init(body, n));
}

static const api_op create_op = {.op = OP_ORDER_CREATE, .flags = API_AUTH | API_IDEM, .rules = rules_order};
static const api_op get_op = {.op = OP_ORDER_GET, .flags = API_AUTH, .params = {"order_id"}};
static const api_op cancel_op = {.op = OP_ORDER_CANCEL, .flags = API_AUTH, .params = {"order_id"}};
static const api_op qr_op = {.op = OP_TICKET_GET, .flags = API_AUTH, .params = {"ticket_id"}, .done = qr_done};

static int create_order(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &create_op);
}

static int get_order(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &get_op);
}

static int cancel_order(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &cancel_op);
}

static int ticket_qr(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &qr_op);
}

void api_orders_register(void)
{
    router_add("POST", "/api/v1/orders", create_order);
    router_add("GET", "/api/v1/orders/{id}", get_order);
    router_add("POST", "/api/v1/orders/{id}/cancel", cancel_order);
    router_add("GET", "/api/v1/tickets/{id}/qr.svg", ticket_qr);
}
