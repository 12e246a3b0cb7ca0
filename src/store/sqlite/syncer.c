/*
 * syncer.c - making committed batches durable off the writer thread.
 *
 * With synchronous=FULL SQLite syncs the WAL inside every COMMIT, and the
 * writer, which is the only thread that can write, sits idle for the
 * whole fsync: on a busy disk that is most of a batch's time. Instead the
 * writer's connection commits with synchronous=NORMAL (the WAL is written,
 * not synced: SQLite's own mode for "consistent, not yet durable") and
 * hands the committed batch here; this thread syncs the WAL (one sync for
 * every batch handed over since the last one) and only then publishes the
 * batches' seat changes and completes their jobs, in commit order. So no
 * client is told about a write, and no seat map shows one, before the
 * WAL frames holding it are on disk, exactly as with synchronous=FULL,
 * while the writer already runs the next batch. (A batch that installs
 * seat maps or the catalog from the database after COMMIT, which is rare:
 * publishing an event, syncs on the writer first, sq_syncer_sync_now().)
 *
 * Why that is as safe: a sync covers every frame written to the file
 * before it, so batch N's answer, and those of the batches after it
 * (which may have read N's writes), go out only once N is durable. A
 * checkpoint may copy frames that are not synced yet into the database
 * file, but it syncs the WAL before it copies and the database after, and
 * SQLite starts the WAL over only after a complete checkpoint: frames are
 * overwritten only once their pages are durable in the database file.
 * When a sync fails the process aborts (as PostgreSQL does): the kernel
 * may have dropped the dirty pages, so neither "done" nor "failed" would
 * be true; after a restart SQLite recovers what reached the disk, and no
 * client was told about the rest.
 */
#include "store/sqlite/sq.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "core/log.h"
#include "ops/metrics.h"
#include "pubsub/pubsub.h"

typedef struct handed {
    struct handed *next;
    store_job **jobs;
    size_t njobs;
    pubsub_change **changes;
    size_t nchanges;
} handed;

struct sq_syncer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    handed *head, *tail;
    sqlite3_file *wal; /* the writer connection's WAL, set with each hand-over */
    int stopping;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void deliver(handed *h)
{
    for (size_t i = 0; i < h->nchanges; i++) {
        pubsub_publish(h->changes[i]);
        pubsub_change_unref(h->changes[i]);
    }
    for (size_t i = 0; i < h->njobs; i++)
        task_complete(&h->jobs[i]->task);
    free(h->changes);
    free(h->jobs);
    free(h);
}

static void sync_wal(sqlite3_file *wal)
{
    int64_t t0 = mono_us();
    int rc = wal != NULL ? wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) : SQLITE_OK;
    if (rc != SQLITE_OK) {
        log_msg(LOG_ERROR, "sqlite: syncing the WAL failed (%s): stopping, the last answers are not durable",
                sqlite3_errstr(rc));
        abort();
    }
    metrics_count("tixin_store_syncs_total", 1);
    metrics_count("tixin_store_sync_wall_us_total", (long)(mono_us() - t0));
}

static void *syncer_main(void *arg)
{
    sq_syncer *y = arg;
    pthread_setname_np(pthread_self(), "tixin-sync");
    pthread_mutex_lock(&y->mu);
    for (;;) {
        while (y->head == NULL && !y->stopping)
            pthread_cond_wait(&y->cv, &y->mu);
        if (y->head == NULL)
            break; /* stopping, and nothing left */
        handed *list = y->head;
        sqlite3_file *wal = y->wal;
        y->head = y->tail = NULL;
        pthread_mutex_unlock(&y->mu);
        sync_wal(wal);
        while (list != NULL) {
            handed *next = list->next;
            deliver(list);
            list = next;
        }
        pthread_mutex_lock(&y->mu);
    }
    pthread_mutex_unlock(&y->mu);
    return NULL;
}

sq_syncer *sq_syncer_start(void)
{
    sq_syncer *y = calloc(1, sizeof(*y));
    if (y == NULL)
        abort();
    if (pthread_mutex_init(&y->mu, NULL) != 0 || pthread_cond_init(&y->cv, NULL) != 0 ||
        pthread_create(&y->thread, NULL, syncer_main, y) != 0) {
        free(y);
        return NULL;
    }
    return y;
}

void sq_syncer_hand(sq_syncer *y, sqlite3 *writer, store_job **jobs, size_t njobs, pubsub_change **changes,
                    size_t nchanges)
{
    handed *h = calloc(1, sizeof(*h));
    if (h == NULL)
        abort();
    h->jobs = jobs;
    h->njobs = njobs;
    h->changes = changes;
    h->nchanges = nchanges;
    sqlite3_file *wal = NULL;
    sqlite3_file_control(writer, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
    pthread_mutex_lock(&y->mu);
    if (wal != NULL)
        y->wal = wal;
    if (y->tail != NULL)
        y->tail->next = h;
    else
        y->head = h;
    y->tail = h;
    pthread_cond_signal(&y->cv);
    pthread_mutex_unlock(&y->mu);
}

void sq_syncer_sync_now(sqlite3 *writer)
{
    sqlite3_file *wal = NULL;
    sqlite3_file_control(writer, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
    sync_wal(wal);
}

void sq_syncer_stop(sq_syncer *y)
{
    if (y == NULL)
        return;
    pthread_mutex_lock(&y->mu);
    y->stopping = 1;
    pthread_cond_signal(&y->cv);
    pthread_mutex_unlock(&y->mu);
    pthread_join(y->thread, NULL);
    pthread_mutex_destroy(&y->mu);
    pthread_cond_destroy(&y->cv);
    free(y);
}
