/*
 * main.c - the tixin command: picks the subcommand and, for serve, brings
 * the parts up in dependency order and down in reverse.
 *
 * serve: settings -> store (migrated, writer thread running) -> in-memory
 * seat maps and catalog (they subscribe to pubsub in their init) -> CPU
 * pool -> routes -> Redis (cluster mode) -> the catalog loaded from the
 * store, so published events are served from memory before the first
 * connection is accepted -> the HTTP server, which returns once
 * SIGTERM/SIGINT has drained the loops. SIGTERM/SIGINT are blocked first,
 * before any thread exists, so every thread inherits the mask and only the
 * server's sigwait() receives them.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>

#include "api/api.h"
#include "booking/catalog.h"
#include "booking/seatmap.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/task.h"
#include "core/util.h"
#include "http/http.h"
#include "http/server.h"
#include "ops/metrics.h"
#include "pubsub/redis.h"
#include "store/store.h"

#define POOL_THREADS 2

/* LeakSanitizer (ASan builds) reads this at exit. h2o 2.2 keeps per-thread
 * caches of memory-pool chunks and socket buffers (h2o_mem_alloc_recycle)
 * with no public way to empty them; when a worker thread exits they become
 * unreachable and would fail every clean shutdown. Nothing else is
 * suppressed. Unused in release builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\n";
}
/* ...and keeps the table of used suppressions off stderr (JSON lines only). */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}

static const char serve_usage[] =
    "Usage: tixin serve [options]\n"
    "Run the HTTP API server until SIGTERM or SIGINT (then drain and exit 0).";

static void print_main_usage(FILE *f)
{
    fprintf(f, "Usage: tixin <command> [options]\n\n"
               "Commands:\n"
               "  serve     run the HTTP API server\n"
               "  migrate   apply pending database migrations\n"
               "  demo      seed demo data\n"
               "  version   print the version\n\n"
               "Run 'tixin <command> --help' for the options of a command.\n");
}

static void block_stop_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* A thousand keep-alive clients need more descriptors than the usual soft
 * limit of 1,024: take what the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Load the catalog of published events before accepting connections. */
static int load_catalog(store_t *store)
{
    store_job *j = store_job_new(OP_CATALOG_LOAD, NULL);
    if (j == NULL)
        return -1;
    err_code e = store_call(store, j);
    store_job_free(j);
    if (e != E_OK) {
        log_msg(LOG_ERROR, "cannot load the catalog: %s", err_name(e));
        return -1;
    }
    return 0;
}

static store_t *open_store(const char *url)
{
    char err[512] = "";
    store_t *store = store_open(url, err, sizeof(err));
    if (store == NULL) {
        log_msg(LOG_ERROR, "cannot open the store %s: %s", url, err);
        return NULL;
    }
    if (store_start(store) != 0) {
        log_msg(LOG_ERROR, "cannot start the store %s", url);
        store_close(store);
        return NULL;
    }
    return store;
}

static int cmd_serve(int argc, char **argv)
{
    config_t cfg;
    int rc = config_load(&cfg, argc, argv, serve_usage);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    log_set_level(cfg.log_level);
    if (util_init() != 0) {
        log_msg(LOG_ERROR, "cannot initialize libsodium");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    block_stop_signals();

    store_use_replica(cfg.database_replica_url);
    store_t *store = open_store(cfg.database_url);
    if (store == NULL)
        return 1;
    seatmap_init();
    catalog_init();
    if (pool_start(POOL_THREADS) != 0) {
        log_msg(LOG_ERROR, "cannot start the CPU pool");
        store_close(store);
        return 1;
    }
    api_set_store(store);
    api_register_all();
    /* cluster mode: Redis carries changes between instances; started before
     * the catalog loads so no change published meanwhile is missed */
    if (cfg.redis_url[0] && pubsub_redis_start(cfg.redis_url, store) != 0)
        rc = 1;
    else
        rc = load_catalog(store) == 0 && server_run(&cfg) == 0 ? 0 : 1;

    pubsub_redis_stop();
    pool_stop();
    store_close(store);
    catalog_free();
    seatmap_free_all();
    return rc;
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("Usage: tixin version\nPrint the version of this build.\n");
        return 0;
    }
    printf("tixin %s (h2o %s)\n", TIXIN_VERSION, H2O_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } commands[] = {
        {"serve", cmd_serve}, {"migrate", cmd_migrate}, {"demo", cmd_demo}, {"version", cmd_version},
    };
    if (argc < 2) {
        print_main_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        print_main_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "tixin: unknown command '%s'\n\n", argv[1]);
    print_main_usage(stderr);
    return 2;
}
