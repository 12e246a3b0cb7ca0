/*
 * catalog.c - the published events as an immutable, refcounted snapshot.
 *
 * Why it exists: listings and event pages are hot during a drop and must not
 * reach the store. The store installs the whole list (rarely: start-up and
 * publish); everything the reads need — the sort order, lower-cased search
 * keys, the pre-rendered JSON heads of list items and event pages — is
 * computed once here at install time. Readers take a reference under a
 * short mutex and keep using their snapshot while a new one is swapped in;
 * the last reader of an old snapshot frees it.
 *
 * Each snapshot also caches bodies rendered from it (browse.c makes them):
 * one event page per entry, for the seat-map state (version and install)
 * it was rendered from, and a
 * few listings in a small direct-mapped table keyed by their exact
 * content. Both sit behind the snapshot's cache mutex, held only to swap
 * references; they go with the snapshot, so a new catalog starts cold.
 */
#include "booking/catalog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LIST_SLOTS 16

typedef struct {
    int64_t *key;                /* malloc'd */
    size_t nkey;
    seatmap_body *body;
} list_slot;

typedef struct {
    seatmap_body *body;
    int64_t version;             /* the seat-map state it shows */
    uint64_t install_seq;
} page_slot;

struct catalog {
    int refcnt;                  /* atomic */
    pthread_mutex_t cache_lock;  /* guards pages[] and lists[] */
    page_slot *pages;            /* per by_time index */
    list_slot lists[LIST_SLOTS];
    json_t *events;              /* owned array */
    size_t n;
    catalog_entry *by_time;      /* sorted by (starts_at_ms, id) */
    const catalog_entry **by_id; /* sorted by id, for lookups */
};

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static catalog *cur;

/* Lower-case of one code point, for the scripts event titles and cities
 * are mostly written in (ASCII, Latin-1, Latin Extended-A, Greek,
 * Cyrillic). Every mapping keeps the UTF-8 length. */
static unsigned fold_cp(unsigned c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
        (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) || (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F)
        return c + 0x50;
    if (c == 0x178)
        return 0xFF;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
        return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
        return (c & 1) ? c + 1 : c;
    return c;
}

void catalog_fold_case(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            *p = (unsigned char)fold_cp(*p);
            p++;
        } else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
            unsigned c = fold_cp(((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu));
            p[0] = (unsigned char)(0xC0 | (c >> 6));
            p[1] = (unsigned char)(0x80 | (c & 0x3F));
            p += 2;
        } else {
            p++; /* other sequences are compared as they are */
        }
    }
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (d == NULL)
        abort();
    catalog_fold_case(d);
    return d;
}

/* Serialise obj compactly and drop its closing brace, keeping a separator
 * when more members will follow. */
static char *dump_open(json_t *obj, const char *tail, size_t *len)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    if (s == NULL)
        abort();
    size_t n = strlen(s) - 1;   /* without '}' */
    int empty = n == 1;
    size_t tl = strlen(tail);
    char *out = malloc(n + 1 + tl + 1);
    if (out == NULL)
        abort();
    memcpy(out, s, n);
    if (!empty)
        out[n++] = ',';
    memcpy(out + n, tail, tl + 1);
    *len = n + tl;
    free(s);
    return out;
}

static json_t *get_or_null(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v ? v : json_null();
}

static char *make_item_head(json_t *ev, size_t *len)
{
    json_t *venue = json_object_get(ev, "venue");
    json_t *item = json_pack("{s:O,s:O,s:O,s:{s:O,s:O,s:O},s:O,s:O}",
                             "id", get_or_null(ev, "id"), "title", get_or_null(ev, "title"),
                             "starts_at", get_or_null(ev, "starts_at"),
                             "venue", "id", get_or_null(venue, "id"), "name", get_or_null(venue, "name"),
                             "city", get_or_null(venue, "city"),
                             "min_price_cents", get_or_null(ev, "min_price_cents"),
                             "currency", get_or_null(ev, "currency"));
    if (item == NULL)
        abort();
    char *head = dump_open(item, "\"available\":", len);
    json_decref(item);
    return head;
}

static char *make_page_head(json_t *ev, size_t *len)
{
    json_t *page = json_copy(ev);
    if (page == NULL)
        abort();
    json_object_del(page, "starts_at_ms");
    json_object_del(page, "ga_tiers");
    json_object_del(page, "availability");
    char *head = dump_open(page, "", len);
    json_decref(page);
    return head;
}

static int ga_sum(json_t *ev)
{
    size_t i;
    json_t *t;
    int sum = 0;
    json_array_foreach(json_object_get(ev, "ga_tiers"), i, t)
        sum += (int)json_integer_value(json_object_get(t, "available"));
    return sum;
}

static int build_entry(catalog_entry *e, json_t *ev)
{
    e->id = json_string_value(json_object_get(ev, "id"));
    if (e->id == NULL)
        return -1;
    e->event = ev;
    e->starts_at_ms = json_integer_value(json_object_get(ev, "starts_at_ms"));
    e->title_lc = lower_dup(json_string_value(json_object_get(ev, "title")));
    e->city_lc = lower_dup(json_string_value(json_object_get(json_object_get(ev, "venue"), "city")));
    e->item_head = make_item_head(ev, &e->item_head_len);
    e->page_head = make_page_head(ev, &e->page_head_len);
    e->ga_available = ga_sum(ev);
    return 0;
}

static int cmp_time(const void *a, const void *b)
{
    const catalog_entry *x = a, *y = b;
    if (x->starts_at_ms != y->starts_at_ms)
        return x->starts_at_ms < y->starts_at_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int cmp_id(const void *a, const void *b)
{
    const catalog_entry *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

static void catalog_destroy(catalog *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free((char *)c->by_time[i].title_lc);
        free((char *)c->by_time[i].city_lc);
        free((char *)c->by_time[i].item_head);
        free((char *)c->by_time[i].page_head);
    }
    for (size_t i = 0; i < c->n; i++)
        seatmap_body_unref(c->pages[i].body);
    for (size_t i = 0; i < LIST_SLOTS; i++) {
        free(c->lists[i].key);
        seatmap_body_unref(c->lists[i].body);
    }
    pthread_mutex_destroy(&c->cache_lock);
    free(c->pages);
    free(c->by_time);
    free(c->by_id);
    json_decref(c->events);
    free(c);
}

static catalog *catalog_build(json_t *events)
{
    catalog *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->refcnt = 1;
    c->events = json_is_array(events) ? events : (json_decref(events), json_array());
    size_t cap = json_array_size(c->events);
    c->by_time = calloc(cap + 1, sizeof(*c->by_time));
    c->by_id = calloc(cap + 1, sizeof(*c->by_id));
    c->pages = calloc(cap + 1, sizeof(*c->pages));
    if (c->by_time == NULL || c->by_id == NULL || c->pages == NULL)
        abort();
    pthread_mutex_init(&c->cache_lock, NULL);
    size_t i;
    json_t *ev;
    json_array_foreach(c->events, i, ev) {
        if (build_entry(&c->by_time[c->n], ev) == 0)
            c->n++;
    }
    qsort(c->by_time, c->n, sizeof(*c->by_time), cmp_time);
    for (i = 0; i < c->n; i++)
        c->by_id[i] = &c->by_time[i];
    qsort(c->by_id, c->n, sizeof(*c->by_id), cmp_id);
    return c;
}

void catalog_install(json_t *events)
{
    catalog *c = catalog_build(events);
    pthread_mutex_lock(&cur_lock);
    catalog *old = cur;
    cur = c;
    pthread_mutex_unlock(&cur_lock);
    if (old != NULL)
        catalog_release(old);
}

catalog *catalog_acquire(void)
{
    pthread_mutex_lock(&cur_lock);
    catalog *c = cur;
    if (c != NULL)
        __atomic_add_fetch(&c->refcnt, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&cur_lock);
    return c;
}

void catalog_release(catalog *c)
{
    if (c != NULL && __atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        catalog_destroy(c);
}

const catalog_entry *catalog_entries(const catalog *c, size_t *n)
{
    *n = c ? c->n : 0;
    return c ? c->by_time : NULL;
}

size_t catalog_seek(const catalog *c, int64_t starts_at_ms, const char *id)
{
    size_t lo = 0, hi = c ? c->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const catalog_entry *e = &c->by_time[mid];
        int before = e->starts_at_ms < starts_at_ms ||
                     (id != NULL && e->starts_at_ms == starts_at_ms && strcmp(e->id, id) <= 0);
        if (before)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const catalog_entry *catalog_find(const catalog *c, const char *event_id)
{
    if (c == NULL)
        return NULL;
    catalog_entry key = {.id = event_id};
    const catalog_entry *kp = &key;
    const catalog_entry **hit = bsearch(&kp, c->by_id, c->n, sizeof(*c->by_id), cmp_id);
    return hit ? *hit : NULL;
}

/* --- cached bodies ----------------------------------------------------- */

seatmap_body *catalog_page_get(catalog *c, const catalog_entry *e, const seatmap_counts *n)
{
    page_slot *s = &c->pages[e - c->by_time];
    pthread_mutex_lock(&c->cache_lock);
    seatmap_body *b = NULL;
    if (s->body != NULL && s->version == n->version && s->install_seq == n->install_seq) {
        b = s->body;
        seatmap_body_ref(b);
    }
    pthread_mutex_unlock(&c->cache_lock);
    return b;
}

void catalog_page_put(catalog *c, const catalog_entry *e, const seatmap_counts *n, seatmap_body *b)
{
    page_slot *s = &c->pages[e - c->by_time];
    seatmap_body_ref(b);
    pthread_mutex_lock(&c->cache_lock);
    seatmap_body *old = s->body;
    s->body = b;
    s->version = n->version;
    s->install_seq = n->install_seq;
    pthread_mutex_unlock(&c->cache_lock);
    seatmap_body_unref(old);
}

static size_t key_slot(const int64_t *key, size_t nkey)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < nkey; i++)
        h = (h ^ (uint64_t)key[i]) * 1099511628211ULL;
    return (size_t)((h ^ (h >> 29)) % LIST_SLOTS);
}

seatmap_body *catalog_list_get(catalog *c, const int64_t *key, size_t nkey)
{
    list_slot *s = &c->lists[key_slot(key, nkey)];
    pthread_mutex_lock(&c->cache_lock);
    seatmap_body *b = NULL;
    if (s->body != NULL && s->nkey == nkey && memcmp(s->key, key, nkey * sizeof(*key)) == 0) {
        b = s->body;
        seatmap_body_ref(b);
    }
    pthread_mutex_unlock(&c->cache_lock);
    return b;
}

void catalog_list_put(catalog *c, const int64_t *key, size_t nkey, seatmap_body *b)
{
    int64_t *copy = malloc(nkey * sizeof(*key) + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, key, nkey * sizeof(*key));
    list_slot *s = &c->lists[key_slot(key, nkey)];
    seatmap_body_ref(b);
    pthread_mutex_lock(&c->cache_lock);
    int64_t *old_key = s->key;
    seatmap_body *old = s->body;
    s->key = copy;
    s->nkey = nkey;
    s->body = b;
    pthread_mutex_unlock(&c->cache_lock);
    free(old_key);
    seatmap_body_unref(old);
}

int catalog_has(const char *event_id)
{
    catalog *c = catalog_acquire();
    int has = catalog_find(c, event_id) != NULL;
    catalog_release(c);
    return has;
}

void catalog_init(void)
{
    pthread_mutex_lock(&cur_lock);
    int empty = cur == NULL;
    pthread_mutex_unlock(&cur_lock);
    if (empty)
        catalog_install(json_array());
}

void catalog_free(void)
{
    pthread_mutex_lock(&cur_lock);
    catalog *old = cur;
    cur = NULL;
    pthread_mutex_unlock(&cur_lock);
    catalog_release(old);
}
