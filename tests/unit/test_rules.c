/*
 * test_rules.c - booking/rules.c: seat ids, emails, and every body
 * validator, on good input (normalised output) and bad input (the right
 * code and field).
 */
#include "unit.h"

#include <stdio.h>
#include "booking/rules.h"

typedef int (*validator)(const json_t *, json_t **, rule_err *);

/* Args of a body that must validate (NULL, and a failed check, if not). */
static json_t *accepts(validator fn, const char *text)
{
    json_t *body = unit_json(text), *args = NULL;
    rule_err e;
    if (fn(body, &args, &e) != 0) {
        fprintf(stderr, "  rejected (%s: %s): %s\n", e.field, e.message, text);
        args = NULL;
    }
    json_decref(body);
    return args;
}

/* 1 when the body is refused with code on field. */
static int refuses(validator fn, const char *text, err_code code, const char *field)
{
    json_t *body = unit_json(text), *args = (json_t *)1;
    rule_err e = {0};
    int rc = fn(body, &args, &e);
    json_decref(body);
    if (rc == 0) {
        fprintf(stderr, "  accepted: %s\n", text);
        json_decref(args);
        return 0;
    }
    if (e.code != code || strcmp(e.field, field) != 0 || !e.message[0] || args != NULL) {
        fprintf(stderr, "  refused as %s on \"%s\", wanted %s on \"%s\": %s\n", err_name(e.code), e.field,
                err_name(code), field, text);
        return 0;
    }
    return 1;
}

static void seat_ids(void)
{
    seat_ref s;
    CHECK_INT(rules_seat_id_parse("A-12-7", &s), 0);
    CHECK_STR(s.section, "A");
    CHECK_STR(s.row, "12");
    CHECK_INT(s.number, 7);
    CHECK_INT(rules_seat_id_parse("Balcony2-R9-1000", &s), 0);
    CHECK_STR(s.section, "Balcony2");
    CHECK_INT(s.number, 1000);
    const char *bad[] = {"A--1", "A-1-0", "A-1-x", "-1-1", "A-1-", "A-1", "A-1-1-1", "", "A-1-01", "A-1-1001",
                         "A-1-99999", "A_B-1-1", "A-1 -1", "A-1-+1", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-1-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rules_seat_id_parse(bad[i], &s) == 0)
            unit_fail(__FILE__, __LINE__, "seat id \"%s\" accepted", bad[i]);
    }
}

static void emails(void)
{
    char out[RULES_EMAIL_MAX + 1];
    CHECK_INT(rules_email_normalize("  Ada.Lovelace@Example.COM \n", out, sizeof(out)), 0);
    CHECK_STR(out, "ada.lovelace@example.com");
    const char *bad[] = {"", "ada", "ada@", "@example.com", "ada@example", "ada@@example.com", "a b@example.com",
                         "ada@.example.com", "ada@example.com.", "ada@exa..mple.com", "ada@exa mple.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rules_email_normalize(bad[i], out, sizeof(out)) == 0)
            unit_fail(__FILE__, __LINE__, "email \"%s\" accepted", bad[i]);
    }
    char longmail[400];
    memset(longmail, 'a', sizeof(longmail));
    memcpy(longmail + 300, "@example.com", 13);
    CHECK(rules_email_normalize(longmail, out, sizeof(out)) != 0);
}

static void signup_and_login(void)
{
    json_t *a = accepts(rules_signup, "{\"email\":\" Bob@X.org\",\"password\":\"correct horse\",\"name\":\" Bob \"}");
    CHECK(a != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "email")), "bob@x.org");
    CHECK_STR(json_string_value(json_object_get(a, "name")), "Bob");
    CHECK_STR(json_string_value(json_object_get(a, "password")), "correct horse");
    json_decref(a);
    CHECK(refuses(rules_signup, "{\"email\":\"bob@x.org\",\"password\":\"short\",\"name\":\"B\"}", E_INVALID_FIELD,
                  "password"));
    /* eight characters, more bytes: counted in characters */
    a = accepts(rules_signup, "{\"email\":\"bob@x.org\",\"password\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\",\"name\":\"B\"}");
    CHECK(a != NULL);
    json_decref(a);
    CHECK(refuses(rules_signup, "{\"email\":\"bob@x.org\",\"password\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\",\"name\":\"B\"}",
                  E_INVALID_FIELD, "password"));
    CHECK(refuses(rules_signup, "{\"email\":\"bob\",\"password\":\"12345678\",\"name\":\"B\"}", E_INVALID_FIELD,
                  "email"));
    CHECK(refuses(rules_signup, "{\"email\":\"bob@x.org\",\"password\":\"12345678\",\"name\":\"  \"}",
                  E_INVALID_FIELD, "name"));
    CHECK(refuses(rules_signup, "{\"email\":\"bob@x.org\",\"password\":\"12345678\"}", E_INVALID_FIELD, "name"));
    CHECK(refuses(rules_signup, "{\"email\":\"bob@x.org\",\"password\":12345678,\"name\":\"B\"}", E_INVALID_FIELD,
                  "password"));
    char big[1200];
    snprintf(big, sizeof(big), "{\"email\":\"bob@x.org\",\"password\":\"%01025d\",\"name\":\"B\"}", 0);
    CHECK(refuses(rules_signup, big, E_INVALID_FIELD, "password"));

    a = accepts(rules_login, "{\"email\":\" BOB@x.org \",\"password\":\"x\"}");
    CHECK(a != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "email")), "bob@x.org");
    json_decref(a);
    CHECK(refuses(rules_login, "{\"password\":\"x\"}", E_INVALID_FIELD, "email"));
    CHECK(refuses(rules_login, "[1]", E_INVALID_FIELD, "body"));
}

static void orgs_and_members(void)
{
    json_t *a = accepts(rules_org, "{\"name\":\" Acme \"}");
    CHECK(a != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "name")), "Acme");
    json_decref(a);
    CHECK(refuses(rules_org, "{\"name\":\"\"}", E_INVALID_FIELD, "name"));
    CHECK(refuses(rules_org, "{\"name\":\"Ac\\u0000me\"}", E_INVALID_FIELD, "name"));
    char big[400];
    snprintf(big, sizeof(big), "{\"name\":\"%0201d\"}", 0);
    CHECK(refuses(rules_org, big, E_INVALID_FIELD, "name"));
    a = accepts(rules_member, "{\"email\":\"Staff@Acme.io\",\"role\":\"staff\"}");
    CHECK(a != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "email")), "staff@acme.io");
    json_decref(a);
    CHECK(refuses(rules_member, "{\"email\":\"s@acme.io\",\"role\":\"owner\"}", E_INVALID_FIELD, "role"));
}

#define VENUE_HEAD "{\"name\":\"Hall\",\"city\":\"Lyon\",\"timezone\":\"Europe/Paris\",\"sections\":"

static void venues(void)
{
    json_t *a = accepts(rules_venue, VENUE_HEAD "[{\"id\":\"A\",\"name\":\"Stalls\",\"rows\":[{\"id\":\"1\",\"seats\":10,"
                                               "\"extra\":1},{\"id\":\"2\",\"seats\":12}]},{\"id\":\"B\",\"rows\":[{\"id\":\"1\",\"seats\":1}]}]}");
    CHECK(a != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "address")), "");
    json_t *secs = json_object_get(a, "sections");
    CHECK_INT(json_array_size(secs), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(secs, 1), "name")), "B");
    json_t *row = json_array_get(json_object_get(json_array_get(secs, 0), "rows"), 0);
    CHECK(json_object_get(row, "extra") == NULL);
    CHECK_INT(json_integer_value(json_object_get(row, "seats")), 10);
    json_decref(a);

    CHECK(refuses(rules_venue, VENUE_HEAD "[]}", E_INVALID_FIELD, "sections"));
    CHECK(refuses(rules_venue, VENUE_HEAD "[{\"id\":\"A-1\",\"rows\":[{\"id\":\"1\",\"seats\":1}]}]}", E_INVALID_FIELD,
                  "sections[0].id"));
    CHECK(refuses(rules_venue,
                  VENUE_HEAD "[{\"id\":\"A\",\"rows\":[{\"id\":\"1\",\"seats\":1}]},{\"id\":\"A\",\"rows\":[{\"id\":\"1\",\"seats\":1}]}]}",
                  E_INVALID_FIELD, "sections[1].id"));
    CHECK(refuses(rules_venue, VENUE_HEAD "[{\"id\":\"A\",\"rows\":[]}]}", E_INVALID_FIELD, "sections[0].rows"));
    CHECK(refuses(rules_venue, VENUE_HEAD "[{\"id\":\"A\",\"rows\":[{\"id\":\"1\",\"seats\":2},{\"id\":\"1\",\"seats\":1}]}]}",
                  E_INVALID_FIELD, "sections[0].rows[1].id"));
    CHECK(refuses(rules_venue, VENUE_HEAD "[{\"id\":\"A\",\"rows\":[{\"id\":\"1\",\"seats\":0}]}]}", E_INVALID_FIELD,
                  "sections[0].rows[0].seats"));
    CHECK(refuses(rules_venue, VENUE_HEAD "[{\"id\":\"A\",\"rows\":[{\"id\":\"1\",\"seats\":1001}]}]}", E_INVALID_FIELD,
                  "sections[0].rows[0].seats"));
    CHECK(refuses(rules_venue, VENUE_HEAD "[{\"id\":\"A\",\"rows\":[{\"id\":\"1\",\"seats\":2.5}]}]}", E_INVALID_FIELD,
                  "sections[0].rows[0].seats"));
    CHECK(refuses(rules_venue, "{\"name\":\"Hall\",\"city\":\"Lyon\",\"sections\":[]}", E_INVALID_FIELD, "timezone"));

    /* 101 rows of 1000 seats: one row over the 100,000 seat bound */
    json_t *body = unit_json(VENUE_HEAD "[{\"id\":\"A\",\"rows\":[]}]}");
    json_t *rows = json_object_get(json_array_get(json_object_get(body, "sections"), 0), "rows");
    for (int i = 0; i < 101; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", i & 127);
        json_array_append_new(rows, json_pack("{s:s, s:i}", "id", id, "seats", 1000));
    }
    json_t *args;
    rule_err e;
    CHECK(rules_venue(body, &args, &e) != 0);
    CHECK_STR(e.field, "sections");
    json_array_remove(rows, 100);
    CHECK(rules_venue(body, &args, &e) == 0);
    json_decref(args);
    json_decref(body);
}

#define EVENT(extra)                                                                                                   \
    "{\"venue_id\":\"ven_1\",\"title\":\" Gala \",\"starts_at\":\"2026-12-01T19:30:00Z\","                             \
    "\"sale_starts_at\":\"2026-11-01T10:00:00+01:00\",\"currency\":\"EUR\"" extra "}"

static void events(void)
{
    json_t *a = accepts(rules_event_create, EVENT(",\"prices\":[{\"section\":\"A\",\"price_cents\":5000}]"));
    CHECK(a != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "title")), "Gala");
    CHECK_STR(json_string_value(json_object_get(a, "description")), "");
    CHECK_INT(json_integer_value(json_object_get(a, "starts_at")), 1796153400000LL);
    CHECK_INT(json_integer_value(json_object_get(a, "sale_starts_at")), 1793523600000LL);
    CHECK(json_is_null(json_object_get(a, "sale_ends_at")));
    CHECK_INT(json_integer_value(json_object_get(a, "max_tickets_per_order")), 10);
    CHECK_INT(json_integer_value(json_object_get(a, "hold_ttl_seconds")), 600);
    CHECK_INT(json_array_size(json_object_get(a, "ga_tiers")), 0);
    CHECK_INT(json_array_size(json_object_get(a, "prices")), 1);
    json_decref(a);

    a = accepts(rules_event_create, EVENT(",\"hold_ttl_seconds\":2,\"max_tickets_per_order\":100,"
                                          "\"sale_ends_at\":\"2026-12-01T19:30:00Z\",\"ga_tiers\":[{\"id\":\"floor_1-a\","
                                          "\"name\":\"Floor\",\"price_cents\":0,\"capacity\":1}]"));
    CHECK(a != NULL);
    CHECK_INT(json_integer_value(json_object_get(a, "hold_ttl_seconds")), 2);
    CHECK_INT(json_integer_value(json_object_get(a, "sale_ends_at")), 1796153400000LL);
    json_decref(a);

    CHECK(refuses(rules_event_create, "{\"title\":\"x\"}", E_INVALID_FIELD, "venue_id"));
    CHECK(refuses(rules_event_create, EVENT(",\"currency\":\"eur\""), E_INVALID_FIELD, "currency"));
    CHECK(refuses(rules_event_create, EVENT(",\"max_tickets_per_order\":0"), E_INVALID_FIELD, "max_tickets_per_order"));
    CHECK(refuses(rules_event_create, EVENT(",\"max_tickets_per_order\":101"), E_INVALID_FIELD, "max_tickets_per_order"));
    CHECK(refuses(rules_event_create, EVENT(",\"hold_ttl_seconds\":3601"), E_INVALID_FIELD, "hold_ttl_seconds"));
    CHECK(refuses(rules_event_create, EVENT(",\"starts_at\":\"2026-12-01 19:30\""), E_INVALID_FIELD, "starts_at"));
    CHECK(refuses(rules_event_create, EVENT(",\"sale_starts_at\":\"2026-12-01T19:30:00Z\""), E_INVALID_FIELD,
                  "sale_starts_at"));
    CHECK(refuses(rules_event_create, EVENT(",\"sale_ends_at\":\"2026-12-01T19:30:01Z\""), E_INVALID_FIELD,
                  "sale_ends_at"));
    CHECK(refuses(rules_event_create, EVENT(",\"sale_ends_at\":\"2026-11-01T09:00:00Z\""), E_INVALID_FIELD,
                  "sale_ends_at"));
    CHECK(refuses(rules_event_create, EVENT(",\"prices\":[{\"section\":\"A\",\"price_cents\":1},{\"section\":\"A\",\"price_cents\":2}]"),
                  E_INVALID_FIELD, "prices[1].section"));
    CHECK(refuses(rules_event_create, EVENT(",\"prices\":[{\"section\":\"A\",\"price_cents\":-1}]"), E_INVALID_FIELD,
                  "prices[0].price_cents"));
    CHECK(refuses(rules_event_create, EVENT(",\"prices\":[{\"section\":\"A\",\"price_cents\":1},7]"), E_INVALID_FIELD,
                  "prices[1]"));
    CHECK(refuses(rules_event_create, EVENT(",\"prices\":{}"), E_INVALID_FIELD, "prices"));
    CHECK(refuses(rules_event_create, EVENT(",\"ga_tiers\":[{\"id\":\"a b\",\"name\":\"F\",\"price_cents\":1,\"capacity\":1}]"),
                  E_INVALID_FIELD, "ga_tiers[0].id"));
    CHECK(refuses(rules_event_create, EVENT(",\"ga_tiers\":[{\"id\":\"f\",\"name\":\"F\",\"price_cents\":1,\"capacity\":0}]"),
                  E_INVALID_FIELD, "ga_tiers[0].capacity"));
    CHECK(refuses(rules_event_create,
                  EVENT(",\"ga_tiers\":[{\"id\":\"f\",\"name\":\"F\",\"price_cents\":1,\"capacity\":1},{\"id\":\"f\",\"name\":\"G\",\"price_cents\":1,\"capacity\":1}]"),
                  E_INVALID_FIELD, "ga_tiers[1].id"));

    /* patch: any subset, same checks, no defaults */
    a = accepts(rules_event_patch, "{\"title\":\"New\"}");
    CHECK(a != NULL);
    CHECK_INT(json_object_size(a), 1); /* no defaults, no empty lists */
    json_decref(a);
    a = accepts(rules_event_patch, "{\"sale_ends_at\":null}");
    CHECK(a != NULL && json_is_null(json_object_get(a, "sale_ends_at")));
    json_decref(a);
    CHECK(refuses(rules_event_patch, "{\"currency\":\"EURO\"}", E_INVALID_FIELD, "currency"));
    CHECK(refuses(rules_event_patch, "{\"title\":\"\"}", E_INVALID_FIELD, "title"));
    CHECK(refuses(rules_event_patch,
                  "{\"starts_at\":\"2026-01-01T00:00:00Z\",\"sale_starts_at\":\"2026-02-01T00:00:00Z\"}",
                  E_INVALID_FIELD, "sale_starts_at"));
}

static void event_times(void)
{
    rule_err e;
    json_t *f = unit_json("{\"starts_at\":1000,\"sale_starts_at\":100,\"sale_ends_at\":null}");
    CHECK_INT(rules_event_times(f, &e), 0);
    json_object_set_new(f, "sale_ends_at", json_integer(1000));
    CHECK_INT(rules_event_times(f, &e), 0);
    json_object_set_new(f, "sale_ends_at", json_integer(100));
    CHECK(rules_event_times(f, &e) != 0);
    CHECK_STR(e.field, "sale_ends_at");
    json_object_set_new(f, "sale_ends_at", json_null());
    json_object_set_new(f, "sale_starts_at", json_integer(2000));
    CHECK(rules_event_times(f, &e) != 0);
    CHECK_STR(e.field, "sale_starts_at");
    json_decref(f);
}

static void holds(void)
{
    json_t *a = accepts(rules_hold, "{\"seats\":[\"A-1-1\",\"A-1-2\"]}");
    CHECK(a != NULL);
    CHECK_INT(json_array_size(json_object_get(a, "seats")), 2);
    json_decref(a);
    a = accepts(rules_hold, "{\"tier\":\"floor\",\"quantity\":3}");
    CHECK(a != NULL);
    CHECK_INT(json_integer_value(json_object_get(a, "quantity")), 3);
    CHECK(json_object_get(a, "seats") == NULL);
    json_decref(a);

    CHECK(refuses(rules_hold, "{}", E_INVALID_FIELD, "seats"));
    CHECK(refuses(rules_hold, "{\"seats\":[]}", E_INVALID_FIELD, "seats"));
    CHECK(refuses(rules_hold, "{\"seats\":\"A-1-1\"}", E_INVALID_FIELD, "seats"));
    CHECK(refuses(rules_hold, "{\"seats\":[\"A-1-1\",\"A--1\"]}", E_INVALID_FIELD, "seats[1]"));
    CHECK(refuses(rules_hold, "{\"seats\":[\"A-1-1\",7]}", E_INVALID_FIELD, "seats[1]"));
    CHECK(refuses(rules_hold, "{\"seats\":[\"A-1-1\\u0000x\"]}", E_INVALID_FIELD, "seats[0]"));
    CHECK(refuses(rules_hold, "{\"seats\":[\"A-1-1\",\"A-1-1\"]}", E_INVALID_FIELD, "seats"));
    CHECK(refuses(rules_hold, "{\"seats\":[\"A-1-1\"],\"tier\":\"f\",\"quantity\":1}", E_INVALID_FIELD, "seats"));
    CHECK(refuses(rules_hold, "{\"tier\":\"floor\"}", E_INVALID_FIELD, "quantity"));
    CHECK(refuses(rules_hold, "{\"tier\":\"floor\",\"quantity\":0}", E_INVALID_FIELD, "quantity"));
    CHECK(refuses(rules_hold, "{\"tier\":\"floor\",\"quantity\":\"2\"}", E_INVALID_FIELD, "quantity"));
    CHECK(refuses(rules_hold, "{\"quantity\":2}", E_INVALID_FIELD, "tier"));
    CHECK(refuses(rules_hold, "{\"tier\":\"floor\",\"quantity\":101}", E_LIMIT_EXCEEDED, "quantity"));

    json_t *body = json_pack("{s:[]}", "seats"), *args;
    for (int i = 1; i <= 101; i++) {
        char id[16];
        snprintf(id, sizeof(id), "A-%d-1", i);
        json_array_append_new(json_object_get(body, "seats"), json_string(id));
    }
    rule_err e;
    CHECK(rules_hold(body, &args, &e) != 0);
    CHECK_INT(e.code, E_LIMIT_EXCEEDED);
    json_decref(body);
}

static void orders_and_checkins(void)
{
    json_t *a = accepts(rules_order, "{\"hold_id\":\"hld_1\",\"payment\":{\"method\":\"test\",\"token\":\"tok_visa\"}}");
    CHECK(a != NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(a, "payment"), "token")), "tok_visa");
    json_decref(a);
    CHECK(refuses(rules_order, "{\"payment\":{\"method\":\"test\",\"token\":\"t\"}}", E_INVALID_FIELD, "hold_id"));
    CHECK(refuses(rules_order, "{\"hold_id\":\"h\"}", E_INVALID_FIELD, "payment"));
    CHECK(refuses(rules_order, "{\"hold_id\":\"h\",\"payment\":{\"method\":\"test\"}}", E_INVALID_FIELD,
                  "payment.token"));
    CHECK(refuses(rules_order, "{\"hold_id\":\"h\",\"payment\":{\"method\":1,\"token\":\"t\"}}", E_INVALID_FIELD,
                  "payment.method"));
    a = accepts(rules_checkin, "{\"code\":\"ABC\"}");
    CHECK(a != NULL);
    json_decref(a);
    CHECK(refuses(rules_checkin, "{\"code\":\"\"}", E_INVALID_FIELD, "code"));
}

static void limits_and_keys(void)
{
    int v = 0;
    rule_err e;
    CHECK_INT(rules_list_limit(NULL, &v, &e), 0);
    CHECK_INT(v, 20);
    CHECK_INT(rules_list_limit("100", &v, &e), 0);
    CHECK_INT(v, 100);
    CHECK_INT(rules_list_limit("1", &v, &e), 0);
    CHECK_INT(v, 1);
    const char *bad[] = {"0", "101", "", "-1", "abc", "1000", "5x", "0010"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rules_list_limit(bad[i], &v, &e) == 0)
            unit_fail(__FILE__, __LINE__, "limit \"%s\" accepted", bad[i]);
        else
            CHECK_STR(e.field, "limit");
    }
    CHECK_INT(rules_idem_key("order-42 retry", &e), 0);
    CHECK(rules_idem_key("", &e) != 0);
    CHECK_STR(e.field, "Idempotency-Key");
    CHECK(rules_idem_key("tab\there", &e) != 0);
    char key[300];
    memset(key, 'k', sizeof(key));
    key[255] = '\0';
    CHECK_INT(rules_idem_key(key, &e), 0);
    key[255] = 'k';
    key[256] = '\0';
    CHECK(rules_idem_key(key, &e) != 0);
}

void rules_tests(void)
{
    RUN(seat_ids);
    RUN(emails);
    RUN(signup_and_login);
    RUN(orgs_and_members);
    RUN(venues);
    RUN(events);
    RUN(event_times);
    RUN(holds);
    RUN(orders_and_checkins);
    RUN(limits_and_keys);
}
