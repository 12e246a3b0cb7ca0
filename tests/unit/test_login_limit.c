/*
 * test_login_limit.c - api/login_limit.c: ten failures are allowed, the
 * eleventh attempt waits until the window is over, other emails are not
 * affected, and a success clears the count.
 */
#include "unit.h"

#include <stdio.h>
#include "api/login_limit.h"

static void limits_after_ten_failures(void)
{
    const char *who = "limit-a@example.com";
    int64_t t0 = 1000000;
    for (int i = 0; i < LOGIN_LIMIT_FAILURES; i++) {
        CHECK_INT(login_limit_check(who, t0 + i), 0);
        login_limit_fail(who, t0 + i);
    }
    CHECK_INT(login_limit_check(who, t0 + 10), LOGIN_LIMIT_WINDOW_MS / 1000);
    CHECK_INT(login_limit_check(who, t0 + LOGIN_LIMIT_WINDOW_MS - 1500), 2);
    CHECK_INT(login_limit_check("limit-b@example.com", t0 + 10), 0);
    CHECK_INT(login_limit_check(who, t0 + LOGIN_LIMIT_WINDOW_MS), 0);
    /* a new window starts with the next failure */
    login_limit_fail(who, t0 + LOGIN_LIMIT_WINDOW_MS);
    CHECK_INT(login_limit_check(who, t0 + LOGIN_LIMIT_WINDOW_MS + 1), 0);
}

static void success_clears(void)
{
    const char *who = "limit-c@example.com";
    for (int i = 0; i < LOGIN_LIMIT_FAILURES; i++)
        login_limit_fail(who, 5000);
    CHECK(login_limit_check(who, 5001) > 0);
    login_limit_clear(who);
    CHECK_INT(login_limit_check(who, 5001), 0);
}

static void bounded_table_keeps_working(void)
{
    char email[64];
    for (int i = 0; i < 50000; i++) {
        snprintf(email, sizeof(email), "flood%d@example.com", i);
        login_limit_fail(email, 9000);
    }
    const char *who = "limit-d@example.com";
    for (int i = 0; i < LOGIN_LIMIT_FAILURES; i++)
        login_limit_fail(who, 9100);
    CHECK(login_limit_check(who, 9101) > 0);
}

void login_limit_tests(void)
{
    RUN(limits_after_ten_failures);
    RUN(success_clears);
    RUN(bounded_table_keeps_working);
}
