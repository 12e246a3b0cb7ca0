/*
 * common.c - the shared request-to-job path of the store-backed handlers
 * (see common.h). Errors are answered here, at the one level that knows
 * the request; callers only learn "answered" (NULL / -1) and stop.
 */
#include "api/common.h"

#include <stdio.h>
#include <string.h>
#include "core/util.h"

char *api_pool_strdup(h2o_req_t *req, const char *s, size_t len)
{
    char *d = h2o_mem_alloc_pool(&req->pool, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void api_send_rule_err(h2o_req_t *req, const rule_err *e)
{
    if (e->code == E_INVALID_FIELD) {
        http_send_invalid_field(req, e->field, e->message);
        return;
    }
    json_t *details = json_pack("{ss}", "field", e->field);
    http_send_error(req, e->code, details, e->message);
}

/* request_hash = sha256(method " " path "\n" body): a retry must repeat
 * all three to be a replay. */
static void request_hash(h2o_req_t *req, char out[65])
{
    size_t n = req->method.len + 1 + req->path.len + 1 + req->entity.len;
    char *buf = h2o_mem_alloc_pool(&req->pool, n);
    char *w = buf;
    memcpy(w, req->method.base, req->method.len);
    w += req->method.len;
    *w++ = ' ';
    memcpy(w, req->path.base, req->path.len);
    w += req->path.len;
    *w++ = '\n';
    if (req->entity.len)
        memcpy(w, req->entity.base, req->entity.len);
    sha256_hex(buf, n, out);
}

store_job *api_job_new(h2o_req_t *req, store_op op, int flags)
{
    char hash[65];
    int has_token = (flags & API_AUTH) && http_token_hash(req, hash);
    if ((flags & API_AUTH) && !has_token) {
        http_send_error(req, E_UNAUTHENTICATED, NULL, NULL);
        return NULL;
    }
    const char *key = (flags & API_IDEM) ? http_header(req, "idempotency-key") : NULL;
    rule_err e;
    if (key && rules_idem_key(key, &e) != 0) {
        api_send_rule_err(req, &e);
        return NULL;
    }
    store_job *j = store_job_new(op, NULL);
    if (has_token) {
        j->has_token = 1;
        memcpy(j->token_hash, hash, sizeof(j->token_hash));
    }
    if (key) {
        snprintf(j->idem_key, sizeof(j->idem_key), "%s", key);
        request_hash(req, j->request_hash);
    }
    return j;
}

json_t *api_read_valid(h2o_req_t *req, api_rules_fn rules)
{
    json_t *body, *args;
    rule_err e;
    if (http_read_json(req, &body) != 0)
        return NULL;
    int rc = rules(body, &args, &e);
    json_decref(body);
    if (rc != 0) {
        api_send_rule_err(req, &e);
        return NULL;
    }
    return args;
}

int api_job_body(h2o_req_t *req, store_job *j, api_rules_fn rules, const char *wrap)
{
    json_t *args = api_read_valid(req, rules);
    if (!args)
        return -1;
    if (wrap) {
        json_object_set_new(j->args, wrap, args);
    } else {
        json_object_update(j->args, args);
        json_decref(args);
    }
    return 0;
}

void api_job_param(h2o_req_t *req, const route_params *p, int i, store_job *j, const char *key)
{
    json_object_set_new(j->args, key, json_stringn(p->v[i].base, p->v[i].len));
}

/* args {limit, cursor?} from the query; -1 after answering 422. */
static int job_list_args(h2o_req_t *req, store_job *j)
{
    int limit;
    rule_err e;
    if (rules_list_limit(http_query_param(req, "limit"), &limit, &e) != 0) {
        api_send_rule_err(req, &e);
        return -1;
    }
    const char *cursor = http_query_param(req, "cursor");
    json_object_set_new(j->args, "limit", json_integer(limit));
    if (cursor && *cursor)
        json_object_set_new(j->args, "cursor", json_string(cursor));
    return 0;
}

int api_run(h2o_req_t *req, const route_params *p, const api_op *op)
{
    store_job *j = api_job_new(req, op->op, op->flags);
    if (!j)
        return 0;
    if ((op->rules && api_job_body(req, j, op->rules, op->wrap) != 0) ||
        ((op->flags & API_LIST) && job_list_args(req, j) != 0)) {
        store_job_free(j);
        return 0;
    }
    for (int i = 0; i < ROUTE_MAX_PARAMS && i < p->n && op->params[i]; i++)
        api_job_param(req, p, i, j, op->params[i]);
    api_submit(req, j, op->done);
    return 0;
}
