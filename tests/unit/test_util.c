/*
 * test_util.c - core/util.c: RFC 3339 parsing and formatting, hashing,
 * and the shapes of the random ids, tokens and ticket codes.
 */
#include "unit.h"

#include <ctype.h>
#include <stdint.h>
#include "core/util.h"

static void time_round_trips(void)
{
    int64_t ms = -1;
    char buf[32];
    CHECK_INT(time_parse("1970-01-01T00:00:00Z", &ms), 0);
    CHECK_INT(ms, 0);
    CHECK_INT(time_parse("2026-12-01T19:30:00Z", &ms), 0);
    CHECK_INT(ms, 1796153400000LL);
    time_format(ms, buf, sizeof(buf));
    CHECK_STR(buf, "2026-12-01T19:30:00Z");
    CHECK_INT(time_parse("2026-12-01T20:30:00.250+01:00", &ms), 0);
    CHECK_INT(ms, 1796153400250LL);
    CHECK_INT(time_parse("2026-12-01T14:00:00-05:30", &ms), 0);
    CHECK_INT(ms, 1796153400000LL);
    CHECK_INT(time_parse("2024-02-29T23:59:59Z", &ms), 0);
    time_format(ms, buf, sizeof(buf));
    CHECK_STR(buf, "2024-02-29T23:59:59Z");
    /* every formatted time parses back to itself, to the second */
    for (int64_t t = 0; t < 4102444800000LL; t += 86399999LL * 37) {
        int64_t back;
        time_format(t, buf, sizeof(buf));
        CHECK_INT(time_parse(buf, &back), 0);
        CHECK_INT(back, t - t % 1000);
    }
}

static void time_rejects(void)
{
    const char *bad[] = {"", "2026-12-01", "2026-12-01T19:30:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                         "2026-04-31T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T19:60:00Z",
                         "2026-12-01T19:30:00Zjunk", "2026-12-01T19:30:00+0100", "2026-12-01T19:30:00.Z",
                         "26-12-01T19:30:00Z", "2026/12/01T19:30:00Z", "2026-12-01T19:30:00+25:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms;
        if (time_parse(bad[i], &ms) == 0)
            unit_fail(__FILE__, __LINE__, "time \"%s\" accepted", bad[i]);
    }
}

static void sha256_vector(void)
{
    char hex[65];
    sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static int all_in(const char *s, const char *alphabet)
{
    for (; *s; s++)
        if (!strchr(alphabet, *s))
            return 0;
    return 1;
}

static void random_shapes(void)
{
    char a[64], b[64];
    token_new(a, sizeof(a));
    token_new(b, sizeof(b));
    CHECK_INT(strlen(a), 43);
    CHECK(all_in(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"));
    CHECK(strcmp(a, b) != 0);

    id_new("evt", a, sizeof(a));
    id_new("evt", b, sizeof(b));
    CHECK_INT(strlen(a), 24);
    CHECK(strncmp(a, "evt_", 4) == 0);
    CHECK(all_in(a + 4, "abcdefghijkmnpqrstuvwxyz23456789"));
    CHECK(strcmp(a, b) != 0);

    ticket_code_new(a, sizeof(a));
    ticket_code_new(b, sizeof(b));
    CHECK_INT(strlen(a), 26); /* 26 x 5 bits = 130 bits >= 128 */
    CHECK(all_in(a, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"));
    CHECK(strcmp(a, b) != 0);
}

void util_tests(void)
{
    RUN(time_round_trips);
    RUN(time_rejects);
    RUN(sha256_vector);
    RUN(random_shapes);
}
