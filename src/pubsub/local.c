/*
 * local.c - the in-process half of pub/sub: the change object, the
 * listener list, and delivery. In embedded mode publish calls every
 * listener on the publishing thread, in registration order; cluster mode
 * installs a publisher (pubsub/redis.c) that sequences changes from every
 * instance and calls pubsub_deliver() itself. Listeners and the publisher
 * are set once at start-up, so they need no lock when read.
 */
#include "pubsub/pubsub.h"

#include "ops/metrics.h"

#include "core/util.h"
#include <stdlib.h>
#include <string.h>

#define MAX_LISTENERS 8

static struct {
    pubsub_listener fn;
    void *data;
} listeners[MAX_LISTENERS];
static int nlisteners;

pubsub_change *pubsub_change_new(const char *event_id)
{
    pubsub_change *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->refcnt = 1;
    strncpy(c->event_id, event_id, sizeof(c->event_id) - 1);
    return c;
}

void pubsub_change_add_seat(pubsub_change *c, int ord, char status)
{
    c->seats = array_grow(c->seats, &c->seats_cap, c->nseats + 1, sizeof(*c->seats));
    c->seats[c->nseats++] = (pubsub_seat){ord, status};
}

void pubsub_change_add_tier(pubsub_change *c, const char *tier_id, int available)
{
    c->tiers = array_grow(c->tiers, &c->tiers_cap, c->ntiers + 1, sizeof(*c->tiers));
    pubsub_tier *t = &c->tiers[c->ntiers++];
    memset(t, 0, sizeof(*t));
    strncpy(t->tier_id, tier_id, sizeof(t->tier_id) - 1);
    t->available = available;
}

void pubsub_change_ref(pubsub_change *c)
{
    __atomic_add_fetch(&c->refcnt, 1, __ATOMIC_RELAXED);
}

void pubsub_change_unref(pubsub_change *c)
{
    if (__atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(c->seats);
    free(c->tiers);
    free(c);
}

void pubsub_listen(pubsub_listener fn, void *data)
{
    if (nlisteners == MAX_LISTENERS)
        abort();
    listeners[nlisteners].fn = fn;
    listeners[nlisteners].data = data;
    nlisteners++;
}

static pubsub_publisher publisher;

void pubsub_set_publisher(pubsub_publisher fn)
{
    publisher = fn;
}

void pubsub_deliver(pubsub_change *c)
{
    metrics_observe_pubsub_lag_since(c->published_us);
    for (int i = 0; i < nlisteners; i++)
        listeners[i].fn(c, listeners[i].data);
}

void pubsub_publish(pubsub_change *c)
{
    c->published_us = metrics_now_us();
    if (publisher != NULL)
        publisher(c);
    else
        pubsub_deliver(c);
}
