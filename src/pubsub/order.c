/*
 * order.c - the per-event reorder buffer behind order.h. One mutex for all
 * events: it is held while listeners run, so the listeners of one change
 * finish before the next change's start, whichever threads deliver them
 * (the store's, Redis'). Held changes are few and short-lived (a list).
 */
#include "pubsub/order.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "booking/seatmap.h"

typedef struct held {
    pubsub_change *c;
    int64_t deadline;
    struct held *next;
} held;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static held *waiting;

/* The held change of event_id with the lowest version (its link), or NULL. */
static held **lowest(const char *event_id)
{
    held **best = NULL;
    for (held **h = &waiting; *h != NULL; h = &(*h)->next)
        if (strcmp((*h)->c->event_id, event_id) == 0 && (best == NULL || (*h)->c->version < (*best)->c->version))
            best = h;
    return best;
}

static pubsub_change *take(held **link)
{
    held *h = *link;
    pubsub_change *c = h->c;
    *link = h->next;
    free(h);
    return c;
}

/* Deliver the held changes of event_id that now follow in sequence. */
static void flush_locked(const char *event_id)
{
    held **h;
    while ((h = lowest(event_id)) != NULL) {
        int64_t v = seatmap_version(event_id);
        if (v >= 0 && (*h)->c->version > v + 1)
            return;
        pubsub_change *c = take(h);
        if (v < 0 || c->version == v + 1)
            pubsub_deliver(c);
        pubsub_change_unref(c);
    }
}

void order_submit(pubsub_change *c, int64_t now)
{
    pthread_mutex_lock(&lock);
    int64_t v = seatmap_version(c->event_id);
    if (v < 0 || c->version == v + 1) {
        pubsub_deliver(c);
        flush_locked(c->event_id);
    } else if (c->version > v + 1) {
        held *h = malloc(sizeof(*h));
        if (h == NULL)
            abort();
        pubsub_change_ref(c);
        *h = (held){c, now + ORDER_HOLD_MS, waiting};
        waiting = h;
    }
    pthread_mutex_unlock(&lock);
}

void order_expire(int64_t now)
{
    pthread_mutex_lock(&lock);
    for (held *h = waiting; h != NULL;) {
        if (h->deadline > now) {
            h = h->next;
            continue;
        }
        /* give up on the gap: the lowest waiting change goes first */
        char event_id[sizeof(h->c->event_id)];
        memcpy(event_id, h->c->event_id, sizeof(event_id));
        pubsub_change *c = take(lowest(event_id));
        pubsub_deliver(c);
        pubsub_change_unref(c);
        flush_locked(event_id);
        h = waiting; /* the list changed: start over */
    }
    pthread_mutex_unlock(&lock);
}

void order_clear(void)
{
    pthread_mutex_lock(&lock);
    while (waiting != NULL)
        pubsub_change_unref(take(&waiting));
    pthread_mutex_unlock(&lock);
}
