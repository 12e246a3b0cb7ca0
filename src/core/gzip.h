/*
 * gzip.h - gzip in one call, with one deflate stream per thread.
 */
#ifndef TIXIN_CORE_GZIP_H
#define TIXIN_CORE_GZIP_H

#include <stddef.h>

/* Where the compressed bytes go: alloc(ctx, n) answers n bytes that the
 * caller owns (malloc'd, or from a request pool), or NULL. */
typedef void *(*gzip_alloc_fn)(void *ctx, size_t n);

/* data gzipped at level 1 into memory from alloc; NULL on failure (the
 * caller sends the plain bytes; memory alloc gave before the failure is
 * still the caller's). *out_len is the compressed length. */
char *gzip_into(const char *data, size_t len, size_t *out_len, gzip_alloc_fn alloc, void *ctx);
/* The same into malloc'd memory the caller frees. */
char *gzip_malloc(const char *data, size_t len, size_t *out_len);

/* Gzip of bodies that change a little at a time (a seat map at every
 * version): the caller cuts its bytes into chunks (cuts[i] is where chunk
 * i ends; the last is len), each chunk is deflated on its own (a full
 * flush between chunks, so none refers back into another) and kept with
 * its plain bytes, and the next call deflates again only the chunks whose
 * bytes differ: the rest of the member is copied and the CRC combined.
 * The output is one ordinary gzip member. The cache locks itself; the
 * result is malloc'd (the caller frees it), NULL on failure.
 *
 * stored (NULL, or one flag per chunk) marks small chunks that change at
 * nearly every call: those go out as stored blocks, their bytes as they
 * are, instead of being deflated again each time (see gzip.c). */
typedef struct gzip_chunks gzip_chunks;
gzip_chunks *gzip_chunks_new(void);
void gzip_chunks_free(gzip_chunks *c);
char *gzip_chunked(gzip_chunks *c, const char *data, size_t len, const size_t *cuts, const unsigned char *stored,
                   int ncuts, size_t *out_len);

/* Frees the calling thread's stream now (threads that end free theirs
 * anyway; the main thread calls this before exit so leak checks stay quiet). */
void gzip_thread_done(void);

#endif
