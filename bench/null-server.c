/*
 * null-server.c - the cheapest server that bench/mix.lua can be run
 * against: the benchmark's own ceiling on this machine (bench/run
 * --ceiling).
 *
 * Why it exists: wrk and its Lua mix run on the same cores as the server
 * they measure, so some rate is out of reach whatever the server does.
 * This program answers each request of the mix with canned bytes shaped
 * like Tixin's answers (same status, same headers, bodies of the same
 * sizes as the gzipped ones, a hold's 201 naming the request's first seat
 * so that the mix releases it), without a store, JSON or gzip. What wrk
 * reaches against it is the most bench/run can ever print here.
 *
 * Design: one thread per CPU, each with its own SO_REUSEPORT listener and
 * epoll set (the kernel spreads connections over the listeners); every
 * connection has one fixed buffer for the request in progress. Keep-alive,
 * no pipelining (wrk waits for each answer). Not part of tixin: it lives
 * in bench/ and is built by `make bench`.
 *
 *   build/bench-null-server PORT [THREADS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX 8192
#define EVENTS 256

typedef struct {
    int fd;
    size_t len;         /* bytes of the request in progress in buf */
    char buf[REQ_MAX];
} conn;

static int port;

/* Tixin's headers, in its order; the bodies have the sizes of its gzipped
 * answers to the bench's reads (list 444, event 537, compact seats 1,290
 * bytes) and of a 2-seat hold (187). */
#define HEAD "Date: Thu, 26 Nov 2026 18:00:00 GMT\r\nConnection: keep-alive\r\nContent-Length: %zu\r\n" \
             "Server: tixin\r\nx-request-id: 0123456789abcdef\r\n"
#define JSON "content-type: application/json; charset=utf-8\r\n"
#define GZ "vary: accept-encoding\r\ncontent-encoding: gzip\r\n"

static char filler[2048];

static void on_term(int sig)
{
    (void)sig;
    _exit(0); /* bench/run stops servers with SIGTERM; nothing to drain */
}

/* Writes one answer for the request in c->buf (its head ends at head_end);
 * 0, or -1 when the connection is to be closed. */
static int answer(conn *c, const char *head_end)
{
    char out[4096];
    int n;
    const char *req = c->buf;
    if (strncmp(req, "POST ", 5) == 0) { /* a hold */
        const char *s = memmem(head_end, (size_t)(c->buf + c->len - head_end), "\"seats\":[\"", 10);
        const char *e = s != NULL ? memchr(s + 10, '"', (size_t)(c->buf + c->len - s - 10)) : NULL;
        int seat_len = e != NULL ? (int)(e - s - 10) : 0;
        char body[512];
        int blen = snprintf(body, sizeof(body),
                            "{\"id\":\"hld_23naehyzc9ampx9gpgeb\",\"event_id\":\"evt_9vanisf3fxw5zprd4f6a\","
                            "\"seats\":[\"%.*s\",\"A-1-2\"],\"total_cents\":4000,\"currency\":\"EUR\","
                            "\"expires_at\":\"2026-11-26T18:05:26Z\",\"status\":\"active\"}",
                            seat_len, seat_len ? s + 10 : "");
        n = snprintf(out, sizeof(out), "HTTP/1.1 201 Created\r\n" HEAD JSON "\r\n%s", (size_t)blen, body);
    } else if (strncmp(req, "DELETE ", 7) == 0) {
        n = snprintf(out, sizeof(out), "HTTP/1.1 204 No Content\r\n" HEAD "\r\n", (size_t)0);
    } else {
        size_t blen = 2;
        const char *extra = "";
        if (strncmp(req, "GET /api/v1/events/", 19) == 0) {
            const char *sp = memchr(req + 4, ' ', (size_t)(head_end - req - 4));
            int seats = sp != NULL && memmem(req, (size_t)(sp - req), "/seats", 6) != NULL;
            blen = seats ? 1290 : 537;
            extra = seats ? "etag: \"v1-c\"\r\ncache-control: no-cache\r\n" JSON GZ : JSON GZ;
        } else if (strncmp(req, "GET /api/v1/events ", 19) == 0) {
            blen = 444;
            extra = JSON GZ;
        }
        n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n" HEAD "%s\r\n%.*s", blen, extra, (int)blen, filler);
    }
    if (n <= 0 || (size_t)n >= sizeof(out))
        return -1;
    return write(c->fd, out, (size_t)n) == n ? 0 : -1;
}

/* The request's total length once its head (and body, by Content-Length)
 * is in, else 0. */
static size_t complete(const conn *c, const char **head_end)
{
    const char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (e == NULL)
        return 0;
    *head_end = e + 4;
    size_t body = 0;
    const char *cl = memmem(c->buf, (size_t)(e - c->buf), "Content-Length:", 15);
    if (cl != NULL)
        body = strtoul(cl + 15, NULL, 10);
    size_t total = (size_t)(*head_end - c->buf) + body;
    return total <= c->len ? total : 0;
}

/* Reads what is there and answers every complete request: 0, or -1 when
 * the connection is done. */
static int on_readable(conn *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (r == 0)
            return -1;
        if (r < 0)
            return errno == EAGAIN ? 0 : -1;
        c->len += (size_t)r;
        const char *head_end;
        size_t total;
        while ((total = complete(c, &head_end)) > 0) {
            if (answer(c, head_end) != 0)
                return -1;
            memmove(c->buf, c->buf + total, c->len - total);
            c->len -= total;
        }
        if (c->len == sizeof(c->buf))
            return -1; /* a request bigger than the mix ever sends */
    }
}

static int listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* SO_REUSEADDR: the port may be the local end of a TIME_WAIT left by
     * an earlier run's wrk (bench/run picks ports in the ephemeral range). */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4096) != 0) {
        perror("null-server: listen");
        exit(1);
    }
    return fd;
}

static void accept_all(int ep, int lfd)
{
    int fd, on = 1;
    while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        conn *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
        }
    }
}

static void *serve(void *arg)
{
    (void)arg;
    int lfd = listener(), ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[EVENTS];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
        perror("null-server: epoll");
        exit(1);
    }
    for (;;) {
        int n = epoll_wait(ep, evs, EVENTS, -1);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c == NULL) {
                accept_all(ep, lfd);
            } else if (on_readable(c) != 0) {
                close(c->fd);
                free(c);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (port = atoi(argv[1])) <= 0) {
        fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
        return 2;
    }
    long threads = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    memset(filler, 'x', sizeof(filler));
    for (long i = 1; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, serve, NULL) != 0) {
            perror("null-server: thread");
            return 1;
        }
    }
    serve(NULL);
    return 0;
}
