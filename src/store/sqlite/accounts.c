/*
 * accounts.c - users, sessions and "me". Password hashes are made and
 * checked by the API on the CPU pool: this thread only stores and returns
 * them, so a sign-in storm never stalls bookings.
 */
#include "store/sqlite/sq.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "core/util.h"

err_code sq_user_json(sq_ctx *c, const char *user_id, json_t **out)
{
    sqlite3_stmt *st = sq_q(c->db, "SELECT id, email, name FROM users WHERE id = ?", "s", user_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    *out = json_pack("{s:s, s:s, s:s}", "id", sq_text(st, 0), "email", sq_text(st, 1), "name", sq_text(st, 2));
    sqlite3_reset(st);
    return E_OK;
}

err_code sq_op_user_create(sq_ctx *c)
{
    char id[48];
    id_new("usr", id, sizeof(id));
    int r = sq_exec(c->db, "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                    "ssssl", id, sq_arg_str(c, "email"), sq_arg_str(c, "name"), sq_arg_str(c, "password_hash"),
                    c->now);
    if (r < 0)
        return sq_was_constraint(c->db) ? E_EMAIL_TAKEN : sq_fail(c->db);
    c->job->status = 201;
    return sq_user_json(c, id, &c->job->out);
}

err_code sq_op_user_by_email(sq_ctx *c)
{
    sqlite3_stmt *st =
        sq_q(c->db, "SELECT id, email, name, password_hash FROM users WHERE email = ?", "s", sq_arg_str(c, "email"));
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_INVALID_CREDENTIALS;
    c->job->out = json_pack("{s:{s:s, s:s, s:s}, s:s}", "user", "id", sq_text(st, 0), "email", sq_text(st, 1),
                            "name", sq_text(st, 2), "password_hash", sq_text(st, 3));
    sqlite3_reset(st);
    return E_OK;
}

err_code sq_op_session_create(sq_ctx *c)
{
    const char *user_id = sq_arg_str(c, "user_id");
    json_t *user = NULL;
    err_code e = sq_user_json(c, user_id, &user);
    if (e != E_OK)
        return e;
    if (sq_exec(c->db, "INSERT INTO sessions (token_hash, user_id, created_at) VALUES (?, ?, ?)", "ssl",
                sq_arg_str(c, "token_hash"), user_id, c->now) < 0) {
        json_decref(user);
        return sq_fail(c->db);
    }
    c->job->out = json_pack("{s:o}", "user", user);
    c->job->status = 201;
    return E_OK;
}

err_code sq_op_session_revoke(sq_ctx *c)
{
    if (sq_exec(c->db, "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL", "ls", c->now,
                c->job->token_hash) < 0)
        return sq_fail(c->db);
    c->job->status = 204;
    return E_OK;
}

err_code sq_op_me(sq_ctx *c)
{
    return sq_user_json(c, c->job->user_id, &c->job->out);
}

/* --- my orders: newest first, keyset-paginated ------------------------ */

/* A cursor is base64url("<key>:<id>") of a page's last item (sq.h). */
void sq_cursor_encode(int64_t created_at, const char *id, char *out, size_t len)
{
    char raw[SQ_CURSOR_MAX];
    int n = snprintf(raw, sizeof(raw), "%lld:%s", (long long)created_at, id);
    sodium_bin2base64(out, len, (const unsigned char *)raw, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int sq_cursor_decode(const char *cursor, int64_t *created_at, char *id, size_t idlen)
{
    char raw[SQ_CURSOR_MAX];
    size_t n = 0;
    if (sodium_base642bin((unsigned char *)raw, sizeof(raw) - 1, cursor, strlen(cursor), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    raw[n] = '\0';
    char *colon = strchr(raw, ':');
    if (colon == NULL || colon == raw || strlen(colon + 1) >= idlen)
        return -1;
    *colon = '\0';
    char *end;
    *created_at = strtoll(raw, &end, 10);
    if (*end != '\0')
        return -1;
    snprintf(id, idlen, "%s", colon + 1);
    return 0;
}

/* Ids (and created_at) of one page of the caller's orders, plus one more
 * to tell whether a next page exists. */
static err_code page_ids(sq_ctx *c, int64_t after_at, const char *after_id, int limit, json_t *ids, json_t *ats)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT id, created_at FROM orders WHERE user_id = ?"
                            " AND (created_at < ? OR (created_at = ? AND id < ?))"
                            " ORDER BY created_at DESC, id DESC LIMIT ?",
                            "sllsi", c->job->user_id, after_at, after_at, after_id, limit + 1);
    int r;
    while ((r = sq_step(c->db, st)) == 1) {
        json_array_append_new(ids, json_string(sq_text(st, 0)));
        json_array_append_new(ats, json_integer(sq_int(st, 1)));
    }
    return r < 0 ? sq_fail(c->db) : E_OK;
}

err_code sq_op_my_orders(sq_ctx *c)
{
    sq_page_at at = {.key = INT64_MAX}; /* first page: everything is older */
    err_code e = sq_page_args(c, &at);
    if (e != E_OK)
        return e;
    int64_t limit = at.limit, after_at = at.key;
    const char *after_id = at.id;
    json_t *ids = json_array(), *ats = json_array(), *items = json_array();
    e = page_ids(c, after_at, after_id, (int)limit, ids, ats);
    size_t n = json_array_size(ids);
    for (size_t i = 0; e == E_OK && i < n && i < (size_t)limit; i++) {
        json_t *order = NULL;
        e = sq_order_json(c, json_string_value(json_array_get(ids, i)), &order);
        if (e == E_OK)
            json_array_append_new(items, order);
    }
    json_t *next = json_null();
    if (e == E_OK && n > (size_t)limit) {
        char buf[SQ_CURSOR_MAX * 2];
        sq_cursor_encode(json_integer_value(json_array_get(ats, limit - 1)),
                      json_string_value(json_array_get(ids, limit - 1)), buf, sizeof(buf));
        next = json_string(buf);
    }
    json_decref(ids);
    json_decref(ats);
    if (e != E_OK) {
        json_decref(items);
        json_decref(next);
        return e;
    }
    c->job->out = json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
    return E_OK;
}
