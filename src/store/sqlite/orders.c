/*
 * orders.c - paying a hold, reading and refunding orders, tickets.
 *
 * Paying turns the hold's seats from held to sold with updates that are
 * conditional on this hold still owning them, so a hold that lost its seats
 * (expired and re-sold) can never sell them twice; the schema's unique
 * indexes (one order per hold, one valid ticket per seat) back this up.
 * Refunds walk the same path backwards. Who may see or cancel an order is
 * decided in one place, order_access().
 */
#include "store/sqlite/sq.h"

#include <stdio.h>
#include <string.h>
#include "booking/payment.h"
#include "booking/rules.h"
#include "core/log.h"
#include "core/util.h"

typedef struct {
    char event_id[48], hold_id[48], currency[8], payment_ref[160];
    int buyer, refunded, role;
    int64_t total;
} order_info;

err_code sq_order_json(sq_ctx *c, const char *order_id, json_t **out)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT id, status, event_id, user_id, hold_id, total_cents, currency, created_at,"
                            " refunded_at FROM orders WHERE id = ?",
                            "s", order_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    json_t *tickets = json_array();
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o}", "id", sq_text(st, 0), "status",
                          sq_text(st, 1), "event_id", sq_text(st, 2), "user_id", sq_text(st, 3), "hold_id",
                          sq_text(st, 4), "total_cents", (json_int_t)sq_int(st, 5), "currency", sq_text(st, 6),
                          "created_at", sq_jtime(st, 7), "refunded_at", sq_jtime(st, 8), "tickets", tickets);
    sqlite3_reset(st);
    st = sq_q(c->db,
              "SELECT id, seat_id, tier_id, price_cents, code, status, checked_in_at"
              " FROM tickets WHERE order_id = ? ORDER BY rowid",
              "s", order_id);
    while ((r = sq_step(c->db, st)) == 1) {
        int seat = sq_text(st, 1) != NULL;
        json_array_append_new(tickets, json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "id", sq_text(st, 0),
                                                 seat ? "seat" : "tier", sq_text(st, seat ? 1 : 2), "price_cents",
                                                 (json_int_t)sq_int(st, 3), "code", sq_text(st, 4), "status",
                                                 sq_text(st, 5), "checked_in_at", sq_jtime(st, 6)));
    }
    if (r < 0) {
        json_decref(o);
        return sq_fail(c->db);
    }
    *out = o;
    return E_OK;
}

/* The order's facts and the caller's relation to it. E_NOT_FOUND when
 * the order is unknown or the caller neither bought it nor is a member of
 * the event's organization. */
static err_code order_access(sq_ctx *c, const char *order_id, order_info *oi)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT o.user_id = ?, o.status = 'refunded', o.event_id, o.hold_id, o.total_cents,"
                            " o.currency, o.payment_ref, e.org_id FROM orders o JOIN events e ON e.id = o.event_id"
                            " WHERE o.id = ?",
                            "ss", c->job->user_id, order_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    memset(oi, 0, sizeof(*oi));
    oi->buyer = (int)sq_int(st, 0);
    oi->refunded = (int)sq_int(st, 1);
    snprintf(oi->event_id, sizeof(oi->event_id), "%s", sq_text(st, 2));
    snprintf(oi->hold_id, sizeof(oi->hold_id), "%s", sq_text(st, 3));
    oi->total = sq_int(st, 4);
    snprintf(oi->currency, sizeof(oi->currency), "%s", sq_text(st, 5));
    snprintf(oi->payment_ref, sizeof(oi->payment_ref), "%s", sq_text(st, 6));
    char org_id[48];
    snprintf(org_id, sizeof(org_id), "%s", sq_text(st, 7));
    sqlite3_reset(st);
    oi->role = sq_member_role(c, org_id);
    if (oi->role < 0)
        return sq_fail(c->db);
    return oi->buyer || oi->role != ROLE_NONE ? E_OK : E_NOT_FOUND;
}

err_code sq_op_order_get(sq_ctx *c)
{
    order_info oi;
    const char *order_id = sq_arg_str(c, "order_id");
    err_code e = order_access(c, order_id, &oi);
    return e == E_OK ? sq_order_json(c, order_id, &c->job->out) : e;
}

/* --- paying ------------------------------------------------------------- */

typedef struct {
    char id[48], event_id[48], tier_id[64], currency[8];
    int quantity;
    int64_t total, expires_at;
    char status[16];
} hold_info;

/* The caller's hold, or E_NOT_FOUND. */
static err_code load_hold(sq_ctx *c, const char *hold_id, hold_info *h)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT event_id, coalesce(tier_id, ''), quantity, total_cents, currency, status,"
                            " expires_at FROM holds WHERE id = ? AND user_id = ?",
                            "ss", hold_id, c->job->user_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    snprintf(h->id, sizeof(h->id), "%s", hold_id);
    snprintf(h->event_id, sizeof(h->event_id), "%s", sq_text(st, 0));
    snprintf(h->tier_id, sizeof(h->tier_id), "%s", sq_text(st, 1));
    h->quantity = (int)sq_int(st, 2);
    h->total = sq_int(st, 3);
    snprintf(h->currency, sizeof(h->currency), "%s", sq_text(st, 4));
    snprintf(h->status, sizeof(h->status), "%s", sq_text(st, 5));
    h->expires_at = sq_int(st, 6);
    sqlite3_reset(st);
    return E_OK;
}

/* Whether the hold can be paid now. An overdue hold the sweep has not
 * reached yet is expired here, and that expiry is kept. */
static err_code hold_payable(sq_ctx *c, const hold_info *h)
{
    if (strcmp(h->status, "paid") == 0)
        return E_HOLD_ALREADY_USED;
    if (strcmp(h->status, "expired") == 0)
        return E_HOLD_EXPIRED;
    if (strcmp(h->status, "active") != 0)
        return E_NOT_FOUND;
    if (h->expires_at > c->now)
        return E_OK;
    err_code e = sq_hold_end(c, h->id, "expired");
    if (e != E_OK)
        return e;
    c->keep_on_error = 1;
    return E_HOLD_EXPIRED;
}

static err_code insert_ticket(sq_ctx *c, const char *order_id, const char *event_id, const char *seat_id,
                              const char *tier_id, int64_t price)
{
    char id[48], code[32];
    id_new("tkt", id, sizeof(id));
    ticket_code_new(code, sizeof(code));
    if (sq_exec(c->db,
                "INSERT INTO tickets (id, order_id, event_id, seat_id, tier_id, price_cents, code, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'valid')",
                "sssssls", id, order_id, event_id, seat_id, tier_id, price, code) < 0)
        return sq_fail(c->db);
    return E_OK;
}

/* One seat of the hold being paid. */
typedef struct {
    int ord;
    int64_t price;
    char seat_id[RULES_SEAT_ID_MAX + 1];
} sold_seat;

/* The seats event_seats gives to the hold, in layout order, read before
 * any of them changes (at most RULES_TICKETS_PER_ORDER_MAX). */
static err_code hold_seat_list(sq_ctx *c, const char *hold_id, sold_seat *out, size_t *n)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT ord, seat_id, price_cents FROM event_seats WHERE hold_id = ? ORDER BY ord",
                            "s", hold_id);
    int r;
    *n = 0;
    while ((r = sq_step(c->db, st)) == 1) {
        if (*n == RULES_TICKETS_PER_ORDER_MAX || strlen(sq_text(st, 1)) > RULES_SEAT_ID_MAX) {
            sqlite3_reset(st);
            return E_INTERNAL;
        }
        out[*n].ord = (int)sq_int(st, 0);
        snprintf(out[*n].seat_id, sizeof(out[*n].seat_id), "%s", sq_text(st, 1));
        out[*n].price = sq_int(st, 2);
        (*n)++;
    }
    return r < 0 ? sq_fail(c->db) : E_OK;
}

static err_code sell_seats(sq_ctx *c, const hold_info *h, const char *order_id)
{
    sold_seat seats[RULES_TICKETS_PER_ORDER_MAX];
    size_t n;
    err_code e = hold_seat_list(c, h->id, seats, &n);
    if (e == E_OK && (int)n != h->quantity) {
        log_msg(LOG_ERROR, "hold %s has %zu of its %d seats before payment", h->id, n, h->quantity);
        e = E_INTERNAL;
    }
    for (size_t i = 0; i < n && e == E_OK; i++) {
        int r = sq_exec(c->db,
                        "UPDATE event_seats SET status = 'sold', hold_id = NULL, order_id = ?"
                        " WHERE event_id = ? AND ord = ? AND hold_id = ?",
                        "ssis", order_id, h->event_id, seats[i].ord, h->id);
        if (r != 1)
            return r < 0 ? sq_fail(c->db) : E_INTERNAL;
        store_changes_seat(c->changes, h->event_id, seats[i].ord, 's');
        e = insert_ticket(c, order_id, h->event_id, seats[i].seat_id, NULL, seats[i].price);
    }
    return e;
}

static err_code sell_tier(sq_ctx *c, const hold_info *h, const char *order_id)
{
    if (sq_exec(c->db, "UPDATE ga_tiers SET held = held - ?1, sold = sold + ?1 WHERE event_id = ?2 AND tier_id = ?3",
                "iss", h->quantity, h->event_id, h->tier_id) != 1)
        return sq_fail(c->db);
    int64_t price = h->quantity > 0 ? h->total / h->quantity : 0;
    for (int i = 0; i < h->quantity; i++) {
        err_code e = insert_ticket(c, order_id, h->event_id, NULL, h->tier_id, price);
        if (e != E_OK)
            return e;
    }
    return sq_tier_changed(c, h->event_id, h->tier_id);
}

err_code sq_op_order_create(sq_ctx *c)
{
    hold_info h;
    err_code e = load_hold(c, sq_arg_str(c, "hold_id"), &h);
    if (e == E_OK)
        e = hold_payable(c, &h);
    if (e != E_OK)
        return e;
    char ref[160], order_id[48];
    const char *field = NULL;
    e = payment_charge(json_object_get(c->job->args, "payment"), h.total, h.currency, ref, sizeof(ref), &field);
    if (e != E_OK)
        return e == E_INVALID_FIELD ? sq_invalid(c, field, NULL) : e;
    id_new("ord", order_id, sizeof(order_id));
    if (sq_exec(c->db,
                "INSERT INTO orders (id, user_id, event_id, hold_id, status, total_cents, currency, payment_ref,"
                " created_at) VALUES (?, ?, ?, ?, 'paid', ?, ?, ?, ?)",
                "sssslssl", order_id, c->job->user_id, h.event_id, h.id, h.total, h.currency, ref, c->now) < 0 ||
        sq_exec(c->db, "UPDATE holds SET status = 'paid' WHERE id = ?", "s", h.id) < 0)
        return sq_fail(c->db);
    e = h.tier_id[0] != '\0' ? sell_tier(c, &h, order_id) : sell_seats(c, &h, order_id);
    if (e != E_OK)
        return e;
    c->job->status = 201;
    return sq_order_json(c, order_id, &c->job->out);
}

/* --- refunding ---------------------------------------------------------- */

static err_code free_sold_seats(sq_ctx *c, const char *order_id, const char *event_id)
{
    json_t *seats = json_array();
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT seat_id FROM tickets WHERE order_id = ? AND seat_id IS NOT NULL"
                            " AND status = 'valid'",
                            "s", order_id);
    int r;
    while ((r = sq_step(c->db, st)) == 1)
        json_array_append_new(seats, json_string(sq_text(st, 0)));
    err_code e = r < 0 ? sq_fail(c->db) : E_OK;
    size_t i;
    json_t *seat;
    json_array_foreach(seats, i, seat)
    {
        if (e != E_OK)
            break;
        st = sq_q(c->db,
                  "UPDATE event_seats SET status = 'free', order_id = NULL"
                  " WHERE event_id = ? AND seat_id = ? AND order_id = ? RETURNING ord",
                  "sjs", event_id, seat, order_id);
        while ((r = sq_step(c->db, st)) == 1)
            store_changes_seat(c->changes, event_id, (int)sq_int(st, 0), 'f');
        if (r < 0)
            e = sq_fail(c->db);
    }
    json_decref(seats);
    return e;
}

static err_code free_sold_tiers(sq_ctx *c, const char *order_id, const char *event_id)
{
    json_t *tiers = json_array();
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT tier_id, count(*) FROM tickets WHERE order_id = ? AND tier_id IS NOT NULL"
                            " AND status = 'valid' GROUP BY tier_id",
                            "s", order_id);
    int r;
    while ((r = sq_step(c->db, st)) == 1)
        json_array_append_new(tiers, json_pack("[s, I]", sq_text(st, 0), (json_int_t)sq_int(st, 1)));
    err_code e = r < 0 ? sq_fail(c->db) : E_OK;
    size_t i;
    json_t *t;
    json_array_foreach(tiers, i, t)
    {
        const char *tier = json_string_value(json_array_get(t, 0));
        if (e == E_OK && sq_exec(c->db, "UPDATE ga_tiers SET sold = sold - ? WHERE event_id = ? AND tier_id = ?",
                                 "lss", (int64_t)json_integer_value(json_array_get(t, 1)), event_id, tier) < 0)
            e = sq_fail(c->db);
        if (e == E_OK)
            e = sq_tier_changed(c, event_id, tier);
    }
    json_decref(tiers);
    return e;
}

err_code sq_op_order_cancel(sq_ctx *c)
{
    order_info oi;
    const char *order_id = sq_arg_str(c, "order_id");
    err_code e = order_access(c, order_id, &oi);
    if (e != E_OK)
        return e;
    if (!oi.buyer && oi.role < ROLE_ADMIN)
        return E_FORBIDDEN;
    if (oi.refunded)
        return E_ALREADY_REFUNDED;
    if ((e = free_sold_seats(c, order_id, oi.event_id)) != E_OK ||
        (e = free_sold_tiers(c, order_id, oi.event_id)) != E_OK)
        return e;
    if (sq_exec(c->db, "UPDATE tickets SET status = 'void' WHERE order_id = ?", "s", order_id) < 0 ||
        sq_exec(c->db, "UPDATE orders SET status = 'refunded', refunded_at = ? WHERE id = ?", "ls", c->now,
                order_id) < 0)
        return sq_fail(c->db);
    /* last: nothing after the provider's refund can fail and undo the rows */
    if ((e = payment_refund(oi.payment_ref, oi.total, oi.currency)) != E_OK)
        return e;
    return sq_order_json(c, order_id, &c->job->out);
}

err_code sq_op_ticket_get(sq_ctx *c)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT t.id, t.code, t.event_id, t.status FROM tickets t JOIN orders o"
                            " ON o.id = t.order_id WHERE t.id = ? AND o.user_id = ?",
                            "ss", sq_arg_str(c, "ticket_id"), c->job->user_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    c->job->out = json_pack("{s:s, s:s, s:s, s:s}", "id", sq_text(st, 0), "code", sq_text(st, 1), "event_id",
                            sq_text(st, 2), "status", sq_text(st, 3));
    sqlite3_reset(st);
    return E_OK;
}
