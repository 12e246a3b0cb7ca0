/*
 * metrics.c - Prometheus text for GET /metrics.
 *
 * Each worker loop owns its counters outright (single writer, relaxed
 * atomic stores that compile to plain moves), so recording a request
 * costs a few increments and no lock. Threads that are not worker loops
 * (store writer, CPU pool, synchronous store calls) record into one shared
 * slot with atomic adds. A scrape sums every slot; it may see a request
 * counted in the total but not yet in the histogram, which Prometheus
 * tolerates. Statuses are indexed directly (100..599), trading some memory
 * per route for no lookup on the hot path.
 */
#include "ops/metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>
#include "http/server.h"

#define MAX_ROUTES 160
#define NSTATUS 500 /* 100..599 */
#define MAX_NAMED 64
#define MAX_OPS 48
#define MAX_BUCKETS 16
#define MAX_COLLECTORS 8

typedef struct {
    const double *le;
    size_t n;
} bounds_t;

static const double http_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double fast_le[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
static const bounds_t http_bounds = {http_le, sizeof(http_le) / sizeof(http_le[0])};
static const bounds_t fast_bounds = {fast_le, sizeof(fast_le) / sizeof(fast_le[0])};

typedef struct {
    uint64_t bucket[MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
    uint64_t sum_ns;
    uint64_t count;
} hist_t;

typedef struct {
    uint64_t status[NSTATUS];
    hist_t duration;
} route_slot;

typedef struct {
    hist_t latency;
    uint64_t failed;
} store_slot;

typedef struct {
    route_slot *routes; /* [nroutes] */
    store_slot store[MAX_OPS];
    int64_t in_flight;
} worker_slot;

static struct {
    char method[8];
    char *name;
} routes[MAX_ROUTES];
static int nroutes;

static worker_slot *workers;
static int nworkers;
static int enabled = 1;
static double start_time;

/* Shared by every thread that is not a worker loop (atomic adds). */
static store_slot shared_store[MAX_OPS];
static hist_t pubsub_lag;
static const char *op_names[MAX_OPS];

typedef struct {
    const char *name, *type, *help;
    long value;
} named_t;

/* Known series: present (at 0) from the first scrape, so rate() and the
 * alert rules work before the first event of their kind. */
static named_t named[MAX_NAMED] = {
    {"tixin_holds_created_total", "counter", "Holds created (seats or general-admission places).", 0},
    {"tixin_holds_released_total", "counter", "Holds released by their buyer.", 0},
    {"tixin_holds_expired_total", "counter", "Holds expired by the store's timer.", 0},
    {"tixin_hold_expiry_backlog", "gauge", "Active holds already past their expiry, as seen by the last sweep.", 0},
    {"tixin_orders_paid_total", "counter", "Orders paid.", 0},
    {"tixin_orders_refunded_total", "counter", "Orders refunded (cancelled).", 0},
    {"tixin_tickets_sold_total", "counter", "Tickets issued by paid orders.", 0},
    {"tixin_checkins_total", "counter", "Tickets checked in at the door.", 0},
    {"tixin_websocket_subscribers", "gauge", "Live seat-map WebSocket subscribers connected.", 0},
    {"tixin_trace_spans_exported_total", "counter", "Trace spans accepted by the OTLP receiver.", 0},
    {"tixin_trace_spans_dropped_total", "counter", "Trace spans dropped (export queue full or export failed).", 0},
    {"tixin_trace_export_failures_total", "counter", "OTLP export requests that failed.", 0},
};
static int nnamed; /* counted at start-up */

/* Help for series other code registers at first use (store/sqlite's
 * writer figures), so that /metrics passes `promtool check metrics`. */
static const struct {
    const char *name, *help;
} described[] = {
    {"tixin_store_jobs_total", "Jobs run by the store's writer (SQLite), or in batched hold/release statements (PostgreSQL)."},
    {"tixin_store_batches_total", "Transactions (batches of jobs) run by the store's writer (SQLite), or batched hold/release statements (PostgreSQL)."},
    {"tixin_store_queue_wait_microseconds_total", "Time jobs waited in the store's queue, summed."},
    {"tixin_store_writer_cpu_microseconds_total", "CPU time of the store's writer thread."},
    {"tixin_store_batch_wall_microseconds_total", "Wall time of the store's batches, summed."},
    {"tixin_store_commit_wall_microseconds_total", "Wall time of the store's COMMITs, summed."},
    {"tixin_store_synced_commits_total", "COMMITs that synced the WAL to disk (TIXIN_SQLITE_SYNC)."},
};

static const char *help_of(const named_t *s)
{
    for (size_t i = 0; s->help[0] == '\0' && i < sizeof(described) / sizeof(described[0]); i++)
        if (strcmp(described[i].name, s->name) == 0)
            return described[i].help;
    return s->help[0] ? s->help : "Registered at first use (no description).";
}
static pthread_mutex_t named_mutex = PTHREAD_MUTEX_INITIALIZER;

static void (*collectors[MAX_COLLECTORS])(textbuf *);
static int ncollectors;

__attribute__((constructor)) static void metrics_boot(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    start_time = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
    while (nnamed < MAX_NAMED && named[nnamed].name != NULL)
        nnamed++;
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BUMP(x, n) __atomic_store_n(&(x), LOAD(x) + (n), __ATOMIC_RELAXED)
#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)

int metrics_route_id(const char *method, const char *route)
{
    if (nroutes == MAX_ROUTES)
        return -1;
    snprintf(routes[nroutes].method, sizeof(routes[nroutes].method), "%s", method);
    routes[nroutes].name = strdup(route);
    return nroutes++;
}

void metrics_init(int n)
{
    nworkers = n;
    workers = calloc((size_t)n, sizeof(*workers));
    for (int i = 0; i < n && workers; i++)
        workers[i].routes = calloc((size_t)(nroutes ? nroutes : 1), sizeof(route_slot));
}

void metrics_set_enabled(int on)
{
    enabled = on;
}

/* The single-writer update (owner is a worker loop) or the atomic one. */
static void hist_add(hist_t *h, const bounds_t *b, double seconds, int shared)
{
    size_t i = 0;
    while (i < b->n && seconds > b->le[i])
        i++;
    uint64_t ns = seconds > 0 ? (uint64_t)(seconds * 1e9) : 0;
    if (shared) {
        ADD(h->bucket[i], 1);
        ADD(h->sum_ns, ns);
        ADD(h->count, 1);
    } else {
        BUMP(h->bucket[i], 1);
        BUMP(h->sum_ns, ns);
        BUMP(h->count, 1);
    }
}

void metrics_observe_request(int w, int route, int status, double seconds)
{
    if (!enabled || w < 0 || w >= nworkers || route < 0 || route >= nroutes)
        return;
    route_slot *r = &workers[w].routes[route];
    if (status >= 100 && status < 100 + NSTATUS)
        BUMP(r->status[status - 100], 1);
    hist_add(&r->duration, &http_bounds, seconds, 0);
}

void metrics_in_flight_add(int w, int delta)
{
    if (enabled && w >= 0 && w < nworkers)
        BUMP(workers[w].in_flight, delta);
}

/* The slot of name, registering it (as type) on first use; NULL if full. */
static named_t *named_slot(const char *name, const char *type)
{
    int n = __atomic_load_n(&nnamed, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (named[i].name == name || strcmp(named[i].name, name) == 0)
            return &named[i];
    pthread_mutex_lock(&named_mutex);
    int i;
    for (i = 0; i < nnamed; i++)
        if (strcmp(named[i].name, name) == 0)
            break;
    if (i == nnamed && nnamed < MAX_NAMED) {
        named[i].name = name;
        named[i].type = type;
        named[i].help = "";
        __atomic_store_n(&nnamed, nnamed + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&named_mutex);
    return i < MAX_NAMED ? &named[i] : NULL;
}

void metrics_count(const char *name, long n)
{
    named_t *s = enabled ? named_slot(name, "counter") : NULL;
    if (s != NULL)
        ADD(s->value, n);
}

void metrics_gauge_add(const char *name, long delta)
{
    named_t *s = enabled ? named_slot(name, "gauge") : NULL;
    if (s != NULL)
        ADD(s->value, delta);
}

void metrics_gauge_set(const char *name, long value)
{
    named_t *s = enabled ? named_slot(name, "gauge") : NULL;
    if (s != NULL)
        __atomic_store_n(&s->value, value, __ATOMIC_RELAXED);
}

void metrics_store_op_name(int op, const char *name)
{
    if (op >= 0 && op < MAX_OPS)
        op_names[op] = name;
}

void metrics_observe_store(int op, int failed, double seconds)
{
    if (!enabled || op < 0 || op >= MAX_OPS)
        return;
    int w = server_worker_index();
    int shared = w < 0 || w >= nworkers;
    store_slot *s = shared ? &shared_store[op] : &workers[w].store[op];
    hist_add(&s->latency, &fast_bounds, seconds, shared);
    if (failed && shared)
        ADD(s->failed, 1);
    else if (failed)
        BUMP(s->failed, 1);
}

void metrics_observe_pubsub_lag(double seconds)
{
    if (enabled)
        hist_add(&pubsub_lag, &fast_bounds, seconds, 1);
}

long long metrics_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

void metrics_observe_pubsub_lag_since(long long published_us)
{
    if (published_us > 0) {
        long long lag = metrics_now_us() - published_us;
        metrics_observe_pubsub_lag(lag > 0 ? (double)lag / 1e6 : 0);
    }
}

void metrics_add_collector(void (*fn)(textbuf *t))
{
    if (ncollectors < MAX_COLLECTORS)
        collectors[ncollectors++] = fn;
}

/* --- rendering ---------------------------------------------------------- */

static void hist_sum(hist_t *out, const hist_t *h)
{
    for (size_t b = 0; b <= MAX_BUCKETS; b++)
        out->bucket[b] += LOAD(h->bucket[b]);
    out->sum_ns += LOAD(h->sum_ns);
    out->count += LOAD(h->count);
}

/* One histogram's series; labels is "" or `a="x",b="y"`. */
static void render_hist(textbuf *t, const char *name, const char *labels, const hist_t *h, const bounds_t *b)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cum = 0;
    for (size_t i = 0; i < b->n; i++) {
        cum += h->bucket[i];
        textbuf_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, b->le[i], (unsigned long long)cum);
    }
    textbuf_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)h->count);
    textbuf_printf(t, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
                   (double)h->sum_ns / 1e9);
    textbuf_printf(t, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
                   (unsigned long long)h->count);
}

static void sum_route(int route, route_slot *out)
{
    memset(out, 0, sizeof(*out));
    for (int w = 0; w < nworkers; w++) {
        route_slot *r = &workers[w].routes[route];
        for (int s = 0; s < NSTATUS; s++)
            out->status[s] += LOAD(r->status[s]);
        hist_sum(&out->duration, &r->duration);
    }
}

static void render_requests(textbuf *t, route_slot *sums)
{
    textbuf_printf(t, "# HELP http_requests_total HTTP requests by method, route template and status.\n"
                      "# TYPE http_requests_total counter\n");
    for (int i = 0; i < nroutes; i++)
        for (int s = 0; s < NSTATUS; s++)
            if (sums[i].status[s])
                textbuf_printf(t, "http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                               routes[i].method, routes[i].name, s + 100, (unsigned long long)sums[i].status[s]);
}

static void render_durations(textbuf *t, route_slot *sums)
{
    textbuf_printf(t, "# HELP http_request_duration_seconds Time from routing to the end of the response.\n"
                      "# TYPE http_request_duration_seconds histogram\n");
    for (int i = 0; i < nroutes; i++) {
        if (sums[i].duration.count == 0)
            continue;
        char labels[320];
        int n = snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"", routes[i].method, routes[i].name);
        if (n < 0 || (size_t)n >= sizeof(labels))
            continue;
        render_hist(t, "http_request_duration_seconds", labels, &sums[i].duration, &http_bounds);
    }
}

static void render_store(textbuf *t)
{
    store_slot sums[MAX_OPS];
    memset(sums, 0, sizeof(sums));
    for (int op = 0; op < MAX_OPS; op++) {
        for (int w = 0; w <= nworkers; w++) {
            const store_slot *s = w < nworkers ? &workers[w].store[op] : &shared_store[op];
            hist_sum(&sums[op].latency, &s->latency);
            sums[op].failed += LOAD(s->failed);
        }
    }
    textbuf_printf(t, "# HELP tixin_store_call_duration_seconds Store calls from submit to completion, by operation.\n"
                      "# TYPE tixin_store_call_duration_seconds histogram\n");
    for (int op = 0; op < MAX_OPS; op++) {
        if (op_names[op] == NULL || sums[op].latency.count == 0)
            continue;
        char labels[96];
        snprintf(labels, sizeof(labels), "op=\"%s\"", op_names[op]);
        render_hist(t, "tixin_store_call_duration_seconds", labels, &sums[op].latency, &fast_bounds);
    }
    textbuf_printf(t, "# HELP tixin_store_errors_total Store calls that failed in the store (internal or unavailable).\n"
                      "# TYPE tixin_store_errors_total counter\n");
    for (int op = 0; op < MAX_OPS; op++)
        if (op_names[op] != NULL)
            textbuf_printf(t, "tixin_store_errors_total{op=\"%s\"} %llu\n", op_names[op],
                           (unsigned long long)sums[op].failed);
}

static void render_pubsub(textbuf *t)
{
    hist_t h;
    memset(&h, 0, sizeof(h));
    hist_sum(&h, &pubsub_lag);
    textbuf_printf(t, "# HELP tixin_pubsub_delivery_lag_seconds From a seat change's commit to its delivery to a "
                      "subscriber loop.\n# TYPE tixin_pubsub_delivery_lag_seconds histogram\n");
    render_hist(t, "tixin_pubsub_delivery_lag_seconds", "", &h, &fast_bounds);
}

/* "Threads:" from /proc/self/status; statm's size and resident pages. */
static long proc_threads(void)
{
    char line[256];
    long n = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

static void proc_memory(long *virt, long *resident)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            pages = res = 0;
        fclose(f);
    }
    *virt = pages * sysconf(_SC_PAGESIZE);
    *resident = res * sysconf(_SC_PAGESIZE);
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (d == NULL)
        return 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own fd */
}

static void gauge(textbuf *t, const char *name, const char *help, double v)
{
    textbuf_printf(t, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void render_process(textbuf *t)
{
    struct rusage ru;
    struct rlimit rl;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    int64_t in_flight = 0;
    for (int w = 0; w < nworkers; w++)
        in_flight += LOAD(workers[w].in_flight);
    long virt, resident;
    proc_memory(&virt, &resident);
    gauge(t, "http_requests_in_flight", "Requests being served now.", (double)in_flight);
    gauge(t, "process_resident_memory_bytes", "Resident memory size in bytes.", (double)resident);
    gauge(t, "process_virtual_memory_bytes", "Virtual memory size in bytes.", (double)virt);
    gauge(t, "process_open_fds", "Number of open file descriptors.", (double)open_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(t, "process_max_fds", "Maximum number of open file descriptors.", (double)rl.rlim_cur);
    gauge(t, "process_threads", "Number of OS threads in the process.", (double)proc_threads());
    gauge(t, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", start_time);
    textbuf_printf(t, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.3f\n", cpu);
    textbuf_printf(t, "# HELP tixin_build_info The running build (always 1).\n# TYPE tixin_build_info gauge\n"
                      "tixin_build_info{version=\"%s\"} 1\n", TIXIN_VERSION);
}

/* A counter counted in microseconds (name ending in _microseconds_total,
 * integer adds on hot paths) is exposed in Prometheus' base unit: the same
 * name ending in _seconds_total, value / 1e6. */
static void render_named(textbuf *t)
{
    static const char us[] = "_microseconds_total";
    int n = __atomic_load_n(&nnamed, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++) {
        const named_t *s = &named[i];
        size_t len = strlen(s->name);
        if (len > sizeof(us) - 1 && strcmp(s->name + len - (sizeof(us) - 1), us) == 0) {
            int base = (int)(len - (sizeof(us) - 1));
            textbuf_printf(t, "# HELP %.*s_seconds_total %s\n", base, s->name, help_of(s));
            textbuf_printf(t, "# TYPE %.*s_seconds_total %s\n%.*s_seconds_total %.6f\n", base, s->name, s->type,
                           base, s->name, (double)LOAD(s->value) / 1e6);
            continue;
        }
        textbuf_printf(t, "# HELP %s %s\n", s->name, help_of(s));
        textbuf_printf(t, "# TYPE %s %s\n%s %ld\n", s->name, s->type, s->name, LOAD(s->value));
    }
}

char *metrics_render(size_t *len)
{
    textbuf t;
    if (textbuf_init(&t, 65536) != 0)
        return NULL;
    route_slot *sums = calloc((size_t)(nroutes ? nroutes : 1), sizeof(*sums));
    if (sums != NULL) {
        for (int i = 0; i < nroutes && workers; i++)
            sum_route(i, &sums[i]);
        render_requests(&t, sums);
        render_durations(&t, sums);
        free(sums);
    }
    if (workers != NULL)
        render_store(&t);
    render_pubsub(&t);
    render_process(&t);
    render_named(&t);
    for (int i = 0; i < ncollectors; i++)
        collectors[i](&t);
    return textbuf_take(&t, len);
}
