/*
 * live.c - the live seat map: GET /api/v1/events/{id}/live (WebSocket).
 *
 * Why it is shaped this way: a change is published on the store's thread
 * (pubsub), but a WebSocket connection may only be touched by the loop that
 * owns it (h2o is single-threaded per loop). So the pubsub listener renders
 * each change's JSON once (refcounted, shared by every subscriber of every
 * loop), and hands it to each worker loop through that loop's
 * h2o_multithread receiver; on the loop, the change is queued to the
 * event's subscribers there. Nothing here ever looks at another loop's
 * connections, and a message can never reach a freed connection because
 * loops look subscribers up by event at delivery time.
 *
 * Ordering: seatmap.c's listener runs before ours, so the snapshot a new
 * subscriber gets already includes any change whose message is still on
 * its way; each subscriber remembers the version it has seen and skips
 * older messages. A message that skips a version (a change lost between
 * cluster instances) is not sent: the subscriber resyncs from a snapshot
 * instead, and every subscriber of an event gets a fresh snapshot when its
 * seat map is reinstalled (the reload after such a gap, or after Redis
 * came back).
 *
 * h2o 2.2.5 rules kept here (see the team's notes): queue with
 * wslay_event_queue_msg, then one h2o_websocket_proceed; never proceed
 * while conn->sock is NULL (before the 101 is written: h2o flushes the
 * queue itself then); a proceed may close the connection, so check after
 * every proceed (the "busy" guard defers the free); on_msg with NULL means
 * closed. Never proceed from inside on_msg (we are inside wslay there): the
 * surrounding proceed sends what we queued.
 *
 * Backpressure: a subscriber whose queue passes MAX_QUEUED_MSGS or
 * MAX_QUEUED_BYTES stops getting deltas ("lagging"); once its queue has
 * drained it gets a fresh snapshot instead. If it passes the bound while a
 * snapshot is still queued, it is closed (1008). Keep-alive: a ping every
 * 20 s; no frame from the client for 60 s closes the connection.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <h2o/websocket.h>

#include "api/api.h"
#include "ops/metrics.h"
#include "api/live.h"
#include "booking/seatmap.h"
#include "core/log.h"
#include "http/http.h"
#include "http/server.h"
#include "pubsub/pubsub.h"

#define MAX_LOOPS 64
#define TICK_MS 1000
#define PING_EVERY_MS 20000
#define IDLE_CLOSE_MS 60000
#define CLOSING_GRACE_MS 5000
#define MAX_QUEUED_MSGS 64
#define MAX_QUEUED_BYTES (1024 * 1024)
#define RESYNC_AT_MSGS 2        /* a lagging subscriber resyncs once its queue is this short */
#define MAX_CLIENT_MSG 4096

/* --- one change, rendered once ----------------------------------------- */

typedef struct {
    int refcnt;                 /* atomic */
    char event_id[48];
    int64_t version;
    seatmap_body *seats, *tiers;
    int resync;                 /* no change: send subscribers a fresh snapshot */
} live_msg;

static void live_msg_unref(live_msg *m)
{
    if (m == NULL || __atomic_sub_fetch(&m->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    seatmap_body_unref(m->seats);
    seatmap_body_unref(m->tiers);
    free(m);
}

static live_msg *live_msg_new(const pubsub_change *c)
{
    live_msg *m = calloc(1, sizeof(*m));
    if (m == NULL)
        abort();
    if (seatmap_render_change(c, &m->seats, &m->tiers) != 0) {
        free(m);
        return NULL;
    }
    m->refcnt = 1;
    memcpy(m->event_id, c->event_id, sizeof(m->event_id));
    m->version = c->version;
    return m;
}

/* What travels to a loop: one per loop per change. */
typedef struct {
    h2o_multithread_message_t super;
    live_msg *m;                /* one reference */
} live_envelope;

/* --- per-loop state ------------------------------------------------------ */

typedef struct {
    h2o_context_t *ctx;
    h2o_multithread_receiver_t receiver;
    h2o_linklist_t groups;      /* live_group, one per event with subscribers */
    h2o_timeout_t tick_timeout;
    h2o_timeout_entry_t tick;
    int stopping;
} live_loop;

typedef struct {
    h2o_linklist_t link;
    char event_id[48];
    h2o_linklist_t subs;        /* live_sub */
} live_group;

typedef struct {
    h2o_linklist_t link;        /* in group->subs while connected */
    live_loop *loop;
    h2o_websocket_conn_t *conn; /* NULL once closed */
    char event_id[48];
    int64_t version;            /* newest version queued to the client */
    uint64_t last_seen, last_ping, kill_at;
    size_t since_snap;          /* messages queued after the last snapshot */
    size_t snap_len;
    int lagging, dead, busy;
} live_sub;

/* Loops that take changes; guarded so that a loop stopping never has a
 * message sent to its receiver after it unregistered. */
static pthread_mutex_t loops_lock = PTHREAD_MUTEX_INITIALIZER;
static live_loop *active_loops[MAX_LOOPS];
/* Every loop's state, never freed: handlers may still run on a loop after
 * its stop hook (they answer 503), and this keeps it reachable until exit. */
static live_loop *all_loops[MAX_LOOPS];
static __thread live_loop *this_loop;

/* --- subscribers --------------------------------------------------------- */

static void sub_detach(live_sub *s)
{
    if (h2o_linklist_is_linked(&s->link))
        h2o_linklist_unlink(&s->link);
    if (!s->dead)
        metrics_gauge_add("tixin_websocket_subscribers", -1);
    s->dead = 1;
}

static void sub_free_unless_busy(live_sub *s)
{
    if (s->dead && s->busy == 0)
        free(s);
}

/* Close now, without a handshake (idle, stuck, shutdown). Only once the
 * 101 is out: before that h2o still owns conn. */
static void sub_kill(live_sub *s)
{
    if (s->conn == NULL || s->conn->sock == NULL)
        return;
    sub_detach(s);
    h2o_websocket_close(s->conn);
    s->conn = NULL;
    sub_free_unless_busy(s);
}

/* Send what is queued. -1 when the connection is gone (s is then freed). */
static int sub_proceed(live_sub *s)
{
    if (s->dead)
        return -1;
    if (s->conn->sock == NULL)
        return 0;
    s->busy++;
    h2o_websocket_proceed(s->conn);
    s->busy--;
    if (s->dead) {
        sub_free_unless_busy(s);
        return -1;
    }
    return 0;
}

static void sub_queue(live_sub *s, uint8_t opcode, const char *data, size_t len)
{
    struct wslay_event_msg msg = {opcode, (const uint8_t *)data, len};
    if (wslay_event_queue_msg(s->conn->ws_ctx, &msg) == 0)
        s->since_snap++;
}

static void sub_queue_snapshot_body(live_sub *s, const seatmap_body *b)
{
    sub_queue(s, WSLAY_TEXT_FRAME, b->data, b->len);
    s->since_snap = 0;
    s->snap_len = b->len;
    s->version = b->version;
    s->lagging = 0;
}

/* Queue the current snapshot; -1 when the map is gone. */
static int sub_queue_snapshot(live_sub *s)
{
    seatmap_body *b = seatmap_view_get(s->event_id, SEATMAP_VIEW_SNAPSHOT);
    if (b == NULL)
        return -1;
    sub_queue_snapshot_body(s, b);
    seatmap_body_unref(b);
    return 0;
}

/* Queue a close frame; the connection is killed if the client has not
 * answered within the grace period. */
static void sub_queue_close(live_sub *s, uint16_t code, const char *reason)
{
    if (s->kill_at != 0)
        return;
    wslay_event_queue_close(s->conn->ws_ctx, code, (const uint8_t *)reason, strlen(reason));
    s->kill_at = h2o_now(s->loop->ctx->loop) + CLOSING_GRACE_MS;
}

static size_t queued_msgs(live_sub *s)
{
    return wslay_event_get_queued_msg_count(s->conn->ws_ctx);
}

static int over_bound(live_sub *s)
{
    return queued_msgs(s) >= MAX_QUEUED_MSGS ||
           wslay_event_get_queued_msg_length(s->conn->ws_ctx) >= MAX_QUEUED_BYTES + s->snap_len;
}

/* A lagging subscriber whose queue has drained gets a fresh snapshot.
 * -1 when the connection went away (s is freed). */
static int sub_try_resync(live_sub *s)
{
    if (!s->lagging || queued_msgs(s) > RESYNC_AT_MSGS)
        return 0;
    if (sub_queue_snapshot(s) != 0)
        sub_queue_close(s, 1011, "seat map unavailable");
    return sub_proceed(s);
}

static void sub_push(live_sub *s, const live_msg *m)
{
    if (s->kill_at != 0 || (m->version <= s->version && !m->resync))
        return;
    if (m->resync || m->version > s->version + 1)
        s->lagging = 1; /* resync from a snapshot rather than skip a change */
    if (s->lagging) {
        sub_try_resync(s);
        return;
    }
    if (over_bound(s)) {
        if (queued_msgs(s) > s->since_snap) { /* the last snapshot is still queued */
            sub_queue_close(s, 1008, "too slow");
            sub_proceed(s);
        } else {
            s->lagging = 1;
        }
        return;
    }
    if (m->seats != NULL)
        sub_queue(s, WSLAY_TEXT_FRAME, m->seats->data, m->seats->len);
    if (m->tiers != NULL)
        sub_queue(s, WSLAY_TEXT_FRAME, m->tiers->data, m->tiers->len);
    s->version = m->version;
    sub_proceed(s);
}

/* Keep-alive and deadlines, once per tick. */
static void sub_tick(live_sub *s, uint64_t now)
{
    if ((s->kill_at != 0 && now >= s->kill_at) || now - s->last_seen >= IDLE_CLOSE_MS) {
        sub_kill(s);
        return;
    }
    if (s->conn->sock == NULL || s->kill_at != 0)
        return;
    if (sub_try_resync(s) != 0)
        return;
    if (now - s->last_ping >= PING_EVERY_MS) {
        s->last_ping = now;
        sub_queue(s, WSLAY_PING, "", 0);
        sub_proceed(s);
    }
}

static int is_snapshot_request(const uint8_t *data, size_t len)
{
    json_t *j = json_loadb((const char *)data, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    int yes = type != NULL && strcmp(type, "snapshot") == 0;
    json_decref(j);
    return yes;
}

/* Runs inside h2o/wslay: queue only, the surrounding proceed sends. */
static void on_ws_msg(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
    live_sub *s = conn->data;
    if (arg == NULL) {
        sub_detach(s);
        h2o_websocket_close(conn);
        s->conn = NULL;
        sub_free_unless_busy(s);
        return;
    }
    s->last_seen = h2o_now(s->loop->ctx->loop);
    /* a fresh snapshot on request, unless the last one is still queued */
    if (arg->opcode == WSLAY_TEXT_FRAME && s->kill_at == 0 && queued_msgs(s) <= s->since_snap &&
        is_snapshot_request(arg->msg, arg->msg_length))
        if (sub_queue_snapshot(s) != 0)
            sub_queue_close(s, 1011, "seat map unavailable");
}

/* --- groups and delivery on a loop --------------------------------------- */

static live_group *group_find(live_loop *L, const char *event_id)
{
    for (h2o_linklist_t *n = L->groups.next; n != &L->groups; n = n->next) {
        live_group *g = H2O_STRUCT_FROM_MEMBER(live_group, link, n);
        if (strcmp(g->event_id, event_id) == 0)
            return g;
    }
    return NULL;
}

static live_group *group_get(live_loop *L, const char *event_id)
{
    live_group *g = group_find(L, event_id);
    if (g != NULL)
        return g;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        abort();
    snprintf(g->event_id, sizeof(g->event_id), "%s", event_id);
    h2o_linklist_init_anchor(&g->subs);
    h2o_linklist_insert(&L->groups, &g->link);
    return g;
}

/* Calls fn on every subscriber of g; fn may close (and free) the one it is
 * given, never another, so taking the next link first is enough. */
static void group_each(live_group *g, void (*fn)(live_sub *, const void *), const void *arg)
{
    h2o_linklist_t *n, *next;
    for (n = g->subs.next; n != &g->subs; n = next) {
        next = n->next;
        fn(H2O_STRUCT_FROM_MEMBER(live_sub, link, n), arg);
    }
}

static void push_one(live_sub *s, const void *m)
{
    sub_push(s, m);
}

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    live_loop *L = H2O_STRUCT_FROM_MEMBER(live_loop, receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        live_envelope *e = H2O_STRUCT_FROM_MEMBER(live_envelope, super.link, messages->next);
        h2o_linklist_unlink(&e->super.link);
        live_group *g = group_find(L, e->m->event_id);
        if (g != NULL)
            group_each(g, push_one, e->m);
        live_msg_unref(e->m);
        free(e);
    }
}

static void tick_one(live_sub *s, const void *now)
{
    sub_tick(s, *(const uint64_t *)now);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    live_loop *L = H2O_STRUCT_FROM_MEMBER(live_loop, tick, entry);
    uint64_t now = h2o_now(L->ctx->loop);
    h2o_linklist_t *n, *next;
    for (n = L->groups.next; n != &L->groups; n = next) {
        next = n->next;
        live_group *g = H2O_STRUCT_FROM_MEMBER(live_group, link, n);
        group_each(g, tick_one, &now);
        if (h2o_linklist_is_empty(&g->subs)) {
            h2o_linklist_unlink(&g->link);
            free(g);
        }
    }
    if (!h2o_linklist_is_empty(&L->groups))
        h2o_timeout_link(L->ctx->loop, &L->tick_timeout, &L->tick);
}

/* --- the pubsub and seat-map listeners (any thread) ---------------------- */

/* Hand m to every active loop; make(arg) renders it on first need (NULL:
 * nothing to send). */
static void broadcast(live_msg *(*make)(const void *), const void *arg)
{
    live_msg *m = NULL;
    pthread_mutex_lock(&loops_lock);
    for (int i = 0; i < MAX_LOOPS; i++) {
        if (active_loops[i] == NULL)
            continue;
        if (m == NULL && (m = make(arg)) == NULL)
            break; /* no map loaded: nobody can be subscribed */
        live_envelope *e = calloc(1, sizeof(*e));
        if (e == NULL)
            abort();
        __atomic_add_fetch(&m->refcnt, 1, __ATOMIC_RELAXED);
        e->m = m;
        h2o_multithread_send_message(&active_loops[i]->receiver, &e->super);
    }
    pthread_mutex_unlock(&loops_lock);
    live_msg_unref(m);
}

static live_msg *make_change(const void *c)
{
    return live_msg_new(c);
}

static live_msg *make_resync(const void *event_id)
{
    live_msg *m = calloc(1, sizeof(*m));
    if (m == NULL)
        abort();
    m->refcnt = 1;
    m->resync = 1;
    snprintf(m->event_id, sizeof(m->event_id), "%s", (const char *)event_id);
    return m;
}

static void on_change(pubsub_change *c, void *data)
{
    broadcast(make_change, c);
}

static void on_reinstall(const char *event_id)
{
    broadcast(make_resync, event_id);
}

/* --- the HTTP side ------------------------------------------------------- */

static void send_upgrade_required(h2o_req_t *req)
{
    static const char body[] =
        "{\"error\":{\"code\":\"upgrade_required\",\"message\":\"this endpoint speaks WebSocket only\"}}";
    http_add_header(req, "upgrade", "websocket");
    http_send_bytes(req, 426, "application/json; charset=utf-8", h2o_iovec_init(body, sizeof(body) - 1));
}

static void live_accept(h2o_req_t *req, const char *event_id)
{
    live_loop *L = this_loop;
    const char *key = NULL;
    if (L == NULL || L->stopping) {
        http_send_error(req, E_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (h2o_is_websocket_handshake(req, &key) != 0 || key == NULL) {
        send_upgrade_required(req);
        return;
    }
    seatmap_body *snap = seatmap_view_get(event_id, SEATMAP_VIEW_SNAPSHOT);
    if (snap == NULL) {
        http_send_error(req, E_NOT_FOUND, NULL, NULL);
        return;
    }
    live_sub *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->loop = L;
    snprintf(s->event_id, sizeof(s->event_id), "%s", event_id);
    s->last_seen = s->last_ping = h2o_now(L->ctx->loop);
    s->conn = h2o_upgrade_to_websocket(req, key, s, on_ws_msg);
    wslay_event_config_set_max_recv_msg_length(s->conn->ws_ctx, MAX_CLIENT_MSG);
    h2o_linklist_insert(&group_get(L, event_id)->subs, &s->link);
    metrics_gauge_add("tixin_websocket_subscribers", 1);
    sub_queue_snapshot_body(s, snap); /* flushed by h2o once the 101 is out */
    seatmap_body_unref(snap);
    if (!h2o_timeout_is_linked(&L->tick))
        h2o_timeout_link(L->ctx->loop, &L->tick_timeout, &L->tick);
}

static void live_loaded(h2o_req_t *req, store_job *j)
{
    if (j->err != E_OK)
        http_send_job(req, j);
    else
        live_accept(req, j->ctx);
}

static int on_live(h2o_req_t *req, const route_params *p)
{
    char *event_id = route_param_dup(req, p, 0);
    if (seatmap_has(event_id))
        live_accept(req, event_id);
    else
        browse_load_seatmap(req, event_id, event_id, live_loaded);
    return 0;
}

/* --- loop start and stop -------------------------------------------------- */

static void on_worker_start(h2o_context_t *ctx, int index)
{
    if (index < 0 || index >= MAX_LOOPS) {
        log_msg(LOG_ERROR, "live: worker %d has no live hub (max %d)", index, MAX_LOOPS);
        return;
    }
    live_loop *L = calloc(1, sizeof(*L));
    if (L == NULL)
        abort();
    L->ctx = ctx;
    h2o_linklist_init_anchor(&L->groups);
    h2o_timeout_init(ctx->loop, &L->tick_timeout, TICK_MS);
    L->tick.cb = on_tick;
    h2o_multithread_register_receiver(ctx->queue, &L->receiver, on_messages);
    this_loop = all_loops[index] = L;
    pthread_mutex_lock(&loops_lock);
    active_loops[index] = L;
    pthread_mutex_unlock(&loops_lock);
}

/* Write a close frame straight to the socket. Only at shutdown, when the
 * loop will not turn again: wslay would send the frame's header and payload
 * in two writes, one loop turn apart, and h2o 2.2.5 allows one pending
 * write. Safe only at a frame boundary: nothing being written or queued. */
static void write_close_frame(live_sub *s, uint16_t code, const char *reason)
{
    h2o_socket_t *sock = s->conn->sock;
    if (h2o_socket_is_writing(sock) || wslay_event_want_write(s->conn->ws_ctx))
        return;
    uint8_t frame[2 + 2 + 123];
    size_t rlen = strlen(reason) > 123 ? 123 : strlen(reason);
    frame[0] = 0x80 | WSLAY_CONNECTION_CLOSE;
    frame[1] = (uint8_t)(2 + rlen);
    frame[2] = (uint8_t)(code >> 8);
    frame[3] = (uint8_t)(code & 0xff);
    memcpy(frame + 4, reason, rlen);
    if (write(h2o_socket_get_fd(sock), frame, 4 + rlen) < 0) {
        /* the connection is going away anyway */
    }
}

static void goodbye(live_sub *s, const void *unused)
{
    if (s->conn->sock == NULL) {
        sub_detach(s); /* 101 not out yet: h2o owns conn until then */
        return;
    }
    write_close_frame(s, 1001, "server shutting down");
    sub_kill(s);
}

/* The loop will be torn down right after it drains: no message, timer or
 * connection of ours may outlive this hook. */
static void on_worker_stop(h2o_context_t *ctx, int index)
{
    live_loop *L = this_loop;
    if (L == NULL || L->stopping)
        return;
    L->stopping = 1;
    pthread_mutex_lock(&loops_lock);
    active_loops[index] = NULL;
    pthread_mutex_unlock(&loops_lock);
    /* nobody sends to the receiver any more; drop what is still queued */
    on_messages(&L->receiver, &L->receiver._messages);
    h2o_multithread_unregister_receiver(ctx->queue, &L->receiver);
    while (!h2o_linklist_is_empty(&L->groups)) {
        live_group *g = H2O_STRUCT_FROM_MEMBER(live_group, link, L->groups.next);
        group_each(g, goodbye, NULL);
        h2o_linklist_unlink(&g->link);
        free(g);
    }
    if (h2o_timeout_is_linked(&L->tick))
        h2o_timeout_unlink(&L->tick);
    h2o_timeout_dispose(ctx->loop, &L->tick_timeout);
}

void api_live_register(void)
{
    router_add("GET", "/api/v1/events/{id}/live", on_live);
    server_on_worker_start(on_worker_start);
    server_on_worker_stop(on_worker_stop);
    pubsub_listen(on_change, NULL);
    seatmap_on_reinstall(on_reinstall);
}
