/*
 * rules.h - validation of request bodies, without any I/O.
 *
 * The API handlers hand a parsed body to one of the rules_* validators and
 * get back either the exact args object the store op expects (fields
 * checked, trimmed, normalised, defaults filled in, times converted to
 * int64 ms) or a rule_err naming the offending field. Keeping these rules
 * pure keeps them unit-testable and keeps the store free of shape checks:
 * the store only checks what needs stored state (venue belongs to org,
 * tickets per order against the event, ...).
 *
 * Field names in errors are the JSON path of the field in the request:
 * "email", "payment.token", "sections[0].rows[1].seats", "seats[3]".
 */
#ifndef TIXIN_BOOKING_RULES_H
#define TIXIN_BOOKING_RULES_H

#include <stddef.h>
#include <jansson.h>
#include "core/errors.h"

#define RULES_NAME_MAX 200           /* characters */
#define RULES_PASSWORD_MIN 8         /* characters */
#define RULES_PASSWORD_MAX 1024      /* characters */
#define RULES_PASSWORD_BYTES_MAX (4 * RULES_PASSWORD_MAX) /* UTF-8 */
#define RULES_EMAIL_MAX 254          /* bytes */
#define RULES_IDENT_MAX 32           /* section and row ids */
#define RULES_SEAT_ID_MAX (2 * RULES_IDENT_MAX + 6) /* "<section>-<row>-<number>" */
#define RULES_SEATS_PER_ROW_MAX 1000
#define RULES_VENUE_SEATS_MAX 100000
#define RULES_TICKETS_PER_ORDER_MAX 100
#define RULES_HOLD_TTL_MAX 3600      /* seconds */
#define RULES_PRICE_MAX 100000000    /* cents: one million units */
#define RULES_CAPACITY_MAX 1000000
#define RULES_LIST_LIMIT_DEFAULT 20
#define RULES_LIST_LIMIT_MAX 100
#define RULES_IDEM_KEY_MAX 255

typedef struct {
    err_code code;       /* E_INVALID_FIELD, or E_LIMIT_EXCEEDED */
    char field[128];
    char message[192];
} rule_err;

/* A seat id "<section>-<row>-<number>" taken apart. */
typedef struct {
    char section[RULES_IDENT_MAX + 1];
    char row[RULES_IDENT_MAX + 1];
    int number;          /* 1..RULES_SEATS_PER_ROW_MAX */
} seat_ref;

/* 0 when s is a canonical seat id (ids [A-Za-z0-9]+, number without
 * leading zeros in 1..1000), out filled; -1 otherwise. out may be NULL. */
int rules_seat_id_parse(const char *s, seat_ref *out);
/* Trim and lower-case in into out (len >= RULES_EMAIL_MAX + 1); 0 when the
 * result has the shape of an email address, -1 otherwise. */
int rules_email_normalize(const char *in, char *out, size_t len);

/*
 * Body validators. Each checks body and on success sets *args to a new
 * object (caller owns it) holding exactly the validated fields, returning
 * 0; on failure fills *e, leaves *args NULL and returns -1. Callers add the
 * ids from the path (org_id, event_id, ...).
 */
/* {email, password, name} -> {email, name, password} */
int rules_signup(const json_t *body, json_t **args, rule_err *e);
/* {email, password} -> {email (trimmed, lower-cased), password}; the shape
 * of the email is not checked: a malformed one is just an unknown one. */
int rules_login(const json_t *body, json_t **args, rule_err *e);
/* {name} -> {name} */
int rules_org(const json_t *body, json_t **args, rule_err *e);
/* {email, role} -> {email, role}; role "admin" or "staff" */
int rules_member(const json_t *body, json_t **args, rule_err *e);
/* {name, city, address?, timezone, sections} -> the same, normalised */
int rules_venue(const json_t *body, json_t **args, rule_err *e);
/* the event create body -> OP_EVENT_CREATE args (without org_id): times in
 * ms, sale_ends_at null when absent, defaults filled in */
int rules_event_create(const json_t *body, json_t **args, rule_err *e);
/* any subset of the create fields -> the "fields" of OP_EVENT_PATCH; the
 * cross-field rules apply to the fields given together */
int rules_event_patch(const json_t *body, json_t **fields, rule_err *e);
/* The time-ordering rules (sale_starts_at < starts_at, sale_starts_at <
 * sale_ends_at <= starts_at) over whichever of those fields (int64 ms,
 * sale_ends_at may be null) the object holds. Used by the validators above
 * and meant for the store, which must re-check a patch merged with the
 * stored fields. 0 when they hold, else -1 with *e set. */
int rules_event_times(const json_t *fields, rule_err *e);
/* {seats: [...]} or {tier, quantity} -> the same (without event_id);
 * more than RULES_TICKETS_PER_ORDER_MAX tickets is E_LIMIT_EXCEEDED */
int rules_hold(const json_t *body, json_t **args, rule_err *e);
/* {hold_id, payment: {method, token}} -> the same */
int rules_order(const json_t *body, json_t **args, rule_err *e);
/* {code} -> {code} */
int rules_checkin(const json_t *body, json_t **args, rule_err *e);

/* ?limit= of a list: NULL gives the default; else 1..100 (field "limit"). */
int rules_list_limit(const char *s, int *out, rule_err *e);
/* An Idempotency-Key header value: 1..255 printable ASCII characters. */
int rules_idem_key(const char *s, rule_err *e);

#endif
