/*
 * main.c - runs every unit-test suite and reports. The last line is
 * "N passed, M failed" (counting tests, not checks); the exit status is
 * non-zero when anything failed.
 */
#include "unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/util.h"

static int passed, failed, current_failed;
static const char *current;

void unit_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s (%s:%d): ", current, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = 1;
}

void unit_run(const char *name, void (*fn)(void))
{
    current = name;
    current_failed = 0;
    fn();
    if (current_failed)
        failed++;
    else
        passed++;
}

json_t *unit_json(const char *text)
{
    json_error_t err;
    /* NUL allowed: the validators must hold up even against input that
     * the HTTP layer's parser would already refuse */
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &err);
    if (!v) {
        fprintf(stderr, "bad test JSON (%s): %s\n", err.text, text);
        abort();
    }
    return v;
}

int main(void)
{
    if (util_init() != 0) {
        fprintf(stderr, "util_init failed\n");
        return 2;
    }
    rules_tests();
    util_tests();
    errors_tests();
    qrsvg_tests();
    render_tests();
    login_limit_tests();
    gzip_tests();
    resolve_tests();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
