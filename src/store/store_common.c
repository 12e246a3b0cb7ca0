/*
 * store_common.c - the backend-independent half of store.h: picking a
 * backend from the database URL, the job object's life cycle, and the one
 * rendering of a finished job's body (shared by the HTTP layer and by
 * idempotency storage, so that a replay is byte-identical to the original).
 */
#include "store/backend.h"
#include "ops/obs.h"

#include <stdlib.h>
#include <string.h>

/* The SQLite path named by url, or NULL when url names another scheme. */
static const char *sqlite_path(const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return url + 7;
    if (strstr(url, "://") != NULL)
        return NULL;
    return url; /* a bare path */
}

static int is_postgres(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

/* NULL when url is usable as a SQLite path; err filled otherwise. */
static const char *resolve(const char *url, char *err, size_t errlen)
{
    const char *path = sqlite_path(url);
    if (path != NULL && path[0] != '\0')
        return path;
    snprintf(err, errlen, "unsupported database URL \"%s\"; use sqlite:PATH or postgres://...", url);
    return NULL;
}

static char replica_url[1024];

void store_use_replica(const char *url)
{
    snprintf(replica_url, sizeof(replica_url), "%s", url != NULL ? url : "");
}

store_t *store_open(const char *url, char *err, size_t errlen)
{
    if (is_postgres(url))
        return pg_store_open(url, replica_url, err, errlen);
    const char *path = resolve(url, err, errlen);
    return path != NULL ? sqlite_store_open(path, err, errlen) : NULL;
}

int store_migrate(const char *url, char *err, size_t errlen)
{
    if (is_postgres(url))
        return pg_store_migrate(url, stdout, err, errlen);
    const char *path = resolve(url, err, errlen);
    return path != NULL ? sqlite_store_migrate(path, stdout, err, errlen) : -1;
}

int store_start(store_t *s)
{
    return s->backend->start(s);
}

void store_close(store_t *s)
{
    if (s != NULL)
        s->backend->close(s);
}

void store_submit(store_t *s, store_job *j)
{
    obs_store_submitted(j);
    s->backend->submit(s, j);
}

err_code store_call(store_t *s, store_job *j)
{
    /* always synchronous, even when called from a loop thread; task_wait()
     * runs done itself (a synchronous caller usually has none) */
    j->task.origin = NULL;
    store_submit(s, j);
    task_wait(&j->task);
    return j->err;
}

store_job *store_job_new(store_op op, task_fn done)
{
    store_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    j->op = op;
    j->args = json_object();
    task_init(&j->task, done);
    return j;
}

void store_job_free(store_job *j)
{
    if (j == NULL)
        return;
    json_decref(j->args);
    json_decref(j->out);
    free(j->replay_body);
    free(j);
}

/* {"error": {"code", "message", ...details}}; details may override message. */
static json_t *error_envelope(err_code e, const json_t *details)
{
    json_t *inner = json_pack("{s:s, s:s}", "code", err_name(e), "message", err_message(e));
    if (json_is_object(details))
        json_object_update(inner, (json_t *)details);
    return json_pack("{s:o}", "error", inner);
}

char *store_job_render_body(const store_job *j)
{
    if (j->replayed && j->replay_body != NULL)
        return strdup(j->replay_body);
    if (j->err == E_OK) {
        if (j->out == NULL)
            return strdup("");
        return json_dumps(j->out, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    json_t *env = error_envelope(j->err, j->out);
    char *s = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    return s;
}
