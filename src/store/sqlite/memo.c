/*
 * memo.c - what the writer remembers from one job to the next within a
 * batch: which user a session token belongs to, and the events it loaded.
 *
 * Every authenticated write looks its token up and every hold loads its
 * event; in a ticket drop one batch repeats both for the same few events
 * and users many times. The memo holds only rows read in the current
 * transaction, and sqlite.c empties it at the start of every batch and
 * after any job of an op that might change sessions, users or events (it
 * names the ops that cannot): so a lookup answered here is the answer the
 * database would give at that point of the transaction. Never across
 * batches: a revoked session is seen by the next batch at the latest, as
 * with no memo at all.
 *
 * Emptying is O(1) (a generation number), so small batches pay nothing.
 */
#include "store/sqlite/sq.h"

#include <stdlib.h>
#include <string.h>

#define USER_SLOTS 4096 /* power of two */
#define EVENT_SLOTS 16  /* a batch touches few events; more are not kept */

struct sq_memo {
    unsigned gen; /* a slot is live when its gen is this */
    size_t nusers;
    struct {
        unsigned gen;
        char token_hash[65];
        char user_id[48];
    } users[USER_SLOTS];
    int nevents;
    sq_event events[EVENT_SLOTS];
};

sq_memo *sq_memo_new(void)
{
    sq_memo *m = calloc(1, sizeof(*m));
    if (m == NULL)
        abort();
    m->gen = 1;
    return m;
}

void sq_memo_free(sq_memo *m)
{
    free(m);
}

void sq_memo_clear(sq_memo *m)
{
    if (++m->gen == 0) { /* wrapped: no slot may look live */
        memset(m->users, 0, sizeof(m->users));
        m->gen = 1;
    }
    m->nusers = 0;
    m->nevents = 0;
}

/* The slot of token_hash, or the empty slot where it would go. */
static size_t user_slot(const sq_memo *m, const char *token_hash)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16 && token_hash[i]; i++)
        h = (h ^ (unsigned char)token_hash[i]) * 16777619u;
    size_t i = h & (USER_SLOTS - 1);
    while (m->users[i].gen == m->gen && strcmp(m->users[i].token_hash, token_hash) != 0)
        i = (i + 1) & (USER_SLOTS - 1);
    return i;
}

const char *sq_memo_user(const sq_memo *m, const char *token_hash)
{
    size_t i = user_slot(m, token_hash);
    return m->users[i].gen == m->gen ? m->users[i].user_id : NULL;
}

void sq_memo_put_user(sq_memo *m, const char *token_hash, const char *user_id)
{
    size_t th = strlen(token_hash), u = strlen(user_id);
    if (m->nusers >= USER_SLOTS / 2 || th >= sizeof(m->users[0].token_hash) || u >= sizeof(m->users[0].user_id))
        return; /* at most half full: probes stay short */
    size_t i = user_slot(m, token_hash);
    if (m->users[i].gen != m->gen)
        m->nusers++;
    m->users[i].gen = m->gen;
    memcpy(m->users[i].token_hash, token_hash, th + 1);
    memcpy(m->users[i].user_id, user_id, u + 1);
}

const sq_event *sq_memo_event(const sq_memo *m, const char *event_id)
{
    for (int i = 0; i < m->nevents; i++)
        if (strcmp(m->events[i].id, event_id) == 0)
            return &m->events[i];
    return NULL;
}

void sq_memo_put_event(sq_memo *m, const sq_event *ev)
{
    if (m->nevents < EVENT_SLOTS)
        m->events[m->nevents++] = *ev;
}
