/*
 * gzip.c - the one gzip path: responses (http/respond.c) and the shared
 * bodies of seat maps (booking/seatmap.c) both come through here.
 *
 * Level 1 (Z_BEST_SPEED): a seat map is re-compressed at every version, and
 * in a drop versions change hundreds of times a second. Measured on the
 * 10,000-seat compact view (22.7 KB): level 6 took ~150 us and gave 524
 * bytes, level 1 ~40 us for 674 bytes - a quarter of the CPU for 150 more
 * bytes on the wire. The stream is per thread and reset between bodies:
 * deflateInit allocates ~256 KiB, too much to redo per body; a thread-
 * specific key's destructor frees it when its thread ends.
 *
 * Chunked gzip (gzip_chunked): at every version only a few seats change,
 * yet a plain gzip compresses all 23 KB (or 870 KB of the full view) again.
 * Deflate allows a stream to be the concatenation of independently
 * compressed runs of blocks as long as none is final and each ends on a
 * byte boundary: a raw deflate stream reset per chunk and ended with
 * Z_SYNC_FLUSH gives exactly that (the reset forgets the window, so no
 * back-reference crosses a chunk). The member is then header + chunks +
 * an empty final block + CRC-32 (crc32_combine of the chunks' CRCs) +
 * length. A changed seat costs one section's chunk (about a kilobyte).
 *
 * Stored chunks (gzip_chunked() with stored flags): a small part that
 * changes at every version (an event page's tiers and counts after its
 * fixed text) goes out as a stored block, its bytes as they are. Deflating
 * a few hundred bytes saves a few dozen but costs a stream reset and a
 * block every time (~35,000 instructions per event page); a stored block
 * costs a copy.
 */
#include "core/gzip.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The streams a thread keeps. deflateReset() clears the match-hash table,
 * 64 KiB at zlib's default memLevel 8: more than compressing a 1 KiB body
 * costs. Small inputs (an event page, one section of a seat map) get a
 * stream with a 4 KiB window and a table of 4K entries (memLevel 5, 8 KiB
 * to clear), the few hundred bytes that change in a seat map or an event
 * page at each version a 512-byte one (memLevel 1); their output is a few
 * per cent bigger at most. Measured with callgrind per call, a 1.2 KB event
 * page: 200k instructions with the default stream, 145k small; an empty
 * body: 82k default, 24k small, 16k tiny. */
enum { GZ_LARGE, GZ_SMALL, RAW_SMALL, RAW_TINY, NKINDS };
#define SMALL_MAX (16 * 1024)
#define TINY_MAX 512
static const struct {
    int window_bits, mem_level;
} kinds[NKINDS] = {{15 + 16, 8}, {12 + 16, 5}, {-12, 5}, {-9, 1}};
static pthread_key_t keys[NKINDS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void stream_free(void *p)
{
    deflateEnd(p);
    free(p);
}

static void keys_make(void)
{
    for (int k = 0; k < NKINDS; k++)
        if (pthread_key_create(&keys[k], stream_free) != 0)
            abort();
}

/* The thread's stream of that kind, reset and ready; NULL if zlib failed. */
static z_stream *stream_of(int kind)
{
    pthread_once(&once, keys_make);
    z_stream *zs = pthread_getspecific(keys[kind]);
    if (zs != NULL) {
        deflateReset(zs);
        return zs;
    }
    zs = calloc(1, sizeof(*zs));
    if (zs == NULL)
        abort();
    if (deflateInit2(zs, Z_BEST_SPEED, Z_DEFLATED, kinds[kind].window_bits, kinds[kind].mem_level,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(zs);
        return NULL;
    }
    pthread_setspecific(keys[kind], zs);
    return zs;
}

char *gzip_into(const char *data, size_t len, size_t *out_len, gzip_alloc_fn alloc, void *ctx)
{
    z_stream *zs = stream_of(len <= SMALL_MAX ? GZ_SMALL : GZ_LARGE);
    if (zs == NULL)
        return NULL;
    size_t cap = deflateBound(zs, len);
    char *out = alloc(ctx, cap);
    if (out == NULL)
        return NULL;
    zs->next_in = (Bytef *)data;
    zs->avail_in = (uInt)len;
    zs->next_out = (Bytef *)out;
    zs->avail_out = (uInt)cap;
    int rc = deflate(zs, Z_FINISH);
    *out_len = zs->total_out;
    return rc == Z_STREAM_END ? out : NULL;
}

/* Running out of memory aborts, as everywhere else in tixin. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

static char *dup_bytes(const char *p, size_t n)
{
    return memcpy(xmalloc(n), p, n);
}

/* Remembers what it allocated, so that gzip_malloc() can free it when
 * deflate fails after the allocation. */
static void *malloc_kept(void *ctx, size_t n)
{
    char **kept = ctx;
    return *kept = xmalloc(n);
}

char *gzip_malloc(const char *data, size_t len, size_t *out_len)
{
    char *kept = NULL;
    char *gz = gzip_into(data, len, out_len, malloc_kept, &kept);
    if (gz == NULL)
        free(kept);
    return gz;
}

void gzip_thread_done(void)
{
    pthread_once(&once, keys_make);
    for (int k = 0; k < NKINDS; k++) {
        z_stream *zs = pthread_getspecific(keys[k]);
        if (zs != NULL) {
            pthread_setspecific(keys[k], NULL);
            stream_free(zs);
        }
    }
}

/* --- chunked gzip ---------------------------------------------------------- */

typedef struct {
    char *plain, *z; /* the chunk's bytes and their run (malloc'd) */
    size_t plain_len, z_len;
    uLong crc;
    int stored;      /* z is stored blocks, not deflated */
} chunk;

struct gzip_chunks {
    pthread_mutex_t lock;
    chunk *chunks;
    int n;
};

gzip_chunks *gzip_chunks_new(void)
{
    gzip_chunks *c = calloc(1, sizeof(*c));
    if (c == NULL || pthread_mutex_init(&c->lock, NULL) != 0)
        abort();
    return c;
}

static void chunk_free(chunk *k)
{
    free(k->plain);
    free(k->z);
}

static void chunks_clear(gzip_chunks *c)
{
    for (int i = 0; i < c->n; i++)
        chunk_free(&c->chunks[i]);
    free(c->chunks);
    c->chunks = NULL;
    c->n = 0;
}

void gzip_chunks_free(gzip_chunks *c)
{
    if (c == NULL)
        return;
    chunks_clear(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Replaces chunk k with its new run (taken over) and a copy of its bytes. */
static void chunk_set(chunk *k, int stored, const char *data, size_t len, char *z, size_t z_len)
{
    chunk_free(k);
    *k = (chunk){dup_bytes(data, len), z, len, z_len, crc32(0L, (const Bytef *)data, (uInt)len), stored};
}

/* (Re)deflates chunk k from data: 0, or -1 when zlib failed. */
static int chunk_deflate(chunk *k, const char *data, size_t len)
{
    z_stream *zs = stream_of(len <= TINY_MAX ? RAW_TINY : RAW_SMALL);
    if (zs == NULL)
        return -1;
    size_t cap = deflateBound(zs, len) + 16; /* + the sync flush marker */
    char *z = xmalloc(cap);
    zs->next_in = (Bytef *)data;
    zs->avail_in = (uInt)len;
    zs->next_out = (Bytef *)z;
    zs->avail_out = (uInt)cap;
    if (deflate(zs, Z_SYNC_FLUSH) != Z_OK || zs->avail_in != 0) {
        free(z);
        return -1;
    }
    chunk_set(k, 0, data, len, z, cap - zs->avail_out);
    return 0;
}

/* Chunk k as stored blocks (at most 65,535 bytes each): a 5-byte header
 * (not final, type 0, then LEN and its complement) and the bytes. Every
 * run before it ends on a byte boundary, as a stored block must start. */
static void chunk_store(chunk *k, const char *data, size_t len)
{
    size_t nblocks = len / 65535 + 1, at = 0;
    unsigned char *z = xmalloc(len + 5 * nblocks), *p = z;
    do {
        size_t n = len - at < 65535 ? len - at : 65535;
        *p++ = 0;
        *p++ = (unsigned char)(n & 0xff);
        *p++ = (unsigned char)(n >> 8);
        *p++ = (unsigned char)(~n & 0xff);
        *p++ = (unsigned char)((~n >> 8) & 0xff);
        memcpy(p, data + at, n);
        p += n;
        at += n;
    } while (at < len);
    chunk_set(k, 1, data, len, (char *)z, (size_t)(p - z));
}

/* Brings the cache to data's chunks; the compressed size, or -1. */
static long chunks_update(gzip_chunks *c, const char *data, const size_t *cuts, const unsigned char *stored,
                          int ncuts)
{
    if (c->n != ncuts) {
        chunks_clear(c);
        c->chunks = calloc((size_t)ncuts, sizeof(chunk));
        if (c->chunks == NULL)
            abort();
        c->n = ncuts;
    }
    long total = 0;
    for (int i = 0; i < ncuts; i++) {
        size_t from = i ? cuts[i - 1] : 0, len = cuts[i] - from;
        chunk *k = &c->chunks[i];
        int store = stored != NULL && stored[i];
        int same = k->z != NULL && k->stored == store && k->plain_len == len &&
                   memcmp(k->plain, data + from, len) == 0;
        if (!same && store)
            chunk_store(k, data + from, len);
        else if (!same && chunk_deflate(k, data + from, len) != 0)
            return -1;
        total += (long)k->z_len;
    }
    return total;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The member: header, the chunks' runs, an empty final block, trailer. */
static char *chunks_member(const gzip_chunks *c, size_t len, long zlen, size_t *out_len)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    static const unsigned char final_block[2] = {0x03, 0x00};
    size_t n = sizeof(header) + (size_t)zlen + sizeof(final_block) + 8;
    unsigned char *out = xmalloc(n), *p = out;
    memcpy(p, header, sizeof(header));
    p += sizeof(header);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < c->n; i++) {
        memcpy(p, c->chunks[i].z, c->chunks[i].z_len);
        p += c->chunks[i].z_len;
        crc = crc32_combine(crc, c->chunks[i].crc, (z_off_t)c->chunks[i].plain_len);
    }
    memcpy(p, final_block, sizeof(final_block));
    p += sizeof(final_block);
    put_le32(p, (uint32_t)crc);
    put_le32(p + 4, (uint32_t)len); /* ISIZE: the length mod 2^32 */
    *out_len = n;
    return (char *)out;
}

char *gzip_chunked(gzip_chunks *c, const char *data, size_t len, const size_t *cuts, const unsigned char *stored,
                   int ncuts, size_t *out_len)
{
    if (ncuts <= 0 || cuts[ncuts - 1] != len)
        return gzip_malloc(data, len, out_len);
    pthread_mutex_lock(&c->lock);
    long zlen = chunks_update(c, data, cuts, stored, ncuts);
    char *out = zlen < 0 ? NULL : chunks_member(c, len, zlen, out_len);
    pthread_mutex_unlock(&c->lock);
    return out;
}
