/*
 * textbuf.h - a growable text buffer for the renderers of ops/ (the
 * /metrics exposition, the OTLP JSON batches): append-only, one malloc'd
 * block, taken by the caller at the end.
 */
#ifndef TIXIN_OPS_TEXTBUF_H
#define TIXIN_OPS_TEXTBUF_H

#include <stddef.h>

typedef struct textbuf {
    char *buf;   /* NUL-terminated by textbuf_take */
    size_t len, cap;
    int failed;  /* an allocation failed: the text is incomplete */
} textbuf;

/* 0, or -1 when even the first block could not be allocated. */
int textbuf_init(textbuf *t, size_t cap);
__attribute__((format(printf, 2, 3))) void textbuf_printf(textbuf *t, const char *fmt, ...);
void textbuf_put(textbuf *t, const char *s, size_t n);
/* v in decimal (no printf: the OTLP encoder writes several per span). */
void textbuf_int(textbuf *t, long long v);
/* s as a JSON string, quotes included. */
void textbuf_json_str(textbuf *t, const char *s);
/* The text (caller frees) and its length; NULL when something failed. */
char *textbuf_take(textbuf *t, size_t *len);

#endif
