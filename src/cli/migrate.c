/*
 * migrate.c - `tixin migrate`: bring the database schema up to date and
 * stop. The store applies migrations on every open anyway; this command
 * exists so that deployments can migrate as a separate, visible step.
 */
#include "cli/cli.h"

#include <stdio.h>
#include "core/config.h"
#include "store/store.h"

static const char usage[] =
    "usage: tixin migrate [--database URL]\n"
    "Applies the pending schema migrations and names each one applied.\n";

int cmd_migrate(int argc, char **argv)
{
    config_t cfg;
    int rc = config_load(&cfg, argc, argv, usage);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    char err[512];
    if (store_migrate(cfg.database_url, err, sizeof(err)) != 0) {
        fprintf(stderr, "tixin migrate: %s\n", err);
        return 1;
    }
    printf("schema of %s is up to date\n", cfg.database_url);
    return 0;
}
