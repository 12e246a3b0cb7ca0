/*
 * util.h - small shared helpers: ids, time, hashing, random codes.
 * All thread-safe. Randomness comes from libsodium (sodium_init() must have
 * run: util_init()).
 */
#ifndef TIXIN_CORE_UTIL_H
#define TIXIN_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

int util_init(void);

/* Grow a malloc'd array so it holds at least need elements of elem bytes
 * (doubling; *cap is updated). Aborts when memory is exhausted. */
void *array_grow(void *p, size_t *cap, size_t need, size_t elem);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t now_ms(void);
/* Monotonic milliseconds (for timers and durations). */
int64_t mono_ms(void);

/* "2026-12-01T19:30:00Z" (seconds precision, UTC). buf >= 32. */
void time_format(int64_t ms, char *buf, size_t len);
/* Parse RFC 3339 ("2026-12-01T19:30:00Z", fractions and +hh:mm offsets
 * accepted). 0 on success with *ms set; -1 when malformed. */
int time_parse(const char *s, int64_t *ms);

/* New opaque id: prefix + "_" + 20 random base32 chars (100 bits), e.g.
 * "evt_k3j5...". buf >= 48. */
void id_new(const char *prefix, char *buf, size_t len);
/* Unguessable ticket code: 26 base32 chars (130 bits), upper case. buf >= 32. */
void ticket_code_new(char *buf, size_t len);
/* Session token: 43 base64url chars (256 bits). buf >= 48. */
void token_new(char *buf, size_t len);
/* hex SHA-256 of data. out >= 65. */
void sha256_hex(const void *data, size_t len, char out[65]);

/* argon2id hash string of a password (slow: call off the event loops).
 * 0 on success. out >= 128. */
int password_hash(const char *password, char *out, size_t len);
/* 1 when password matches hash, else 0. Slow. */
int password_verify(const char *password, const char *hash);

#endif
