/*
 * textbuf.c - see textbuf.h. Growth doubles, so rendering a few hundred
 * KiB costs a handful of reallocs; a failed allocation marks the buffer
 * rather than returning errors from every append.
 */
#include "core/textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int textbuf_init(textbuf *t, size_t cap)
{
    t->buf = malloc(cap);
    t->len = 0;
    t->cap = t->buf ? cap : 0;
    t->failed = t->buf == NULL;
    if (t->buf)
        t->buf[0] = '\0';
    return t->failed ? -1 : 0;
}

/* Room for n more bytes and the NUL. */
static int reserve(textbuf *t, size_t n)
{
    if (t->failed)
        return -1;
    if (t->len + n < t->cap)
        return 0;
    size_t cap = (t->len + n + 1) * 2;
    char *nb = realloc(t->buf, cap);
    if (nb == NULL) {
        t->failed = 1;
        return -1;
    }
    t->buf = nb, t->cap = cap;
    return 0;
}

void textbuf_printf(textbuf *t, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !t->failed; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        reserve(t, (size_t)n);
    }
}

void textbuf_put(textbuf *t, const char *s, size_t n)
{
    if (reserve(t, n) != 0)
        return;
    memcpy(t->buf + t->len, s, n);
    t->len += n; /* the NUL is written by textbuf_take */
}

void textbuf_str(textbuf *t, const char *s)
{
    textbuf_put(t, s, strlen(s));
}

char *textbuf_extend(textbuf *t, size_t n)
{
    if (reserve(t, n) != 0)
        return NULL;
    t->len += n;
    return t->buf + t->len - n;
}

void textbuf_int(textbuf *t, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[sizeof(tmp) - 1 - n++] = '-';
    textbuf_put(t, tmp + sizeof(tmp) - n, (size_t)n);
}

void textbuf_json_chars(textbuf *t, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t run = 0; /* bytes that need no escape, copied at once */
        while (p[run] && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\')
            run++;
        textbuf_put(t, (const char *)p, run);
        p += run;
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p++};
            textbuf_put(t, esc, 2);
        } else if (*p) {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            textbuf_put(t, esc, 6);
            p++;
        }
    }
}

void textbuf_json_str(textbuf *t, const char *s)
{
    textbuf_put(t, "\"", 1);
    textbuf_json_chars(t, s);
    textbuf_put(t, "\"", 1);
}

char *textbuf_take(textbuf *t, size_t *len)
{
    if (t->failed) {
        free(t->buf);
        t->buf = NULL;
        return NULL;
    }
    t->buf[t->len] = '\0'; /* reserve() always leaves room for it */
    *len = t->len;
    return t->buf;
}
