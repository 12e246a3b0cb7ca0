/*
 * task.c - carrying tasks back to their loop, and the CPU pool.
 *
 * The return trip uses h2o's multithread queue: one receiver per worker
 * loop, woken through the loop's own notification pipe, so a completed task
 * costs the store thread one lock and at most one write(2).
 * The pool is a plain mutex/condvar FIFO: it only runs password hashes,
 * which take milliseconds each, so its own overhead is irrelevant.
 */
#include "core/task.h"

#include <stdlib.h>

static __thread h2o_multithread_receiver_t *current_receiver;

h2o_multithread_receiver_t *task_current_receiver(void)
{
    return current_receiver;
}

void task_set_current_receiver(h2o_multithread_receiver_t *r)
{
    current_receiver = r;
}

static pthread_mutex_t sync_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cond = PTHREAD_COND_INITIALIZER;

void task_init(task_t *t, task_fn done)
{
    t->msg.link = (h2o_linklist_t){NULL, NULL};
    t->origin = current_receiver;
    t->done = done;
    t->sync_mutex = &sync_mutex;
    t->sync_cond = &sync_cond;
    t->sync_done = 0;
}

void task_complete(task_t *t)
{
    if (t->origin != NULL) {
        h2o_multithread_send_message(t->origin, &t->msg);
        return;
    }
    pthread_mutex_lock(t->sync_mutex);
    t->sync_done = 1;
    pthread_cond_broadcast(t->sync_cond);
    pthread_mutex_unlock(t->sync_mutex);
}

void task_wait(task_t *t)
{
    pthread_mutex_lock(t->sync_mutex);
    while (!t->sync_done)
        pthread_cond_wait(t->sync_cond, t->sync_mutex);
    pthread_mutex_unlock(t->sync_mutex);
    if (t->done != NULL)
        t->done(t);
}

void task_receive(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        task_t *t = H2O_STRUCT_FROM_MEMBER(task_t, msg.link, messages->next);
        h2o_linklist_unlink(&t->msg.link);
        t->done(t);
    }
}

/* --- the CPU pool ------------------------------------------------------ */

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    pool_task_t *head, *tail;
    int stopping;
    int nthreads;
    pthread_t *threads;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, NULL};

static void *pool_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pool.mutex);
        while (pool.head == NULL && !pool.stopping)
            pthread_cond_wait(&pool.cond, &pool.mutex);
        pool_task_t *pt = pool.head;
        if (pt == NULL) { /* stopping and drained */
            pthread_mutex_unlock(&pool.mutex);
            return NULL;
        }
        pool.head = pt->next;
        if (pool.head == NULL)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.mutex);
        pt->run(pt);
        task_complete(&pt->task);
    }
}

int pool_start(int nthreads)
{
    pool.threads = calloc((size_t)nthreads, sizeof(*pool.threads));
    if (pool.threads == NULL)
        return -1;
    pool.stopping = 0;
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&pool.threads[i], NULL, pool_main, NULL) != 0)
            return -1;
        pool.nthreads++;
    }
    return 0;
}

void pool_stop(void)
{
    pthread_mutex_lock(&pool.mutex);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.cond);
    pthread_mutex_unlock(&pool.mutex);
    for (int i = 0; i < pool.nthreads; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.nthreads = 0;
}

void pool_submit(pool_task_t *pt)
{
    pt->next = NULL;
    pthread_mutex_lock(&pool.mutex);
    if (pool.tail != NULL)
        pool.tail->next = pt;
    else
        pool.head = pt;
    pool.tail = pt;
    pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.mutex);
}
