/*
 * common.h - what the store-backed API handlers share.
 *
 * Almost every handler does the same four things: check the token, read
 * and validate the body (booking/rules.h), put the path ids into the args,
 * and submit one store job whose result is the answer. api_run() does all
 * of that from a small static description (api_op), so a handler file is
 * mostly a list of routes and the few answers that need custom work
 * (sessions, ETags, SVG). The pieces are exported too for those.
 */
#ifndef TIXIN_API_COMMON_H
#define TIXIN_API_COMMON_H

#include "booking/rules.h"
#include "http/http.h"
#include "store/store.h"

enum {
    API_AUTH = 1, /* a token is required: none -> 401 at once */
    API_IDEM = 2, /* honours Idempotency-Key */
    API_LIST = 4, /* a list: ?limit= (1..100, default 20) and ?cursor= go
                   * into args {limit, cursor}; a bad limit -> 422 */
};

typedef int (*api_rules_fn)(const json_t *body, json_t **args, rule_err *e);

typedef struct {
    store_op op;
    int flags;                            /* API_AUTH | API_IDEM | API_LIST */
    api_rules_fn rules;                   /* body validator; NULL: no body */
    const char *wrap;                     /* validated body goes under this
                                           * key ("fields" of a PATCH) */
    const char *params[ROUTE_MAX_PARAMS]; /* args keys of the path params */
    api_done_fn done;                     /* NULL: http_send_job */
} api_op;

/* Check, build and submit the job that op describes; answers the request
 * itself on any failure. Always returns 0 (a route_handler's "handled"). */
int api_run(h2o_req_t *req, const route_params *p, const api_op *op);

/* A job for op carrying the caller's token (API_AUTH) and Idempotency-Key
 * (API_IDEM); NULL after answering 401 / 422. */
store_job *api_job_new(h2o_req_t *req, store_op op, int flags);
/* Read the body and validate it with rules: the validated args (caller
 * owns them), or NULL after answering 400/422. */
json_t *api_read_valid(h2o_req_t *req, api_rules_fn rules);
/* Read the body, validate it with rules and merge the result into
 * j->args (under wrap when non-NULL). -1 after answering 400/422 (the job
 * is then still the caller's). */
int api_job_body(h2o_req_t *req, store_job *j, api_rules_fn rules, const char *wrap);
/* args[key] = path param i. */
void api_job_param(h2o_req_t *req, const route_params *p, int i, store_job *j, const char *key);
/* Answer a failed validation: 422 invalid_field with "field", or the
 * rule's own code (limit_exceeded) with "field". */
void api_send_rule_err(h2o_req_t *req, const rule_err *e);
/* Copy of len bytes of s into the request pool, NUL-terminated. */
char *api_pool_strdup(h2o_req_t *req, const char *s, size_t len);

#endif
