/*
 * config.h - settings from flags and TIXIN_* environment variables.
 *
 * Precedence: flag > environment > default. Every subcommand uses the same
 * loader, so `tixin demo --database sqlite:x.db` and
 * `TIXIN_DATABASE_URL=sqlite:x.db tixin demo` mean the same.
 *
 *   --listen ADDR:PORT   TIXIN_LISTEN        127.0.0.1:8080
 *   --threads N          TIXIN_THREADS       number of cores
 *   --database URL       TIXIN_DATABASE_URL  sqlite:tixin.db
 *   --log-level L        TIXIN_LOG_LEVEL     info (debug|info|warn|error)
 *   --access-log MODE    TIXIN_ACCESS_LOG    all (all|off|N: one in N)
 *   --metrics on|off     TIXIN_METRICS       on
 *   --otlp-endpoint URL  TIXIN_OTLP_ENDPOINT (unset: tracing off)
 *   --trace-sample R     TIXIN_TRACE_SAMPLE  0.1 (0..1, traces without a parent)
 *   --web-root DIR       TIXIN_WEB_ROOT      web/ found next to the binary (see http/static.c)
 *   --redis URL          TIXIN_REDIS_URL     (unset: no Redis; cluster mode)
 *   --database-replica URL TIXIN_DATABASE_REPLICA_URL (unset: none; PostgreSQL only)
 *   --idle-timeout S     TIXIN_IDLE_TIMEOUT  10 (seconds; longer behind a proxy, see http/server.c)
 */
#ifndef TIXIN_CORE_CONFIG_H
#define TIXIN_CORE_CONFIG_H

typedef struct {
    char listen[256];
    int threads;
    char database_url[1024];
    int log_level;          /* LOG_DEBUG..LOG_ERROR from core/log.h */
    int access_log_every;   /* 0 off, 1 every request, N one in N */
    int metrics;            /* 1: record metrics (GET /metrics serves them) */
    char otlp_endpoint[512];/* OTLP/HTTP traces URL, "" = tracing off */
    double trace_sample;    /* share of parentless requests traced */
    char web_root[1024];    /* web UI files; "" = look for web/ (http/static.c) */
    char redis_url[512];    /* redis://HOST:PORT[/DB], "" = no Redis (embedded pub/sub) */
    char database_replica_url[1024]; /* postgres:// read replica, "" = none */
    int idle_timeout_s;     /* keep-alive idle time and request-header time limit */
} config_t;

/* Fill cfg from defaults, environment, then argv (flags after the
 * subcommand). Unknown flags: message on stderr, return -1. "--help"
 * prints usage (the given text plus the common flags) and returns 1. */
int config_load(config_t *cfg, int argc, char **argv, const char *usage);

#endif
