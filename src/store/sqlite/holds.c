/*
 * holds.c - taking seats (or GA places) for a while, and giving them back.
 *
 * The database decides who gets a seat: each seat is taken with a
 * conditional UPDATE of its row (... AND status = 'free', by primary key)
 * that must change it. A hold is all-or-nothing, and the op is written to
 * need no savepoint for that (sqlite.c: CHECKS_FIRST): it first reads
 * every seat (unknown, or not free: the op fails having written nothing),
 * then inserts the hold and takes the seats. In the single writer's
 * transaction nothing can take a seat between that read and the UPDATE;
 * should an UPDATE still change no row, the op fails after writing and the
 * whole batch is rolled back. GA places are one conditional UPDATE that
 * cannot pass the tier's capacity. Ending a hold (release, expiry, paying
 * it in orders.c) finds its seats through event_seats.hold_id, the one
 * record of which seats a hold has.
 *
 * Cost per op matters here (these are most of the writer's work): every
 * statement is a primary-key or index lookup of one row, none needs a
 * temporary table (no RETURNING, no multi-row UPDATE through the index it
 * changes), and hold ids start with the time so that the b-trees keyed by
 * them are written at one end (see hold_id_new()).
 */
#include "store/sqlite/sq.h"

#include "ops/metrics.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "booking/rules.h"
#include "core/util.h"

#define EXPIRE_BATCH 1000

err_code sq_tier_changed(sq_ctx *c, const char *event_id, const char *tier_id)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT capacity - held - sold FROM ga_tiers WHERE event_id = ? AND tier_id = ?",
                            "ss", event_id, tier_id);
    if (sq_step(c->db, st) != 1)
        return sq_fail(c->db);
    store_changes_tier(c->changes, event_id, tier_id, (int)sq_int(st, 0));
    sqlite3_reset(st);
    return E_OK;
}

/* --- creating --------------------------------------------------------- */

static err_code sale_open(const sq_ctx *c, const sq_event *ev)
{
    int64_t end = ev->sale_ends_at >= 0 ? ev->sale_ends_at : ev->starts_at;
    return c->now >= ev->sale_starts_at && c->now < end ? E_OK : E_SALE_NOT_OPEN;
}

/* Details {"seats": ids} of a seat error. */
static err_code seats_error(sq_ctx *c, err_code e, json_t *ids)
{
    json_decref(c->job->out);
    c->job->out = json_pack("{s:o}", "seats", ids);
    return e;
}

static int has_duplicates(json_t *seats)
{
    size_t n = json_array_size(seats);
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            if (json_equal(json_array_get(seats, i), json_array_get(seats, k)))
                return 1;
    return 0;
}

/* One requested seat as find_seats() found it. */
typedef struct {
    int ord;
    int64_t price;
} seat_pick;

/* Find every requested seat (ord, price) and check that it is free, with
 * reads only: E_SEAT_NOT_FOUND naming the ids that are unknown or not on
 * sale, else E_SEAT_UNAVAILABLE naming those that are not free. */
static err_code find_seats(sq_ctx *c, const char *event_id, json_t *seats, seat_pick *picks, int64_t *total)
{
    json_t *missing = json_array(), *taken = json_array();
    size_t i;
    json_t *id;
    err_code e = E_OK;
    *total = 0;
    json_array_foreach(seats, i, id)
    {
        sqlite3_stmt *st = sq_q(c->db, "SELECT ord, price_cents, status = 'free' FROM event_seats"
                                       " WHERE event_id = ? AND seat_id = ?",
                                "sj", event_id, id);
        int r = sq_step(c->db, st);
        if (r < 0) {
            e = sq_fail(c->db);
            break;
        }
        if (r == 0) {
            json_array_append(missing, id);
            continue;
        }
        picks[i].ord = (int)sq_int(st, 0);
        picks[i].price = sq_int(st, 1);
        *total += picks[i].price;
        if (!sq_int(st, 2))
            json_array_append(taken, id);
        sqlite3_reset(st);
    }
    if (e == E_OK && json_array_size(missing) > 0)
        e = seats_error(c, E_SEAT_NOT_FOUND, json_incref(missing));
    else if (e == E_OK && json_array_size(taken) > 0)
        e = seats_error(c, E_SEAT_UNAVAILABLE, json_incref(taken));
    json_decref(missing);
    json_decref(taken);
    return e;
}

/* Take the seats find_seats() found free, each with a conditional UPDATE
 * of its row: the database, not the read before, decides that the seat
 * was free. A seat not taken here is a failure after writes (the read in
 * the same transaction said free), so it is E_INTERNAL. */
static err_code take_seats(sq_ctx *c, const char *event_id, const char *hold_id, const seat_pick *picks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = sq_exec(c->db,
                        "UPDATE event_seats SET status = 'held', hold_id = ?"
                        " WHERE event_id = ? AND ord = ? AND status = 'free'",
                        "ssi", hold_id, event_id, picks[i].ord);
        if (r != 1)
            return r < 0 ? sq_fail(c->db) : E_INTERNAL;
        store_changes_seat(c->changes, event_id, picks[i].ord, 'h');
    }
    return E_OK;
}

static err_code insert_hold(sq_ctx *c, const sq_event *ev, const char *hold_id, const char *tier_id, int quantity,
                            int64_t total, int64_t expires_at)
{
    if (sq_exec(c->db,
                "INSERT INTO holds (id, event_id, user_id, tier_id, quantity, total_cents, currency, status,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)",
                "ssssilsll", hold_id, ev->id, c->job->user_id, tier_id, quantity, total, ev->currency, c->now,
                expires_at) < 0)
        return sq_fail(c->db);
    return E_OK;
}

/* The answer: {id, event_id, <what>, total_cents, currency, expires_at,
 * status}, where what is {seats} or {tier, quantity}: begun here, what
 * added by the caller, ended by hold_answer_end() (built key by key: this
 * runs for every hold, and json_pack() parses its format each time). */
static json_t *hold_answer_begin(const sq_event *ev, const char *hold_id)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(hold_id));
    json_object_set_new(o, "event_id", json_string(ev->id));
    return o;
}

static void hold_answer_end(sq_ctx *c, const sq_event *ev, json_t *o, int64_t total, int64_t expires_at)
{
    json_object_set_new(o, "total_cents", json_integer(total));
    json_object_set_new(o, "currency", json_string(ev->currency));
    json_object_set_new(o, "expires_at", sq_jtime_ms(expires_at));
    json_object_set_new(o, "status", json_string("active"));
    c->job->out = o;
    c->job->status = 201;
}

static err_code hold_seats(sq_ctx *c, const sq_event *ev, const char *hold_id, int64_t expires_at, json_t *seats)
{
    size_t n = json_array_size(seats);
    if (n == 0 || has_duplicates(seats))
        return sq_invalid(c, "seats", "Name each seat once, at least one.");
    if (n > (size_t)ev->max_tickets)
        return E_LIMIT_EXCEEDED;
    seat_pick picks[n];
    int64_t total;
    err_code e = find_seats(c, ev->id, seats, picks, &total);
    if (e == E_OK)
        e = insert_hold(c, ev, hold_id, NULL, (int)n, total, expires_at);
    if (e == E_OK)
        e = take_seats(c, ev->id, hold_id, picks, n);
    if (e == E_OK) {
        json_t *o = hold_answer_begin(ev, hold_id);
        json_object_set(o, "seats", seats);
        hold_answer_end(c, ev, o, total, expires_at);
    }
    return e;
}

static err_code hold_tier(sq_ctx *c, const sq_event *ev, const char *hold_id, int64_t expires_at, const char *tier,
                          int64_t quantity)
{
    if (quantity < 1)
        return sq_invalid(c, "quantity", NULL);
    if (quantity > ev->max_tickets)
        return E_LIMIT_EXCEEDED;
    sqlite3_stmt *st =
        sq_q(c->db, "SELECT price_cents FROM ga_tiers WHERE event_id = ? AND tier_id = ?", "ss", ev->id, tier);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : sq_invalid(c, "tier", "The event has no such tier.");
    int64_t total = sq_int(st, 0) * quantity;
    sqlite3_reset(st);
    r = sq_exec(c->db,
                "UPDATE ga_tiers SET held = held + ?1 WHERE event_id = ?2 AND tier_id = ?3"
                " AND held + sold + ?1 <= capacity",
                "lss", quantity, ev->id, tier);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_SOLD_OUT;
    err_code e = insert_hold(c, ev, hold_id, tier, (int)quantity, total, expires_at);
    if (e == E_OK)
        e = sq_tier_changed(c, ev->id, tier);
    if (e == E_OK) {
        json_t *o = hold_answer_begin(ev, hold_id);
        json_object_set_new(o, "tier", json_string(tier));
        json_object_set_new(o, "quantity", json_integer(quantity));
        hold_answer_end(c, ev, o, total, expires_at);
    }
    return e;
}

/* A hold id: "hld_" + 20 base32 chars like id_new()'s, but the first 10
 * encode the batch's clock (ms, most significant first, in an alphabet
 * sorted in ASCII order) and only the last 10 are random (50 bits; the
 * primary key rejects the impossible collision). Holds are looked up by
 * id, and are never secrets (every use checks the holder), so nothing is
 * lost; what is won is locality: new ids sort after the recent ones, so
 * the b-trees keyed by hold id (holds' primary key, the event_seats_hold
 * index) take each batch's inserts on a few pages at
 * their right edge instead of one random page per hold, which is fewer
 * WAL frames per batch. */
static void hold_id_new(int64_t now, char *buf, size_t len)
{
    static const char sorted[] = "23456789abcdefghijkmnpqrstuvwxyz";
    char id[21];
    uint64_t t = (uint64_t)now;
    for (int i = 9; i >= 0; i--, t >>= 5)
        id[i] = sorted[t & 31];
    unsigned char raw[10];
    randombytes_buf(raw, sizeof(raw));
    for (int i = 0; i < 10; i++)
        id[10 + i] = sorted[raw[i] & 31];
    id[20] = '\0';
    snprintf(buf, len, "hld_%s", id);
}

err_code sq_op_hold_create(sq_ctx *c)
{
    sq_event ev;
    err_code e = sq_event_load(c, sq_arg_str(c, "event_id"), &ev);
    if (e == E_OK && !ev.published)
        e = E_NOT_FOUND;
    if (e == E_OK)
        e = sale_open(c, &ev);
    if (e != E_OK)
        return e;
    char hold_id[48];
    hold_id_new(c->now, hold_id, sizeof(hold_id));
    int64_t expires_at = c->now + (int64_t)ev.hold_ttl * 1000;
    json_t *seats = json_object_get(c->job->args, "seats");
    if (seats != NULL)
        return hold_seats(c, &ev, hold_id, expires_at, seats);
    return hold_tier(c, &ev, hold_id, expires_at, sq_arg_str(c, "tier"), sq_arg_int(c, "quantity", 0));
}

/* --- ending --------------------------------------------------------------- */

/* The active hold's event, tier ("" for seats) and quantity, read by the
 * caller's statement st (stepped to its row); reset here. */
typedef struct {
    char event_id[48], tier_id[64];
    int quantity;
} hold_row;

static void read_hold_row(sqlite3_stmt *st, hold_row *h)
{
    snprintf(h->event_id, sizeof(h->event_id), "%s", sq_text(st, 0));
    h->tier_id[0] = '\0';
    if (sq_text(st, 1) != NULL)
        snprintf(h->tier_id, sizeof(h->tier_id), "%s", sq_text(st, 1));
    h->quantity = (int)sq_int(st, 2);
    sqlite3_reset(st);
}

/* The ords of the seats event_seats gives to hold_id (a hold has at most
 * RULES_TICKETS_PER_ORDER_MAX): read from the event_seats_hold index
 * alone, before any of them is changed. */
static err_code held_ords(sq_ctx *c, const char *hold_id, int *ords, size_t *n)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT ord FROM event_seats WHERE hold_id = ?", "s", hold_id);
    int r;
    *n = 0;
    while ((r = sq_step(c->db, st)) == 1) {
        if (*n == RULES_TICKETS_PER_ORDER_MAX) {
            sqlite3_reset(st);
            return E_INTERNAL;
        }
        ords[(*n)++] = (int)sq_int(st, 0);
    }
    return r < 0 ? sq_fail(c->db) : E_OK;
}

/* Each seat back to free, by its primary key and only if hold_id still
 * holds it. */
static err_code free_held_seats(sq_ctx *c, const char *hold_id, const char *event_id)
{
    int ords[RULES_TICKETS_PER_ORDER_MAX];
    size_t n;
    err_code e = held_ords(c, hold_id, ords, &n);
    for (size_t i = 0; i < n && e == E_OK; i++) {
        int r = sq_exec(c->db,
                        "UPDATE event_seats SET status = 'free', hold_id = NULL"
                        " WHERE event_id = ? AND ord = ? AND hold_id = ?",
                        "sis", event_id, ords[i], hold_id);
        if (r != 1)
            e = r < 0 ? sq_fail(c->db) : E_INTERNAL;
        else
            store_changes_seat(c->changes, event_id, ords[i], 'f');
    }
    return e;
}

static err_code end_hold(sq_ctx *c, const char *hold_id, const char *status, const hold_row *h)
{
    int r = sq_exec(c->db, "UPDATE holds SET status = ? WHERE id = ? AND status = 'active'", "ss", status, hold_id);
    if (r != 1)
        return r < 0 ? sq_fail(c->db) : E_INTERNAL;
    if (h->tier_id[0] != '\0') {
        if (sq_exec(c->db, "UPDATE ga_tiers SET held = held - ? WHERE event_id = ? AND tier_id = ?", "iss",
                    h->quantity, h->event_id, h->tier_id) < 0)
            return sq_fail(c->db);
        return sq_tier_changed(c, h->event_id, h->tier_id);
    }
    return free_held_seats(c, hold_id, h->event_id);
}

err_code sq_hold_end(sq_ctx *c, const char *hold_id, const char *status)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT event_id, tier_id, quantity FROM holds WHERE id = ? AND status = 'active'",
                            "s", hold_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    hold_row h;
    read_hold_row(st, &h);
    return end_hold(c, hold_id, status, &h);
}

/* One read of the hold: it must be the caller's, active and not overdue. */
err_code sq_op_hold_release(sq_ctx *c)
{
    const char *hold_id = sq_arg_str(c, "hold_id");
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT event_id, tier_id, quantity FROM holds WHERE id = ? AND user_id = ?"
                            " AND status = 'active' AND expires_at > ?",
                            "ssl", hold_id, c->job->user_id, c->now);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    hold_row h;
    read_hold_row(st, &h);
    c->job->status = 204;
    return end_hold(c, hold_id, "released", &h);
}

err_code sq_expire_due(sq_ctx *c)
{
    json_t *ids = json_array();
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT id FROM holds WHERE status = 'active' AND expires_at <= ?"
                            " ORDER BY expires_at LIMIT ?",
                            "li", c->now, EXPIRE_BATCH);
    int r;
    while ((r = sq_step(c->db, st)) == 1)
        json_array_append_new(ids, json_string(sq_text(st, 0)));
    err_code e = r < 0 ? sq_fail(c->db) : E_OK;
    metrics_gauge_set("tixin_hold_expiry_backlog", (long)json_array_size(ids));
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        if (e == E_OK)
            e = sq_hold_end(c, json_string_value(id), "expired");
    }
    if (e == E_OK)
        metrics_count("tixin_holds_expired_total", (long)json_array_size(ids));
    json_decref(ids);
    return e;
}
