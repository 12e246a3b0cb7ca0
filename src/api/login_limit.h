/*
 * login_limit.h - in-memory throttle of failed sign-ins per email.
 *
 * More than LOGIN_LIMIT_FAILURES failures for one email within
 * LOGIN_LIMIT_WINDOW_MS and further attempts are refused (429) until the
 * window that started with the first failure is over. Per process (each
 * instance counts its own); bounded: a fixed table where the oldest entry
 * of a probe run is evicted when full. Thread-safe. Times are passed in so
 * the rules can be tested without waiting.
 */
#ifndef TIXIN_API_LOGIN_LIMIT_H
#define TIXIN_API_LOGIN_LIMIT_H

#include <stdint.h>

#define LOGIN_LIMIT_FAILURES 10
#define LOGIN_LIMIT_WINDOW_MS (5 * 60 * 1000)

/* 0 when email may try to sign in at now_ms; else the seconds (>= 1)
 * until it may (for Retry-After). */
int login_limit_check(const char *email, int64_t now_ms);
/* Record a failed attempt. */
void login_limit_fail(const char *email, int64_t now_ms);
/* Forget the failures of email (after a successful sign-in). */
void login_limit_clear(const char *email);

#endif
