/*
 * orgs.c - organizations, their members and roles, and venues.
 *
 * Roles decide what an organizer may do; the one place that reads them is
 * sq_member_role(), and the rule "strangers do not learn that something
 * exists" is applied by the callers (E_NOT_FOUND for non-members).
 * A venue's layout is kept twice on purpose: as the JSON given (returned
 * as is by GET and used to build seat maps) and as one venue_seats row per
 * seat, whose ord is the seat's index everywhere else.
 */
#include "store/sqlite/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/util.h"

int sq_member_role(sq_ctx *c, const char *org_id)
{
    sqlite3_stmt *st =
        sq_q(c->db, "SELECT role FROM org_members WHERE org_id = ? AND user_id = ?", "ss", org_id, c->job->user_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? -1 : ROLE_NONE;
    const char *role = sq_text(st, 0);
    int v = strcmp(role, "owner") == 0 ? ROLE_OWNER : strcmp(role, "admin") == 0 ? ROLE_ADMIN : ROLE_STAFF;
    sqlite3_reset(st);
    return v;
}

/* E_OK when the caller has at least role min in org; E_NOT_FOUND for
 * strangers (and unknown orgs), E_FORBIDDEN for lower roles. */
static err_code require_role(sq_ctx *c, const char *org_id, sq_role min)
{
    int role = sq_member_role(c, org_id);
    if (role < 0)
        return sq_fail(c->db);
    if (role == ROLE_NONE)
        return E_NOT_FOUND;
    return role >= (int)min ? E_OK : E_FORBIDDEN;
}

static err_code add_member(sq_ctx *c, const char *org_id, const char *user_id, const char *role)
{
    if (sq_exec(c->db, "INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)", "sssl",
                org_id, user_id, role, c->now) >= 0)
        return E_OK;
    return sq_was_constraint(c->db) ? E_ALREADY_MEMBER : sq_fail(c->db);
}

err_code sq_op_org_create(sq_ctx *c)
{
    char id[48];
    id_new("org", id, sizeof(id));
    const char *name = sq_arg_str(c, "name");
    if (sq_exec(c->db, "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)", "ssl", id, name, c->now) <
        0)
        return sq_fail(c->db);
    err_code e = add_member(c, id, c->job->user_id, "owner");
    if (e != E_OK)
        return e;
    c->job->out = json_pack("{s:s, s:s, s:s}", "id", id, "name", name, "role", "owner");
    c->job->status = 201;
    return E_OK;
}

err_code sq_op_member_add(sq_ctx *c)
{
    const char *org_id = sq_arg_str(c, "org_id"), *role = sq_arg_str(c, "role");
    err_code e = require_role(c, org_id, ROLE_OWNER);
    if (e != E_OK)
        return e;
    sqlite3_stmt *st = sq_q(c->db, "SELECT id FROM users WHERE email = ?", "s", sq_arg_str(c, "email"));
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_USER_NOT_FOUND;
    char user_id[48];
    snprintf(user_id, sizeof(user_id), "%s", sq_text(st, 0));
    sqlite3_reset(st);
    json_t *user = NULL;
    if ((e = add_member(c, org_id, user_id, role)) != E_OK || (e = sq_user_json(c, user_id, &user)) != E_OK)
        return e;
    c->job->out = json_pack("{s:s, s:o, s:s}", "org_id", org_id, "user", user, "role", role);
    c->job->status = 201;
    return E_OK;
}

/* --- venues ------------------------------------------------------------ */

static err_code insert_seats(sq_ctx *c, const char *venue_id, json_t *sections, int *count)
{
    int ord = 0;
    size_t i, k;
    json_t *sec, *row;
    json_array_foreach(sections, i, sec)
    {
        const char *sec_id = json_string_value(json_object_get(sec, "id"));
        json_array_foreach(json_object_get(sec, "rows"), k, row)
        {
            const char *row_id = json_string_value(json_object_get(row, "id"));
            int nseats = (int)json_integer_value(json_object_get(row, "seats"));
            for (int n = 1; n <= nseats; n++, ord++) {
                char seat_id[256];
                snprintf(seat_id, sizeof(seat_id), "%s-%s-%d", sec_id, row_id, n);
                if (sq_exec(c->db,
                            "INSERT INTO venue_seats (venue_id, ord, seat_id, section_id, row_id, number)"
                            " VALUES (?, ?, ?, ?, ?, ?)",
                            "sisssi", venue_id, ord, seat_id, sec_id, row_id, n) < 0)
                    return sq_was_constraint(c->db) ? sq_invalid(c, "sections", "Seat ids must be unique.")
                                                    : sq_fail(c->db);
            }
        }
    }
    *count = ord;
    return E_OK;
}

static err_code venue_json(sq_ctx *c, const char *venue_id, json_t **out)
{
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT id, org_id, name, city, address, timezone, seat_count, layout"
                            " FROM venues WHERE id = ?",
                            "s", venue_id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_NOT_FOUND;
    json_t *layout = json_loads(sq_text(st, 7), 0, NULL);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o}", "id", sq_text(st, 0), "org_id", sq_text(st, 1),
                     "name", sq_text(st, 2), "city", sq_text(st, 3), "address", sq_text(st, 4), "timezone",
                     sq_text(st, 5), "seat_count", (json_int_t)sq_int(st, 6), "sections",
                     layout != NULL ? layout : json_array());
    sqlite3_reset(st);
    return E_OK;
}

err_code sq_op_venue_create(sq_ctx *c)
{
    const char *org_id = sq_arg_str(c, "org_id");
    err_code e = require_role(c, org_id, ROLE_ADMIN);
    if (e != E_OK)
        return e;
    char id[48];
    id_new("ven", id, sizeof(id));
    json_t *sections = json_object_get(c->job->args, "sections");
    if (!json_is_array(sections))
        return sq_invalid(c, "sections", NULL);
    char *layout = json_dumps(sections, JSON_COMPACT);
    int r = sq_exec(c->db,
                    "INSERT INTO venues (id, org_id, name, city, address, timezone, layout, seat_count, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
                    "sssssssl", id, org_id, sq_arg_str(c, "name"), sq_arg_str(c, "city"), sq_arg_str(c, "address"),
                    sq_arg_str(c, "timezone"), layout, c->now);
    free(layout);
    if (r < 0)
        return sq_fail(c->db);
    int count = 0;
    if ((e = insert_seats(c, id, sections, &count)) != E_OK)
        return e;
    if (sq_exec(c->db, "UPDATE venues SET seat_count = ? WHERE id = ?", "is", count, id) < 0)
        return sq_fail(c->db);
    c->job->status = 201;
    return venue_json(c, id, &c->job->out);
}

err_code sq_op_venue_get(sq_ctx *c)
{
    return venue_json(c, sq_arg_str(c, "venue_id"), &c->job->out);
}
