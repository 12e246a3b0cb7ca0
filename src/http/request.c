/*
 * request.c - reading what the client sent: JSON body, token, query,
 * headers. Results that outlive the call live in the request pool, so
 * handlers never free them; only the parsed JSON is a jansson reference
 * the handler owns.
 */
#include "http/internal.h"

#include <string.h>
#include <strings.h>
#include "core/util.h"

int http_read_json(h2o_req_t *req, json_t **out)
{
    json_error_t jerr;
    *out = NULL;
    if (req->entity.base == NULL || req->entity.len == 0) {
        http_send_error(req, E_INVALID_JSON, NULL, "The request body is empty; a JSON object is expected.");
        return -1;
    }
    json_t *doc = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
    if (doc == NULL) {
        http_send_error(req, E_INVALID_JSON, json_pack("{s:i,s:i}", "line", jerr.line, "column", jerr.column), NULL);
        return -1;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        http_send_error(req, E_INVALID_JSON, NULL, "The request body must be a JSON object.");
        return -1;
    }
    *out = doc;
    return 0;
}

/* --- headers ------------------------------------------------------------ */

static h2o_iovec_t header_value(h2o_req_t *req, const char *name, size_t len)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, len, -1);
    return i == -1 ? h2o_iovec_init(NULL, 0) : req->headers.entries[i].value;
}

char *http_header(h2o_req_t *req, const char *name)
{
    h2o_iovec_t v = header_value(req, name, strlen(name));
    return v.base == NULL ? NULL : h2o_strdup(&req->pool, v.base, v.len).base;
}

static h2o_iovec_t trim(h2o_iovec_t v)
{
    while (v.len && (v.base[0] == ' ' || v.base[0] == '\t'))
        v.base++, v.len--;
    while (v.len && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t'))
        v.len--;
    return v;
}

static h2o_iovec_t bearer_token(h2o_req_t *req)
{
    h2o_iovec_t v = trim(header_value(req, H2O_STRLIT("authorization")));
    if (v.len > 7 && strncasecmp(v.base, "bearer ", 7) == 0)
        return trim(h2o_iovec_init(v.base + 7, v.len - 7));
    return h2o_iovec_init(NULL, 0);
}

static h2o_iovec_t cookie_token(h2o_req_t *req)
{
    static const char key[] = "tixin_session=";
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        const char *p = v.base, *end = v.base + v.len;
        while (p < end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            h2o_iovec_t pair = trim(h2o_iovec_init(p, (size_t)((semi ? semi : end) - p)));
            if (pair.len > sizeof(key) - 1 && memcmp(pair.base, key, sizeof(key) - 1) == 0)
                return h2o_iovec_init(pair.base + sizeof(key) - 1, pair.len - (sizeof(key) - 1));
            p = semi ? semi + 1 : end;
        }
    }
    return h2o_iovec_init(NULL, 0);
}

static int is_safe_method(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
           h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

/* "http://host:port" or "https://..." naming this very server. */
static int origin_is_self(h2o_iovec_t origin, h2o_iovec_t authority)
{
    const char *sep = origin.len ? memchr(origin.base, ':', origin.len) : NULL;
    if (sep == NULL || (size_t)(origin.base + origin.len - sep) < 3 || memcmp(sep, "://", 3) != 0)
        return 0;
    const char *host = sep + 3;
    return h2o_memis(host, (size_t)(origin.base + origin.len - host), authority.base, authority.len);
}

/* CSRF defence for the cookie: a browser sends cookies on cross-site form
 * posts, but it cannot add a custom header to a cross-site request without
 * a CORS preflight this server never grants. So a state-changing request
 * may use the cookie only with an X-Requested-With header, and an Origin,
 * when present, must be this server's own. */
static int cookie_allowed(h2o_req_t *req)
{
    if (is_safe_method(req))
        return 1;
    if (header_value(req, H2O_STRLIT("x-requested-with")).base == NULL)
        return 0;
    h2o_iovec_t origin = header_value(req, H2O_STRLIT("origin"));
    return origin.base == NULL || origin_is_self(origin, req->authority);
}

int http_token_hash(h2o_req_t *req, char hash[65])
{
    h2o_iovec_t tok = bearer_token(req);
    if (tok.len == 0 && cookie_allowed(req))
        tok = cookie_token(req);
    if (tok.len == 0) {
        hash[0] = '\0';
        return 0;
    }
    sha256_hex(tok.base, tok.len, hash);
    return 1;
}

/* --- query string ------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode %XX and '+' into a NUL-terminated pool string. */
static char *url_decode(h2o_req_t *req, const char *s, size_t len)
{
    char *out = h2o_mem_alloc_pool(&req->pool, len + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

char *http_query_param(h2o_req_t *req, const char *name)
{
    if (req->query_at == SIZE_MAX)
        return NULL;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t nlen = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        const char *kend = eq ? eq : pend;
        if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0)
            return eq ? url_decode(req, eq + 1, (size_t)(pend - eq - 1)) : url_decode(req, "", 0);
        p = pend + 1;
    }
    return NULL;
}
