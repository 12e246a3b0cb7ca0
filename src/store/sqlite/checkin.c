/*
 * checkin.c - letting a ticket in at the door, exactly once.
 *
 * The ticket is looked up by code within the event being checked in, so a
 * valid code of another event is simply unknown here. The first check-in
 * is the conditional update that sets checked_in_at; every later attempt
 * is answered with that first time.
 */
#include "store/sqlite/sq.h"

#include <stdio.h>
#include <string.h>

err_code sq_op_checkin(sq_ctx *c)
{
    sq_event ev;
    err_code e = sq_event_for(c, ROLE_STAFF, &ev);
    if (e != E_OK)
        return e;
    sqlite3_stmt *st = sq_q(c->db,
                            "SELECT id, seat_id, tier_id, status, checked_in_at FROM tickets"
                            " WHERE code = ? AND event_id = ?",
                            "ss", sq_arg_str(c, "code"), ev.id);
    int r = sq_step(c->db, st);
    if (r <= 0)
        return r < 0 ? sq_fail(c->db) : E_TICKET_NOT_FOUND;
    int seat = sq_text(st, 1) != NULL;
    json_t *out = json_pack("{s:s, s:s}", "ticket_id", sq_text(st, 0), seat ? "seat" : "tier",
                            sq_text(st, seat ? 1 : 2));
    int is_void = strcmp(sq_text(st, 3), "void") == 0;
    json_t *first = sq_jtime(st, 4);
    sqlite3_reset(st);
    if (is_void || !json_is_null(first)) {
        json_decref(out);
        if (is_void) {
            json_decref(first);
            return E_TICKET_VOID;
        }
        c->job->out = json_pack("{s:o}", "checked_in_at", first);
        return E_ALREADY_CHECKED_IN;
    }
    json_decref(first);
    if (sq_exec(c->db, "UPDATE tickets SET checked_in_at = ? WHERE id = ? AND checked_in_at IS NULL", "lj", c->now,
                json_object_get(out, "ticket_id")) != 1) {
        json_decref(out);
        return sq_fail(c->db);
    }
    json_object_set_new(out, "checked_in_at", sq_jtime_ms(c->now));
    c->job->out = out;
    return E_OK;
}
