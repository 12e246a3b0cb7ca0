/*
 * errors.h - the contract's error codes, in one table.
 *
 * Every layer (booking rules, store backends, HTTP handlers) reports failure
 * as an err_code; only the HTTP layer turns it into a status line and the
 * {"error": {"code", "message", ...details}} envelope. Keeping the mapping
 * here means a store backend never needs to know about HTTP, and a new code
 * is added in exactly one place (errors.c).
 */
#ifndef TIXIN_CORE_ERRORS_H
#define TIXIN_CORE_ERRORS_H

typedef enum {
    E_OK = 0,
    /* generic request errors */
    E_INVALID_JSON,            /* 400 invalid_json */
    E_INVALID_FIELD,           /* 422 invalid_field (+ "field") */
    E_UNAUTHENTICATED,         /* 401 unauthenticated */
    E_FORBIDDEN,               /* 403 forbidden */
    E_NOT_FOUND,               /* 404 not_found */
    E_METHOD_NOT_ALLOWED,      /* 405 method_not_allowed */
    E_PAYLOAD_TOO_LARGE,       /* 413 payload_too_large */
    E_RATE_LIMITED,            /* 429 rate_limited */
    /* accounts and organizations */
    E_EMAIL_TAKEN,             /* 409 email_taken */
    E_INVALID_CREDENTIALS,     /* 401 invalid_credentials */
    E_USER_NOT_FOUND,          /* 404 user_not_found */
    E_ALREADY_MEMBER,          /* 409 already_member */
    /* events */
    E_EVENT_PUBLISHED,         /* 409 event_published */
    /* buying */
    E_SEAT_UNAVAILABLE,        /* 409 seat_unavailable (+ "seats") */
    E_SOLD_OUT,                /* 409 sold_out */
    E_SEAT_NOT_FOUND,          /* 404 seat_not_found (+ "seats") */
    E_SALE_NOT_OPEN,           /* 403 sale_not_open */
    E_LIMIT_EXCEEDED,          /* 422 limit_exceeded */
    E_HOLD_EXPIRED,            /* 409 hold_expired */
    E_HOLD_ALREADY_USED,       /* 409 hold_already_used */
    E_PAYMENT_DECLINED,        /* 402 payment_declined */
    E_ALREADY_REFUNDED,        /* 409 already_refunded */
    /* check-in */
    E_ALREADY_CHECKED_IN,      /* 409 already_checked_in (+ "checked_in_at") */
    E_TICKET_VOID,             /* 409 ticket_void */
    E_TICKET_NOT_FOUND,        /* 404 ticket_not_found */
    /* idempotency */
    E_IDEMPOTENCY_KEY_REUSED,  /* 422 idempotency_key_reused */
    E_IDEMPOTENCY_IN_PROGRESS, /* 409 idempotency_in_progress */
    /* server side */
    E_UNAVAILABLE,             /* 503 unavailable (store down, shutting down) */
    E_INTERNAL,                /* 500 internal */
    E__COUNT
} err_code;

/* HTTP status for an error code (E_OK gives 200). */
int err_http_status(err_code e);
/* snake_case code of the contract, e.g. "seat_unavailable". */
const char *err_name(err_code e);
/* Default human message, used when the caller has no better one. */
const char *err_message(err_code e);

#endif
