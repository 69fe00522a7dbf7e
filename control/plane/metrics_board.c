/* metrics_board.c - the latest snapshot under a mutex (see metrics_board.h). A mutex rather
 * than a seqlock: the snapshot is a few KB, a reader copies it once per scrape, and the writer
 * only ever try-locks, so it cannot be held up by a slow client. */
#include "control/plane/metrics_board.h"

#include <pthread.h>
#include <stdlib.h>

struct tw_metrics_board {
    pthread_mutex_t lock;
    int published;
    struct tw_metrics_snapshot snap;
};

struct tw_metrics_board *tw_metrics_board_new(void)
{
    struct tw_metrics_board *b = calloc(1, sizeof(*b));

    if (b != NULL && pthread_mutex_init(&b->lock, NULL) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

int tw_metrics_board_publish(struct tw_metrics_board *b, const struct tw_metrics_snapshot *s,
                             int wait)
{
    if (wait ? pthread_mutex_lock(&b->lock) != 0 : pthread_mutex_trylock(&b->lock) != 0)
        return -1;
    b->snap = *s;
    b->published = 1;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

int tw_metrics_board_read(struct tw_metrics_board *b, struct tw_metrics_snapshot *out)
{
    int rc = -1;

    pthread_mutex_lock(&b->lock);
    if (b->published) {
        *out = b->snap;
        rc = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void tw_metrics_board_free(struct tw_metrics_board *b)
{
    if (b == NULL)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b);
}
