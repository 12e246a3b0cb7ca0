/*
 * seatmap.c - the seat maps of published events, in memory, and the bodies
 * rendered from them.
 *
 * Why it exists: during a ticket drop most requests read seat maps. Going to
 * the store or building JSON per request would cap throughput, so each
 * event keeps its seat states here (fed by the store on load and by pubsub
 * after every commit) and every view is rendered at most once per version
 * into a refcounted, immutable body that all worker threads share.
 *
 * Ownership and locking:
 *  - the registry (event id -> seatmap) only grows; a seatmap lives until
 *    seatmap_free_all(), so a looked-up pointer stays valid;
 *  - a seatmap's mutable state (statuses, tier availability, version,
 *    counts, cached bodies) is guarded by its own mutex, held only to copy
 *    or update state, never while rendering;
 *  - the layout ("shape": sections, rows, tiers' fixed fields, pre-escaped
 *    ids) is immutable and refcounted, so a render can use it unlocked even
 *    if the map is replaced meanwhile;
 *  - bodies are refcounted; the map's cache holds one reference per view;
 *  - gzip copies are made once per body (core/gzip.c), on first demand.
 *
 * Gaps (cluster mode): a map that sees a version skip goes stale, keeps a
 * reference to every change it applies from then on and asks the reloader
 * (pubsub/redis.c) for a reload; the reload's install replaces the state
 * even when older than the map and replays the kept changes that are newer
 * than it, so no change is lost whichever comes first. A gap left after the
 * replay asks for another reload. A change for a map that is not loaded
 * (yet: its load may be reading the database right now) is remembered by
 * version; a first install older than that goes stale at once and reloads.
 */
#include "booking/seatmap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking/catalog.h"
#include "core/gzip.h"
#include "core/textbuf.h"
#include "core/log.h"
#include "core/util.h"
#include "pubsub/pubsub.h"

/* --- rendering buffers (core/textbuf.c) -------------------------------- */

/* Running out of memory while rendering a seat map aborts, as every other
 * allocation here does: a half-made view must never be served. textbuf
 * marks a failed append; taking the text then aborts, and so does a failed
 * textbuf_extend() (its bytes are written at once). */
static void buf_start(textbuf *b)
{
    if (textbuf_init(b, 256) != 0)
        abort();
}

static char *buf_take(textbuf *b, size_t *len)
{
    char *p = textbuf_take(b, len);
    if (p == NULL)
        abort();
    return p;
}

static char *escaped_dup(const char *s)
{
    textbuf b;
    size_t len;
    buf_start(&b);
    textbuf_json_chars(&b, s);
    return buf_take(&b, &len);
}

/* --- bodies ------------------------------------------------------------ */

/* Takes over data (malloc'd). */
static seatmap_body *body_new(char *data, size_t len, int64_t version, const char *etag_suffix)
{
    seatmap_body *body = calloc(1, sizeof(*body));
    if (body == NULL)
        abort();
    body->refcnt = 1;
    body->version = version;
    if (etag_suffix != NULL)
        snprintf(body->etag, sizeof(body->etag), "\"v%lld-%s\"", (long long)version, etag_suffix);
    body->data = data;
    body->len = len;
    return body;
}

/* Takes over the buffer's text. */
static seatmap_body *body_from(textbuf *b, int64_t version, const char *etag_suffix)
{
    size_t len;
    char *data = buf_take(b, &len);
    return body_new(data, len, version, etag_suffix);
}

seatmap_body *seatmap_body_new(char *data, size_t len, int64_t version)
{
    return body_new(data, len, version, NULL);
}

void seatmap_body_set_chunks(seatmap_body *b, size_t *cuts, unsigned char *stored, int ncuts, gzip_chunks *chunks)
{
    if (chunks == NULL || ncuts <= 0) {
        free(cuts);
        free(stored);
        return;
    }
    b->cuts = cuts;
    b->stored = stored;
    b->ncuts = ncuts;
    b->chunks = chunks;
}

void seatmap_body_ref(seatmap_body *b)
{
    __atomic_add_fetch(&b->refcnt, 1, __ATOMIC_RELAXED);
}

void seatmap_body_unref(seatmap_body *b)
{
    if (b == NULL || __atomic_sub_fetch(&b->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(b->data);
    free(b->gz);
    free(b->cuts);
    free(b->stored);
    free(b);
}

/* Two threads may compress at once; the first to publish wins and the
 * other's copy is dropped, so readers never see a half-made gzip. Both
 * copies come from the same bytes with the same settings, so they have the
 * same length whichever thread wrote gz_len last. */
const char *seatmap_body_gzip(seatmap_body *b, size_t *len)
{
    char *gz = __atomic_load_n(&b->gz, __ATOMIC_ACQUIRE);
    if (gz == NULL) {
        size_t n = 0;
        char *mine = b->chunks != NULL ? gzip_chunked(b->chunks, b->data, b->len, b->cuts, b->stored, b->ncuts, &n)
                                       : gzip_malloc(b->data, b->len, &n);
        if (mine == NULL)
            return NULL;
        char *expected = NULL;
        __atomic_store_n(&b->gz_len, n, __ATOMIC_RELAXED);
        if (__atomic_compare_exchange_n(&b->gz, &expected, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            gz = mine;
        } else {
            free(mine);
            gz = expected;
        }
    }
    *len = __atomic_load_n(&b->gz_len, __ATOMIC_RELAXED);
    return gz;
}

/* Where a seat view's chunks end (core/gzip.c gzip_chunked()), so that a
 * change re-deflates only the chunk of its section: a cut after the head
 * (its version changes every time) and at section starts, skipped while the
 * chunk is under CHUNK_MIN bytes - every chunk starts its compression from
 * nothing, so tiny chunks would grow the gzipped body (the 10,000-seat
 * compact view gzips to 2.9 KB in chunks of one section, 1.3 KB in chunks
 * of 4 KB or more; 524 bytes in one piece). */
#define CHUNK_MIN 4096
typedef struct {
    size_t *at;
    int n;
    size_t cap;
} cut_list;

enum { CUT_IF_BIG = 0, CUT_ALWAYS = 1 };

static void cut_here_if(cut_list *l, size_t at, int always)
{
    size_t last = l != NULL && l->n > 0 ? l->at[l->n - 1] : 0;
    if (l == NULL || (l->n > 0 && last == at) || (!always && l->n > 0 && at - last < CHUNK_MIN))
        return;
    l->at = array_grow(l->at, &l->cap, (size_t)l->n + 1, sizeof(*l->at));
    l->at[l->n++] = at;
}

/* --- the immutable shape of an event's map ----------------------------- */

typedef struct {
    char *id;            /* JSON-escaped, no quotes */
    int has_price;
    long long price_cents;
    int first_row, nrows;
} sm_section;

typedef struct {
    char *id;            /* JSON-escaped, no quotes */
    int section, first_ord, nseats;
} sm_row;

typedef struct {
    char raw_id[64];     /* as pubsub names it */
    char *id, *name;     /* JSON-escaped */
    long long price_cents;
    int capacity;
} sm_tier;

typedef struct {
    int refcnt;          /* atomic */
    size_t nseats;
    int nsections, nrows, ntiers;
    sm_section *sections;
    sm_row *rows;
    sm_tier *tiers;
    /* The compact view's sections, rendered once with every seat free
     * (render_compact() copies it and writes the statuses in place):
     * where each section's text and each row's statuses start. */
    char *compact;
    size_t compact_len;
    size_t *compact_section_at, *compact_row_at;
} sm_shape;

static void shape_unref(sm_shape *s)
{
    if (s == NULL || __atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (int i = 0; i < s->nsections; i++)
        free(s->sections[i].id);
    for (int i = 0; i < s->nrows; i++)
        free(s->rows[i].id);
    for (int i = 0; i < s->ntiers; i++) {
        free(s->tiers[i].id);
        free(s->tiers[i].name);
    }
    free(s->sections);
    free(s->rows);
    free(s->tiers);
    free(s->compact);
    free(s->compact_section_at);
    free(s->compact_row_at);
    free(s);
}

static int shape_add_rows(sm_shape *s, int section, json_t *rows, int *ord)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *id = json_string_value(json_object_get(row, "id"));
        json_int_t n = json_integer_value(json_object_get(row, "seats"));
        if (id == NULL || n < 0)
            return -1;
        sm_row *r = &s->rows[s->nrows++];
        r->id = escaped_dup(id);
        r->section = section;
        r->first_ord = *ord;
        r->nseats = (int)n;
        *ord += (int)n;
    }
    return 0;
}

static int shape_add_sections(sm_shape *s, json_t *layout, json_t *prices)
{
    size_t nrows = 0, i;
    json_t *sec;
    json_array_foreach(layout, i, sec)
        nrows += json_array_size(json_object_get(sec, "rows"));
    s->sections = calloc(json_array_size(layout) + 1, sizeof(*s->sections));
    s->rows = calloc(nrows + 1, sizeof(*s->rows));
    if (s->sections == NULL || s->rows == NULL)
        abort();
    int ord = 0;
    json_array_foreach(layout, i, sec) {
        const char *id = json_string_value(json_object_get(sec, "id"));
        if (id == NULL)
            return -1;
        sm_section *x = &s->sections[s->nsections++];
        x->id = escaped_dup(id);
        json_t *price = json_object_get(prices, id);
        x->has_price = json_is_integer(price);
        x->price_cents = json_integer_value(price);
        x->first_row = s->nrows;
        if (shape_add_rows(s, s->nsections - 1, json_object_get(sec, "rows"), &ord) != 0)
            return -1;
        x->nrows = s->nrows - x->first_row;
    }
    s->nseats = (size_t)ord;
    return 0;
}

static int shape_add_tiers(sm_shape *s, json_t *tiers)
{
    size_t i;
    json_t *t;
    s->tiers = calloc(json_array_size(tiers) + 1, sizeof(*s->tiers));
    if (s->tiers == NULL)
        abort();
    json_array_foreach(tiers, i, t) {
        const char *id = json_string_value(json_object_get(t, "id"));
        const char *name = json_string_value(json_object_get(t, "name"));
        if (id == NULL)
            return -1;
        sm_tier *x = &s->tiers[s->ntiers++];
        snprintf(x->raw_id, sizeof(x->raw_id), "%s", id);
        x->id = escaped_dup(id);
        x->name = escaped_dup(name ? name : "");
        x->price_cents = json_integer_value(json_object_get(t, "price_cents"));
        x->capacity = (int)json_integer_value(json_object_get(t, "capacity"));
    }
    return 0;
}

/* The compact view's sections (see sm_shape), in the exact bytes the
 * contract's compact view has: {"id":..,"price_cents":..,"rows":[{"id":..,
 * "status":"ffhs.."}]}, unpriced sections all 'x'. */
static void compact_template(sm_shape *s)
{
    textbuf b;
    buf_start(&b);
    s->compact_section_at = calloc((size_t)s->nsections + 1, sizeof(size_t));
    s->compact_row_at = calloc((size_t)s->nrows + 1, sizeof(size_t));
    if (s->compact_section_at == NULL || s->compact_row_at == NULL)
        abort();
    textbuf_str(&b, ",\"sections\":[");
    for (int i = 0; i < s->nsections; i++) {
        const sm_section *sec = &s->sections[i];
        s->compact_section_at[i] = b.len;
        textbuf_str(&b, i ? ",{\"id\":\"" : "{\"id\":\"");
        textbuf_str(&b, sec->id);
        textbuf_str(&b, "\",\"price_cents\":");
        if (sec->has_price)
            textbuf_int(&b, sec->price_cents);
        else
            textbuf_str(&b, "null");
        textbuf_str(&b, ",\"rows\":[");
        for (int r = sec->first_row; r < sec->first_row + sec->nrows; r++) {
            const sm_row *row = &s->rows[r];
            textbuf_str(&b, r > sec->first_row ? ",{\"id\":\"" : "{\"id\":\"");
            textbuf_str(&b, row->id);
            textbuf_str(&b, "\",\"status\":\"");
            s->compact_row_at[r] = b.len;
            char *status = textbuf_extend(&b, (size_t)row->nseats);
            if (status == NULL)
                abort();
            memset(status, sec->has_price ? 'f' : 'x', (size_t)row->nseats);
            textbuf_str(&b, "\"}");
        }
        textbuf_str(&b, "]}");
    }
    s->compact = buf_take(&b, &s->compact_len);
}

static sm_shape *shape_new(const seatmap_spec *spec)
{
    sm_shape *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->refcnt = 1;
    if (shape_add_sections(s, spec->layout, spec->prices) != 0 || shape_add_tiers(s, spec->tiers) != 0 ||
        s->nseats != spec->nseats) {
        shape_unref(s);
        return NULL;
    }
    compact_template(s);
    return s;
}

/* Row of a seat ord (binary search over rows' first ords). */
static const sm_row *shape_row_of(const sm_shape *s, int ord)
{
    int lo = 0, hi = s->nrows - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (s->rows[mid].first_ord <= ord)
            lo = mid;
        else
            hi = mid - 1;
    }
    return s->nrows ? &s->rows[lo] : NULL;
}

/* --- per-event state and the registry ---------------------------------- */

typedef struct {
    char event_id[48];
    pthread_mutex_t lock;
    sm_shape *shape;
    char *status;                 /* shape->nseats chars */
    int *tier_avail;              /* shape->ntiers */
    int64_t version;
    uint64_t install_seq;         /* from install_counter, per (re)install */
    int nfree, nheld, nsold;
    seatmap_body *views[SEATMAP_VIEW__COUNT];
    gzip_chunks *gz_chunks[SEATMAP_VIEW__COUNT]; /* the seat views' deflated sections */
    gzip_chunks *page_chunks;     /* the event page's (api/browse.c) */
    int stale;                    /* a gap was seen; a reload is on its way */
    int64_t seen_unloaded;        /* newest change seen while not loaded (cluster) */
    pubsub_change **kept;         /* changes applied while stale, in order */
    size_t nkept, kept_cap;
} seatmap;

#define MAX_KEPT 4096

static seatmap_reload_fn reloader, reinstalled, new_event;

static uint64_t install_counter;  /* atomic */

static pthread_rwlock_t reg_lock = PTHREAD_RWLOCK_INITIALIZER;
static seatmap **reg_slots;       /* open addressing, linear probing */
static size_t reg_cap, reg_count;

static size_t hash_id(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static seatmap *reg_find_locked(const char *id)
{
    if (reg_cap == 0)
        return NULL;
    for (size_t i = hash_id(id) & (reg_cap - 1);; i = (i + 1) & (reg_cap - 1)) {
        if (reg_slots[i] == NULL)
            return NULL;
        if (strcmp(reg_slots[i]->event_id, id) == 0)
            return reg_slots[i];
    }
}

static seatmap *reg_find(const char *id)
{
    pthread_rwlock_rdlock(&reg_lock);
    seatmap *m = reg_find_locked(id);
    pthread_rwlock_unlock(&reg_lock);
    return m;
}

static void reg_put_locked(seatmap *m)
{
    if ((reg_count + 1) * 2 > reg_cap) {
        size_t old_cap = reg_cap;
        seatmap **old = reg_slots;
        reg_cap = reg_cap ? reg_cap * 2 : 64;
        reg_slots = calloc(reg_cap, sizeof(*reg_slots));
        if (reg_slots == NULL)
            abort();
        reg_count = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i] != NULL)
                reg_put_locked(old[i]);
        free(old);
    }
    size_t i = hash_id(m->event_id) & (reg_cap - 1);
    while (reg_slots[i] != NULL)
        i = (i + 1) & (reg_cap - 1);
    reg_slots[i] = m;
    reg_count++;
}

/* The event's map, created empty (no shape) when missing. */
static seatmap *reg_get_or_add(const char *id)
{
    pthread_rwlock_wrlock(&reg_lock);
    seatmap *m = reg_find_locked(id);
    if (m == NULL) {
        m = calloc(1, sizeof(*m));
        if (m == NULL)
            abort();
        snprintf(m->event_id, sizeof(m->event_id), "%s", id);
        pthread_mutex_init(&m->lock, NULL);
        m->version = -1;
        reg_put_locked(m);
    }
    pthread_rwlock_unlock(&reg_lock);
    return m;
}

static void count_status(seatmap *m, char st, int delta)
{
    if (st == 'f')
        m->nfree += delta;
    else if (st == 'h')
        m->nheld += delta;
    else if (st == 's')
        m->nsold += delta;
}

static int tier_index(const sm_shape *s, const char *raw_id)
{
    for (int i = 0; i < s->ntiers; i++)
        if (strcmp(s->tiers[i].raw_id, raw_id) == 0)
            return i;
    return -1;
}

/* --- install and change ------------------------------------------------ */

static int *tier_avail_from(const sm_shape *s, json_t *tiers)
{
    int *avail = calloc((size_t)s->ntiers + 1, sizeof(int));
    if (avail == NULL)
        abort();
    for (int i = 0; i < s->ntiers; i++)
        avail[i] = (int)json_integer_value(json_object_get(json_array_get(tiers, (size_t)i), "available"));
    return avail;
}

/* The state an install replaces (or the spec's, when it lost to a newer
 * map): freed after the lock is released. */
typedef struct {
    sm_shape *shape;
    char *status;
    int *tier_avail;
    seatmap_body *views[SEATMAP_VIEW__COUNT];
} sm_state;

static void state_free(sm_state *st)
{
    shape_unref(st->shape);
    free(st->status);
    free(st->tier_avail);
    for (int v = 0; v < SEATMAP_VIEW__COUNT; v++)
        seatmap_body_unref(st->views[v]);
}

/* Swap st into m; st then holds what m had. */
static void install_locked(seatmap *m, sm_state *st, int64_t version)
{
    sm_state old = {m->shape, m->status, m->tier_avail, {NULL}};
    memcpy(old.views, m->views, sizeof(old.views));
    memset(m->views, 0, sizeof(m->views));
    m->shape = st->shape;
    m->status = st->status;
    m->tier_avail = st->tier_avail;
    m->version = version;
    m->install_seq = __atomic_add_fetch(&install_counter, 1, __ATOMIC_RELAXED);
    m->nfree = m->nheld = m->nsold = 0;
    for (size_t i = 0; i < m->shape->nseats; i++)
        count_status(m, m->status[i], 1);
    *st = old;
}

static void apply_change_locked(seatmap *m, const pubsub_change *c);

static void kept_clear_locked(seatmap *m)
{
    for (size_t i = 0; i < m->nkept; i++)
        pubsub_change_unref(m->kept[i]);
    m->nkept = 0;
}

/* After a reload's install: replay the kept changes newer than it. 1 when a
 * gap remains (the map stays stale, keeping the changes after the gap). */
static int replay_kept_locked(seatmap *m)
{
    size_t i = 0;
    for (; i < m->nkept && m->kept[i]->version <= m->version + 1; i++)
        if (m->kept[i]->version == m->version + 1)
            apply_change_locked(m, m->kept[i]);
    if (i < m->nkept) {
        for (size_t k = 0; k < i; k++)
            pubsub_change_unref(m->kept[k]);
        memmove(m->kept, m->kept + i, (m->nkept - i) * sizeof(*m->kept));
        m->nkept -= i;
        return 1;
    }
    kept_clear_locked(m);
    m->stale = 0;
    return 0;
}

int seatmap_install(const seatmap_spec *spec)
{
    sm_state st = {shape_new(spec), NULL, NULL, {NULL}};
    if (st.shape == NULL) {
        log_msg(LOG_ERROR, "seatmap: bad layout for event %s", spec->event_id);
        return -1;
    }
    st.status = malloc(spec->nseats + 1);
    if (st.status == NULL)
        abort();
    memcpy(st.status, spec->statuses, spec->nseats);
    st.tier_avail = tier_avail_from(st.shape, spec->tiers);

    seatmap *m = reg_get_or_add(spec->event_id);
    pthread_mutex_lock(&m->lock);
    int replaced = m->shape != NULL, installed = 0, gap = 0;
    if (m->shape == NULL || spec->version >= m->version || m->stale) {
        install_locked(m, &st, spec->version);
        installed = 1;
        gap = m->stale && replay_kept_locked(m);
        if (reloader != NULL && m->seen_unloaded > m->version && !m->stale)
            gap = m->stale = 1; /* a change passed by while this was being read */
    }
    pthread_mutex_unlock(&m->lock);
    state_free(&st);
    if (gap && reloader != NULL)
        reloader(m->event_id);
    if (installed && replaced && reinstalled != NULL)
        reinstalled(m->event_id);
    if (!replaced && new_event != NULL && !catalog_has(m->event_id))
        new_event(m->event_id);
    return 0;
}

int seatmap_has(const char *event_id)
{
    seatmap *m = reg_find(event_id);
    if (m == NULL)
        return 0;
    pthread_mutex_lock(&m->lock);
    int has = m->shape != NULL;
    pthread_mutex_unlock(&m->lock);
    return has;
}

static void apply_change_locked(seatmap *m, const pubsub_change *c)
{
    for (size_t i = 0; i < c->nseats; i++) {
        int ord = c->seats[i].ord;
        if (ord < 0 || (size_t)ord >= m->shape->nseats)
            continue;
        count_status(m, m->status[ord], -1);
        m->status[ord] = c->seats[i].status;
        count_status(m, m->status[ord], 1);
    }
    for (size_t i = 0; i < c->ntiers; i++) {
        int t = tier_index(m->shape, c->tiers[i].tier_id);
        if (t >= 0)
            m->tier_avail[t] = c->tiers[i].available;
    }
    m->version = c->version;
}

/* Apply c when newer; 1 when a gap was found and a reload must be asked. */
static int change_locked(seatmap *m, pubsub_change *c)
{
    if (m->shape == NULL || c->version <= m->version)
        return 0;
    int ask = 0;
    if (c->version > m->version + 1) {
        log_msg(LOG_WARN, "seatmap: event %s jumps from version %lld to %lld%s", m->event_id,
                (long long)m->version, (long long)c->version, reloader ? "; reloading it" : "");
        ask = reloader != NULL && !m->stale;
        m->stale |= reloader != NULL;
    }
    if (m->stale) {
        if (m->nkept == MAX_KEPT) {
            kept_clear_locked(m); /* the reload asked now reads past all of them */
            ask = 1;
        }
        m->kept = array_grow(m->kept, &m->kept_cap, m->nkept + 1, sizeof(*m->kept));
        pubsub_change_ref(c);
        m->kept[m->nkept++] = c;
    }
    apply_change_locked(m, c);
    return ask;
}

/* Runs on the publishing thread (the store writer in embedded mode; in
 * cluster mode whichever thread completes the sequence), before the live
 * hub's listener, so a snapshot taken after a live message was sent always
 * includes that message's change. */
static void on_change(pubsub_change *c, void *data)
{
    seatmap *m = reg_find(c->event_id);
    if (m == NULL && reloader != NULL) /* cluster: a load may be under way */
        m = reg_get_or_add(c->event_id);
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    if (m->shape == NULL && c->version > m->seen_unloaded)
        m->seen_unloaded = c->version;
    int ask = change_locked(m, c);
    pthread_mutex_unlock(&m->lock);
    if (ask)
        reloader(m->event_id);
}

void seatmap_set_reloader(seatmap_reload_fn fn)
{
    reloader = fn;
}

void seatmap_on_reinstall(seatmap_reload_fn fn)
{
    reinstalled = fn;
}

void seatmap_on_new_event(seatmap_reload_fn fn)
{
    new_event = fn;
}

void seatmap_reload_all(void)
{
    if (reloader == NULL)
        return;
    pthread_rwlock_rdlock(&reg_lock);
    for (size_t i = 0; i < reg_cap; i++) {
        seatmap *m = reg_slots[i];
        if (m == NULL)
            continue;
        pthread_mutex_lock(&m->lock);
        int loaded = m->shape != NULL;
        if (loaded) {
            m->stale = 1;
            kept_clear_locked(m);
        }
        pthread_mutex_unlock(&m->lock);
        if (loaded)
            reloader(m->event_id);
    }
    pthread_rwlock_unlock(&reg_lock);
}

int64_t seatmap_version(const char *event_id)
{
    seatmap *m = reg_find(event_id);
    if (m == NULL)
        return -1;
    pthread_mutex_lock(&m->lock);
    int64_t v = m->shape != NULL ? m->version : -1;
    pthread_mutex_unlock(&m->lock);
    return v;
}

int seatmap_get_counts(const char *event_id, seatmap_counts *out)
{
    seatmap *m = reg_find(event_id);
    if (m == NULL)
        return -1;
    pthread_mutex_lock(&m->lock);
    int ok = m->shape != NULL;
    if (ok) {
        out->version = m->version;
        out->install_seq = m->install_seq;
        out->seats_free = m->nfree;
        out->seats_held = m->nheld;
        out->seats_sold = m->nsold;
        out->tiers_available = 0;
        for (int i = 0; i < m->shape->ntiers; i++)
            out->tiers_available += m->tier_avail[i];
    }
    pthread_mutex_unlock(&m->lock);
    return ok ? 0 : -1;
}

/* --- rendering ----------------------------------------------------------- */

/* A private copy of the state to render from, taken under the lock
 * (statuses only when the view needs them). */
typedef struct {
    const char *event_id;
    sm_shape *shape;           /* referenced */
    char *status;              /* NULL when not copied */
    int *tier_avail;
    int64_t version;
} sm_copy;

static void copy_state(seatmap *m, sm_copy *c, int with_status)
{
    c->shape = m->shape;
    __atomic_add_fetch(&c->shape->refcnt, 1, __ATOMIC_RELAXED);
    c->event_id = m->event_id;
    c->version = m->version;
    c->status = NULL;
    if (with_status) {
        c->status = malloc(c->shape->nseats + 1);
        if (c->status == NULL)
            abort();
        memcpy(c->status, m->status, c->shape->nseats);
    }
    c->tier_avail = malloc(((size_t)c->shape->ntiers + 1) * sizeof(int));
    if (c->tier_avail == NULL)
        abort();
    memcpy(c->tier_avail, m->tier_avail, (size_t)c->shape->ntiers * sizeof(int));
}

static void copy_free(sm_copy *c)
{
    shape_unref(c->shape);
    free(c->status);
    free(c->tier_avail);
}

static const char *status_word(char st)
{
    switch (st) {
    case 'f':
        return "free";
    case 'h':
        return "held";
    case 's':
        return "sold";
    default:
        return "unavailable";
    }
}

/* "A-12-7" with its quotes. */
static void put_seat_id(textbuf *b, const sm_shape *s, const sm_row *r, int ord)
{
    textbuf_put(b, "\"", 1);
    textbuf_str(b, s->sections[r->section].id);
    textbuf_put(b, "-", 1);
    textbuf_str(b, r->id);
    textbuf_put(b, "-", 1);
    textbuf_int(b, ord - r->first_ord + 1);
    textbuf_put(b, "\"", 1);
}

static void put_tiers_full(textbuf *b, const sm_copy *c)
{
    textbuf_str(b, "[");
    for (int i = 0; i < c->shape->ntiers; i++) {
        const sm_tier *t = &c->shape->tiers[i];
        textbuf_str(b, i ? ",{\"id\":\"" : "{\"id\":\"");
        textbuf_str(b, t->id);
        textbuf_str(b, "\",\"name\":\"");
        textbuf_str(b, t->name);
        textbuf_str(b, "\",\"price_cents\":");
        textbuf_int(b, t->price_cents);
        textbuf_str(b, ",\"capacity\":");
        textbuf_int(b, t->capacity);
        textbuf_str(b, ",\"available\":");
        textbuf_int(b, c->tier_avail[i]);
        textbuf_str(b, "}");
    }
    textbuf_str(b, "]");
}

static void put_tiers_short(textbuf *b, const sm_shape *s, const int *avail)
{
    textbuf_str(b, "[");
    for (int i = 0; i < s->ntiers; i++) {
        textbuf_str(b, i ? ",{\"id\":\"" : "{\"id\":\"");
        textbuf_str(b, s->tiers[i].id);
        textbuf_str(b, "\",\"available\":");
        textbuf_int(b, avail[i]);
        textbuf_str(b, "}");
    }
    textbuf_str(b, "]");
}

static void put_head(textbuf *b, const sm_copy *c)
{
    textbuf_str(b, "{\"event_id\":");
    textbuf_json_str(b, c->event_id);
    textbuf_str(b, ",\"version\":");
    textbuf_int(b, c->version);
}

/* The "seats" array of the full view (detailed) and of the live snapshot
 * (id and status only): every on-sale seat, in layout order. */
static void put_seat_list(textbuf *b, const sm_copy *c, int detailed, cut_list *cuts)
{
    const sm_shape *s = c->shape;
    textbuf_str(b, ",\"seats\":[");
    int first = 1;
    for (int r = 0; r < s->nrows; r++) {
        const sm_row *row = &s->rows[r];
        const sm_section *sec = &s->sections[row->section];
        if (!sec->has_price)
            continue;
        if (r == sec->first_row)
            cut_here_if(cuts, b->len, CUT_IF_BIG);
        for (int ord = row->first_ord; ord < row->first_ord + row->nseats; ord++) {
            if (c->status[ord] == 'x')
                continue;
            textbuf_str(b, first ? "{\"id\":" : ",{\"id\":");
            first = 0;
            put_seat_id(b, s, row, ord);
            if (detailed) {
                textbuf_str(b, ",\"section\":\"");
                textbuf_str(b, sec->id);
                textbuf_str(b, "\",\"row\":\"");
                textbuf_str(b, row->id);
                textbuf_str(b, "\",\"number\":");
                textbuf_int(b, ord - row->first_ord + 1);
                textbuf_str(b, ",\"price_cents\":");
                textbuf_int(b, sec->price_cents);
            }
            textbuf_str(b, ",\"status\":\"");
            textbuf_str(b, status_word(c->status[ord]));
            textbuf_str(b, "\"}");
        }
    }
    textbuf_str(b, "],\"tiers\":");
}

static void render_full(textbuf *b, const sm_copy *c, cut_list *cuts)
{
    put_head(b, c);
    put_seat_list(b, c, 1, cuts);
    cut_here_if(cuts, b->len, CUT_IF_BIG);
    put_tiers_full(b, c);
    textbuf_str(b, "}");
    cut_here_if(cuts, b->len, CUT_ALWAYS);
}

static void render_compact(textbuf *b, const sm_copy *c, cut_list *cuts)
{
    const sm_shape *s = c->shape;
    put_head(b, c);
    size_t at = b->len;
    char *tpl = textbuf_extend(b, s->compact_len); /* the template, statuses written in place */
    if (tpl == NULL)
        abort();
    memcpy(tpl, s->compact, s->compact_len);
    for (int i = 0; i < s->nsections; i++) {
        const sm_section *sec = &s->sections[i];
        cut_here_if(cuts, at + s->compact_section_at[i], CUT_IF_BIG);
        for (int r = sec->first_row; sec->has_price && r < sec->first_row + sec->nrows; r++)
            memcpy(tpl + s->compact_row_at[r], c->status + s->rows[r].first_ord, (size_t)s->rows[r].nseats);
    }
    cut_here_if(cuts, b->len, CUT_IF_BIG);
    textbuf_str(b, "],\"tiers\":");
    put_tiers_full(b, c);
    textbuf_str(b, "}");
    cut_here_if(cuts, b->len, CUT_ALWAYS);
}

static void render_snapshot(textbuf *b, const sm_copy *c)
{
    const sm_shape *s = c->shape;
    textbuf_str(b, "{\"type\":\"snapshot\",\"version\":");
    textbuf_int(b, c->version);
    put_seat_list(b, c, 0, NULL);
    put_tiers_short(b, s, c->tier_avail);
    textbuf_str(b, "}");
}

/* The view's body; the seat views carry their cuts and the map's chunk
 * cache (chunks) for their gzip copy. */
static seatmap_body *render_view(const sm_copy *c, seatmap_view view, gzip_chunks *chunks)
{
    static const char *const suffix[SEATMAP_VIEW__COUNT] = {"f", "c", NULL};
    textbuf b;
    buf_start(&b);
    cut_list cuts = {0};
    if (view == SEATMAP_VIEW_FULL)
        render_full(&b, c, &cuts);
    else if (view == SEATMAP_VIEW_COMPACT)
        render_compact(&b, c, &cuts);
    else
        render_snapshot(&b, c);
    seatmap_body *body = body_from(&b, c->version, suffix[view]);
    seatmap_body_set_chunks(body, cuts.at, NULL, cuts.n, chunks);
    return body;
}

gzip_chunks *seatmap_page_chunks(const char *event_id)
{
    seatmap *m = reg_find(event_id);
    if (m == NULL)
        return NULL;
    pthread_mutex_lock(&m->lock);
    if (m->page_chunks == NULL)
        m->page_chunks = gzip_chunks_new();
    gzip_chunks *c = m->page_chunks;
    pthread_mutex_unlock(&m->lock);
    return c;
}

seatmap_body *seatmap_view_get(const char *event_id, seatmap_view view)
{
    seatmap *m = reg_find(event_id);
    if (m == NULL || view < 0 || view >= SEATMAP_VIEW__COUNT)
        return NULL;
    sm_copy copy;
    pthread_mutex_lock(&m->lock);
    seatmap_body *b = m->views[view];
    if (m->shape == NULL || (b != NULL && b->version == m->version)) {
        if (b != NULL && m->shape != NULL)
            seatmap_body_ref(b);
        else
            b = NULL;
        pthread_mutex_unlock(&m->lock);
        return b;
    }
    copy_state(m, &copy, 1);
    if (view != SEATMAP_VIEW_SNAPSHOT && m->gz_chunks[view] == NULL)
        m->gz_chunks[view] = gzip_chunks_new();
    gzip_chunks *chunks = m->gz_chunks[view]; /* lives as long as m */
    pthread_mutex_unlock(&m->lock);

    b = render_view(&copy, view, chunks);
    copy_free(&copy);

    seatmap_body *old = NULL;
    pthread_mutex_lock(&m->lock);
    if (m->views[view] == NULL || m->views[view]->version < b->version) {
        old = m->views[view];
        m->views[view] = b;
        seatmap_body_ref(b);
    }
    pthread_mutex_unlock(&m->lock);
    seatmap_body_unref(old);
    return b;
}

char *seatmap_tiers_json(const char *event_id, seatmap_counts *counts)
{
    seatmap *m = reg_find(event_id);
    if (m == NULL)
        return NULL;
    sm_copy copy;
    pthread_mutex_lock(&m->lock);
    if (m->shape == NULL) {
        pthread_mutex_unlock(&m->lock);
        return NULL;
    }
    copy_state(m, &copy, 0);
    counts->version = m->version;
    counts->install_seq = m->install_seq;
    counts->seats_free = m->nfree;
    counts->seats_held = m->nheld;
    counts->seats_sold = m->nsold;
    counts->tiers_available = 0;
    for (int i = 0; i < copy.shape->ntiers; i++)
        counts->tiers_available += copy.tier_avail[i];
    pthread_mutex_unlock(&m->lock);

    textbuf b;
    size_t len;
    buf_start(&b);
    put_tiers_full(&b, &copy);
    copy_free(&copy);
    return buf_take(&b, &len);
}

/* --- live change messages ---------------------------------------------- */

static seatmap_body *render_seat_changes(const pubsub_change *c, const sm_shape *s)
{
    textbuf b;
    buf_start(&b);
    textbuf_str(&b, "{\"type\":\"seats\",\"version\":");
    textbuf_int(&b, c->version);
    textbuf_str(&b, ",\"changes\":[");
    int first = 1;
    for (size_t i = 0; i < c->nseats; i++) {
        int ord = c->seats[i].ord;
        if (ord < 0 || (size_t)ord >= s->nseats)
            continue;
        textbuf_str(&b, first ? "{\"id\":" : ",{\"id\":");
        first = 0;
        put_seat_id(&b, s, shape_row_of(s, ord), ord);
        textbuf_str(&b, ",\"status\":\"");
        textbuf_str(&b, status_word(c->seats[i].status));
        textbuf_str(&b, "\"}");
    }
    textbuf_str(&b, "]}");
    return body_from(&b, c->version, NULL);
}

static seatmap_body *render_tier_changes(const pubsub_change *c)
{
    textbuf b;
    buf_start(&b);
    textbuf_str(&b, "{\"type\":\"tiers\",\"version\":");
    textbuf_int(&b, c->version);
    textbuf_str(&b, ",\"tiers\":[");
    for (size_t i = 0; i < c->ntiers; i++) {
        textbuf_str(&b, i ? ",{\"id\":" : "{\"id\":");
        textbuf_json_str(&b, c->tiers[i].tier_id);
        textbuf_str(&b, ",\"available\":");
        textbuf_int(&b, c->tiers[i].available);
        textbuf_str(&b, "}");
    }
    textbuf_str(&b, "]}");
    return body_from(&b, c->version, NULL);
}

int seatmap_render_change(const pubsub_change *c, seatmap_body **seats, seatmap_body **tiers)
{
    *seats = *tiers = NULL;
    seatmap *m = reg_find(c->event_id);
    if (m == NULL)
        return -1;
    pthread_mutex_lock(&m->lock);
    sm_shape *s = m->shape;
    if (s != NULL)
        __atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&m->lock);
    if (s == NULL)
        return -1;
    /* a change with neither seats nor tiers still announces its version */
    if (c->nseats > 0 || c->ntiers == 0)
        *seats = render_seat_changes(c, s);
    if (c->ntiers > 0)
        *tiers = render_tier_changes(c);
    shape_unref(s);
    return 0;
}

/* --- start-up and shutdown --------------------------------------------- */

void seatmap_init(void)
{
    pubsub_listen(on_change, NULL);
}

void seatmap_free_all(void)
{
    gzip_thread_done();
    pthread_rwlock_wrlock(&reg_lock);
    for (size_t i = 0; i < reg_cap; i++) {
        seatmap *m = reg_slots[i];
        if (m == NULL)
            continue;
        sm_state st = {m->shape, m->status, m->tier_avail, {NULL}};
        memcpy(st.views, m->views, sizeof(st.views));
        state_free(&st);
        kept_clear_locked(m);
        free(m->kept);
        for (int v = 0; v < SEATMAP_VIEW__COUNT; v++)
            gzip_chunks_free(m->gz_chunks[v]);
        gzip_chunks_free(m->page_chunks);
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
    free(reg_slots);
    reg_slots = NULL;
    reg_cap = reg_count = 0;
    pthread_rwlock_unlock(&reg_lock);
}
