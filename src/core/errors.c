/*
 * errors.c - the table behind errors.h: status, contract code and default
 * message of every err_code. Indexed by the enum, so the order of rows must
 * follow the order of the enum (checked at start-up by err_table_ok()).
 */
#include "core/errors.h"

static const struct {
    err_code code;
    int status;
    const char *name;
    const char *message;
} table[E__COUNT] = {
    {E_OK, 200, "ok", "OK"},
    {E_INVALID_JSON, 400, "invalid_json", "The request body is not valid JSON."},
    {E_INVALID_FIELD, 422, "invalid_field", "A field is missing or invalid."},
    {E_UNAUTHENTICATED, 401, "unauthenticated", "Sign in first: the token is missing, invalid or revoked."},
    {E_FORBIDDEN, 403, "forbidden", "You are not allowed to do this."},
    {E_NOT_FOUND, 404, "not_found", "Not found."},
    {E_METHOD_NOT_ALLOWED, 405, "method_not_allowed", "This method is not allowed on this resource."},
    {E_PAYLOAD_TOO_LARGE, 413, "payload_too_large", "The request body is larger than 1 MiB."},
    {E_RATE_LIMITED, 429, "rate_limited", "Too many requests; retry later."},
    {E_EMAIL_TAKEN, 409, "email_taken", "An account with this email already exists."},
    {E_INVALID_CREDENTIALS, 401, "invalid_credentials", "Wrong email or password."},
    {E_USER_NOT_FOUND, 404, "user_not_found", "No account has this email."},
    {E_ALREADY_MEMBER, 409, "already_member", "This user is already a member of the organization."},
    {E_EVENT_PUBLISHED, 409, "event_published", "The event is published and can no longer be changed."},
    {E_SEAT_UNAVAILABLE, 409, "seat_unavailable", "Some of the seats are no longer free."},
    {E_SOLD_OUT, 409, "sold_out", "Not enough tickets left in this tier."},
    {E_SEAT_NOT_FOUND, 404, "seat_not_found", "Some of the seats do not exist or are not on sale."},
    {E_SALE_NOT_OPEN, 403, "sale_not_open", "Tickets for this event are not on sale now."},
    {E_LIMIT_EXCEEDED, 422, "limit_exceeded", "Too many tickets for one order."},
    {E_HOLD_EXPIRED, 409, "hold_expired", "The hold has expired; its seats were released."},
    {E_HOLD_ALREADY_USED, 409, "hold_already_used", "This hold has already been paid."},
    {E_PAYMENT_DECLINED, 402, "payment_declined", "The payment was declined; the hold is kept."},
    {E_ALREADY_REFUNDED, 409, "already_refunded", "The order is already refunded."},
    {E_ALREADY_CHECKED_IN, 409, "already_checked_in", "This ticket has already been checked in."},
    {E_TICKET_VOID, 409, "ticket_void", "This ticket is void (its order was refunded)."},
    {E_TICKET_NOT_FOUND, 404, "ticket_not_found", "No ticket of this event has this code."},
    {E_IDEMPOTENCY_KEY_REUSED, 422, "idempotency_key_reused", "This Idempotency-Key was used with a different request."},
    {E_IDEMPOTENCY_IN_PROGRESS, 409, "idempotency_in_progress", "A request with this Idempotency-Key is still running."},
    {E_UNAVAILABLE, 503, "unavailable", "The service is temporarily unavailable."},
    {E_INTERNAL, 500, "internal", "Internal error."},
};

static int valid(err_code e)
{
    return (int)e >= 0 && e < E__COUNT && table[e].code == e;
}

int err_http_status(err_code e)
{
    return valid(e) ? table[e].status : 500;
}

const char *err_name(err_code e)
{
    return valid(e) ? table[e].name : "internal";
}

const char *err_message(err_code e)
{
    return valid(e) ? table[e].message : "Internal error.";
}
