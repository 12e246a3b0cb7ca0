/*
 * static.c - the web UI's files (web/), served by tixin itself.
 *
 * Why in memory: the UI is a few hundred KB of HTML/CSS/JS modules. They
 * are read once at start-up into an immutable table, gzipped once (level
 * 9, text types only) and hashed once, so a request never touches the
 * disk, never compresses, and the loops share the table without locks.
 * Editing a file needs a restart. Lookup is by exact path among the loaded
 * files, so nothing outside the web root can ever be named (h2o also
 * resolves "..", and symlinks are not followed at load).
 *
 * Caching without a build step: HTML is "no-cache" (revalidated with its
 * ETag on every load). At load, in HTML, a reference written "/x.css?v"
 * becomes "/x.css?v=<hash of x.css>", and the comment
 * <!--tixin:importmap--> becomes an import map sending every .js module
 * to its ?v=<hash> URL (relative imports included), with the script's
 * hash in the page's Content-Security-Policy. A request whose v= names the
 * file's current hash is "immutable" for a year; any other is "no-cache".
 *
 * Routing: the router calls static_serve() for GET/HEAD paths no API route
 * knows. Paths under /api/ are never ours. The UI routes on the client, so
 * the paths it owns get index.html: they are listed in the web root's file
 * "client-routes" (one pattern a line; a "{name}" segment matches any one
 * segment, as in the router: "/events/{id}"), which keeps every other
 * unknown path the contract's JSON 404 (declined here, answered by the
 * router).
 */
#include "http/internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include <zlib.h>
#include "core/log.h"

#define MAX_FILES 4096
#define MAX_TOTAL_BYTES (64u * 1024 * 1024)
#define MAX_DEPTH 16
#define MAX_CLIENT_ROUTES 64
#define CLIENT_ROUTES_FILE "client-routes"
#define GZIP_MIN_LEN 1024 /* respond.c sends smaller bodies as they are */
#define IMPORTMAP_MARK "<!--tixin:importmap-->"
#define IMMUTABLE "public, max-age=31536000, immutable"

typedef struct {
    char *path;           /* URL path, "/js/app.js" */
    const char *type;     /* Content-Type */
    char *body, *gz;      /* gz NULL when gzip does not pay */
    size_t len, gzlen;
    char version[17];     /* 16 hex digits of the content hash: the ?v= value */
    char etag[24];        /* W/"<version>": weak, as gzip and identity share it */
    char *csp;            /* HTML only: Content-Security-Policy */
} web_file;

static web_file *files;
static size_t nfiles;
static size_t total_bytes;
static const web_file *index_html;
static char *client_routes[MAX_CLIENT_ROUTES];
static int nclient_routes;

/* --- content types ------------------------------------------------------ */

static const struct {
    const char *ext, *type;
    int text;
} types[] = {
    {".html", "text/html; charset=utf-8", 1},       {".js", "text/javascript; charset=utf-8", 1},
    {".mjs", "text/javascript; charset=utf-8", 1},  {".css", "text/css; charset=utf-8", 1},
    {".json", "application/json; charset=utf-8", 1}, {".svg", "image/svg+xml", 1},
    {".txt", "text/plain; charset=utf-8", 1},       {".webmanifest", "application/manifest+json", 1},
    {".png", "image/png", 0},                       {".jpg", "image/jpeg", 0},
    {".ico", "image/x-icon", 0},                    {".woff2", "font/woff2", 0},
};

static int type_index(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return (int)i;
    return -1;
}

static int is_html(const web_file *f)
{
    return strncmp(f->type, "text/html", 9) == 0;
}

static int is_js(const web_file *f)
{
    return strncmp(f->type, "text/javascript", 15) == 0;
}

/* --- reading the tree --------------------------------------------------- */

static char *read_whole(const char *fs_path, size_t size)
{
    FILE *fp = fopen(fs_path, "rb");
    char *buf = fp ? malloc(size + 1) : NULL;
    if (buf != NULL && fread(buf, 1, size, fp) != size) {
        free(buf);
        buf = NULL;
    }
    if (fp != NULL)
        fclose(fp);
    if (buf != NULL)
        buf[size] = '\0';
    return buf;
}

static int add_file(const char *fs_path, const char *url_path, size_t size)
{
    int t = type_index(url_path);
    if (t < 0)
        return 0; /* unknown types are not served (no guessing) */
    if (nfiles == MAX_FILES || total_bytes + size > MAX_TOTAL_BYTES) {
        log_msg(LOG_ERROR, "web root: more than %d files or %u bytes", MAX_FILES, MAX_TOTAL_BYTES);
        return -1;
    }
    char *body = read_whole(fs_path, size);
    if (body == NULL) {
        log_msg(LOG_ERROR, "web root: cannot read %s: %s", fs_path, strerror(errno));
        return -1;
    }
    files[nfiles++] = (web_file){.path = strdup(url_path), .type = types[t].type, .body = body, .len = size};
    total_bytes += size;
    return 0;
}

/* Depth-first walk; dot files and symlinks are skipped. */
static int load_dir(const char *fs_dir, const char *url_dir, int depth)
{
    DIR *d = opendir(fs_dir);
    if (d == NULL) {
        log_msg(LOG_ERROR, "web root: cannot open %s: %s", fs_dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        char fs_path[PATH_MAX], url_path[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(fs_path, sizeof(fs_path), "%s/%s", fs_dir, de->d_name) >= (int)sizeof(fs_path) ||
            snprintf(url_path, sizeof(url_path), "%s/%s", url_dir, de->d_name) >= (int)sizeof(url_path) ||
            lstat(fs_path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
            rc = load_dir(fs_path, url_path, depth + 1);
        else if (S_ISREG(st.st_mode))
            rc = add_file(fs_path, url_path, (size_t)st.st_size);
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const web_file *)a)->path, ((const web_file *)b)->path);
}

static web_file *find_file(const char *path, size_t len)
{
    size_t lo = 0, hi = nfiles;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(files[mid].path, path, len);
        if (c == 0 && files[mid].path[len] != '\0')
            c = 1;
        if (c == 0)
            return &files[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* --- hashing, rewriting, compressing ------------------------------------ */

static void set_version(web_file *f)
{
    unsigned char h[8];
    crypto_generichash(h, sizeof(h), (const unsigned char *)f->body, f->len, NULL, 0);
    sodium_bin2hex(f->version, sizeof(f->version), h, sizeof(h));
    snprintf(f->etag, sizeof(f->etag), "W/\"%s\"", f->version);
}

/* A growing malloc'd string; on allocation failure the process aborts
 * (start-up only, a few hundred KB). */
typedef struct {
    char *s;
    size_t len, cap;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (b->s == NULL)
            abort();
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* {"imports":{"/js/a.js":"/js/a.js?v=H",...}} of every loaded module. */
static char *importmap_json(void)
{
    strbuf b = {0};
    sb_str(&b, "{\"imports\":{");
    int first = 1;
    for (size_t i = 0; i < nfiles; i++) {
        if (!is_js(&files[i]) || strpbrk(files[i].path, "\"\\<") != NULL) /* nothing to escape */
            continue;
        sb_str(&b, first ? "\"" : ",\"");
        sb_str(&b, files[i].path);
        sb_str(&b, "\":\"");
        sb_str(&b, files[i].path);
        sb_str(&b, "?v=");
        sb_str(&b, files[i].version);
        sb_str(&b, "\"");
        first = 0;
    }
    sb_str(&b, "}}");
    return b.s;
}

/* The page's policy: only our own origin, plus the inline import map by
 * its hash (inline_script may be NULL). */
static char *make_csp(const char *inline_script)
{
    char hash_b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)] = "";
    if (inline_script != NULL) {
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)inline_script, strlen(inline_script));
        sodium_bin2base64(hash_b64, sizeof(hash_b64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
    }
    strbuf b = {0};
    sb_str(&b, "default-src 'self'; script-src 'self'");
    if (inline_script != NULL) {
        sb_str(&b, " 'sha256-");
        sb_str(&b, hash_b64);
        sb_str(&b, "'");
    }
    sb_str(&b, "; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    return b.s;
}

/* Copy the text before *p's next `"/path?v"` (a loaded path) and the
 * reference itself with ?v=<hash>; returns where to continue, or NULL
 * when there is no further marker. */
static const char *rewrite_next_ref(strbuf *out, const char *p)
{
    const char *mark = strstr(p, "?v\"");
    if (mark == NULL)
        return NULL;
    const char *q = mark;
    while (q > p && q[-1] != '"')
        q--;
    sb_add(out, p, (size_t)(mark - p));
    web_file *f = q > p ? find_file(q, (size_t)(mark - q)) : NULL;
    if (f != NULL && q[0] == '/') {
        sb_str(out, "?v=");
        sb_str(out, f->version);
    } else {
        sb_str(out, "?v");
        log_msg(LOG_WARN, "web root: versioned reference to unknown file %.*s", (int)(mark - q), q);
    }
    return mark + 2;
}

/* HTML: versioned references and the import map (see the top). */
static void rewrite_html(web_file *f, const char *importmap)
{
    strbuf out = {0};
    const char *p = f->body, *next;
    while ((next = rewrite_next_ref(&out, p)) != NULL)
        p = next;
    sb_str(&out, p);
    char *mark = strstr(out.s, IMPORTMAP_MARK);
    const char *inline_script = NULL;
    if (mark != NULL) {
        strbuf with = {0};
        sb_add(&with, out.s, (size_t)(mark - out.s));
        sb_str(&with, "<script type=\"importmap\">");
        sb_str(&with, importmap);
        sb_str(&with, "</script>");
        sb_str(&with, mark + strlen(IMPORTMAP_MARK));
        free(out.s);
        out = with;
        inline_script = importmap;
    }
    f->csp = make_csp(inline_script);
    free(f->body);
    f->body = out.s;
    f->len = out.len;
}

static void compress_file(web_file *f)
{
    int t = type_index(f->path);
    if (t < 0 || !types[t].text || f->len < GZIP_MIN_LEN)
        return;
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return;
    size_t cap = deflateBound(&z, f->len);
    char *out = malloc(cap);
    z.next_in = (Bytef *)f->body;
    z.avail_in = (uInt)f->len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    if (out != NULL && deflate(&z, Z_FINISH) == Z_STREAM_END) {
        f->gz = out;
        f->gzlen = cap - z.avail_out;
    } else {
        free(out);
    }
    deflateEnd(&z);
}

/* Versions of every non-HTML file first: the HTML rewrite names them. */
static void prepare_files(void)
{
    qsort(files, nfiles, sizeof(*files), by_path);
    for (size_t i = 0; i < nfiles; i++)
        if (!is_html(&files[i]))
            set_version(&files[i]);
    char *importmap = importmap_json();
    for (size_t i = 0; i < nfiles; i++) {
        if (is_html(&files[i])) {
            rewrite_html(&files[i], importmap);
            set_version(&files[i]);
        }
        compress_file(&files[i]);
    }
    free(importmap);
    index_html = find_file("/index.html", strlen("/index.html"));
}

/* --- client routes ------------------------------------------------------ */

static void load_client_routes(const char *root)
{
    char path[PATH_MAX + 32], line[512];
    snprintf(path, sizeof(path), "%s/" CLIENT_ROUTES_FILE, root);
    FILE *fp = fopen(path, "r");
    while (fp != NULL && nclient_routes < MAX_CLIENT_ROUTES && fgets(line, sizeof(line), fp) != NULL) {
        line[strcspn(line, " \t\r\n#")] = '\0';
        if (line[0] == '/')
            client_routes[nclient_routes++] = strdup(line);
    }
    if (fp != NULL)
        fclose(fp);
}

/* A pattern like "/events/{id}" against a path; a trailing "/" is ignored. */
static int route_matches(const char *pat, const char *path, size_t len)
{
    const char *p = path, *end = path + len;
    while (end - path > 1 && end[-1] == '/')
        end--;
    while (*pat != '\0' && p < end) {
        if (*pat == '{') {
            const char *slash = memchr(p, '/', (size_t)(end - p));
            const char *seg_end = slash ? slash : end, *close = strchr(pat, '}');
            if (seg_end == p || close == NULL)
                return 0;
            p = seg_end;
            pat = close + 1;
        } else if (*pat++ != *p++) {
            return 0;
        }
    }
    return *pat == '\0' && p == end;
}

static int is_client_route(const char *path, size_t len)
{
    for (int i = 0; i < nclient_routes; i++)
        if (route_matches(client_routes[i], path, len))
            return 1;
    return 0;
}

/* --- where the web root is ---------------------------------------------- */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* No --web-root: web/ of the repository the binary was built in
 * (build/tixin, build/asan/tixin), then an installed layout
 * (PREFIX/bin/tixin with PREFIX/share/tixin/web), then ./web. */
static int find_default_root(char *out, size_t cap)
{
    static const char *const rel[] = {"/../web", "/../../web", "/../share/tixin/web"};
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL)
            *slash = '\0';
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
            if (snprintf(out, cap, "%s%s", exe, rel[i]) < (int)cap && is_dir(out))
                return 0;
    }
    if (is_dir("web")) {
        snprintf(out, cap, "web");
        return 0;
    }
    return -1;
}

int static_load(const char *configured_root)
{
    char root[PATH_MAX], real[PATH_MAX];
    if (configured_root[0] != '\0') {
        snprintf(root, sizeof(root), "%s", configured_root);
    } else if (find_default_root(root, sizeof(root)) != 0) {
        log_msg(LOG_WARN, "no web root found (set --web-root or TIXIN_WEB_ROOT): the web UI is off");
        return 0;
    }
    if (realpath(root, real) == NULL || !is_dir(real)) {
        log_msg(LOG_ERROR, "web root %s is not a directory", root);
        return -1;
    }
    files = calloc(MAX_FILES, sizeof(*files));
    if (files == NULL || load_dir(real, "", 0) != 0) {
        static_free();
        return -1;
    }
    prepare_files();
    load_client_routes(real);
    log_msg(LOG_INFO, "web UI: %zu files (%zu bytes) from %s", nfiles, total_bytes, real);
    return 0;
}

void static_free(void)
{
    for (size_t i = 0; i < nfiles; i++) {
        free(files[i].path);
        free(files[i].body);
        free(files[i].gz);
        free(files[i].csp);
    }
    free(files);
    files = NULL;
    for (int i = 0; i < nclient_routes; i++)
        free(client_routes[i]);
    nclient_routes = 0;
    nfiles = total_bytes = 0;
    index_html = NULL;
}

/* --- serving ------------------------------------------------------------ */

static int method_is(h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

/* The file a path names: itself, DIR/index.html, or index.html for the
 * UI's client-side routes. */
static const web_file *resolve(const char *path, size_t len)
{
    if (len >= 4 && memcmp(path, "/api", 4) == 0 && (len == 4 || path[4] == '/'))
        return NULL;
    const web_file *f = find_file(path, len);
    if (f != NULL)
        return f;
    if (len > 0 && path[len - 1] == '/') {
        char dir_index[PATH_MAX];
        if (snprintf(dir_index, sizeof(dir_index), "%.*sindex.html", (int)len, path) < (int)sizeof(dir_index) &&
            (f = find_file(dir_index, strlen(dir_index))) != NULL)
            return f;
    }
    return is_client_route(path, len) ? index_html : NULL;
}

/* If-None-Match lists the file's ETag (or is "*"); the weak comparison
 * of RFC 9110 ignores the W/ prefix. */
static int not_modified(h2o_req_t *req, const web_file *f)
{
    const char *inm = http_header(req, "if-none-match");
    return inm != NULL && (strstr(inm, f->etag + 2) != NULL || strcmp(inm, "*") == 0);
}

static const char *cache_control(h2o_req_t *req, const web_file *f)
{
    if (f->csp != NULL)
        return "no-cache";
    const char *v = http_query_param(req, "v");
    return v != NULL && strcmp(v, f->version) == 0 ? IMMUTABLE : "no-cache";
}

static void add_headers(h2o_req_t *req, const web_file *f)
{
    http_add_header(req, "cache-control", cache_control(req, f));
    http_add_header(req, "etag", f->etag);
    http_add_header(req, "x-content-type-options", "nosniff");
    if (f->csp != NULL) {
        http_add_header(req, "content-security-policy", f->csp);
        http_add_header(req, "referrer-policy", "same-origin");
        http_add_header(req, "x-frame-options", "DENY");
    }
}

/* respond.c asks for the gzip copy when the client takes gzip. */
static const char *gzip_copy(void *arg, size_t *len)
{
    const web_file *f = arg;
    *len = f->gzlen;
    return f->gz;
}

/* h2o 2.2.5 would send a HEAD response's body: send the headers of the
 * identity form only (its Content-Length, no body). */
static void send_head(h2o_req_t *req, const web_file *f)
{
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = f->len;
    h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, f->type, strlen(f->type), 0);
    h2o_start_response(req, &generator);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
}

int static_serve(h2o_req_t *req)
{
    if (nfiles == 0 || !(method_is(req, "GET") || method_is(req, "HEAD")))
        return -1;
    web_file *f = (web_file *)resolve(req->path_normalized.base, req->path_normalized.len);
    if (f == NULL)
        return -1;
    add_headers(req, f);
    if (not_modified(req, f))
        http_send_bytes(req, 304, NULL, h2o_iovec_init(NULL, 0));
    else if (method_is(req, "HEAD"))
        send_head(req, f);
    else
        http_send_bytes_gz(req, 200, f->type, h2o_iovec_init(f->body, f->len), gzip_copy, f);
    return 0;
}
