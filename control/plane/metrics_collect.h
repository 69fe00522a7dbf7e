/* metrics_collect.h - the control loop's side of the metrics: every period it copies the
 * figures it can see (the pipeline's view, the outputs' pairs, the policy hook's counts) into
 * a snapshot and publishes it on the board (metrics_board.h), without waiting for a reader.
 */
#ifndef TW_METRICS_COLLECT_H
#define TW_METRICS_COLLECT_H

#include <stdint.h>

#include "control/plane/metrics_board.h"
#include "control/plane/policy_hook.h"

#define TW_METRICS_PERIOD_NS 250000000ull /* 4 publications a second: fresh for any scrape */

struct tw_control;

struct tw_metrics_feed {
    struct tw_metrics_board *board;
    const struct tw_policy_hook *policy; /* NULL = no policy */
    const char *version;
    double start_time_s;                 /* process start, seconds since the epoch */
    uint64_t last_ns;                    /* last publication (monotonic), 0 = none yet */
    struct tw_metrics_snapshot snap;     /* filled here, then copied onto the board */
};

/* Fills out from what the control loop sees now. Control lcore only. */
void tw_metrics_collect(struct tw_control *c, const struct tw_metrics_feed *f,
                        struct tw_metrics_snapshot *out);

/* Collects and publishes when a period has passed since the last time (always when final,
 * which then waits for a reader to let go: the end-of-run figures are not skipped). */
void tw_metrics_feed_tick(struct tw_metrics_feed *f, struct tw_control *c, uint64_t now_ns,
                          int final);

#endif
