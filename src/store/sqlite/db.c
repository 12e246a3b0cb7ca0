/*
 * db.c - the SQLite connection as the backend uses it.
 *
 * Every op runs a handful of fixed statements thousands of times, so each
 * SQL literal is prepared once and cached by its address (no SQL is ever
 * built at run time, which is also why that key is safe). Binding goes
 * through a small format string so that op code reads as the query it runs.
 * Failures are logged here, once, and turned into an err_code by sq_fail().
 *
 * Pragmas. journal_mode=WAL. synchronous=FULL makes a COMMIT sync the WAL
 * (one fdatasync per group-commit batch, not per job), so a job answered
 * after COMMIT survives a power loss or an OS crash; NORMAL skips that
 * sync: still atomic and consistent, and still safe if only the process
 * crashes, but the last batches before a power loss or kernel crash can be
 * lost after they were answered. TIXIN_SQLITE_SYNC picks full, normal or
 * (the default) auto, where the writer chooses per batch (sqlite.c:
 * only batches of holds, releases and reads skip the sync).
 * Checkpoints sync the database file in both modes (sqlite.c runs them
 * off the writer thread). cache_size is 16 MiB per connection (the page
 * cache is allocated as used; the checkpointer's connection reads almost
 * nothing through it): the bench database is ~30-40 MB and random seat
 * updates miss an 8 MiB cache often (pread on the writer thread), while
 * the whole server must stay under 64 MB resident at peak. No mmap: mapped
 * pages would count in the server's resident set as they are touched.
 */
#include "store/sqlite/sq.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/util.h"

#define CACHE_SLOTS 512 /* power of two, well above the number of statements */

struct sq_db {
    sqlite3 *h;
    int last_rc;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[CACHE_SLOTS];
};

sq_sync sq_sync_policy(void)
{
    const char *sync = getenv("TIXIN_SQLITE_SYNC");
    if (sync != NULL && strcmp(sync, "normal") == 0)
        return SQ_SYNC_NORMAL;
    if (sync != NULL && strcmp(sync, "full") == 0)
        return SQ_SYNC_FULL;
    return SQ_SYNC_AUTO;
}

static int set_pragmas(sqlite3 *h, char *err, size_t errlen)
{
    const char *sql = sq_sync_policy() == SQ_SYNC_NORMAL ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                                         : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(h, "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;", NULL,
                     NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite pragmas: %s", msg != NULL ? msg : sqlite3_errmsg(h));
        sqlite3_free(msg);
        return -1;
    }
    sqlite3_busy_timeout(h, 5000);
    return 0;
}

/* Process-wide settings, before SQLite initializes: no memory statistics
 * (they take a global mutex on every allocation, for numbers nobody reads). */
static void global_config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

sq_db *sq_db_open(const char *path, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_config);
    sqlite3 *h = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &h, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, h != NULL ? sqlite3_errmsg(h) : "out of memory");
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_extended_result_codes(h, 1);
    if (set_pragmas(h, err, errlen) != 0) {
        sqlite3_close(h);
        return NULL;
    }
    sq_db *db = calloc(1, sizeof(*db));
    if (db == NULL)
        abort();
    db->h = h;
    return db;
}

int sq_db_close(sq_db *db)
{
    if (db == NULL)
        return 0;
    for (int i = 0; i < CACHE_SLOTS; i++)
        sqlite3_finalize(db->cache[i].st);
    int rc = sqlite3_close(db->h);
    if (rc != SQLITE_OK)
        log_msg(LOG_ERROR, "sqlite close: %s", sqlite3_errstr(rc));
    free(db);
    return rc == SQLITE_OK ? 0 : -1;
}

sqlite3 *sq_db_release(sq_db *db)
{
    sqlite3 *h = db->h;
    free(db);
    return h;
}

sqlite3 *sq_handle(sq_db *db)
{
    return db->h;
}

static void failed(sq_db *db, int rc, const char *what)
{
    db->last_rc = rc;
    log_msg(LOG_ERROR, "sqlite %s: %s (%s)", what, sqlite3_errmsg(db->h), sqlite3_errstr(rc));
}

static sqlite3_stmt *cached(sq_db *db, const char *sql)
{
    size_t i = ((uintptr_t)sql >> 3) & (CACHE_SLOTS - 1);
    for (size_t n = 0; n < CACHE_SLOTS; n++, i = (i + 1) & (CACHE_SLOTS - 1)) {
        if (db->cache[i].sql == sql)
            return db->cache[i].st;
        if (db->cache[i].sql != NULL)
            continue;
        int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->cache[i].st, NULL);
        if (rc != SQLITE_OK) {
            failed(db, rc, "prepare");
            log_msg(LOG_ERROR, "in: %s", sql);
            return NULL;
        }
        db->cache[i].sql = sql;
        return db->cache[i].st;
    }
    failed(db, SQLITE_NOMEM, "statement cache full");
    return NULL;
}

/* Text is bound by copy (SQLITE_TRANSIENT) when the statement may be
 * stepped after the call that bound it (sq_q's caller steps it), and by
 * reference (SQLITE_STATIC: no copy, no allocation) when it is run to the
 * end inside the call whose arguments hold the text (sq_exec). */
typedef void (*text_life)(void *);

static int bind_json(sqlite3_stmt *st, int i, const json_t *v, text_life life)
{
    if (json_is_integer(v))
        return sqlite3_bind_int64(st, i, (sqlite3_int64)json_integer_value(v));
    if (json_is_string(v))
        return sqlite3_bind_text(st, i, json_string_value(v), -1, life);
    return sqlite3_bind_null(st, i);
}

static int bind_args(sq_db *db, sqlite3_stmt *st, const char *fmt, va_list ap, text_life life)
{
    for (int i = 1; *fmt; fmt++, i++) {
        int rc;
        if (*fmt == 's') {
            const char *v = va_arg(ap, const char *);
            rc = v != NULL ? sqlite3_bind_text(st, i, v, -1, life) : sqlite3_bind_null(st, i);
        } else if (*fmt == 'i') {
            rc = sqlite3_bind_int(st, i, va_arg(ap, int));
        } else if (*fmt == 'j') {
            rc = bind_json(st, i, va_arg(ap, const json_t *), life);
        } else {
            rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
        }
        if (rc != SQLITE_OK) {
            failed(db, rc, "bind");
            return -1;
        }
    }
    return 0;
}

static sqlite3_stmt *prepare_bound(sq_db *db, const char *sql, const char *fmt, va_list ap, text_life life)
{
    sqlite3_stmt *st = cached(db, sql);
    if (st == NULL)
        return NULL;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return bind_args(db, st, fmt, ap, life) == 0 ? st : NULL;
}

sqlite3_stmt *sq_q(sq_db *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = prepare_bound(db, sql, fmt, ap, SQLITE_TRANSIENT);
    va_end(ap);
    return st;
}

int sq_step(sq_db *db, sqlite3_stmt *st)
{
    if (st == NULL)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    /* constraint failures are expected answers of some ops: not logged */
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        db->last_rc = rc;
    else
        failed(db, rc, "step");
    return -1;
}

int sq_exec(sq_db *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = prepare_bound(db, sql, fmt, ap, SQLITE_STATIC);
    va_end(ap);
    int r;
    while ((r = sq_step(db, st)) == 1)
        ; /* rows nobody asked for */
    int changes = r < 0 ? -1 : sqlite3_changes(db->h);
    if (st != NULL)
        sqlite3_clear_bindings(st); /* drop the borrowed text */
    return changes;
}

int sq_simple(sq_db *db, const char *sql)
{
    return sq_exec(db, sql, "") < 0 ? -1 : 0;
}

void sq_reset_all(sq_db *db)
{
    for (sqlite3_stmt *st = sqlite3_next_stmt(db->h, NULL); st != NULL; st = sqlite3_next_stmt(db->h, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
}

err_code sq_fail(sq_db *db)
{
    /* expected constraint failures are handled by the callers; one that
     * reaches here is a bug, and sq_step() did not log it */
    if ((db->last_rc & 0xff) == SQLITE_CONSTRAINT)
        log_msg(LOG_ERROR, "sqlite: unexpected constraint failure: %s", sqlite3_errmsg(db->h));
    switch (db->last_rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return E_UNAVAILABLE;
    default:
        return E_INTERNAL;
    }
}

int sq_was_constraint(sq_db *db)
{
    return (db->last_rc & 0xff) == SQLITE_CONSTRAINT;
}

const char *sq_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

json_t *sq_jtime_ms(int64_t ms)
{
    char buf[32];
    time_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

json_t *sq_jtime(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    return sq_jtime_ms(sqlite3_column_int64(st, i));
}

int64_t sq_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_int64(st, i);
}
