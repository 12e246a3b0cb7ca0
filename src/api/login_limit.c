/*
 * login_limit.c - the failed sign-in counter behind login_limit.h.
 *
 * Entries are keyed by a 64-bit hash of the email (no addresses kept in
 * memory), in a fixed open-addressed table probed over a short run; a
 * full run evicts its oldest window. Losing an entry only forgets some
 * failures, which errs towards letting a user in, never towards locking
 * out somebody else. The remote (cluster mode) only adds to what the table
 * knows; checks never wait for it.
 */
#include "api/login_limit.h"

#include <pthread.h>
#include <string.h>

#define SLOTS 8192 /* power of two */
#define PROBE 8

typedef struct {
    uint64_t key;   /* 0: free */
    int64_t start;  /* first failure of the window */
    int failures;
} slot;

static slot table[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const login_limit_remote *remote;

static uint64_t key_of(const char *email)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)email; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ? h : 1;
}

static int expired(const slot *s, int64_t now)
{
    return now - s->start >= LOGIN_LIMIT_WINDOW_MS;
}

/* The slot of key, or NULL. Caller holds lock. */
static slot *find(uint64_t key)
{
    for (int i = 0; i < PROBE; i++) {
        slot *s = &table[(key + (uint64_t)i) & (SLOTS - 1)];
        if (s->key == key)
            return s;
    }
    return NULL;
}

/* A slot for a new key: a free or expired one, else the oldest. */
static slot *claim(uint64_t key, int64_t now)
{
    slot *oldest = NULL;
    for (int i = 0; i < PROBE; i++) {
        slot *s = &table[(key + (uint64_t)i) & (SLOTS - 1)];
        if (s->key == 0 || expired(s, now))
            return s;
        if (!oldest || s->start < oldest->start)
            oldest = s;
    }
    return oldest;
}

int login_limit_check(const char *email, int64_t now)
{
    int wait = 0;
    pthread_mutex_lock(&lock);
    slot *s = find(key_of(email));
    if (s && !expired(s, now) && s->failures >= LOGIN_LIMIT_FAILURES)
        wait = (int)((s->start + LOGIN_LIMIT_WINDOW_MS - now + 999) / 1000);
    pthread_mutex_unlock(&lock);
    return wait > 0 ? wait : 0;
}

/* key's slot in a window that is running at now (a new one starting at
 * start if there is none). Caller holds lock. */
static slot *current(uint64_t key, int64_t now, int64_t start)
{
    slot *s = find(key);
    if (!s || expired(s, now)) {
        if (!s)
            s = claim(key, now);
        *s = (slot){.key = key, .start = start, .failures = 0};
    }
    return s;
}

void login_limit_fail(const char *email, int64_t now)
{
    uint64_t key = key_of(email);
    pthread_mutex_lock(&lock);
    current(key, now, now)->failures++;
    pthread_mutex_unlock(&lock);
    if (remote)
        remote->fail(key);
}

static void clear_key(uint64_t key)
{
    pthread_mutex_lock(&lock);
    slot *s = find(key);
    if (s)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&lock);
}

void login_limit_clear(const char *email)
{
    uint64_t key = key_of(email);
    clear_key(key);
    if (remote)
        remote->clear(key);
}

void login_limit_set_remote(const login_limit_remote *r)
{
    remote = r;
}

void login_limit_apply(uint64_t key, int failures, int64_t ttl_ms, int64_t now)
{
    if (key == 0)
        return;
    if (failures <= 0) {
        clear_key(key);
        return;
    }
    if (ttl_ms < 0 || ttl_ms > LOGIN_LIMIT_WINDOW_MS)
        ttl_ms = LOGIN_LIMIT_WINDOW_MS;
    pthread_mutex_lock(&lock);
    slot *s = current(key, now, now - (LOGIN_LIMIT_WINDOW_MS - ttl_ms));
    if (failures > s->failures)
        s->failures = failures;
    pthread_mutex_unlock(&lock);
}
