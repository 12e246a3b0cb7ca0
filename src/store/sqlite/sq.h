/*
 * sq.h - what the SQLite backend's files share (internal to store/sqlite).
 *
 * sqlite.c runs the writer thread and calls one op function per job with an
 * sq_ctx; the op files (accounts.c, orgs.c, events.c, holds.c, orders.c,
 * checkin.c, load.c) only see this header. db.c wraps the connection: a
 * statement cache keyed by the SQL literal's address (so every call site's
 * statement is prepared once), positional binding from a format string,
 * and the mapping of SQLite failures to err_codes.
 *
 * Ops return an err_code. On success they set job->out/status; on failure
 * job->out may carry the error's details and nothing else. Their writes are
 * undone by the caller (ROLLBACK TO the job's savepoint) when they fail,
 * unless they set keep_on_error. Ops marked CHECKS_FIRST in sqlite.c run
 * without a savepoint: they must meet every failure they answer before
 * their first write (a failure after one rolls back the whole batch).
 */
#ifndef TIXIN_STORE_SQLITE_SQ_H
#define TIXIN_STORE_SQLITE_SQ_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdint.h>
#include <jansson.h>
#include "store/changes.h"
#include "store/store.h"

/* --- the connection (db.c) ------------------------------------------- */

typedef struct sq_db sq_db;

/* Open path with the backend's pragmas; NULL and err on failure. */
sq_db *sq_db_open(const char *path, char *err, size_t errlen);
/* TIXIN_SQLITE_SYNC: every COMMIT synced, none, or chosen per batch. A
 * connection opens in FULL unless the policy is NORMAL. */
typedef enum { SQ_SYNC_AUTO, SQ_SYNC_FULL, SQ_SYNC_NORMAL } sq_sync;
sq_sync sq_sync_policy(void);
/* Finalize every statement and close; 0 when SQLite closed cleanly. */
int sq_db_close(sq_db *db);
sqlite3 *sq_handle(sq_db *db);
/* The bare connection of a db that never cached a statement (the
 * checkpointer's); frees the wrapper. */
sqlite3 *sq_db_release(sq_db *db);

/* The cached statement for sql (a string literal), reset, bound from fmt:
 * 's' const char * (NULL binds NULL), 'i' int, 'l' int64_t, 'j' json_t *
 * (integer, string, or NULL for null/absent). NULL on error (logged). */
sqlite3_stmt *sq_q(sq_db *db, const char *sql, const char *fmt, ...);
/* Step: 1 a row, 0 done, -1 error (logged). Accepts st == NULL (-1). The
 * statement is reset when done or failed. */
int sq_step(sq_db *db, sqlite3_stmt *st);
/* Run a statement that returns no rows: changed rows, or -1 on error. */
int sq_exec(sq_db *db, const char *sql, const char *fmt, ...);
/* A statement without parameters or rows (BEGIN, SAVEPOINT...): 0 on
 * success. */
int sq_simple(sq_db *db, const char *sql);
/* Reset every statement of the connection (end of a job). */
void sq_reset_all(sq_db *db);
/* err_code for the last failure: E_UNAVAILABLE for I/O, full disk, busy,
 * E_INTERNAL otherwise. */
err_code sq_fail(sq_db *db);
/* 1 when the last failure was a constraint violation. */
int sq_was_constraint(sq_db *db);

/* Column helpers. */
const char *sq_text(sqlite3_stmt *st, int i);        /* NULL for NULL */
json_t *sq_jtime(sqlite3_stmt *st, int i);           /* RFC 3339 or null */
json_t *sq_jtime_ms(int64_t ms);
int64_t sq_int(sqlite3_stmt *st, int i);

/* --- an op's context (sqlite.c) --------------------------------------- */

typedef struct sq_memo sq_memo;

typedef struct {
    sq_db *db;
    sq_memo *memo;           /* this batch's memo (memo.c), or NULL */
    store_job *job;          /* NULL for the expiry sweep */
    store_changes *changes;  /* this job's seat/tier changes */
    int64_t now;             /* the batch's clock, ms */
    int keep_on_error;       /* keep this job's writes although it failed */
    /* work after COMMIT, kept only when the job succeeds */
    int after_catalog;       /* reload the catalog */
    char after_seatmap[48];  /* (re)install this event's seat map */
} sq_ctx;

typedef err_code (*sq_op_fn)(sq_ctx *c);

/* helpers for error details */
err_code sq_invalid(sq_ctx *c, const char *field, const char *message);

/* --- shared lookups (orgs.c, events.c) -------------------------------- */

typedef enum { ROLE_NONE = 0, ROLE_STAFF, ROLE_ADMIN, ROLE_OWNER } sq_role;

/* The caller's role in org (ROLE_NONE when not a member), -1 on error. */
int sq_member_role(sq_ctx *c, const char *org_id);

typedef struct {
    char id[48], org_id[48], venue_id[48], currency[8];
    int published;
    int64_t starts_at, sale_starts_at, sale_ends_at; /* sale_ends_at -1: none */
    int max_tickets, hold_ttl;
    int64_t version;
} sq_event;

/* E_OK, E_NOT_FOUND, or a store failure. Answered from c->memo when the
 * batch has read the event already. */
err_code sq_event_load(sq_ctx *c, const char *event_id, sq_event *ev);

/* --- keyset pages (accounts.c, lists.c) ------------------------------- */

/* A list ordered by (key, id) hands out base64url("<key>:<id>") of its
 * last item as next_cursor. decode: 0, or -1 for a cursor not ours. */
#define SQ_CURSOR_MAX 128
void sq_cursor_encode(int64_t key, const char *id, char *out, size_t len);
int sq_cursor_decode(const char *cursor, int64_t *key, char *id, size_t idlen);
/* The job's page: limit (1..100, default 20) and the position after which
 * it starts, from the cursor when given (else as the caller set it). */
typedef struct {
    int64_t limit, key;
    char id[64];
} sq_page_at;
/* E_OK, or E_INVALID_FIELD {field: "cursor"} for a cursor not ours. */
err_code sq_page_args(sq_ctx *c, sq_page_at *at);

/* --- the batch's memo (memo.c) ----------------------------------------- */

sq_memo *sq_memo_new(void);
void sq_memo_free(sq_memo *m);
/* Forget everything (start of a batch; after a job that may write
 * sessions, users or events). */
void sq_memo_clear(sq_memo *m);
/* The user of a live session read earlier in the batch, or NULL. */
const char *sq_memo_user(const sq_memo *m, const char *token_hash);
void sq_memo_put_user(sq_memo *m, const char *token_hash, const char *user_id);
/* An event read earlier in the batch, or NULL. */
const sq_event *sq_memo_event(const sq_memo *m, const char *event_id);
void sq_memo_put_event(sq_memo *m, const sq_event *ev);
/* Whether the caller may act on ev needing at least role min:
 * non-members get E_NOT_FOUND for drafts and E_FORBIDDEN for published
 * events; members below min get E_FORBIDDEN. */
err_code sq_event_access(sq_ctx *c, const sq_event *ev, sq_role min);
/* sq_event_load of the job's "event_id" argument, then sq_event_access. */
err_code sq_event_for(sq_ctx *c, sq_role min, sq_event *ev);
/* The event as OP_EVENT_GET answers it; without availability (and with
 * starts_at_ms) for the catalog. */
enum { SQ_EVENT_FULL = 0, SQ_EVENT_CATALOG = 1 };
err_code sq_event_json(sq_ctx *c, const sq_event *ev, int mode, json_t **out);

/* --- shared booking steps (holds.c, orders.c, load.c) ----------------- */

/* End an active hold (status 'released' or 'expired'): its seats free,
 * its tier's held count back, changes recorded. */
err_code sq_hold_end(sq_ctx *c, const char *hold_id, const char *status);
/* Expire up to a bound of overdue holds. */
err_code sq_expire_due(sq_ctx *c);
/* The tier's capacity - held - sold, recorded as a change. */
err_code sq_tier_changed(sq_ctx *c, const char *event_id, const char *tier_id);
/* The order as OP_ORDER_GET answers it. */
err_code sq_order_json(sq_ctx *c, const char *order_id, json_t **out);
/* Install the event's seat map from the database (after COMMIT only: the
 * map must never show writes that could still be rolled back). */
err_code sq_seatmap_load(sq_ctx *c, const char *event_id);
/* Install the catalog, and the seat maps of listed events not yet loaded. */
err_code sq_catalog_load(sq_ctx *c);

/* --- migrations (migrate.c) -------------------------------------------- */
int sq_migrate(sqlite3 *h, FILE *report, char *err, size_t errlen);

/* --- the ops ------------------------------------------------------------ */
err_code sq_op_user_create(sq_ctx *c);
err_code sq_op_user_by_email(sq_ctx *c);
err_code sq_op_session_create(sq_ctx *c);
err_code sq_op_session_revoke(sq_ctx *c);
err_code sq_op_me(sq_ctx *c);
err_code sq_op_my_orders(sq_ctx *c);
err_code sq_op_org_create(sq_ctx *c);
err_code sq_op_my_organizations(sq_ctx *c);
err_code sq_op_org_events(sq_ctx *c);
err_code sq_op_member_add(sq_ctx *c);
err_code sq_op_venue_create(sq_ctx *c);
err_code sq_op_venue_get(sq_ctx *c);
err_code sq_op_event_create(sq_ctx *c);
err_code sq_op_event_patch(sq_ctx *c);
err_code sq_op_event_publish(sq_ctx *c);
err_code sq_op_event_get(sq_ctx *c);
err_code sq_op_event_stats(sq_ctx *c);
err_code sq_op_hold_create(sq_ctx *c);
err_code sq_op_hold_release(sq_ctx *c);
err_code sq_op_order_create(sq_ctx *c);
err_code sq_op_order_get(sq_ctx *c);
err_code sq_op_order_cancel(sq_ctx *c);
err_code sq_op_ticket_get(sq_ctx *c);
err_code sq_op_checkin(sq_ctx *c);
err_code sq_op_seatmap_load(sq_ctx *c);
err_code sq_op_catalog_load(sq_ctx *c);

/* arg helpers */
const char *sq_arg_str(sq_ctx *c, const char *key);  /* "" when absent */
int64_t sq_arg_int(sq_ctx *c, const char *key, int64_t dflt);
/* {"user": {id, email, name}} parts */
err_code sq_user_json(sq_ctx *c, const char *user_id, json_t **out);

#endif
