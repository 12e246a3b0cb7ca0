/*
 * test_render.c - store_job_render_body(): the exact bytes the API sends
 * and idempotency replays: the out object on success, the error envelope
 * {"error": {code, message, ...details}} on failure, the stored text on a
 * replay.
 */
#include "unit.h"

#include <stdlib.h>
#include "store/store.h"

static json_t *render(const store_job *j)
{
    char *text = store_job_render_body(j);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return v;
}

static void error_envelope(void)
{
    store_job *j = store_job_new(OP_HOLD_CREATE, NULL);
    j->err = E_SEAT_UNAVAILABLE;
    j->out = unit_json("{\"seats\":[\"A-1-1\",\"A-1-2\"]}");
    json_t *body = render(j);
    CHECK(body != NULL);
    CHECK_INT(json_object_size(body), 1);
    json_t *err = json_object_get(body, "error");
    CHECK_STR(json_string_value(json_object_get(err, "code")), "seat_unavailable");
    CHECK_STR(json_string_value(json_object_get(err, "message")), err_message(E_SEAT_UNAVAILABLE));
    CHECK_INT(json_array_size(json_object_get(err, "seats")), 2);
    CHECK_STR(json_string_value(json_array_get(json_object_get(err, "seats"), 1)), "A-1-2");
    json_decref(body);

    /* no details: just code and message */
    json_decref(j->out);
    j->out = NULL;
    j->err = E_HOLD_EXPIRED;
    body = render(j);
    err = json_object_get(body, "error");
    CHECK_INT(json_object_size(err), 2);
    CHECK_STR(json_string_value(json_object_get(err, "code")), "hold_expired");
    json_decref(body);
    store_job_free(j);
}

static void success_and_replay(void)
{
    store_job *j = store_job_new(OP_ORDER_GET, NULL);
    j->status = 200;
    j->out = unit_json("{\"id\":\"ord_1\",\"total_cents\":5000}");
    char *text = store_job_render_body(j);
    CHECK_STR(text, "{\"id\":\"ord_1\",\"total_cents\":5000}");
    free(text);
    json_decref(j->out);
    j->out = NULL;
    text = store_job_render_body(j);
    CHECK_STR(text, "");
    free(text);

    j->replayed = 1;
    j->status = 402;
    j->err = E_OK;
    j->replay_body = strdup("{\"error\": {\"code\": \"payment_declined\"}}");
    text = store_job_render_body(j);
    CHECK_STR(text, j->replay_body);
    free(text);
    store_job_free(j);
}

void render_tests(void)
{
    RUN(error_envelope);
    RUN(success_and_replay);
}
