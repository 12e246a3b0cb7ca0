/*
 * task.h - work that leaves an event loop and comes back to it.
 *
 * A handler that must wait (for the store, for a password hash) fills a
 * task, hands it to another thread, and returns. When that thread is done
 * it calls task_complete(); the task travels back through the origin
 * loop's h2o_multithread receiver and task->done runs there, on the thread
 * that owns the request. No other thread ever touches an h2o request.
 *
 * A task with origin == NULL is a synchronous one (CLI commands, start-up):
 * task_complete() then wakes task_wait() instead.
 */
#ifndef TIXIN_CORE_TASK_H
#define TIXIN_CORE_TASK_H

#include <pthread.h>
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <h2o/multithread.h>

typedef struct task task_t;
typedef void (*task_fn)(task_t *t);

struct task {
    h2o_multithread_message_t msg; /* link for the origin's receiver */
    h2o_multithread_receiver_t *origin; /* loop to come back to, or NULL */
    task_fn done;                  /* runs on the origin loop */
    /* synchronous completion (origin == NULL) */
    pthread_mutex_t *sync_mutex;
    pthread_cond_t *sync_cond;
    int sync_done;
};

/* Prepare t to come back to the calling worker's loop (see http/server.h:
 * worker_receiver()), or, when called off any loop, to task_wait(). */
void task_init(task_t *t, task_fn done);
/* From any thread: hand t back to its origin. t must not be touched after. */
void task_complete(task_t *t);
/* For synchronous tasks only: block until task_complete(t) was called. */
void task_wait(task_t *t);
/* Receiver callback that runs done() of every delivered task; installed by
 * each worker loop on its task receiver. */
void task_receive(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/* The receiver of the calling thread's loop, or NULL off the loops. Set by
 * the HTTP server for each worker thread. */
h2o_multithread_receiver_t *task_current_receiver(void);
void task_set_current_receiver(h2o_multithread_receiver_t *r);

/*
 * A small pool of threads for CPU-heavy work that must not block a loop
 * (argon2id password hashing). run() executes on a pool thread, then the
 * task comes back through task_complete().
 */
typedef struct pool_task pool_task_t;
struct pool_task {
    task_t task;
    void (*run)(pool_task_t *pt);
    pool_task_t *next;
};
int pool_start(int nthreads);
void pool_stop(void);
void pool_submit(pool_task_t *pt);

#endif
