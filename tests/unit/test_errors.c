/*
 * test_errors.c - core/errors.c: every code has a contract name, a status
 * and a message, names are unique snake_case, and the statuses the
 * contract fixes are the ones given.
 */
#include "unit.h"

#include <ctype.h>
#include "core/errors.h"

static void every_code_mapped(void)
{
    for (int e = 1; e < E__COUNT; e++) {
        const char *name = err_name((err_code)e);
        int status = err_http_status((err_code)e);
        CHECK(name && *name);
        CHECK(err_message((err_code)e) && *err_message((err_code)e));
        if (status < 400 || status > 599)
            unit_fail(__FILE__, __LINE__, "%s has status %d", name, status);
        for (const char *p = name; *p; p++)
            if (!islower((unsigned char)*p) && *p != '_')
                unit_fail(__FILE__, __LINE__, "%s is not snake_case", name);
        for (int f = 1; f < e; f++)
            if (strcmp(name, err_name((err_code)f)) == 0)
                unit_fail(__FILE__, __LINE__, "name %s used twice", name);
    }
    CHECK_INT(err_http_status(E_OK), 200);
    CHECK_INT(err_http_status((err_code)E__COUNT), 500);
}

static void contract_statuses(void)
{
    CHECK_INT(err_http_status(E_INVALID_JSON), 400);
    CHECK_STR(err_name(E_INVALID_FIELD), "invalid_field");
    CHECK_INT(err_http_status(E_INVALID_FIELD), 422);
    CHECK_INT(err_http_status(E_UNAUTHENTICATED), 401);
    CHECK_INT(err_http_status(E_INVALID_CREDENTIALS), 401);
    CHECK_INT(err_http_status(E_PAYMENT_DECLINED), 402);
    CHECK_INT(err_http_status(E_SALE_NOT_OPEN), 403);
    CHECK_INT(err_http_status(E_SEAT_NOT_FOUND), 404);
    CHECK_INT(err_http_status(E_METHOD_NOT_ALLOWED), 405);
    CHECK_STR(err_name(E_SEAT_UNAVAILABLE), "seat_unavailable");
    CHECK_INT(err_http_status(E_SEAT_UNAVAILABLE), 409);
    CHECK_INT(err_http_status(E_PAYLOAD_TOO_LARGE), 413);
    CHECK_INT(err_http_status(E_LIMIT_EXCEEDED), 422);
    CHECK_INT(err_http_status(E_IDEMPOTENCY_KEY_REUSED), 422);
    CHECK_INT(err_http_status(E_RATE_LIMITED), 429);
}

void errors_tests(void)
{
    RUN(every_code_mapped);
    RUN(contract_statuses);
}
