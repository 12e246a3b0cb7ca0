/*
 * migrations.h - the SQL migrations compiled into the binary
 * (src/store/migrations/NNNN_name.sql, embedded at build time by
 * scripts/embed-migrations.sh). Versions are applied in order, each in its
 * own transaction, and recorded in schema_migrations(version, name,
 * applied_at) by the backend.
 */
#ifndef TIXIN_STORE_MIGRATIONS_H
#define TIXIN_STORE_MIGRATIONS_H

typedef struct {
    int version;
    const char *name;
    const char *sql;
} migration_t;

extern const migration_t migrations[];
extern const int migrations_count;

#endif
