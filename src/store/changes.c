/*
 * changes.c - the change log behind store_changes_seat()/_tier(): an
 * append-only array of entries, plus the list of distinct events. Appends
 * are what ops do in hot paths, so they stay O(1) (amortised); the folding
 * of repeated changes to one seat happens once per event at publish time
 * with a sort, which keeps a 10,000-seat expiry sweep cheap.
 */
#include "store/changes.h"

#include <stdio.h>
#include "core/util.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t event;     /* index into events */
    size_t seq;       /* append order: the later change wins */
    int ord;          /* seat ord, or -1 for a tier */
    char status;      /* seat */
    char tier_id[64]; /* tier */
    int available;    /* tier */
} change;

struct store_changes {
    change *v;
    size_t n, cap;
    char (*events)[48];
    size_t nevents, events_cap;
};

store_changes *store_changes_new(void)
{
    store_changes *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    return c;
}

void store_changes_free(store_changes *c)
{
    if (c == NULL)
        return;
    free(c->v);
    free(c->events);
    free(c);
}

void store_changes_clear(store_changes *c)
{
    c->n = 0;
    c->nevents = 0;
}

/* Index of event_id in c->events, added when new. Few events per batch. */
static size_t event_index(store_changes *c, const char *event_id)
{
    for (size_t i = c->nevents; i-- > 0;)
        if (strcmp(c->events[i], event_id) == 0)
            return i;
    c->events = array_grow(c->events, &c->events_cap, c->nevents + 1, sizeof(*c->events));
    snprintf(c->events[c->nevents], sizeof(c->events[0]), "%s", event_id);
    return c->nevents++;
}

static change *append(store_changes *c, const char *event_id)
{
    size_t ev = event_index(c, event_id);
    c->v = array_grow(c->v, &c->cap, c->n + 1, sizeof(*c->v));
    change *ch = &c->v[c->n];
    memset(ch, 0, sizeof(*ch));
    ch->event = ev;
    ch->seq = c->n++;
    return ch;
}

void store_changes_seat(store_changes *c, const char *event_id, int ord, char status)
{
    change *ch = append(c, event_id);
    ch->ord = ord;
    ch->status = status;
}

void store_changes_tier(store_changes *c, const char *event_id, const char *tier_id, int available)
{
    change *ch = append(c, event_id);
    ch->ord = -1;
    snprintf(ch->tier_id, sizeof(ch->tier_id), "%s", tier_id);
    ch->available = available;
}

void store_changes_merge(store_changes *dst, const store_changes *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const change *s = &src->v[i];
        change *d = append(dst, src->events[s->event]);
        size_t ev = d->event, seq = d->seq;
        *d = *s;
        d->event = ev;
        d->seq = seq;
    }
}

size_t store_changes_nevents(const store_changes *c)
{
    return c->nevents;
}

const char *store_changes_event(const store_changes *c, size_t i)
{
    return c->events[i];
}

/* Orders one event's changes by subject (seat ord, then tier id), then by
 * append order, so the last change of each subject ends its run. */
static int cmp_subject(const void *a, const void *b)
{
    const change *x = *(const change *const *)a, *y = *(const change *const *)b;
    if (x->ord != y->ord)
        return x->ord < y->ord ? -1 : 1;
    int t = x->ord < 0 ? strcmp(x->tier_id, y->tier_id) : 0;
    if (t != 0)
        return t;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int same_subject(const change *x, const change *y)
{
    return x->ord == y->ord && (x->ord >= 0 || strcmp(x->tier_id, y->tier_id) == 0);
}

pubsub_change *store_changes_build(const store_changes *c, size_t i, int64_t version)
{
    pubsub_change *pc = pubsub_change_new(c->events[i]);
    pc->version = version;
    size_t n = 0;
    const change **sel = malloc((c->n ? c->n : 1) * sizeof(*sel));
    if (sel == NULL)
        abort();
    for (size_t k = 0; k < c->n; k++)
        if (c->v[k].event == i)
            sel[n++] = &c->v[k];
    qsort(sel, n, sizeof(*sel), cmp_subject);
    for (size_t k = 0; k < n; k++) {
        const change *ch = sel[k];
        if (k + 1 < n && same_subject(ch, sel[k + 1]))
            continue; /* a later change of the same subject wins */
        if (ch->ord >= 0)
            pubsub_change_add_seat(pc, ch->ord, ch->status);
        else
            pubsub_change_add_tier(pc, ch->tier_id, ch->available);
    }
    free(sel);
    return pc;
}
