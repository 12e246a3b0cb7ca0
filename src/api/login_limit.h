/*
 * login_limit.h - in-memory throttle of failed sign-ins per email.
 *
 * More than LOGIN_LIMIT_FAILURES failures for one email within
 * LOGIN_LIMIT_WINDOW_MS and further attempts are refused (429) until the
 * window that started with the first failure is over. Checked against a
 * table in this process; bounded: a fixed table where the oldest entry of a
 * probe run is evicted when full. Thread-safe. Times are passed in so the
 * rules can be tested without waiting.
 *
 * Cluster mode shares the counts: a remote (pubsub/redis.c) is told of
 * every failure and clear, keeps the cluster-wide count, and feeds every
 * instance's table back through login_limit_apply(). Without a remote, or
 * while it is unreachable, each instance counts its own.
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

/* --- the cluster-wide counts ---------------------------------------------
 * Emails are known to the remote only by a 64-bit hash (no addresses leave
 * the process). fail/clear are called on the request's thread and must not
 * block. */
typedef struct {
    void (*fail)(uint64_t key);
    void (*clear)(uint64_t key);
} login_limit_remote;
/* Install (or, with NULL, remove) the remote; set before serving. */
void login_limit_set_remote(const login_limit_remote *r);
/* The remote's word for key: failures in the cluster-wide window that has
 * ttl_ms left (failures 0: cleared). Keeps the larger of the local and
 * remote counts, so failures counted while the remote was down still count. */
void login_limit_apply(uint64_t key, int failures, int64_t ttl_ms, int64_t now_ms);

#endif
