/*
 * accounts.c - sign-up, sign-in, sign-out and the caller's own data.
 *
 * Password hashing and verification are argon2id and take tens of
 * milliseconds, so they run on the CPU pool (api_pool_submit), never on a
 * loop or on the store's writer thread. Sign-in is therefore a chain:
 * look the user up (store) -> verify (pool) -> create the session (store).
 * An unknown email costs the same verification as a wrong password (against
 * a dummy hash) and gets the same answer, so neither timing nor the reply
 * tells which emails have accounts. Failed sign-ins are throttled per email
 * by api/login_limit.c.
 */
#include "api/api.h"
#include "api/common.h"
#include "api/login_limit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/util.h"

typedef char password_buf[RULES_PASSWORD_BYTES_MAX + 1];

/* --- POST /users --------------------------------------------------------- */

typedef struct {
    pool_task_t pt; /* first: the pool frees the whole struct */
    password_buf password;
    char hash[128];
    int rc;
    const char *email, *name; /* request pool */
} signup_task;

static void signup_hash(pool_task_t *pt)
{
    signup_task *t = (signup_task *)pt;
    t->rc = password_hash(t->password, t->hash, sizeof(t->hash));
    sodium_memzero(t->password, sizeof(t->password));
}

static void signup_hashed(h2o_req_t *req, pool_task_t *pt)
{
    signup_task *t = (signup_task *)pt;
    if (t->rc != 0) {
        http_send_error(req, E_INTERNAL, NULL, "Could not hash the password.");
        return;
    }
    store_job *j = store_job_new(OP_USER_CREATE, NULL);
    json_object_set_new(j->args, "email", json_string(t->email));
    json_object_set_new(j->args, "name", json_string(t->name));
    json_object_set_new(j->args, "password_hash", json_string(t->hash));
    api_submit(req, j, NULL);
}

static const char *pool_string(h2o_req_t *req, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return api_pool_strdup(req, json_string_value(v), json_string_length(v));
}

static int sign_up(h2o_req_t *req, const route_params *p)
{
    json_t *args = api_read_valid(req, rules_signup);
    if (!args)
        return 0;
    signup_task *t = calloc(1, sizeof(*t));
    if (!t)
        h2o_fatal("out of memory");
    snprintf(t->password, sizeof(t->password), "%s", json_string_value(json_object_get(args, "password")));
    t->email = pool_string(req, args, "email");
    t->name = pool_string(req, args, "name");
    t->pt.run = signup_hash;
    json_decref(args);
    api_pool_submit(req, &t->pt, signup_hashed);
    return 0;
}

/* --- POST /sessions ------------------------------------------------------ */

/* What a sign-in carries from step to step; in the request pool, wiped
 * when the request is over. */
typedef struct {
    char email[RULES_EMAIL_MAX + 1];
    password_buf password;
    char token[64];
} signin_ctx;

typedef struct {
    pool_task_t pt; /* first: the pool frees the whole struct */
    password_buf password;
    char hash[256]; /* the user's, or "" for an unknown email */
    char user_id[48];
    int ok;
    signin_ctx *ctx; /* only touched on the loop, in done */
} verify_task;

static char dummy_hash[128];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
    char pw[48];
    token_new(pw, sizeof(pw));
    if (password_hash(pw, dummy_hash, sizeof(dummy_hash)) != 0)
        dummy_hash[0] = '\0';
}

static void verify_run(pool_task_t *pt)
{
    verify_task *t = (verify_task *)pt;
    if (t->hash[0]) {
        t->ok = password_verify(t->password, t->hash);
    } else {
        pthread_once(&dummy_once, dummy_init);
        if (dummy_hash[0])
            password_verify(t->password, dummy_hash);
        t->ok = 0;
    }
    sodium_memzero(t->password, sizeof(t->password));
}

static void session_created(h2o_req_t *req, store_job *j)
{
    signin_ctx *ctx = j->ctx;
    if (j->err != E_OK) {
        http_send_job(req, j);
        return;
    }
    json_t *user = json_object_get(j->out, "user");
    if (!json_is_object(user)) {
        http_send_error(req, E_INTERNAL, NULL, NULL);
        return;
    }
    http_send_json(req, 201, json_pack("{s:s, s:O}", "token", ctx->token, "user", user));
}

/* 1 after answering 429 when email is over its failure budget. */
static int throttled(h2o_req_t *req, const char *email)
{
    int wait = login_limit_check(email, now_ms());
    if (!wait)
        return 0;
    char secs[16];
    snprintf(secs, sizeof(secs), "%d", wait);
    http_add_header(req, "retry-after", secs);
    http_send_error(req, E_RATE_LIMITED, json_pack("{si}", "retry_after", wait),
                    "Too many failed sign-ins for this email; retry later.");
    return 1;
}

static void verified(h2o_req_t *req, pool_task_t *pt)
{
    verify_task *t = (verify_task *)pt;
    signin_ctx *ctx = t->ctx;
    if (!t->ok) {
        login_limit_fail(ctx->email, now_ms());
        http_send_error(req, E_INVALID_CREDENTIALS, NULL, NULL);
        return;
    }
    /* The budget is judged again now that the hash is checked (tens of
     * ms): failures may have come in meanwhile, on this instance or from
     * another one through Redis, which the check before never waits for.
     * Without this, a right password that passed the first check would
     * sign in, and clear the count everywhere, while the email is over
     * its budget. */
    if (throttled(req, ctx->email))
        return;
    login_limit_clear(ctx->email);
    char token_hash[65];
    token_new(ctx->token, sizeof(ctx->token));
    sha256_hex(ctx->token, strlen(ctx->token), token_hash);
    store_job *j = store_job_new(OP_SESSION_CREATE, NULL);
    json_object_set_new(j->args, "user_id", json_string(t->user_id));
    json_object_set_new(j->args, "token_hash", json_string(token_hash));
    j->ctx = ctx;
    api_submit(req, j, session_created);
}

static void user_found(h2o_req_t *req, store_job *j)
{
    if (j->err != E_OK && j->err != E_INVALID_CREDENTIALS) {
        http_send_job(req, j);
        return;
    }
    verify_task *t = calloc(1, sizeof(*t));
    if (!t)
        h2o_fatal("out of memory");
    t->ctx = j->ctx;
    memcpy(t->password, t->ctx->password, sizeof(t->password));
    if (j->err == E_OK) {
        const char *hash = json_string_value(json_object_get(j->out, "password_hash"));
        const char *id = json_string_value(json_object_get(json_object_get(j->out, "user"), "id"));
        snprintf(t->hash, sizeof(t->hash), "%s", hash ? hash : "");
        snprintf(t->user_id, sizeof(t->user_id), "%s", id ? id : "");
    }
    t->pt.run = verify_run;
    api_pool_submit(req, &t->pt, verified);
}

static void signin_wipe(void *p)
{
    sodium_memzero(p, sizeof(signin_ctx));
}

static int sign_in(h2o_req_t *req, const route_params *p)
{
    json_t *args = api_read_valid(req, rules_login);
    if (!args)
        return 0;
    const char *email = json_string_value(json_object_get(args, "email"));
    if (throttled(req, email)) {
        json_decref(args);
        return 0;
    }
    signin_ctx *ctx = h2o_mem_alloc_shared(&req->pool, sizeof(*ctx), signin_wipe);
    memset(ctx, 0, sizeof(*ctx));
    snprintf(ctx->email, sizeof(ctx->email), "%s", email);
    snprintf(ctx->password, sizeof(ctx->password), "%s", json_string_value(json_object_get(args, "password")));
    json_decref(args);
    store_job *j = store_job_new(OP_USER_BY_EMAIL, NULL);
    json_object_set_new(j->args, "email", json_string(ctx->email));
    j->ctx = ctx;
    api_submit(req, j, user_found);
    return 0;
}

/* --- the caller's own ---------------------------------------------------- */

static const api_op sign_out_op = {.op = OP_SESSION_REVOKE, .flags = API_AUTH};
static const api_op me_op = {.op = OP_ME, .flags = API_AUTH};
static const api_op my_orders_op = {.op = OP_MY_ORDERS, .flags = API_AUTH | API_LIST};

static int sign_out(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &sign_out_op);
}

static int me(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &me_op);
}

static int my_orders(h2o_req_t *req, const route_params *p)
{
    return api_run(req, p, &my_orders_op);
}

void api_accounts_register(void)
{
    /* the dummy hash is made now, at start-up, so that not even the first
     * unknown email is answered at a different speed */
    pthread_once(&dummy_once, dummy_init);
    router_add("POST", "/api/v1/users", sign_up);
    router_add("POST", "/api/v1/sessions", sign_in);
    router_add("DELETE", "/api/v1/sessions/current", sign_out);
    router_add("GET", "/api/v1/me", me);
    router_add("GET", "/api/v1/me/orders", my_orders);
}
