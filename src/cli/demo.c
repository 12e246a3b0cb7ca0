/*
 * demo.c - `tixin demo`: seed a database with something to look at
 * (default profile) or to load-test against (bench profile).
 *
 * It goes through the store's ops like the API does, so the data is
 * exactly what the server would have created (seat rows, versions, seat
 * maps). Password hashing is slow on purpose, so the one demo password is
 * hashed once and reused; the bench profile's 500 users and sessions are
 * submitted together so the writer thread commits them in a few batches
 * instead of 1,000 fsyncs. Running it twice is harmless: if the demo's
 * organizer already exists it says so and stops.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "booking/catalog.h"
#include "booking/seatmap.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#define DEMO_PASSWORD "demo-password"
#define BENCH_USERS 500
#define BENCH_EVENTS 10
#define DAY_MS (24 * 3600 * 1000LL)

static const char usage[] =
    "usage: tixin demo [--database URL] [--profile default|bench] [--out FILE]\n"
    "Seeds demo data. default: two logins, a 2,000-seat venue in Lisbon and\n"
    "three events on sale. bench: a 10,000-seat venue, 10 events on sale and\n"
    "500 users with sessions; --out FILE gets {\"events\":[...],\"tokens\":[...]}.";

typedef struct {
    store_t *store;
    char hash[256];           /* the demo password's hash */
    char org_token_hash[65];  /* the organizer's session */
    int64_t now;
} demo;

/* --- running ops ------------------------------------------------------- */

static store_job *job(store_op op, const char *token_hash, json_t *args)
{
    store_job *j = store_job_new(op, NULL);
    json_decref(j->args);
    j->args = args;
    if (token_hash != NULL) {
        j->has_token = 1;
        snprintf(j->token_hash, sizeof(j->token_hash), "%s", token_hash);
    }
    return j;
}

/* Submit every job, then wait for all: the writer batches them. 0 when all
 * succeeded. */
static int run_all(demo *d, store_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jobs[i]->task.origin = NULL;
        store_submit(d->store, jobs[i]);
    }
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        task_wait(&jobs[i]->task);
        if (jobs[i]->err != E_OK && !failed++)
            fprintf(stderr, "tixin demo: op %d failed: %s\n", jobs[i]->op, err_name(jobs[i]->err));
    }
    return failed ? -1 : 0;
}

/* One op; on success *out (if given) takes the result. */
static int call(demo *d, store_op op, const char *token_hash, json_t *args, json_t **out)
{
    store_job *j = job(op, token_hash, args);
    int rc = run_all(d, &j, 1);
    if (rc == 0 && out != NULL) {
        *out = j->out;
        j->out = NULL;
    }
    store_job_free(j);
    return rc;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* --- people ---------------------------------------------------------------- */

static store_job *user_job(demo *d, const char *email, const char *name)
{
    return job(OP_USER_CREATE, NULL, json_pack("{s:s, s:s, s:s}", "email", email, "name", name, "password_hash", d->hash));
}

/* A session for user_id: the token in token (>= 48), the job to run. */
static store_job *session_job(const char *user_id, char *token)
{
    char hash[65];
    token_new(token, 48);
    sha256_hex(token, strlen(token), hash);
    return job(OP_SESSION_CREATE, NULL, json_pack("{s:s, s:s}", "user_id", user_id, "token_hash", hash));
}

/* Creates the organizer and signs them in (d->org_token_hash). */
static int organizer(demo *d, const char *email, const char *name)
{
    store_job *u = user_job(d, email, name);
    int rc = run_all(d, &u, 1);
    char token[48];
    store_job *s = rc == 0 ? session_job(str(u->out, "id"), token) : NULL;
    if (s != NULL) {
        sha256_hex(token, strlen(token), d->org_token_hash);
        rc = run_all(d, &s, 1);
    }
    store_job_free(u);
    store_job_free(s);
    return rc;
}

static int exists(demo *d, const char *email)
{
    store_job *j = job(OP_USER_BY_EMAIL, NULL, json_pack("{s:s}", "email", email));
    err_code e = store_call(d->store, j);
    store_job_free(j);
    return e == E_OK;
}

/* --- venue and events ------------------------------------------------------ */

/* sections [{id, name, rows: [{id, seats}]}] */
static json_t *section(const char *id, const char *name, int rows, int seats)
{
    json_t *r = json_array();
    for (int i = 1; i <= rows; i++) {
        char rid[16];
        snprintf(rid, sizeof(rid), "%d", i);
        json_array_append_new(r, json_pack("{s:s, s:i}", "id", rid, "seats", seats));
    }
    return json_pack("{s:s, s:s, s:o}", "id", id, "name", name, "rows", r);
}

static int venue(demo *d, const char *org_id, json_t *v, char *venue_id, size_t len)
{
    json_object_set_new(v, "org_id", json_string(org_id));
    json_t *out = NULL;
    if (call(d, OP_VENUE_CREATE, d->org_token_hash, v, &out) != 0)
        return -1;
    snprintf(venue_id, len, "%s", str(out, "id"));
    printf("venue %s: %s, %lld seats\n", venue_id, str(out, "name"),
           (long long)json_integer_value(json_object_get(out, "seat_count")));
    json_decref(out);
    return 0;
}

/* Creates and publishes an event (e: the create args without org/venue);
 * its id is appended to ids. */
static int event(demo *d, const char *org_id, const char *venue_id, json_t *e, json_t *ids)
{
    json_object_set_new(e, "org_id", json_string(org_id));
    json_object_set_new(e, "venue_id", json_string(venue_id));
    json_object_set_new(e, "sale_starts_at", json_integer(d->now - 3600 * 1000));
    json_object_set_new(e, "sale_ends_at", json_null());
    json_t *out = NULL;
    if (call(d, OP_EVENT_CREATE, d->org_token_hash, e, &out) != 0)
        return -1;
    json_t *id = json_incref(json_object_get(out, "id"));
    printf("event %s: %s\n", json_string_value(id), str(out, "title"));
    json_decref(out);
    json_array_append_new(ids, id);
    return call(d, OP_EVENT_PUBLISH, d->org_token_hash, json_pack("{s:O}", "event_id", id), NULL);
}

static int org(demo *d, const char *name, char *org_id, size_t len)
{
    json_t *out = NULL;
    if (call(d, OP_ORG_CREATE, d->org_token_hash, json_pack("{s:s}", "name", name), &out) != 0)
        return -1;
    snprintf(org_id, len, "%s", str(out, "id"));
    json_decref(out);
    return 0;
}

/* --- profiles ----------------------------------------------------------------- */

static int profile_default(demo *d)
{
    if (exists(d, "organizer@demo.tixin")) {
        printf("demo data already present (organizer@demo.tixin exists); nothing to do\n");
        return 0;
    }
    store_job *buyer = user_job(d, "buyer@demo.tixin", "Demo Buyer");
    int rc = run_all(d, &buyer, 1);
    store_job_free(buyer);
    char org_id[48], venue_id[48];
    if (rc != 0 || organizer(d, "organizer@demo.tixin", "Demo Organizer") != 0 ||
        org(d, "Demo Productions", org_id, sizeof(org_id)) != 0)
        return 1;
    json_t *sections = json_pack("[o, o, o, o, o]", section("A", "Stalls A", 10, 20), section("B", "Stalls B", 15, 24),
                                 section("C", "Balcony C", 20, 25), section("D", "Balcony D", 20, 25),
                                 section("E", "Gallery E", 20, 22));
    if (venue(d, org_id, json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", "Demo Arena", "city", "Lisbon", "address",
                                   "Rua do Demo 1, 1000-001 Lisboa", "timezone", "Europe/Lisbon", "sections", sections),
              venue_id, sizeof(venue_id)) != 0)
        return 1;
    json_t *prices = json_pack("[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}, {s:s, s:i}, {s:s, s:i}]", "section", "A",
                               "price_cents", 9500, "section", "B", "price_cents", 7500, "section", "C", "price_cents",
                               5500, "section", "D", "price_cents", 4500, "section", "E", "price_cents", 2500);
    static const char *const titles[] = {"Fado Night", "Lisbon Symphony", "Summer Rock Festival"};
    json_t *ids = json_array();
    for (int i = 0; i < 3 && rc == 0; i++) {
        json_t *e = json_pack("{s:s, s:s, s:I, s:s, s:i, s:i, s:O, s:[]}", "title", titles[i], "description",
                              "A demo event.", "starts_at", (json_int_t)(d->now + (i + 1) * 30 * DAY_MS), "currency",
                              "EUR", "max_tickets_per_order", 10, "hold_ttl_seconds", 600, "prices", prices, "ga_tiers");
        if (i == 2)
            json_object_set_new(e, "ga_tiers", json_pack("[{s:s, s:s, s:i, s:i}]", "id", "standing", "name",
                                                         "Standing", "price_cents", 3500, "capacity", 500));
        rc = event(d, org_id, venue_id, e, ids);
    }
    json_decref(prices);
    json_decref(ids);
    if (rc != 0)
        return 1;
    printf("\nlogins (password \"%s\"):\n  buyer@demo.tixin\n  organizer@demo.tixin (owner of Demo Productions)\n",
           DEMO_PASSWORD);
    return 0;
}

/* 500 users, then a session each; tokens appended to tokens. */
static int bench_users(demo *d, json_t *tokens)
{
    store_job *jobs[BENCH_USERS];
    char tok[BENCH_USERS][48];
    for (int i = 0; i < BENCH_USERS; i++) {
        char email[64], name[32];
        snprintf(email, sizeof(email), "bench%04d@bench.tixin", i + 1);
        snprintf(name, sizeof(name), "Bench User %d", i + 1);
        jobs[i] = user_job(d, email, name);
    }
    int rc = run_all(d, jobs, BENCH_USERS);
    for (int i = 0; i < BENCH_USERS; i++) {
        store_job *u = jobs[i];
        jobs[i] = rc == 0 ? session_job(str(u->out, "id"), tok[i]) : NULL;
        store_job_free(u);
    }
    if (rc == 0)
        rc = run_all(d, jobs, BENCH_USERS);
    for (int i = 0; i < BENCH_USERS; i++) {
        if (rc == 0)
            json_array_append_new(tokens, json_string(tok[i]));
        store_job_free(jobs[i]);
    }
    return rc;
}

static int write_out(const char *path, json_t *events, json_t *tokens)
{
    json_t *doc = json_pack("{s:O, s:O}", "events", events, "tokens", tokens);
    int rc = json_dump_file(doc, path, JSON_COMPACT);
    json_decref(doc);
    if (rc != 0)
        fprintf(stderr, "tixin demo: cannot write %s\n", path);
    else
        printf("wrote %s\n", path);
    return rc;
}

static int profile_bench(demo *d, const char *out_path)
{
    if (exists(d, "bench0001@bench.tixin")) {
        printf("bench data already present (bench0001@bench.tixin exists); nothing to do%s\n",
               out_path != NULL ? " (seed with a fresh database to get a new --out file)" : "");
        return 0;
    }
    char org_id[48], venue_id[48];
    if (organizer(d, "organizer@bench.tixin", "Bench Organizer") != 0 ||
        org(d, "Bench Productions", org_id, sizeof(org_id)) != 0)
        return 1;
    json_t *sections = json_array(), *prices = json_array();
    for (char s = 'A'; s <= 'T'; s++) {
        char id[2] = {s, '\0'}, name[16];
        snprintf(name, sizeof(name), "Section %s", id);
        json_array_append_new(sections, section(id, name, 25, 20));
        json_array_append_new(prices, json_pack("{s:s, s:i}", "section", id, "price_cents", 2000 + (s - 'A') * 250));
    }
    if (venue(d, org_id, json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", "Bench Stadium", "city", "Porto", "address",
                                   "Avenida do Bench 10", "timezone", "Europe/Lisbon", "sections", sections),
              venue_id, sizeof(venue_id)) != 0) {
        json_decref(prices);
        return 1;
    }
    json_t *events = json_array(), *tokens = json_array();
    int rc = 0;
    for (int i = 0; i < BENCH_EVENTS && rc == 0; i++) {
        char title[64];
        snprintf(title, sizeof(title), "Bench Event %d", i + 1);
        rc = event(d, org_id, venue_id,
                   json_pack("{s:s, s:s, s:I, s:s, s:i, s:i, s:O, s:[]}", "title", title, "description",
                             "Load test event.", "starts_at", (json_int_t)(d->now + (30 + i) * DAY_MS), "currency",
                             "EUR", "max_tickets_per_order", 10, "hold_ttl_seconds", 600, "prices", prices,
                             "ga_tiers"),
                   events);
    }
    if (rc == 0)
        rc = bench_users(d, tokens);
    if (rc == 0)
        printf("%d users bench0001@bench.tixin..bench%04d@bench.tixin (password \"%s\"), each signed in\n",
               BENCH_USERS, BENCH_USERS, DEMO_PASSWORD);
    if (rc == 0 && out_path != NULL)
        rc = write_out(out_path, events, tokens);
    json_decref(prices);
    json_decref(events);
    json_decref(tokens);
    return rc == 0 ? 0 : 1;
}

/* --- the command -------------------------------------------------------------- */

/* Where the value of a demo flag goes (arg's name is len chars), or NULL. */
static const char **flag_slot(const char *arg, size_t len, const char **profile, const char **out)
{
    if (len == 9 && strncmp(arg, "--profile", len) == 0)
        return profile;
    if (len == 5 && strncmp(arg, "--out", len) == 0)
        return out;
    return NULL;
}

/* Takes --profile/--out (as "--x v" or "--x=v") out of argv; the rest
 * goes to config_load. */
static int own_flags(int *argc, char **argv, const char **profile, const char **out)
{
    int n = 0;
    for (int i = 0; i < *argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t len = eq != NULL ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        const char **slot = flag_slot(argv[i], len, profile, out);
        if (slot == NULL) {
            argv[n++] = argv[i];
        } else if (eq != NULL) {
            *slot = eq + 1;
        } else if (i + 1 < *argc) {
            *slot = argv[++i];
        } else {
            fprintf(stderr, "tixin demo: %s needs a value\n", argv[i]);
            return -1;
        }
    }
    *argc = n;
    return 0;
}

static int seed(config_t *cfg, const char *profile, const char *out_path)
{
    char err[512];
    demo d = {.now = now_ms()};
    d.store = store_open(cfg->database_url, err, sizeof(err));
    if (d.store == NULL) {
        fprintf(stderr, "tixin demo: %s\n", err);
        return 1;
    }
    seatmap_init(); /* publishing installs seat maps and the catalog */
    catalog_init();
    int rc = 1;
    if (store_start(d.store) != 0) {
        fprintf(stderr, "tixin demo: cannot start the store\n");
    } else if (password_hash(DEMO_PASSWORD, d.hash, sizeof(d.hash)) != 0) {
        fprintf(stderr, "tixin demo: password hashing failed\n");
    } else {
        rc = strcmp(profile, "bench") == 0 ? profile_bench(&d, out_path) : profile_default(&d);
    }
    store_close(d.store);
    catalog_free();
    seatmap_free_all();
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    const char *profile = "default", *out_path = NULL;
    if (own_flags(&argc, argv, &profile, &out_path) != 0)
        return 2;
    config_t cfg;
    int rc = config_load(&cfg, argc, argv, usage);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (strcmp(profile, "default") != 0 && strcmp(profile, "bench") != 0) {
        fprintf(stderr, "tixin demo: unknown profile '%s' (default|bench)\n", profile);
        return 2;
    }
    log_set_level(cfg.log_level);
    if (util_init() != 0) {
        fprintf(stderr, "tixin demo: cannot initialize libsodium\n");
        return 1;
    }
    return seed(&cfg, profile, out_path);
}
