/*
 * async.c - handing a request's work to another thread and coming back.
 *
 * The store thread and the CPU pool complete tasks on the submitting loop
 * (core/task.h); by then the client may have gone and h2o freed the
 * request. Each submission gets a small malloc'd entry linked into the
 * request's http_reqctx; when the request is disposed, its entries are
 * detached (req = NULL), so the trampoline knows whether it may call the
 * handler's done() or must only free the work. Entries are owned by the
 * trampoline, which always frees them; jobs and pool tasks likewise.
 *
 * A store job has no spare slot, so the entry borrows job->ctx while the
 * job is out and gives the caller's value back before done() runs. A pool
 * task is wrapped in the entry's own pool_task_t.
 */
#include "http/internal.h"

#include <stdlib.h>

typedef struct {
    h2o_linklist_t link;  /* in rc->pending while both are alive */
    h2o_req_t *req;       /* NULL once the request is gone */
    int worker;
    api_done_fn job_done;
    void *job_ctx;        /* the caller's job->ctx */
    api_pool_done_fn pool_done;
    pool_task_t *user_pt;
    pool_task_t wrapper;  /* what the pool runs for a pool submission */
} async_entry;

static store_t *the_store;

store_t *api_store(void)
{
    return the_store;
}

void api_set_store(store_t *s)
{
    the_store = s;
}

/* Link a new entry to the request; NULL (and a 500 sent) off the router. */
static async_entry *entry_new(h2o_req_t *req)
{
    http_reqctx *rc = http_reqctx_of(req);
    async_entry *e = rc ? calloc(1, sizeof(*e)) : NULL;
    if (e == NULL) {
        http_send_error(req, E_INTERNAL, NULL, NULL);
        return NULL;
    }
    e->req = req;
    e->worker = rc->worker;
    h2o_linklist_insert(&rc->pending, &e->link);
    server_pending_add(e->worker, 1);
    return e;
}

/* Back on the loop: the request, if it is still there. */
static h2o_req_t *entry_finish(async_entry *e)
{
    server_pending_add(e->worker, -1);
    if (e->req != NULL)
        h2o_linklist_unlink(&e->link);
    return e->req;
}

void async_request_gone(http_reqctx *rc)
{
    while (!h2o_linklist_is_empty(&rc->pending)) {
        async_entry *e = H2O_STRUCT_FROM_MEMBER(async_entry, link, rc->pending.next);
        h2o_linklist_unlink(&e->link);
        e->req = NULL;
    }
}

/* --- store jobs --------------------------------------------------------- */

static void job_returned(task_t *t)
{
    store_job *j = H2O_STRUCT_FROM_MEMBER(store_job, task, t);
    async_entry *e = j->ctx;
    j->ctx = e->job_ctx;
    h2o_req_t *req = entry_finish(e);
    if (req != NULL) {
        if (e->job_done != NULL)
            e->job_done(req, j);
        else
            http_send_job(req, j);
    }
    free(e);
    store_job_free(j);
}

void api_submit(h2o_req_t *req, store_job *j, api_done_fn done)
{
    async_entry *e = entry_new(req);
    if (e == NULL) {
        store_job_free(j);
        return;
    }
    e->job_done = done;
    e->job_ctx = j->ctx;
    j->ctx = e;
    j->task.done = job_returned;
    j->task.origin = task_current_receiver();
    store_submit(the_store, j);
}

/* --- CPU pool tasks ----------------------------------------------------- */

static void pool_run(pool_task_t *w)
{
    async_entry *e = H2O_STRUCT_FROM_MEMBER(async_entry, wrapper, w);
    e->user_pt->run(e->user_pt);
}

static void pool_returned(task_t *t)
{
    async_entry *e = H2O_STRUCT_FROM_MEMBER(async_entry, wrapper.task, t);
    h2o_req_t *req = entry_finish(e);
    if (req != NULL && e->pool_done != NULL)
        e->pool_done(req, e->user_pt);
    free(e->user_pt);
    free(e);
}

void api_pool_submit(h2o_req_t *req, pool_task_t *pt, api_pool_done_fn done)
{
    async_entry *e = entry_new(req);
    if (e == NULL) {
        free(pt);
        return;
    }
    e->pool_done = done;
    e->user_pt = pt;
    e->wrapper.run = pool_run;
    task_init(&e->wrapper.task, pool_returned);
    pool_submit(&e->wrapper);
}
