/*
 * wire.c - pubsub_change to and from the text sent on the Redis channel.
 * Hand-rolled rather than JSON: a ticket drop publishes thousands of small
 * changes a second and every instance decodes every one of them.
 */
#include "pubsub/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t len, cap;
} wbuf;

static void put(wbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(wbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (n > 0 ? (size_t)n : 64);
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL)
            abort();
    }
}

static int plain_id(const char *s)
{
    return s[0] != '\0' && strpbrk(s, "|,=") == NULL;
}

char *wire_encode(const pubsub_change *c, const char *origin, size_t *len)
{
    if (!plain_id(c->event_id) || !plain_id(origin))
        return NULL;
    for (size_t i = 0; i < c->ntiers; i++)
        if (!plain_id(c->tiers[i].tier_id))
            return NULL;
    wbuf b = {malloc(128), 0, 128};
    if (b.p == NULL)
        abort();
    put(&b, "%s|%s|%lld|", origin, c->event_id, (long long)c->version);
    for (size_t i = 0; i < c->nseats; i++)
        put(&b, "%s%d%c", i ? "," : "", c->seats[i].ord, c->seats[i].status);
    put(&b, "|");
    for (size_t i = 0; i < c->ntiers; i++)
        put(&b, "%s%s=%d", i ? "," : "", c->tiers[i].tier_id, c->tiers[i].available);
    *len = b.len;
    return b.p;
}

static int decode_seats(pubsub_change *c, const char *s)
{
    while (*s) {
        char *end;
        long ord = strtol(s, &end, 10);
        char st = *end;
        if (end == s || ord < 0 || (st != 'f' && st != 'h' && st != 's'))
            return -1;
        pubsub_change_add_seat(c, (int)ord, st);
        s = end + 1;
        if (*s == ',')
            s++;
        else if (*s != '\0')
            return -1;
    }
    return 0;
}

static int decode_tiers(pubsub_change *c, const char *s)
{
    while (*s) {
        const char *eq = strchr(s, '=');
        char *end;
        if (eq == NULL || eq == s || (size_t)(eq - s) >= sizeof(c->tiers[0].tier_id))
            return -1;
        long n = strtol(eq + 1, &end, 10);
        if (end == eq + 1 || (*end != ',' && *end != '\0'))
            return -1;
        char id[sizeof(c->tiers[0].tier_id)];
        memcpy(id, s, (size_t)(eq - s));
        id[eq - s] = '\0';
        pubsub_change_add_tier(c, id, (int)n);
        s = *end ? end + 1 : end;
    }
    return 0;
}

/* Split s at the next '|' (NUL-terminating the field); NULL at the end. */
static char *next_field(char **s)
{
    char *f = *s;
    if (f == NULL)
        return NULL;
    char *bar = strchr(f, '|');
    if (bar != NULL)
        *bar++ = '\0';
    *s = bar;
    return f;
}

static pubsub_change *decode_fields(char *s, char *origin, size_t cap)
{
    char *o = next_field(&s), *ev = next_field(&s), *ver = next_field(&s);
    char *seats = next_field(&s), *tiers = next_field(&s);
    if (tiers == NULL || s != NULL || strlen(o) >= cap || ev[0] == '\0' ||
        strlen(ev) >= sizeof(((pubsub_change *)0)->event_id))
        return NULL;
    char *vend;
    long long v = strtoll(ver, &vend, 10);
    if (ver[0] == '\0' || *vend != '\0' || v < 0)
        return NULL;
    snprintf(origin, cap, "%s", o);
    pubsub_change *c = pubsub_change_new(ev);
    c->version = v;
    if (decode_seats(c, seats) != 0 || decode_tiers(c, tiers) != 0) {
        pubsub_change_unref(c);
        return NULL;
    }
    return c;
}

pubsub_change *wire_decode(const char *p, size_t len, char *origin, size_t cap)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    memcpy(s, p, len);
    s[len] = '\0';
    pubsub_change *c = memchr(p, '\0', len) ? NULL : decode_fields(s, origin, cap);
    free(s);
    return c;
}
