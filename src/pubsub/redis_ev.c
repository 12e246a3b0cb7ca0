/*
 * redis_ev.c - the hiredis <-> h2o evloop adapter.
 *
 * h2o sockets own their descriptor (h2o_socket_close() closes it) and read
 * into their own buffer; hiredis also owns its descriptor (redisAsyncFree()
 * closes it) and wants to read itself. So the h2o socket gets a dup() of
 * hiredis' descriptor (each side closes its own; the kernel object lives
 * until both are closed, and epoll reports on it through the dup) and is
 * created with H2O_SOCKET_FLAG_DONT_READ, which makes h2o only *notify*
 * readability: hiredis then reads from its own descriptor.
 * Writability is h2o_socket_notify_write(), which is one-shot: addWrite
 * arms it, delWrite only forgets the wish (a notification that arrives
 * unwanted is ignored), and hiredis re-arms it when it has more to write.
 * Everything runs on the loop's thread.
 */
#include "pubsub/redis_ev.h"

#include <stdlib.h>
#include <unistd.h>

typedef struct {
    redisAsyncContext *ac;
    h2o_socket_t *sock;
    int reading, write_wanted, write_armed;
} redis_ev;

/* hiredis may free ac (and so us, through cleanup) inside either handler:
 * nothing of a is touched after the call into hiredis. */
static void on_readable(h2o_socket_t *sock, const char *err)
{
    redis_ev *a = sock->data;
    redisAsyncHandleRead(a->ac);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    redis_ev *a = sock->data;
    a->write_armed = 0;
    if (a->write_wanted)
        redisAsyncHandleWrite(a->ac);
}

static void add_read(void *p)
{
    redis_ev *a = p;
    if (!a->reading) {
        a->reading = 1;
        h2o_socket_read_start(a->sock, on_readable);
    }
}

static void del_read(void *p)
{
    redis_ev *a = p;
    if (a->reading) {
        a->reading = 0;
        h2o_socket_read_stop(a->sock);
    }
}

static void add_write(void *p)
{
    redis_ev *a = p;
    a->write_wanted = 1;
    if (!a->write_armed) {
        a->write_armed = 1;
        h2o_socket_notify_write(a->sock, on_writable);
    }
}

static void del_write(void *p)
{
    ((redis_ev *)p)->write_wanted = 0;
}

static void cleanup(void *p)
{
    redis_ev *a = p;
    del_read(a);
    h2o_socket_close(a->sock);
    free(a);
}

int redis_ev_attach(h2o_evloop_t *loop, redisAsyncContext *ac)
{
    if (ac->ev.data != NULL)
        return -1;
    int fd = dup(ac->c.fd);
    if (fd < 0)
        return -1;
    redis_ev *a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    a->ac = ac;
    a->sock = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    a->sock->data = a;
    ac->ev.data = a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}
