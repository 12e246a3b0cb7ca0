/*
 * metrics.c - Prometheus text for GET /metrics.
 *
 * Each worker loop owns its counters outright (single writer, relaxed
 * atomic stores that compile to plain moves), so recording a request
 * costs a few increments and no lock. A scrape sums every worker's slots;
 * it may see a request counted in the total but not yet in the histogram,
 * which Prometheus tolerates. Statuses are indexed directly (100..599),
 * trading some memory per route for no lookup on the hot path.
 */
#include "ops/metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_ROUTES 160
#define NSTATUS 500 /* 100..599 */
#define MAX_COUNTERS 64

static const double bucket_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof(bucket_le) / sizeof(bucket_le[0]))

typedef struct {
    uint64_t status[NSTATUS];
    uint64_t bucket[NBUCKETS + 1]; /* last: +Inf */
    uint64_t sum_ns;
    uint64_t count;
} route_slot;

typedef struct {
    route_slot *routes; /* [nroutes] */
    int64_t in_flight;
} worker_slot;

static struct {
    char method[8];
    char *name;
} routes[MAX_ROUTES];
static int nroutes;

static worker_slot *workers;
static int nworkers;
static double start_time;

static struct {
    const char *name;
    long value;
} counters[MAX_COUNTERS];
static int ncounters;
static pthread_mutex_t counters_mutex = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void record_start_time(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    start_time = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BUMP(x, n) __atomic_store_n(&(x), LOAD(x) + (n), __ATOMIC_RELAXED)

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

void metrics_observe_request(int w, int route, int status, double seconds)
{
    if (w < 0 || w >= nworkers || route < 0 || route >= nroutes)
        return;
    route_slot *r = &workers[w].routes[route];
    if (status >= 100 && status < 100 + NSTATUS)
        BUMP(r->status[status - 100], 1);
    size_t b = 0;
    while (b < NBUCKETS && seconds > bucket_le[b])
        b++;
    BUMP(r->bucket[b], 1);
    BUMP(r->sum_ns, (uint64_t)(seconds * 1e9));
    BUMP(r->count, 1);
}

void metrics_in_flight_add(int w, int delta)
{
    if (w >= 0 && w < nworkers)
        BUMP(workers[w].in_flight, delta);
}

void metrics_count(const char *name, long n)
{
    for (int i = 0; i < __atomic_load_n(&ncounters, __ATOMIC_ACQUIRE); i++) {
        if (counters[i].name == name || strcmp(counters[i].name, name) == 0) {
            __atomic_add_fetch(&counters[i].value, n, __ATOMIC_RELAXED);
            return;
        }
    }
    pthread_mutex_lock(&counters_mutex);
    int i;
    for (i = 0; i < ncounters; i++)
        if (strcmp(counters[i].name, name) == 0)
            break;
    if (i == ncounters && ncounters < MAX_COUNTERS) {
        counters[i].name = name;
        __atomic_store_n(&ncounters, ncounters + 1, __ATOMIC_RELEASE);
    }
    if (i < ncounters)
        __atomic_add_fetch(&counters[i].value, n, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&counters_mutex);
}

/* --- rendering ---------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
} text_t;

__attribute__((format(printf, 2, 3))) static void emit(text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *nb = realloc(t->buf, cap);
        if (nb == NULL)
            return;
        t->buf = nb, t->cap = cap;
    }
}

static void sum_route(int route, route_slot *out)
{
    memset(out, 0, sizeof(*out));
    for (int w = 0; w < nworkers; w++) {
        route_slot *r = &workers[w].routes[route];
        for (int s = 0; s < NSTATUS; s++)
            out->status[s] += LOAD(r->status[s]);
        for (size_t b = 0; b <= NBUCKETS; b++)
            out->bucket[b] += LOAD(r->bucket[b]);
        out->sum_ns += LOAD(r->sum_ns);
        out->count += LOAD(r->count);
    }
}

static void render_requests(text_t *t, route_slot *sums)
{
    emit(t, "# HELP http_requests_total HTTP requests by method, route template and status.\n"
            "# TYPE http_requests_total counter\n");
    for (int i = 0; i < nroutes; i++)
        for (int s = 0; s < NSTATUS; s++)
            if (sums[i].status[s])
                emit(t, "http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n", routes[i].method,
                     routes[i].name, s + 100, (unsigned long long)sums[i].status[s]);
}

static void render_durations(text_t *t, route_slot *sums)
{
    emit(t, "# HELP http_request_duration_seconds Time from routing to the end of the response.\n"
            "# TYPE http_request_duration_seconds histogram\n");
    for (int i = 0; i < nroutes; i++) {
        if (sums[i].count == 0)
            continue;
        const char *m = routes[i].method, *r = routes[i].name;
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += sums[i].bucket[b];
            emit(t, "http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n", m, r,
                 bucket_le[b], (unsigned long long)cum);
        }
        emit(t, "http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n", m, r,
             (unsigned long long)sums[i].count);
        emit(t, "http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", m, r,
             (double)sums[i].sum_ns / 1e9);
        emit(t, "http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n", m, r,
             (unsigned long long)sums[i].count);
    }
}

static long resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
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

static void render_process(text_t *t)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    int64_t in_flight = 0;
    for (int w = 0; w < nworkers; w++)
        in_flight += LOAD(workers[w].in_flight);
    emit(t, "# HELP http_requests_in_flight Requests being served now.\n# TYPE http_requests_in_flight gauge\n"
            "http_requests_in_flight %lld\n", (long long)in_flight);
    emit(t, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n", resident_bytes());
    emit(t, "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n", open_fds());
    emit(t, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.3f\n", start_time);
    emit(t, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.3f\n", cpu);
    emit(t, "# HELP tixin_build_info The running build.\n# TYPE tixin_build_info gauge\n"
            "tixin_build_info{version=\"%s\"} 1\n", TIXIN_VERSION);
}

static void render_counters(text_t *t)
{
    int n = __atomic_load_n(&ncounters, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        emit(t, "# TYPE %s counter\n%s %ld\n", counters[i].name, counters[i].name,
             __atomic_load_n(&counters[i].value, __ATOMIC_RELAXED));
}

char *metrics_render(size_t *len)
{
    text_t t = {malloc(16384), 0, 16384};
    if (t.buf == NULL)
        return NULL;
    t.buf[0] = '\0';
    route_slot *sums = calloc((size_t)(nroutes ? nroutes : 1), sizeof(*sums));
    if (sums != NULL) {
        for (int i = 0; i < nroutes && workers; i++)
            sum_route(i, &sums[i]);
        render_requests(&t, sums);
        render_durations(&t, sums);
        free(sums);
    }
    render_process(&t);
    render_counters(&t);
    *len = t.len;
    return t.buf;
}
