/*
 * util.c - ids, time, hashing and random codes on top of libsodium and libc.
 *
 * Password hashing uses argon2id with OWASP's minimum parameters (19 MiB,
 * two passes): slow enough against offline guessing, cheap enough that a
 * two-core box can sign in a ticket-drop crowd without running out of
 * memory. Hashes carry their parameters, so raising them later still
 * verifies old ones.
 */
#include "core/util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PWHASH_OPS 2
#define PWHASH_MEM (19u * 1024u * 1024u)

int util_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void *array_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    p = realloc(p, n * elem);
    if (p == NULL)
        abort();
    *cap = n;
    return p;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_format(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int time_parse(const char *s, int64_t *ms)
{
    int Y, M, D, h, m, sec;
    if (strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
            n++, p++;
        }
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (D > mdays[M - 1] || (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0)))
        return -1;
    /* days from civil (Howard Hinnant's algorithm) */
    int y = Y - (M <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    int64_t secs = days * 86400 + h * 3600 + m * 60 + (sec == 60 ? 59 : sec) - offset_min * 60;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

static void base32_random(char *buf, size_t nchars, int upper)
{
    static const char lower_alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
    static const char upper_alpha[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const char *alpha = upper ? upper_alpha : lower_alpha;
    unsigned char raw[64];
    randombytes_buf(raw, nchars);
    for (size_t i = 0; i < nchars; i++)
        buf[i] = alpha[raw[i] & 31];
    buf[nchars] = '\0';
}

void id_new(const char *prefix, char *buf, size_t len)
{
    char rnd[21];
    base32_random(rnd, 20, 0);
    snprintf(buf, len, "%s_%s", prefix, rnd);
}

void ticket_code_new(char *buf, size_t len)
{
    char rnd[27];
    base32_random(rnd, 26, 1);
    snprintf(buf, len, "%s", rnd);
}

void token_new(char *buf, size_t len)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    char tmp[64];
    sodium_bin2base64(tmp, sizeof(tmp), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(buf, len, "%s", tmp);
}

void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

int password_hash(const char *password, char *out, size_t len)
{
    if (len < crypto_pwhash_STRBYTES)
        return -1;
    return crypto_pwhash_str_alg(out, password, strlen(password), PWHASH_OPS, PWHASH_MEM,
                                 crypto_pwhash_ALG_ARGON2ID13);
}

int password_verify(const char *password, const char *hash)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
