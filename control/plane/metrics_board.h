/* metrics_board.h - where the control loop leaves the latest metrics snapshot for the threads
 * that serve it (the HTTP endpoint, DPDK telemetry). The control loop writes, readers copy;
 * neither holds the lock for more than one copy of the snapshot (a few KB), and the control
 * loop never waits for it: when a reader holds it, that publication is skipped (the next one
 * comes a period later).
 */
#ifndef TW_METRICS_BOARD_H
#define TW_METRICS_BOARD_H

#include "control/plane/metrics_snapshot.h"

struct tw_metrics_board;

/* Returns an empty board (nothing published yet), or NULL when out of memory. */
struct tw_metrics_board *tw_metrics_board_new(void);

/* Copies s onto the board. wait 0: gives up when a reader holds the board (returns -1);
 * wait 1: waits for it (the final figures at the end of a run). Returns 0 when published. */
int tw_metrics_board_publish(struct tw_metrics_board *b, const struct tw_metrics_snapshot *s,
                             int wait);

/* Copies the latest snapshot into out. Returns 0, or -1 when none was published yet. Any
 * thread. */
int tw_metrics_board_read(struct tw_metrics_board *b, struct tw_metrics_snapshot *out);

/* NULL is fine. No reader may use b any more. */
void tw_metrics_board_free(struct tw_metrics_board *b);

#endif
