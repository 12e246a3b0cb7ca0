/*
 * backend.h - what store_common.c needs from a storage backend (internal to
 * src/store). store.h's public functions dispatch through this table, so a
 * second backend (PostgreSQL) is one more table, not more #ifdefs.
 */
#ifndef TIXIN_STORE_BACKEND_H
#define TIXIN_STORE_BACKEND_H

#include <stdio.h>
#include "store/store.h"

typedef struct {
    const char *name;
    int (*start)(store_t *s);
    void (*close)(store_t *s);
    void (*submit)(store_t *s, store_job *j);
} store_backend;

/* Every backend's store struct starts with this. */
struct store {
    const store_backend *backend;
};

/* store/sqlite: open (and migrate) the database file at path. */
store_t *sqlite_store_open(const char *path, char *err, size_t errlen);
/* store/sqlite: apply pending migrations only; each applied one is named on
 * report (when not NULL). 0 on success. */
int sqlite_store_migrate(const char *path, FILE *report, char *err, size_t errlen);

/* store/pg: open the PostgreSQL database at url (postgres://...), after
 * applying pending migrations, with an optional read replica ("" = none);
 * and migrations only, as for SQLite. */
store_t *pg_store_open(const char *url, const char *replica_url, char *err, size_t errlen);
int pg_store_migrate(const char *url, FILE *report, char *err, size_t errlen);

#endif
