/*
 * migrate.c - applying the compiled-in migrations (store/migrations.h).
 *
 * Each pending version runs in its own BEGIN IMMEDIATE transaction and is
 * re-checked inside it, so two processes starting on one file at the same
 * time apply every migration exactly once.
 *
 * Foreign keys are not enforced while a migration runs and are checked as
 * a whole before it commits (SQLite's recipe for rebuilding a table that
 * others refer to: with enforcement on, dropping the old table would
 * count every referring row as a violation, although the rebuilt table
 * under the same name satisfies them all).
 */
#include "store/sqlite/sq.h"

#include "core/log.h"
#include "core/util.h"
#include "store/migrations.h"

static const char create_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                   " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/* 1 applied, 0 not, -1 error */
static int is_applied(sqlite3 *h, int version)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, version);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int record(sqlite3 *h, const migration_t *m)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, m->version);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms());
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int count_row(void *arg, int n, char **values, char **names)
{
    (void)n;
    (void)values;
    (void)names;
    (*(int *)arg)++;
    return 0;
}

/* The migration's SQL, then the foreign keys of the whole database. */
static int run_checked(sqlite3 *h, const migration_t *m, char **msg)
{
    int violations = 0;
    if (sqlite3_exec(h, m->sql, NULL, NULL, msg) != SQLITE_OK ||
        sqlite3_exec(h, "PRAGMA foreign_key_check", count_row, &violations, msg) != SQLITE_OK)
        return -1;
    if (violations > 0)
        *msg = sqlite3_mprintf("%d foreign key violation(s) after the migration", violations);
    return violations > 0 ? -1 : 0;
}

/* 1 applied now, 0 was already there, -1 failed (err set) */
static int apply_one(sqlite3 *h, const migration_t *m, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    int done = is_applied(h, m->version);
    if (done != 0) {
        sqlite3_exec(h, done > 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
        if (done < 0)
            goto fail;
        return 0;
    }
    if (run_checked(h, m, &msg) != 0 || record(h, m) != 0 ||
        sqlite3_exec(h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    return 1;
fail:
    snprintf(err, errlen, "migration %s: %s", m->name, msg != NULL ? msg : sqlite3_errmsg(h));
    sqlite3_free(msg);
    return -1;
}

int sq_migrate(sqlite3 *h, FILE *report, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(h, create_table, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "schema_migrations: %s", msg != NULL ? msg : sqlite3_errmsg(h));
        sqlite3_free(msg);
        return -1;
    }
    for (int i = 0; i < migrations_count; i++) {
        /* outside the transaction: the pragma is a no-op inside one */
        sqlite3_exec(h, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL);
        int r = apply_one(h, &migrations[i], err, errlen);
        sqlite3_exec(h, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        log_msg(LOG_INFO, "applied migration %s", migrations[i].name);
        if (report != NULL)
            fprintf(report, "applied %s\n", migrations[i].name);
    }
    return 0;
}
