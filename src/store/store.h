/*
 * store.h - the one interface to durable state.
 *
 * Every read and write of the system of record is a store_job: an operation
 * code, its validated arguments as a JSON object, optionally the caller's
 * session token hash and an Idempotency-Key. A backend runs the job and
 * fills in err/status/out, then completes the job's task so that
 * job->task.done runs back on the loop that submitted it.
 *
 * Backends: store/sqlite (embedded, default) runs all jobs on one writer
 * thread that groups whatever is queued into one transaction (a SAVEPOINT
 * only for ops that can fail after writing) and answers only after COMMIT.
 * store/pg (cluster mode) implements the same ops with the same SQL rules.
 *
 * Generic duties of every backend, done before/around the op itself:
 *  - auth: when job->has_token, resolve token_hash to a live session; if
 *    none, the job fails with E_UNAUTHENTICATED and the op does not run.
 *    The resolved user id is put in job->user_id for the op.
 *  - idempotency: when job->idem_key[0] != 0 (only on ops marked (idem)
 *    below, and always together with a token), look up (user_id, key):
 *    same request_hash -> replay the stored status and body
 *    (job->replayed = 1, job->replay_body set); other hash ->
 *    E_IDEMPOTENCY_KEY_REUSED; unknown -> run the op and, in the same
 *    transaction, store its final status and body (successes and 402/409
 *    errors alike; other errors are not stored). Body rendering for storage
 *    is store_job_render_body() so the replay is byte-identical.
 *  - seat changes: ops that change seats or GA tiers call
 *    store_changes_seat()/store_changes_tier() with the change. At the end
 *    of the transaction the backend bumps events.version by one for each
 *    touched event, and after COMMIT publishes one pubsub_change per event
 *    (see pubsub/pubsub.h) which updates seat maps and live subscribers.
 *  - expiry: the backend itself expires holds whose expires_at has passed,
 *    on a timer (at least every 250 ms), with the same change publishing.
 *
 * Times inside args are int64 milliseconds since the epoch (UTC); times in
 * out are RFC 3339 strings ("2026-12-01T19:30:00Z"), see core/util.h.
 * Money is integer minor units. out is exactly the JSON the API returns.
 */
#ifndef TIXIN_STORE_STORE_H
#define TIXIN_STORE_STORE_H

#include <stdint.h>
#include <jansson.h>
#include "core/errors.h"
#include "core/task.h"

typedef enum {
    /* --- accounts ---------------------------------------------------- */
    /* args {email (lower-cased), name, password_hash}
     * out  {id, email, name}                 201 | E_EMAIL_TAKEN */
    OP_USER_CREATE,
    /* args {email}   (no token)
     * out  {user: {id, email, name}, password_hash}  200 | E_INVALID_CREDENTIALS
     * (the API verifies the hash off-loop, then runs OP_SESSION_CREATE) */
    OP_USER_BY_EMAIL,
    /* args {user_id, token_hash}  (no token)
     * out  {user: {id, email, name}}          201 */
    OP_SESSION_CREATE,
    /* token required; revokes that session.  status 204, out NULL */
    OP_SESSION_REVOKE,
    /* token required. out {id, email, name}   200 */
    OP_ME,
    /* token required. args {limit, cursor?}
     * out {items: [order...], next_cursor}    200; newest first */
    OP_MY_ORDERS,

    /* --- organizations, venues, events ------------------------------- */
    /* token. args {name}  out {id, name, role: "owner"}  201 */
    OP_ORG_CREATE,
    /* token. args {org_id, email, role ("admin"|"staff")}
     * out {org_id, user: {id, email, name}, role}  201
     * E_NOT_FOUND (org unknown, or caller not a member), E_FORBIDDEN
     * (caller not owner), E_USER_NOT_FOUND, E_ALREADY_MEMBER */
    OP_MEMBER_ADD,
    /* token. args {limit, cursor?}
     * out {items: [{id, name, role}], next_cursor}  200; the organizations
     * the caller is a member of (any role), in the order joined (then id);
     * E_INVALID_FIELD {field:"cursor"} for a cursor not given out */
    OP_MY_ORGANIZATIONS,
    /* token. args {org_id, limit, cursor?}
     * out {items: [{id, title, starts_at, venue: {id, name, city},
     *      min_price_cents, currency, available, status}], next_cursor} 200
     * every event of the org, drafts included, soonest first (then id);
     * available as in the public listing, 0 for drafts.
     * E_NOT_FOUND (org unknown, or caller not a member; any role may list) */
    OP_ORG_EVENTS,
    /* token. args {org_id, name, city, address, timezone,
     *              sections: [{id, name, rows: [{id, seats}]}]} (validated)
     * out venue (as OP_VENUE_GET)  201;  E_FORBIDDEN for staff/non-owner-admin,
     * E_NOT_FOUND when the caller is not a member of org */
    OP_VENUE_CREATE,
    /* no token. args {venue_id}
     * out {id, org_id, name, city, address, timezone, seat_count,
     *      sections: [{id, name, rows: [{id, seats}]}]}  200 | E_NOT_FOUND */
    OP_VENUE_GET,
    /* token. args {org_id, venue_id, title, description, starts_at,
     *   sale_starts_at, sale_ends_at|null, currency, max_tickets_per_order,
     *   hold_ttl_seconds, prices: [{section, price_cents}],
     *   ga_tiers: [{id, name, price_cents, capacity}]}
     * out event (as OP_EVENT_GET, status "draft")  201
     * E_INVALID_FIELD {field:"venue_id"} when the venue is not the org's;
     * E_INVALID_FIELD {field:"prices"} for a section the venue lacks */
    OP_EVENT_CREATE,
    /* token. args {event_id, fields: {any subset of the create fields}}
     * out event 200 | E_EVENT_PUBLISHED | E_FORBIDDEN | E_NOT_FOUND */
    OP_EVENT_PATCH,
    /* token. args {event_id}  out event (status "published") 200;
     * publishing twice is 200 again. Creates the event_seats rows. */
    OP_EVENT_PUBLISH,
    /* token optional. args {event_id}
     * out {id, org_id, title, description, starts_at, sale_starts_at,
     *      sale_ends_at, currency, max_tickets_per_order, hold_ttl_seconds,
     *      status, venue: {id, name, city, address, timezone},
     *      prices: [{section, price_cents}],
     *      ga_tiers: [{id, name, price_cents, capacity, available}],
     *      min_price_cents, availability: {seats_free, seats_held, seats_sold}}
     * drafts: E_NOT_FOUND unless the caller is a member of the org. */
    OP_EVENT_GET,
    /* token. args {event_id}
     * out {seats_total, seats_sold, seats_held, tickets_sold,
     *      revenue_cents, checked_in}  (members: owner/admin/staff)
     * seats_* count seats and GA places alike (docs/openapi.yaml Stats).
     * E_NOT_FOUND unknown (or a draft, for non-members); E_FORBIDDEN not
     * a member */
    OP_EVENT_STATS,

    /* --- buying ------------------------------------------------------ */
    /* token, (idem). args {event_id, seats: ["A-1-7", ...]}  or
     *                      {event_id, tier, quantity}
     * out {id, event_id, seats: [...] | tier, quantity, total_cents,
     *      currency, expires_at, status: "active"}  201
     * E_NOT_FOUND (event unknown or draft), E_SALE_NOT_OPEN,
     * E_LIMIT_EXCEEDED, E_SEAT_NOT_FOUND {seats:[...]},
     * E_SEAT_UNAVAILABLE {seats:[...]}, E_SOLD_OUT */
    OP_HOLD_CREATE,
    /* token. args {hold_id}  204 (out NULL); E_NOT_FOUND when not the
     * caller's, not active (paid, expired, released) or unknown */
    OP_HOLD_RELEASE,
    /* token, (idem). args {hold_id, payment: {method, token}}
     * out order (as OP_ORDER_GET)  201
     * E_NOT_FOUND (unknown / not the caller's), E_HOLD_EXPIRED,
     * E_HOLD_ALREADY_USED, E_PAYMENT_DECLINED (hold kept) */
    OP_ORDER_CREATE,
    /* token. args {order_id}
     * out {id, status, event_id, user_id, hold_id, total_cents, currency,
     *      created_at, refunded_at|null,
     *      tickets: [{id, seat | tier, price_cents, code, status,
     *                 checked_in_at|null}]}
     * owner or member of the event's org; else E_NOT_FOUND */
    OP_ORDER_GET,
    /* token. args {order_id}  out order (status "refunded") 200
     * E_NOT_FOUND (not visible), E_FORBIDDEN (staff member, not buyer),
     * E_ALREADY_REFUNDED */
    OP_ORDER_CANCEL,
    /* token. args {ticket_id}  out {id, code, event_id, status}  200
     * owner only, else E_NOT_FOUND */
    OP_TICKET_GET,
    /* token. args {event_id, code}
     * out {ticket_id, seat | tier, checked_in_at}  200
     * E_NOT_FOUND (event), E_FORBIDDEN (not a member),
     * E_TICKET_NOT_FOUND, E_TICKET_VOID,
     * E_ALREADY_CHECKED_IN {checked_in_at} */
    OP_CHECKIN,

    /* --- internal ---------------------------------------------------- */
    /* no token. args {event_id}. Loads the event's seat map into memory
     * (booking/seatmap.h: seatmap_install) if it is published; out NULL.
     * E_NOT_FOUND for unknown or draft events. */
    OP_SEATMAP_LOAD,
    /* no token. args {}. Reloads the catalog of published events
     * (booking/catalog.h: catalog_install); out NULL. */
    OP_CATALOG_LOAD,
    /* no token. args {}. 200 when the store answers. */
    OP_PING,
    OP__COUNT
} store_op;

typedef struct store_job store_job;
struct store_job {
    task_t task;              /* completion; task.done runs on the origin */
    store_op op;
    json_t *args;             /* owned by the job */
    /* auth */
    int has_token;
    char token_hash[65];      /* hex SHA-256 of the bearer token */
    char user_id[48];         /* filled by the backend after auth */
    /* idempotency */
    char idem_key[256];       /* "" when absent */
    char request_hash[65];    /* hex SHA-256 of method, path, body */
    /* result */
    err_code err;
    int status;               /* HTTP status on success (200/201/204) */
    json_t *out;              /* success body, or error details; owned */
    int replayed;             /* 1 when this is an idempotent replay */
    char *replay_body;        /* replayed JSON text (malloc'd), status in status */
    void *ctx;                /* caller's */
    /* observability (ops/obs.h, set by store_submit): submit time, the
     * caller's done, and the call's trace span when sampled */
    int64_t obs_start_ns;
    task_fn obs_done;
    struct trace_span *obs_span;
};

typedef struct store store_t;

/* Open the store named by a URL: "sqlite:PATH" (or a bare path).
 * Runs pending migrations. Returns NULL and a message in err on failure. */
store_t *store_open(const char *url, char *err, size_t errlen);
/* PostgreSQL only: a read replica (postgres:// URL, "" = none) for the
 * public reads that tolerate lag (OP_VENUE_GET, OP_CATALOG_LOAD's list) of
 * stores opened after this call; seat availability and writes never use it. */
void store_use_replica(const char *url);
/* Start background work (writer thread, expiry timer). */
int store_start(store_t *s);
/* Finish queued jobs, stop background threads, close cleanly. */
void store_close(store_t *s);

/* A fresh job (calloc'd, args = empty object, task_init'ed with done). */
store_job *store_job_new(store_op op, task_fn done);
void store_job_free(store_job *j);
/* Queue a job; job->task.done runs on the submitting loop when finished. */
void store_submit(store_t *s, store_job *j);
/* Run a job and wait for it (CLI, start-up, tests). Returns job->err. */
err_code store_call(store_t *s, store_job *j);

/* The JSON text the API sends for a finished job: out on success, the
 * error envelope {"error": {code, message, ...out}} on failure. Used for
 * idempotency storage and by the HTTP layer. Caller frees. */
char *store_job_render_body(const store_job *j);

/* Run migrations only (tixin migrate). 0 on success. */
int store_migrate(const char *url, char *err, size_t errlen);

/* Recording seat changes from inside an op (backend-internal helpers,
 * implemented once in store/changes.c). ord is the seat's index in the
 * venue layout; status one of 'f', 'h', 's'. */
typedef struct store_changes store_changes;
void store_changes_seat(store_changes *c, const char *event_id, int ord, char status);
void store_changes_tier(store_changes *c, const char *event_id, const char *tier_id, int available);

#endif
