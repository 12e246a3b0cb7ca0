/*
 * unit.h - the unit-test harness: a test is a void function that makes
 * CHECKs; a failed CHECK prints where and marks the test failed (the test
 * keeps going, so one run shows every broken expectation). main.c runs the
 * suites and prints "N passed, M failed".
 */
#ifndef TIXIN_TESTS_UNIT_H
#define TIXIN_TESTS_UNIT_H

#include <jansson.h>
#include <string.h>

void unit_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void unit_run(const char *name, void (*fn)(void));
#define RUN(fn) unit_run(#fn, fn)

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            unit_fail(__FILE__, __LINE__, "%s", #cond);                                                                \
    } while (0)
#define CHECK_INT(a, b)                                                                                                \
    do {                                                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                            \
        if (a_ != b_)                                                                                                  \
            unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);                                   \
    } while (0)
#define CHECK_STR(a, b)                                                                                                \
    do {                                                                                                               \
        const char *a_ = (a), *b_ = (b);                                                                               \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                                         \
            unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",                    \
                      b_ ? b_ : "(null)");                                                                             \
    } while (0)

/* Parse JSON test input (aborts on a typo in the test itself). */
json_t *unit_json(const char *text);

/* The suites, one per file. */
void rules_tests(void);
void gzip_tests(void);
void util_tests(void);
void errors_tests(void);
void qrsvg_tests(void);
void render_tests(void);
void login_limit_tests(void);
void resolve_tests(void);

#endif
