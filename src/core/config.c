/*
 * config.c - one loader for every subcommand: defaults, then TIXIN_*
 * environment, then flags, each layer overriding the one before. Values
 * are validated here, once, so the rest of the program can trust cfg.
 */
#include <stddef.h>
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/log.h"

typedef enum {
    OPT_LISTEN,
    OPT_THREADS,
    OPT_DATABASE,
    OPT_LOG_LEVEL,
    OPT_ACCESS_LOG,
    OPT_METRICS,
    OPT_OTLP_ENDPOINT,
    OPT_TRACE_SAMPLE,
    OPT_WEB_ROOT,
    OPT_REDIS,
    OPT_DATABASE_REPLICA,
    OPT_IDLE_TIMEOUT
} opt_id;

static const struct {
    opt_id id;
    const char *flag, *env, *arg, *help;
} options[] = {
    {OPT_LISTEN, "--listen", "TIXIN_LISTEN", "ADDR:PORT", "address to listen on (127.0.0.1:8080)"},
    {OPT_THREADS, "--threads", "TIXIN_THREADS", "N", "worker threads (number of cores)"},
    {OPT_DATABASE, "--database", "TIXIN_DATABASE_URL", "URL", "store URL (sqlite:tixin.db)"},
    {OPT_LOG_LEVEL, "--log-level", "TIXIN_LOG_LEVEL", "LEVEL", "debug|info|warn|error (info)"},
    {OPT_ACCESS_LOG, "--access-log", "TIXIN_ACCESS_LOG", "MODE", "all|off|N: one request in N (all)"},
    {OPT_METRICS, "--metrics", "TIXIN_METRICS", "on|off", "record Prometheus metrics (on)"},
    {OPT_OTLP_ENDPOINT, "--otlp-endpoint", "TIXIN_OTLP_ENDPOINT", "URL",
     "OTLP/HTTP traces URL, http://HOST:PORT/v1/traces (unset: no tracing)"},
    {OPT_TRACE_SAMPLE, "--trace-sample", "TIXIN_TRACE_SAMPLE", "RATIO", "share of new traces sampled, 0..1 (0.1)"},
    {OPT_WEB_ROOT, "--web-root", "TIXIN_WEB_ROOT", "DIR", "web UI files (web/ of the binary's source tree)"},
    {OPT_REDIS, "--redis", "TIXIN_REDIS_URL", "URL", "cluster mode: redis://HOST:PORT[/DB] (unset: off)"},
    {OPT_IDLE_TIMEOUT, "--idle-timeout", "TIXIN_IDLE_TIMEOUT", "SECONDS",
     "keep-alive idle time and request-header limit (10; behind HAProxy: longer than its idle pool keeps connections)"},
    {OPT_DATABASE_REPLICA, "--database-replica", "TIXIN_DATABASE_REPLICA_URL", "URL",
     "PostgreSQL read replica for lag-tolerant public reads (unset: none)"},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int parse_positive(const char *s, long max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *s)
{
    if (strlen(s) >= cap || s[0] == '\0')
        return -1;
    strcpy(dst, s);
    return 0;
}

static int parse_ratio(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

/* Apply one setting; -1 (after a message) when the value is invalid. */
static int apply(config_t *cfg, opt_id id, const char *value, const char *source)
{
    int ok = 0;
    switch (id) {
    case OPT_LISTEN:
        ok = copy_str(cfg->listen, sizeof(cfg->listen), value) == 0 && strchr(value, ':') != NULL;
        break;
    case OPT_THREADS:
        ok = parse_positive(value, 1024, &cfg->threads) == 0;
        break;
    case OPT_DATABASE:
        ok = copy_str(cfg->database_url, sizeof(cfg->database_url), value) == 0;
        break;
    case OPT_LOG_LEVEL:
        ok = (cfg->log_level = log_level_parse(value)) >= 0;
        break;
    case OPT_ACCESS_LOG:
        if (strcmp(value, "all") == 0)
            cfg->access_log_every = 1, ok = 1;
        else if (strcmp(value, "off") == 0 || strcmp(value, "0") == 0)
            cfg->access_log_every = 0, ok = 1;
        else
            ok = parse_positive(value, 1000000, &cfg->access_log_every) == 0;
        break;
    case OPT_METRICS:
        ok = strcmp(value, "on") == 0 || strcmp(value, "off") == 0;
        cfg->metrics = strcmp(value, "off") != 0;
        break;
    case OPT_OTLP_ENDPOINT:
        ok = copy_str(cfg->otlp_endpoint, sizeof(cfg->otlp_endpoint), value) == 0 &&
             strncmp(value, "http://", 7) == 0;
        break;
    case OPT_TRACE_SAMPLE:
        ok = parse_ratio(value, &cfg->trace_sample) == 0;
        break;
    case OPT_WEB_ROOT:
        ok = copy_str(cfg->web_root, sizeof(cfg->web_root), value) == 0;
        break;
    case OPT_REDIS:
        ok = copy_str(cfg->redis_url, sizeof(cfg->redis_url), value) == 0 && strncmp(value, "redis://", 8) == 0;
        break;
    case OPT_IDLE_TIMEOUT:
        ok = parse_positive(value, 86400, &cfg->idle_timeout_s) == 0;
        break;
    case OPT_DATABASE_REPLICA:
        ok = copy_str(cfg->database_replica_url, sizeof(cfg->database_replica_url), value) == 0 &&
             (strncmp(value, "postgres://", 11) == 0 || strncmp(value, "postgresql://", 13) == 0);
        break;
    }
    if (!ok)
        fprintf(stderr, "tixin: invalid value '%s' for %s\n", value, source);
    return ok ? 0 : -1;
}

static void defaults(config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->listen, "127.0.0.1:8080");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = n > 0 ? (int)n : 1;
    strcpy(cfg->database_url, "sqlite:tixin.db");
    cfg->log_level = LOG_INFO;
    cfg->access_log_every = 1;
    cfg->metrics = 1;
    cfg->trace_sample = 0.1;
    cfg->idle_timeout_s = 10;
}

static void print_usage(const char *usage)
{
    printf("%s\nOptions (flag > environment > default):\n", usage ? usage : "");
    for (size_t i = 0; i < NOPTIONS; i++)
        printf("  %-16s %-10s %-20s %s\n", options[i].flag, options[i].arg, options[i].env, options[i].help);
    printf("  %-16s %-10s %-20s %s\n", "--help", "", "", "show this help");
}

/* "--flag value" or "--flag=value"; returns args consumed, 0 if no match,
 * -1 on a missing value. */
static int match_flag(const char *flag, int argc, char **argv, int i, const char **value)
{
    size_t fl = strlen(flag);
    if (strncmp(argv[i], flag, fl) != 0)
        return 0;
    if (argv[i][fl] == '=') {
        *value = argv[i] + fl + 1;
        return 1;
    }
    if (argv[i][fl] != '\0')
        return 0;
    if (i + 1 >= argc)
        return -1;
    *value = argv[i + 1];
    return 2;
}

static int apply_flags(config_t *cfg, int argc, char **argv, const char *usage)
{
    for (int i = 0; i < argc;) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(usage);
            return 1;
        }
        int used = 0;
        for (size_t k = 0; k < NOPTIONS && used == 0; k++) {
            const char *value = NULL;
            used = match_flag(options[k].flag, argc, argv, i, &value);
            if (used < 0) {
                fprintf(stderr, "tixin: %s needs a value\n", options[k].flag);
                return -1;
            }
            if (used > 0 && apply(cfg, options[k].id, value, options[k].flag) != 0)
                return -1;
        }
        if (used == 0) {
            fprintf(stderr, "tixin: unknown option '%s' (see --help)\n", argv[i]);
            return -1;
        }
        i += used;
    }
    return 0;
}

int config_load(config_t *cfg, int argc, char **argv, const char *usage)
{
    defaults(cfg);
    for (size_t k = 0; k < NOPTIONS; k++) {
        const char *v = getenv(options[k].env);
        if (v != NULL && v[0] != '\0' && apply(cfg, options[k].id, v, options[k].env) != 0)
            return -1;
    }
    return apply_flags(cfg, argc, argv, usage);
}
