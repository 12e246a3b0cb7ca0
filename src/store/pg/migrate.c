/*
 * migrate.c - applying the compiled-in PostgreSQL migrations
 * (src/store/pg/migrations/, embedded as pg_migrations[]).
 *
 * Several instances may start at once on one database: a session-level
 * advisory lock makes them take turns, and each version is applied in its
 * own transaction and recorded in schema_migrations, so every migration
 * runs exactly once.
 */
#include "store/pg/pg.h"

#include <string.h>
#include "core/log.h"
#include "core/util.h"

#define LOCK_KEY "7368311"  /* pg_advisory_lock key: "tixin" migrations */

static int exec_ok(PGconn *c, const char *sql, char *err, size_t errlen, const char *what)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
        char *nl = strchr(err, '\n');
        if (nl != NULL)
            *nl = '\0';
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/* 1 applied, 0 not, -1 error */
static int is_applied(PGconn *c, int version)
{
    char v[16];
    snprintf(v, sizeof(v), "%d", version);
    const char *values[1] = {v};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1::int", 1, NULL, values, NULL,
                               NULL, 0);
    int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? -1 : PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

static int record(PGconn *c, const migration_t *m)
{
    char v[16], at[24];
    snprintf(v, sizeof(v), "%d", m->version);
    snprintf(at, sizeof(at), "%lld", (long long)now_ms());
    const char *values[3] = {v, m->name, at};
    PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1::int, $2, $3::bigint)",
                               3, NULL, values, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

/* 1 applied now, 0 was there, -1 failed (err set) */
static int apply_one(PGconn *c, const migration_t *m, char *err, size_t errlen)
{
    int done = is_applied(c, m->version);
    if (done != 0) {
        if (done < 0)
            snprintf(err, errlen, "migration %s: %s", m->name, PQerrorMessage(c));
        return done < 0 ? -1 : 0;
    }
    char what[128];
    snprintf(what, sizeof(what), "migration %s", m->name);
    if (exec_ok(c, "BEGIN", err, errlen, what) != 0)
        return -1;
    if (exec_ok(c, m->sql, err, errlen, what) != 0 || record(c, m) != 0 ||
        exec_ok(c, "COMMIT", err, errlen, what) != 0) {
        if (err[0] == '\0')
            snprintf(err, errlen, "%s: %s", what, PQerrorMessage(c));
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    return 1;
}

int pg_migrate(PGconn *c, FILE *report, char *err, size_t errlen)
{
    err[0] = '\0';
    if (exec_ok(c, "SET client_min_messages = warning", err, errlen, "settings") != 0 ||
        exec_ok(c, "SELECT pg_advisory_lock(" LOCK_KEY ")", err, errlen, "migration lock") != 0)
        return -1;
    int rc = exec_ok(c,
                     "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                     err, errlen, "schema_migrations");
    for (int i = 0; rc == 0 && i < pg_migrations_count; i++) {
        int r = apply_one(c, &pg_migrations[i], err, errlen);
        if (r < 0)
            rc = -1;
        else if (r > 0) {
            log_msg(LOG_INFO, "applied migration %s", pg_migrations[i].name);
            if (report != NULL)
                fprintf(report, "applied %s\n", pg_migrations[i].name);
        }
    }
    char ignored[64];
    exec_ok(c, "SELECT pg_advisory_unlock(" LOCK_KEY ")", ignored, sizeof(ignored), "unlock");
    return rc;
}
