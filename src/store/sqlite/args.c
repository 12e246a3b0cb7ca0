/*
 * args.c - reading a job's arguments and shaping error details, shared by
 * every op file. The API layer validates types before a job is built, so
 * these only supply the neutral value when a key is absent.
 */
#include "store/sqlite/sq.h"

const char *sq_arg_str(sq_ctx *c, const char *key)
{
    const char *v = json_string_value(json_object_get(c->job->args, key));
    return v != NULL ? v : "";
}

int64_t sq_arg_int(sq_ctx *c, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(c->job->args, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

err_code sq_invalid(sq_ctx *c, const char *field, const char *message)
{
    json_decref(c->job->out);
    c->job->out = message != NULL ? json_pack("{s:s, s:s}", "field", field, "message", message)
                                  : json_pack("{s:s}", "field", field);
    return E_INVALID_FIELD;
}
