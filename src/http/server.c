/*
 * server.c - the listening socket, the worker loops and graceful shutdown.
 *
 * Each of the N worker threads has its own listening socket on the same
 * address (SO_REUSEPORT), its own h2o evloop and context (one shared
 * globalconf) and one h2o_multithread queue carrying two receivers:
 * finished tasks coming back (core/task.h) and control messages from the
 * main thread. Own sockets, because with one shared socket whichever loop
 * woke first took the new connections: 1,000 connections were split about
 * 1:2 between two loops, so one loop queued twice the work of the other.
 * The kernel spreads connections over a SO_REUSEPORT group by a hash of
 * their addresses. A probe bind without SO_REUSEPORT first keeps "address
 * in use" an error: a second tixin on the same port would otherwise join
 * the group and silently take half the connections.
 *
 * Signals are never handled asynchronously: SIGTERM/SIGINT are blocked in
 * every thread (main blocks them before starting any thread) and the main
 * thread sigwait()s for them. It then posts a "drain" message to every
 * loop: stop accepting, run the stop hooks, let h2o close keep-alive
 * connections after their current response, and keep running until this
 * worker's routed requests and async work are done (or 10 s passed). Idle
 * connections are then shut down so h2o frees them, and the loop exits.
 */
#include "http/internal.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdio.h>
#include "core/gzip.h"
#include "core/log.h"
#include "core/task.h"
#include "ops/metrics.h"
#include "ops/obs.h"

#define MAX_HOOKS 8
#define ACCEPT_BATCH 16
#define DRAIN_TIMEOUT_MS 10000
#define CLOSE_IDLE_TIMEOUT_MS 1000

typedef struct {
    int index;
    pthread_t thread;
    int listen_fd;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t task_receiver;
    h2o_multithread_receiver_t control_receiver;
    h2o_multithread_message_t drain_msg;
    /* touched by the loop thread only */
    long inflight;   /* routed requests not yet disposed */
    long pending;    /* async work not yet back */
    int draining;
    uint64_t drain_deadline;
    int started;
} worker_t;

static h2o_globalconf_t globalconf;
static worker_t *workers;
static int nworkers;
static volatile int draining_flag;
static __thread int my_index = -1;

static server_worker_hook start_hooks[MAX_HOOKS], stop_hooks[MAX_HOOKS];
static int nstart_hooks, nstop_hooks;

void server_on_worker_start(server_worker_hook fn)
{
    if (nstart_hooks < MAX_HOOKS)
        start_hooks[nstart_hooks++] = fn;
}

void server_on_worker_stop(server_worker_hook fn)
{
    if (nstop_hooks < MAX_HOOKS)
        stop_hooks[nstop_hooks++] = fn;
}

int server_worker_count(void)
{
    return nworkers;
}

int server_worker_index(void)
{
    return my_index;
}

int server_draining(void)
{
    return __atomic_load_n(&draining_flag, __ATOMIC_RELAXED);
}

void server_inflight_add(int worker, int delta)
{
    if (worker < 0 || worker >= nworkers)
        return;
    workers[worker].inflight += delta;
    metrics_in_flight_add(worker, delta);
}

void server_pending_add(int worker, int delta)
{
    if (worker >= 0 && worker < nworkers)
        workers[worker].pending += delta;
}

/* --- listening ---------------------------------------------------------- */

/* close() that leaves errno to the failure being reported. */
static void close_keeping_errno(int fd)
{
    int e = errno;
    if (fd != -1)
        close(fd);
    errno = e;
}

static int listen_socket(const struct sockaddr *addr, socklen_t len, int reuseport)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) || bind(fd, addr, len) != 0 ||
        listen(fd, 4096) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        close_keeping_errno(fd);
        return -1;
    }
    return fd;
}

/* n sockets listening on the address, in one SO_REUSEPORT group, after a
 * probe that fails if anything listens there already and that picks the
 * port for all when the address says port 0 (*bound: the address as
 * bound). 0, or -1 with none open. */
static int open_group(const struct sockaddr *addr, socklen_t len, int *fds, int n, struct sockaddr_storage *bound)
{
    socklen_t blen = sizeof(*bound);
    int probe = listen_socket(addr, len, 0);
    if (probe == -1 || getsockname(probe, (struct sockaddr *)bound, &blen) != 0) {
        close_keeping_errno(probe);
        return -1;
    }
    close(probe);
    for (int i = 0; i < n; i++) {
        fds[i] = listen_socket((struct sockaddr *)bound, blen, 1);
        if (fds[i] == -1) {
            while (i-- > 0)
                close_keeping_errno(fds[i]);
            return -1;
        }
    }
    return 0;
}

/* "host:port" of a bound address (numeric). */
static void format_address(const struct sockaddr_storage *a, char *out, size_t len)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    socklen_t alen = a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo((const struct sockaddr *)a, alen, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, len, "?");
    else
        snprintf(out, len, a->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* "host:port" or "[v6]:port" or ":port": n listening fds into fds and the
 * address as bound ("host:port", the port picked for port 0) into bound;
 * 0 or -1. */
static int open_listeners(const char *listen_addr, int *fds, int n, char *bound, size_t bound_len)
{
    char host[256];
    const char *colon = strrchr(listen_addr, ':');
    if (colon == NULL || (size_t)(colon - listen_addr) >= sizeof(host)) {
        log_msg(LOG_ERROR, "bad listen address %s (want HOST:PORT)", listen_addr);
        return -1;
    }
    memcpy(host, listen_addr, (size_t)(colon - listen_addr));
    host[colon - listen_addr] = '\0';
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']')
        h[strlen(h) - 1] = '\0', h++;

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int rc = getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &res);
    if (rc != 0) {
        log_msg(LOG_ERROR, "cannot resolve %s: %s", listen_addr, gai_strerror(rc));
        return -1;
    }
    struct sockaddr_storage a;
    rc = open_group(res->ai_addr, res->ai_addrlen, fds, n, &a);
    if (rc != 0)
        log_msg(LOG_ERROR, "cannot listen on %s: %s", listen_addr, strerror(errno));
    else
        format_address(&a, bound, bound_len);
    freeaddrinfo(res);
    return rc;
}

/* Accept at most max pending connections (h2o takes one per call). */
static void accept_some(worker_t *w, int max)
{
    h2o_socket_t *sock;
    for (int i = 0; i < max && (sock = h2o_evloop_socket_accept(w->listener)) != NULL; i++)
        h2o_accept(&w->accept_ctx, sock);
}

/* At most ACCEPT_BATCH per wake-up, so that a burst of connections does
 * not hold up the requests of this loop (the listener is level-triggered:
 * the rest comes at the next turn). */
static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err == NULL)
        accept_some(listener->data, ACCEPT_BATCH);
}

/* The kernel queued connections on this loop's own socket, and no other
 * loop can take them: they are accepted (and answered with "Connection:
 * close") before the socket closes, not reset. */
static void close_listener(worker_t *w)
{
    if (w->listener == NULL)
        return;
    accept_some(w, INT32_MAX);
    h2o_socket_read_stop(w->listener);
    h2o_socket_close(w->listener);
    w->listener = NULL;
}

/* --- draining ----------------------------------------------------------- */

static void on_control(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, control_receiver, receiver);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    if (w->draining)
        return;
    w->draining = 1;
    w->drain_deadline = h2o_now(w->loop) + DRAIN_TIMEOUT_MS;
    close_listener(w);
    for (int i = 0; i < nstop_hooks; i++)
        stop_hooks[i](&w->ctx, w->index);
    h2o_context_request_shutdown(&w->ctx); /* next responses say Connection: close */
}

static int shutdown_conn_socket(h2o_req_t *req, void *cbdata)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    if (sock != NULL)
        shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
    return 0;
}

/* Make h2o free the connections still open (idle keep-alives, or requests
 * past the deadline): a shut-down socket reads EOF and h2o closes it. */
static void close_remaining_connections(worker_t *w)
{
    if (globalconf.http1.callbacks.foreach_request != NULL)
        globalconf.http1.callbacks.foreach_request(&w->ctx, shutdown_conn_socket, NULL);
    uint64_t deadline = h2o_now(w->loop) + CLOSE_IDLE_TIMEOUT_MS;
    while (!h2o_linklist_is_empty(&w->ctx.http1._conns) && h2o_now(w->loop) < deadline)
        h2o_evloop_run(w->loop, 50);
}

static int drained(worker_t *w)
{
    if (w->inflight == 0 && w->pending == 0)
        return 1;
    if (h2o_now(w->loop) < w->drain_deadline)
        return 0;
    log_msg(LOG_WARN, "worker %d: drain timeout with %ld requests and %ld jobs in flight", w->index, w->inflight,
            w->pending);
    return 1;
}

/* --- the worker thread -------------------------------------------------- */

static void worker_setup(worker_t *w)
{
    my_index = w->index;
    w->loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, w->loop, &globalconf);
    w->accept_ctx = (h2o_accept_ctx_t){.ctx = &w->ctx, .hosts = globalconf.hosts};
    w->queue = h2o_multithread_create_queue(w->loop);
    h2o_multithread_register_receiver(w->queue, &w->task_receiver, task_receive);
    h2o_multithread_register_receiver(w->queue, &w->control_receiver, on_control);
    task_set_current_receiver(&w->task_receiver);
    accesslog_worker_start(w->index, w->loop);
    for (int i = 0; i < nstart_hooks; i++)
        start_hooks[i](&w->ctx, w->index);
    w->listener = h2o_evloop_socket_create(w->loop, w->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    w->listener->data = w;
    h2o_socket_read_start(w->listener, on_accept);
}

static void worker_teardown(worker_t *w)
{
    close_remaining_connections(w);
    accesslog_worker_stop(w->index);
    gzip_thread_done(); /* this loop's compressor */
    if (w->pending > 0) {
        /* the store or the pool will still send these home: keep the
         * queue and its receivers (and so this worker) alive until exit */
        log_msg(LOG_WARN, "worker %d: leaving %ld unfinished jobs to the exit", w->index, w->pending);
        return;
    }
    task_set_current_receiver(NULL);
    h2o_multithread_unregister_receiver(w->queue, &w->task_receiver);
    h2o_multithread_unregister_receiver(w->queue, &w->control_receiver);
    /* h2o_context_request_shutdown() armed HTTP/2's GOAWAY timer even
     * though we never speak HTTP/2; disposing a context with it linked
     * trips an assertion */
    if (h2o_timeout_is_linked(&w->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&w->ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&w->ctx);
    h2o_multithread_destroy_queue(w->queue);
    free(w->queue); /* 2.2.5's evloop destroy_queue closes but never frees it */
    /* run once more so sockets closed above are really released */
    h2o_evloop_run(w->loop, 0);
    h2o_evloop_destroy(w->loop);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "tixin-http%d", w->index);
    pthread_setname_np(pthread_self(), name);
    worker_setup(w);
    while (!(w->draining && drained(w)))
        h2o_evloop_run(w->loop, w->draining ? 100 : INT32_MAX);
    worker_teardown(w);
    return NULL;
}

/* --- configuration and the main thread ---------------------------------- */

static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    router_request_end(req);
}

/* A logger is h2o's hook for "this request is being disposed of". */
static void add_request_end_hook(h2o_pathconf_t *pathconf)
{
    h2o_logger_t *logger = h2o_create_logger(pathconf, sizeof(*logger));
    logger->on_context_init = NULL;
    logger->on_context_dispose = NULL;
    logger->dispose = NULL;
    logger->log_access = on_log_access;
}

/* idle_timeout_s: h2o 2.2 has one timer for a request's headers and for
 * an idle keep-alive connection. Facing clients, 10 s bounds slow senders.
 * Behind HAProxy it must outlast HAProxy's pool of idle connections to this
 * instance (http-reuse always, pool-purge-delay): when tixin closes one of
 * them as HAProxy sends a request on it, the request is lost and the client
 * gets an error; HAProxy buffers whole request headers anyway (timeout
 * http-request), so there the limit buys nothing. */
static void setup_globalconf(int idle_timeout_s)
{
    h2o_config_init(&globalconf);
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT("tixin"));
    globalconf.max_request_entity_size = HTTP_MAX_BODY;
    globalconf.http1.upgrade_to_http2 = 0; /* HTTP/1.1 only: no h2c */
    globalconf.http1.req_timeout = (uint64_t)idle_timeout_s * 1000;
    h2o_hostconf_t *host = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *root = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(root, sizeof(*handler));
    handler->on_req = router_on_req;
    respond_register_filter(&host->fallback_path);
    add_request_end_hook(root);
    add_request_end_hook(&host->fallback_path); /* h2o's early 413s end there */
}

static void block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int wait_for_stop_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

static void log_listening(const char *addr)
{
    char ts[40], line[512];
    http_log_ts(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line),
                     "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"listening\",\"url\":\"http://%s\",\"threads\":%d}",
                     ts, addr, nworkers);
    if (n > 0 && (size_t)n < sizeof(line))
        log_line(line, (size_t)n);
}

static int start_workers(const config_t *cfg, int *listen_fds)
{
    router_freeze(); /* route labels first: metrics sizes its tables by them */
    metrics_init(nworkers);
    if (obs_start(cfg) != 0)
        return -1;
    accesslog_init(cfg->access_log_every, nworkers);
    for (int i = 0; i < nworkers; i++) {
        workers[i].index = i;
        workers[i].listen_fd = listen_fds[i];
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            log_msg(LOG_ERROR, "cannot start worker %d: %s", i, strerror(errno));
            nworkers = i;
            return -1;
        }
        listen_fds[i] = -1; /* the worker's now */
        workers[i].started = 1;
    }
    return 0;
}

static void stop_workers(void)
{
    __atomic_store_n(&draining_flag, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < nworkers; i++)
        if (workers[i].started)
            h2o_multithread_send_message(&workers[i].control_receiver, &workers[i].drain_msg);
    for (int i = 0; i < nworkers; i++)
        if (workers[i].started)
            pthread_join(workers[i].thread, NULL);
}

static int jobs_left_behind(void)
{
    for (int i = 0; i < nworkers; i++)
        if (workers[i].pending > 0)
            return 1;
    return 0;
}

int server_run(const config_t *cfg)
{
    sigset_t stop_set;
    block_stop_signals(&stop_set);
    setup_globalconf(cfg->idle_timeout_s);
    if (static_load(cfg->web_root) != 0)
        return -1;
    router_set_fallback(static_serve);
    nworkers = cfg->threads > 0 ? cfg->threads : 1;
    workers = calloc((size_t)nworkers, sizeof(*workers));
    int *fds = calloc((size_t)nworkers, sizeof(*fds));
    char addr[NI_MAXHOST + NI_MAXSERV + 4];
    if (workers == NULL || fds == NULL || open_listeners(cfg->listen, fds, nworkers, addr, sizeof(addr)) != 0) {
        free(fds);
        free(workers);
        workers = NULL;
        nworkers = 0;
        return -1;
    }
    int nfds = nworkers, rc = start_workers(cfg, fds);
    for (int i = 0; i < nfds; i++) /* those of workers that did not start */
        if (fds[i] != -1)
            close(fds[i]);
    free(fds);
    if (rc == 0) {
        log_listening(addr);
        int sig = wait_for_stop_signal(&stop_set);
        log_msg(LOG_INFO, "received %s: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    stop_workers();
    obs_stop();
    if (!jobs_left_behind()) {
        free(workers);
        workers = NULL;
        nworkers = 0;
        h2o_config_dispose(&globalconf);
        static_free();
    }
    if (rc == 0)
        log_msg(LOG_INFO, "stopped");
    return rc;
}
