/*
 * rules.c - the request validation behind rules.h.
 *
 * Every validator follows one pattern: a fresh args object, then one
 * take_*() call per field that checks the field and copies its normalised
 * value into args (or records the error and stops the chain). The same
 * take_*() helpers serve create and patch bodies, so a field is checked
 * the same way wherever it appears. Nothing here allocates besides the
 * returned jansson objects, and nothing does I/O.
 */
#include "booking/rules.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/util.h"

/* take_*() flags */
enum {
    REQUIRED = 1,      /* absent or null is an error */
    NONEMPTY = 2,      /* "" (after trimming), [] is an error */
    DEFAULT_EMPTY = 4, /* take_list: absent gives [] */
};

/* Record the error in *e; always -1, so checks can "return fail(...)". */
static int fail(rule_err *e, err_code code, const char *field, const char *msg, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(rule_err *e, err_code code, const char *field, const char *msg, ...)
{
    va_list ap;
    e->code = code;
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_start(ap, msg);
    vsnprintf(e->message, sizeof(e->message), msg, ap);
    va_end(ap);
    return -1;
}

/* snprintf for field names: they end up in rule_err.field (128 bytes), so
 * truncation is harmless and not worth a compiler warning per call. */
static const char *fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static const char *fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, len, f, ap);
    va_end(ap);
    return buf;
}

/* "prefix.key" (or "key") into buf. */
static const char *path(char *buf, size_t len, const char *prefix, const char *key)
{
    return prefix && *prefix ? fmt(buf, len, "%s.%s", prefix, key) : fmt(buf, len, "%s", key);
}

/* The member key of obj, treating JSON null as absent. */
static json_t *member(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* The text of a JSON string, or NULL when v is no string or holds a NUL
 * character (everything downstream treats text as C strings). */
static const char *text_of(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* Number of UTF-8 characters (jansson strings are valid UTF-8). */
static size_t utf8_chars(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int ident_ok(const char *s, size_t maxlen, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > maxlen)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !(extra && strchr(extra, s[i])))
            return 0;
    return 1;
}

/* --- field takers -------------------------------------------------------- */

/* A text field, trimmed of surrounding white space, at most max chars.
 * Absent and not REQUIRED: dflt is stored when non-NULL. */
static int take_text(json_t *args, const json_t *obj, const char *key, const char *prefix, int flags,
                     size_t max, const char *dflt, rule_err *e)
{
    char f[128];
    json_t *v = member(obj, key);
    if (!v) {
        if (flags & REQUIRED)
            return fail(e, E_INVALID_FIELD, path(f, sizeof(f), prefix, key), "%s is required", key);
        if (dflt)
            json_object_set_new(args, key, json_string(dflt));
        return 0;
    }
    const char *s = text_of(v);
    if (!s)
        return fail(e, E_INVALID_FIELD, path(f, sizeof(f), prefix, key), "%s must be a string without NUL", key);
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if ((flags & NONEMPTY) && n == 0)
        return fail(e, E_INVALID_FIELD, path(f, sizeof(f), prefix, key), "%s must not be empty", key);
    if (utf8_chars(s, n) > max)
        return fail(e, E_INVALID_FIELD, path(f, sizeof(f), prefix, key), "%s is longer than %zu characters",
                    key, max);
    json_object_set_new(args, key, json_stringn(s, n));
    return 0;
}

/* An identifier made of [A-Za-z0-9] plus the characters of extra. */
static int take_ident(json_t *args, const json_t *obj, const char *key, const char *prefix, size_t max,
                      const char *extra, rule_err *e)
{
    char f[128];
    json_t *v = member(obj, key);
    if (!text_of(v) || !ident_ok(text_of(v), max, extra))
        return fail(e, E_INVALID_FIELD, path(f, sizeof(f), prefix, key),
                    "%s must be 1 to %zu characters among A-Z a-z 0-9%s", key, max, extra ? extra : "");
    json_object_set(args, key, v);
    return 0;
}

/* An integer in [min, max]. Absent and not REQUIRED: dflt when has_dflt. */
static int take_int(json_t *args, const json_t *obj, const char *key, const char *prefix, int flags,
                    json_int_t min, json_int_t max, int has_dflt, json_int_t dflt, rule_err *e)
{
    char f[128];
    json_t *v = member(obj, key);
    if (!v) {
        if (flags & REQUIRED)
            return fail(e, E_INVALID_FIELD, path(f, sizeof(f), prefix, key), "%s is required", key);
        if (has_dflt)
            json_object_set_new(args, key, json_integer(dflt));
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return fail(e, E_INVALID_FIELD, path(f, sizeof(f), prefix, key),
                    "%s must be an integer from %" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT, key, min,
                    max);
    json_object_set(args, key, v);
    return 0;
}

/* An RFC 3339 time, stored as int64 ms. With nullable, an explicit null is
 * stored as null (and absence too when store_null_if_absent). */
static int take_time(json_t *args, const json_t *obj, const char *key, int flags, int nullable,
                     int store_null_if_absent, rule_err *e)
{
    json_t *raw = json_object_get(obj, key);
    if (!raw || json_is_null(raw)) {
        if (flags & REQUIRED)
            return fail(e, E_INVALID_FIELD, key, "%s is required", key);
        if (nullable && (raw || store_null_if_absent))
            json_object_set_new(args, key, json_null());
        return 0;
    }
    int64_t ms;
    if (!text_of(raw) || time_parse(text_of(raw), &ms) != 0)
        return fail(e, E_INVALID_FIELD, key, "%s must be an RFC 3339 time like 2026-12-01T19:30:00Z", key);
    json_object_set_new(args, key, json_integer(ms));
    return 0;
}

static int take_email(json_t *args, const json_t *obj, const char *key, rule_err *e)
{
    char norm[RULES_EMAIL_MAX + 1];
    json_t *v = member(obj, key);
    if (!text_of(v) || rules_email_normalize(text_of(v), norm, sizeof(norm)) != 0)
        return fail(e, E_INVALID_FIELD, key, "%s must be an email address", key);
    json_object_set_new(args, key, json_string(norm));
    return 0;
}

static int take_currency(json_t *args, const json_t *obj, int flags, rule_err *e)
{
    json_t *v = member(obj, "currency");
    if (!v && !(flags & REQUIRED))
        return 0;
    const char *s = text_of(v);
    if (!s || strlen(s) != 3 || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) ||
        !isupper((unsigned char)s[2]))
        return fail(e, E_INVALID_FIELD, "currency", "currency must be an ISO 4217 code like EUR");
    json_object_set(args, "currency", v);
    return 0;
}

/* Records id in the set seen; -1 (error on field) when it was there. */
static int unique(json_t *seen, const json_t *item, const char *key, const char *prefix, rule_err *e)
{
    char f[128];
    const char *id = json_string_value(json_object_get(item, key));
    if (json_object_get(seen, id))
        return fail(e, E_INVALID_FIELD, path(f, sizeof(f), prefix, key), "duplicate %s \"%s\"", key, id);
    json_object_set_new(seen, id, json_true());
    return 0;
}

/* Checks one element of a list: in is the request's object, item the
 * output object to fill, prefix its field path ("prices[2]"), seen the set
 * of ids met so far in this list, ctx the caller's. */
typedef int (*item_fn)(json_t *item, const json_t *in, const char *prefix, json_t *seen, void *ctx, rule_err *e);

/* A list of objects under key, each checked by fn into a fresh output
 * array. Absent and not REQUIRED: [] with DEFAULT_EMPTY, else nothing. */
static int take_list(json_t *args, const json_t *obj, const char *key, const char *prefix, int flags, item_fn fn,
                     void *ctx, rule_err *e)
{
    char f[128];
    json_t *in = member(obj, key);
    path(f, sizeof(f), prefix, key);
    if (!in && !(flags & REQUIRED)) {
        if (flags & DEFAULT_EMPTY)
            json_object_set_new(args, key, json_array());
        return 0;
    }
    if (!json_is_array(in) || ((flags & NONEMPTY) && json_array_size(in) == 0))
        return fail(e, E_INVALID_FIELD, f, "%s must be a%s array", key, (flags & NONEMPTY) ? " non-empty" : "n");
    json_t *list = json_array(), *seen = json_object();
    json_object_set_new(args, key, list);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(in); i++) {
        char ef[128];
        json_t *el = json_array_get(in, i), *item = json_object();
        json_array_append_new(list, item);
        fmt(ef, sizeof(ef), "%s[%zu]", f, i);
        rc = json_is_object(el) ? fn(item, el, ef, seen, ctx, e)
                                : fail(e, E_INVALID_FIELD, ef, "%s must be an object", ef);
    }
    json_decref(seen);
    return rc ? -1 : 0;
}

/* --- entry points ------------------------------------------------------- */

/* The common tail of every entry point: hand args over, or drop them on
 * failure. */
static int finish(json_t *args, int rc, json_t **out)
{
    if (rc != 0) {
        json_decref(args);
        *out = NULL;
        return -1;
    }
    *out = args;
    return 0;
}

static int not_object(const json_t *body, json_t **out, rule_err *e)
{
    *out = NULL;
    return json_is_object(body) ? 0 : fail(e, E_INVALID_FIELD, "body", "the body must be a JSON object");
}

int rules_seat_id_parse(const char *s, seat_ref *out)
{
    seat_ref tmp;
    const char *d1 = strchr(s, '-');
    const char *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
    if (!d2 || strchr(d2 + 1, '-'))
        return -1;
    size_t ls = (size_t)(d1 - s), lr = (size_t)(d2 - d1 - 1);
    const char *num = d2 + 1;
    if (ls == 0 || ls > RULES_IDENT_MAX || lr == 0 || lr > RULES_IDENT_MAX)
        return -1;
    memcpy(tmp.section, s, ls);
    tmp.section[ls] = '\0';
    memcpy(tmp.row, d1 + 1, lr);
    tmp.row[lr] = '\0';
    if (!ident_ok(tmp.section, RULES_IDENT_MAX, NULL) || !ident_ok(tmp.row, RULES_IDENT_MAX, NULL))
        return -1;
    size_t ln = strlen(num);
    if (ln == 0 || ln > 4 || num[0] == '0')
        return -1;
    tmp.number = 0;
    for (size_t i = 0; i < ln; i++) {
        if (!isdigit((unsigned char)num[i]))
            return -1;
        tmp.number = tmp.number * 10 + (num[i] - '0');
    }
    if (tmp.number > RULES_SEATS_PER_ROW_MAX)
        return -1;
    if (out)
        *out = tmp;
    return 0;
}

/* local@domain.tld: one '@', no white space or control characters, a
 * domain of dot-separated non-empty labels with at least one dot. */
static int email_shape_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || at - s > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    const char *dom = at + 1;
    size_t n = strlen(dom);
    if (n < 3 || !strchr(dom, '.') || dom[0] == '.' || dom[n - 1] == '.' || strstr(dom, ".."))
        return 0;
    for (const char *p = dom; *p; p++)
        if (!((unsigned char)*p >= 0x80 || isalnum((unsigned char)*p) || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

/* Trimmed, lower-cased copy of in; -1 (out "") when it does not fit. */
static int trim_lower(const char *in, char *out, size_t len)
{
    while (isspace((unsigned char)*in))
        in++;
    size_t n = strlen(in);
    while (n > 0 && isspace((unsigned char)in[n - 1]))
        n--;
    if (n >= len) {
        out[0] = '\0';
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[n] = '\0';
    return 0;
}

int rules_email_normalize(const char *in, char *out, size_t len)
{
    if (len < RULES_EMAIL_MAX + 1)
        return -1;
    return trim_lower(in, out, RULES_EMAIL_MAX + 1) == 0 && email_shape_ok(out) ? 0 : -1;
}

/* A password of 8..1024 characters without NUL (hashing stops at NUL). */
static int password_ok(const json_t *body, rule_err *e)
{
    json_t *v = member(body, "password");
    if (!json_is_string(v))
        return fail(e, E_INVALID_FIELD, "password", "password is required");
    if (!text_of(v))
        return fail(e, E_INVALID_FIELD, "password", "password must not contain NUL characters");
    size_t n = utf8_chars(json_string_value(v), json_string_length(v));
    if (n < RULES_PASSWORD_MIN || n > RULES_PASSWORD_MAX)
        return fail(e, E_INVALID_FIELD, "password", "password must have %d to %d characters",
                     RULES_PASSWORD_MIN, RULES_PASSWORD_MAX);
    return 0;
}

int rules_signup(const json_t *body, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    json_t *args = json_object();
    int rc = take_email(args, body, "email", e) || password_ok(body, e) ||
             take_text(args, body, "name", NULL, REQUIRED | NONEMPTY, RULES_NAME_MAX, NULL, e);
    if (rc == 0)
        json_object_set(args, "password", json_object_get(body, "password"));
    return finish(args, rc, out);
}

int rules_login(const json_t *body, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    json_t *args = json_object();
    json_t *email = member(body, "email"), *pw = member(body, "password");
    int rc = 0;
    if (!text_of(email))
        rc = fail(e, E_INVALID_FIELD, "email", "email is required");
    else if (!text_of(pw))
        rc = fail(e, E_INVALID_FIELD, "password", "password is required");
    else if (utf8_chars(json_string_value(pw), json_string_length(pw)) > RULES_PASSWORD_MAX)
        rc = fail(e, E_INVALID_FIELD, "password", "password is longer than %d characters", RULES_PASSWORD_MAX);
    if (rc == 0) {
        char norm[RULES_EMAIL_MAX + 1];
        trim_lower(json_string_value(email), norm, sizeof(norm));
        json_object_set_new(args, "email", json_string(norm));
        json_object_set(args, "password", pw);
    }
    return finish(args, rc, out);
}

int rules_org(const json_t *body, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    json_t *args = json_object();
    return finish(args, take_text(args, body, "name", NULL, REQUIRED | NONEMPTY, RULES_NAME_MAX, NULL, e), out);
}

int rules_member(const json_t *body, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    json_t *args = json_object();
    int rc = take_email(args, body, "email", e);
    if (rc == 0) {
        const char *role = text_of(member(body, "role"));
        if (!role || (strcmp(role, "admin") != 0 && strcmp(role, "staff") != 0))
            rc = fail(e, E_INVALID_FIELD, "role", "role must be \"admin\" or \"staff\"");
        else
            json_object_set_new(args, "role", json_string(role));
    }
    return finish(args, rc, out);
}

/* --- venues ------------------------------------------------------------- */

static int venue_row(json_t *row, const json_t *in, const char *prefix, json_t *seen, void *ctx, rule_err *e)
{
    long *total = ctx;
    if (take_ident(row, in, "id", prefix, RULES_IDENT_MAX, NULL, e) || unique(seen, row, "id", prefix, e) ||
        take_int(row, in, "seats", prefix, REQUIRED, 1, RULES_SEATS_PER_ROW_MAX, 0, 0, e))
        return -1;
    *total += (long)json_integer_value(json_object_get(row, "seats"));
    if (*total > RULES_VENUE_SEATS_MAX)
        return fail(e, E_INVALID_FIELD, "sections", "a venue has at most %d seats", RULES_VENUE_SEATS_MAX);
    return 0;
}

static int venue_section(json_t *sec, const json_t *in, const char *prefix, json_t *seen, void *ctx, rule_err *e)
{
    if (take_ident(sec, in, "id", prefix, RULES_IDENT_MAX, NULL, e) || unique(seen, sec, "id", prefix, e))
        return -1;
    const char *id = json_string_value(json_object_get(sec, "id"));
    return take_text(sec, in, "name", prefix, NONEMPTY, RULES_NAME_MAX, id, e) ||
           take_list(sec, in, "rows", prefix, REQUIRED | NONEMPTY, venue_row, ctx, e);
}

int rules_venue(const json_t *body, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    json_t *args = json_object();
    long total = 0;
    int rc = take_text(args, body, "name", NULL, REQUIRED | NONEMPTY, RULES_NAME_MAX, NULL, e) ||
             take_text(args, body, "city", NULL, REQUIRED | NONEMPTY, RULES_NAME_MAX, NULL, e) ||
             take_text(args, body, "address", NULL, 0, 500, "", e) ||
             take_text(args, body, "timezone", NULL, REQUIRED | NONEMPTY, 64, NULL, e) ||
             take_list(args, body, "sections", NULL, REQUIRED | NONEMPTY, venue_section, &total, e);
    return finish(args, rc, out);
}

/* --- events ------------------------------------------------------------- */

static int price_item(json_t *item, const json_t *in, const char *prefix, json_t *seen, void *ctx, rule_err *e)
{
    return take_ident(item, in, "section", prefix, RULES_IDENT_MAX, NULL, e) ||
           unique(seen, item, "section", prefix, e) ||
           take_int(item, in, "price_cents", prefix, REQUIRED, 0, RULES_PRICE_MAX, 0, 0, e);
}

static int tier_item(json_t *item, const json_t *in, const char *prefix, json_t *seen, void *ctx, rule_err *e)
{
    return take_ident(item, in, "id", prefix, 64, "_-", e) || unique(seen, item, "id", prefix, e) ||
           take_text(item, in, "name", prefix, REQUIRED | NONEMPTY, RULES_NAME_MAX, NULL, e) ||
           take_int(item, in, "price_cents", prefix, REQUIRED, 0, RULES_PRICE_MAX, 0, 0, e) ||
           take_int(item, in, "capacity", prefix, REQUIRED, 1, RULES_CAPACITY_MAX, 0, 0, e);
}

int rules_event_times(const json_t *args, rule_err *e)
{
    json_t *st = json_object_get(args, "starts_at"), *ss = json_object_get(args, "sale_starts_at");
    json_t *se = json_object_get(args, "sale_ends_at");
    if (json_is_null(se))
        se = NULL;
    if (st && ss && json_integer_value(ss) >= json_integer_value(st))
        return fail(e, E_INVALID_FIELD, "sale_starts_at", "sale_starts_at must be before starts_at");
    if (st && se && json_integer_value(se) > json_integer_value(st))
        return fail(e, E_INVALID_FIELD, "sale_ends_at", "sale_ends_at must not be after starts_at");
    if (ss && se && json_integer_value(se) <= json_integer_value(ss))
        return fail(e, E_INVALID_FIELD, "sale_ends_at", "sale_ends_at must be after sale_starts_at");
    return 0;
}

/* Create and patch share every field check; patch makes every field
 * optional and fills in no defaults. */
static int event_fields(const json_t *body, int patch, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    int req = patch ? 0 : REQUIRED, lists = patch ? 0 : DEFAULT_EMPTY;
    json_t *args = json_object();
    int rc = take_text(args, body, "venue_id", NULL, req | NONEMPTY, 64, NULL, e) ||
             take_text(args, body, "title", NULL, req | NONEMPTY, RULES_NAME_MAX, NULL, e) ||
             take_text(args, body, "description", NULL, 0, 10000, patch ? NULL : "", e) ||
             take_time(args, body, "starts_at", req, 0, 0, e) ||
             take_time(args, body, "sale_starts_at", req, 0, 0, e) ||
             take_time(args, body, "sale_ends_at", 0, 1, !patch, e) || take_currency(args, body, req, e) ||
             take_int(args, body, "max_tickets_per_order", NULL, 0, 1, RULES_TICKETS_PER_ORDER_MAX, !patch, 10, e) ||
             take_int(args, body, "hold_ttl_seconds", NULL, 0, 1, RULES_HOLD_TTL_MAX, !patch, 600, e) ||
             take_list(args, body, "prices", NULL, lists, price_item, NULL, e) ||
             take_list(args, body, "ga_tiers", NULL, lists, tier_item, NULL, e) || rules_event_times(args, e);
    return finish(args, rc, out);
}

int rules_event_create(const json_t *body, json_t **args, rule_err *e)
{
    return event_fields(body, 0, args, e);
}

int rules_event_patch(const json_t *body, json_t **fields, rule_err *e)
{
    return event_fields(body, 1, fields, e);
}

/* --- buying ------------------------------------------------------------- */

/* Seat ids checked one by one, duplicates by comparing with the ones
 * before (at most RULES_TICKETS_PER_ORDER_MAX: cheaper than a set, and
 * this runs for every hold); a field name is formatted only for an error. */
static int hold_seats(json_t *args, json_t *seats, rule_err *e)
{
    if (!json_is_array(seats) || json_array_size(seats) == 0)
        return fail(e, E_INVALID_FIELD, "seats", "seats must be a non-empty array of seat ids");
    size_t n = json_array_size(seats);
    if (n > RULES_TICKETS_PER_ORDER_MAX)
        return fail(e, E_LIMIT_EXCEEDED, "seats", "at most %d seats per hold", RULES_TICKETS_PER_ORDER_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *id = text_of(json_array_get(seats, i));
        if (!id || rules_seat_id_parse(id, NULL) != 0) {
            char f[32];
            fmt(f, sizeof(f), "seats[%zu]", i);
            return fail(e, E_INVALID_FIELD, f, "not a seat id like A-12-7");
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(id, json_string_value(json_array_get(seats, k))) == 0)
                return fail(e, E_INVALID_FIELD, "seats", "seat %s is listed twice", id);
    }
    json_object_set(args, "seats", seats);
    return 0;
}

static int hold_tier(json_t *args, const json_t *body, rule_err *e)
{
    if (take_ident(args, body, "tier", NULL, 64, "_-", e))
        return -1;
    json_t *q = member(body, "quantity");
    if (!json_is_integer(q) || json_integer_value(q) < 1)
        return fail(e, E_INVALID_FIELD, "quantity", "quantity must be an integer of at least 1");
    if (json_integer_value(q) > RULES_TICKETS_PER_ORDER_MAX)
        return fail(e, E_LIMIT_EXCEEDED, "quantity", "at most %d tickets per hold", RULES_TICKETS_PER_ORDER_MAX);
    json_object_set(args, "quantity", q);
    return 0;
}

int rules_hold(const json_t *body, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    json_t *args = json_object(), *seats = member(body, "seats");
    int by_tier = member(body, "tier") || member(body, "quantity");
    int rc;
    if (seats && by_tier)
        rc = fail(e, E_INVALID_FIELD, "seats", "give either seats or tier and quantity, not both");
    else if (seats || !by_tier)
        rc = hold_seats(args, seats, e);
    else
        rc = hold_tier(args, body, e);
    return finish(args, rc, out);
}

int rules_order(const json_t *body, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    json_t *args = json_object(), *pay = json_object(), *p = member(body, "payment");
    json_object_set_new(args, "payment", pay);
    int rc = take_text(args, body, "hold_id", NULL, REQUIRED | NONEMPTY, 64, NULL, e);
    if (rc == 0 && !json_is_object(p))
        rc = fail(e, E_INVALID_FIELD, "payment", "payment must be an object {method, token}");
    if (rc == 0)
        rc = take_text(pay, p, "method", "payment", REQUIRED | NONEMPTY, 64, NULL, e) ||
             take_text(pay, p, "token", "payment", REQUIRED | NONEMPTY, 256, NULL, e);
    return finish(args, rc, out);
}

int rules_checkin(const json_t *body, json_t **out, rule_err *e)
{
    if (not_object(body, out, e))
        return -1;
    json_t *args = json_object();
    return finish(args, take_text(args, body, "code", NULL, REQUIRED | NONEMPTY, 128, NULL, e), out);
}

int rules_list_limit(const char *s, int *out, rule_err *e)
{
    if (!s) {
        *out = RULES_LIST_LIMIT_DEFAULT;
        return 0;
    }
    size_t n = strlen(s);
    int v = n >= 1 && n <= 3 ? 0 : -1;
    for (size_t i = 0; v >= 0 && i < n; i++)
        v = isdigit((unsigned char)s[i]) ? v * 10 + (s[i] - '0') : -1;
    if (v < 1 || v > RULES_LIST_LIMIT_MAX)
        return fail(e, E_INVALID_FIELD, "limit", "limit must be an integer from 1 to %d", RULES_LIST_LIMIT_MAX);
    *out = v;
    return 0;
}

int rules_idem_key(const char *s, rule_err *e)
{
    size_t n = strlen(s);
    int ok = n >= 1 && n <= RULES_IDEM_KEY_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 0x20 && s[i] < 0x7f;
    return ok ? 0 : fail(e, E_INVALID_FIELD, "Idempotency-Key", "Idempotency-Key must be 1 to %d printable characters",
                         RULES_IDEM_KEY_MAX);
}
