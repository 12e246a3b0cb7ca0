/*
 * textbuf.h - a growable text buffer for the renderers (the seat views and
 * live messages of booking/seatmap.c, the /metrics exposition, the OTLP
 * JSON batches): append-only, one malloc'd block, taken by the caller at
 * the end. A failed allocation marks the buffer (textbuf_take() answers
 * NULL); what to do then is the caller's choice.
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
void textbuf_str(textbuf *t, const char *s);
/* n more bytes at the end, for the caller to fill; NULL when failed. */
char *textbuf_extend(textbuf *t, size_t n);
/* v in decimal (no printf: the OTLP encoder writes several per span). */
void textbuf_int(textbuf *t, long long v);
/* s as a JSON string, quotes included. */
void textbuf_json_str(textbuf *t, const char *s);
/* s as the inside of a JSON string (no quotes). */
void textbuf_json_chars(textbuf *t, const char *s);
/* The text (caller frees) and its length; NULL when something failed. */
char *textbuf_take(textbuf *t, size_t *len);

#endif
