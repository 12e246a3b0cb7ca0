/*
 * test_gzip.c - core/gzip.c: one-shot gzip and the chunked gzip that
 * re-deflates only changed chunks. Every output is inflated back with
 * zlib (gzip wrapper, so the CRC-32 and length in the trailer are checked
 * too) and compared with the input.
 */
#include "unit.h"

#include <stdlib.h>
#include <zlib.h>
#include "core/gzip.h"

/* Inflates a gzip member; 0 when it is valid and equals want. */
static int inflates_to(const char *gz, size_t gz_len, const char *want, size_t want_len)
{
    z_stream zs = {0};
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return -1;
    char *out = malloc(want_len + 64);
    zs.next_in = (Bytef *)gz;
    zs.avail_in = (uInt)gz_len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)(want_len + 64);
    int rc = inflate(&zs, Z_FINISH);
    int ok = rc == Z_STREAM_END && zs.total_out == want_len && zs.avail_in == 0 && memcmp(out, want, want_len) == 0;
    inflateEnd(&zs);
    free(out);
    return ok ? 0 : -1;
}

/* A seat-map-like body: 20 sections of 25 rows of 20 statuses. */
static size_t fake_map(char *buf, size_t cap, size_t *cuts, const char *status)
{
    size_t n = (size_t)snprintf(buf, cap, "{\"version\":%d,\"sections\":[", (int)strlen(status));
    cuts[0] = n;
    for (int s = 0; s < 20; s++) {
        for (int r = 0; r < 25; r++)
            n += (size_t)snprintf(buf + n, cap - n, "%s{\"id\":\"%d\",\"status\":\"%.20s\"}", r ? "," : "", r + 1,
                                  status + (s * 25 + r) * 20);
        cuts[1 + s] = n;
    }
    n += (size_t)snprintf(buf + n, cap - n, "]}");
    cuts[21] = n;
    return n;
}

static void gzip_one_shot_round_trips(void)
{
    const char *text = "{\"hello\":\"world\",\"n\":[1,2,3,4,5,6,7,8,9,10]}";
    size_t n = 0;
    char *gz = gzip_malloc(text, strlen(text), &n);
    CHECK(gz != NULL);
    CHECK_INT(inflates_to(gz, n, text, strlen(text)), 0);
    free(gz);
}

static void gzip_chunked_matches_input_at_every_change(void)
{
    static char status[10001], buf[64 * 1024];
    size_t cuts[22];
    memset(status, 'f', 10000);
    gzip_chunks *c = gzip_chunks_new();
    for (int round = 0; round < 50; round++) {
        if (round > 0) /* a few seats change, as in a batch of holds */
            for (int k = 0; k < 1 + round % 4; k++)
                status[(round * 7919 + k * 104729) % 10000] = "fhs"[(round + k) % 3];
        size_t len = fake_map(buf, sizeof(buf), cuts, status);
        size_t n = 0;
        char *gz = gzip_chunked(c, buf, len, cuts, NULL, 22, &n);
        CHECK(gz != NULL);
        if (gz != NULL)
            CHECK_INT(inflates_to(gz, n, buf, len), 0);
        CHECK(n < len / 4); /* still compresses */
        free(gz);
    }
    /* a different number of chunks (a new layout) starts the cache over */
    size_t one = strlen("{}");
    size_t n = 0;
    char *gz = gzip_chunked(c, "{}", one, &one, NULL, 1, &n);
    CHECK(gz != NULL && inflates_to(gz, n, "{}", one) == 0);
    free(gz);
    gzip_chunks_free(c);
}

static void gzip_chunked_rejects_bad_cuts_by_compressing_whole(void)
{
    const char *text = "abcdefabcdefabcdef";
    size_t cuts[2] = {5, 10}; /* does not end at the length */
    gzip_chunks *c = gzip_chunks_new();
    size_t n = 0;
    char *gz = gzip_chunked(c, text, strlen(text), cuts, NULL, 2, &n);
    CHECK(gz != NULL && inflates_to(gz, n, text, strlen(text)) == 0);
    free(gz);
    gzip_chunks_free(c);
}

/* A page-like body: stable texts with a count after each, the counts
 * marked stored. cuts/stored get 2 chunks per item + the tail. */
static size_t fake_page(char *buf, size_t cap, size_t *cuts, unsigned char *stored, const int *count)
{
    size_t n = 0;
    int k = 0;
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(buf + n, cap - n, "%s{\"id\":\"evt_%02d\",\"title\":\"Bench Event %d\",\"available\":",
                              i ? "" : "{\"items\":[", i, i + 1);
        cuts[k] = n, stored[k++] = 0;
        n += (size_t)snprintf(buf + n, cap - n, "%d}%s", count[i], i < 9 ? "," : "");
        cuts[k] = n, stored[k++] = 1;
    }
    n += (size_t)snprintf(buf + n, cap - n, "]}");
    cuts[k] = n, stored[k++] = 0;
    return n;
}

static void gzip_chunked_stores_the_stored_chunks(void)
{
    static char buf[8192];
    size_t cuts[21];
    unsigned char stored[21];
    int count[10];
    for (int i = 0; i < 10; i++)
        count[i] = 10000;
    gzip_chunks *c = gzip_chunks_new();
    for (int round = 0; round < 100; round++) {
        /* counts go down, some losing a digit: what follows them moves */
        count[round % 10] -= 1 + (round * 37) % 500;
        if (count[round % 10] < 0)
            count[round % 10] = round % 3;
        size_t len = fake_page(buf, sizeof(buf), cuts, stored, count);
        size_t n = 0;
        char *gz = gzip_chunked(c, buf, len, cuts, stored, 21, &n);
        CHECK(gz != NULL);
        if (gz == NULL)
            continue;
        CHECK_INT(inflates_to(gz, n, buf, len), 0);
        /* a stored chunk's bytes are in the member as they are */
        char want[32];
        int w = snprintf(want, sizeof(want), "%d}", count[round % 10]);
        CHECK(memmem(gz, n, want, (size_t)w) != NULL);
        free(gz);
    }
    gzip_chunks_free(c);
}

void gzip_tests(void)
{
    RUN(gzip_one_shot_round_trips);
    RUN(gzip_chunked_matches_input_at_every_change);
    RUN(gzip_chunked_rejects_bad_cuts_by_compressing_whole);
    RUN(gzip_chunked_stores_the_stored_chunks);
    gzip_thread_done();
}
