/* metrics_telemetry.h - tapwatch's figures in DPDK telemetry too: the command
 * "/tapwatch/counters" answers a dict of the values the metrics endpoint shows (dataplane
 * counters by their names, source losses, active flows, ring occupancy, the outputs' pairs as
 * "<output>.<name>", alerts as "alerts.<kind>"), read from the board on DPDK's telemetry
 * thread. Only useful when EAL runs with telemetry on (--telemetry, metrics.dpdk_telemetry).
 */
#ifndef TW_METRICS_TELEMETRY_H
#define TW_METRICS_TELEMETRY_H

#include "control/plane/metrics_board.h"

#define TW_TELEMETRY_CMD "/tapwatch/counters"

/* Registers the command, answering from b (which must outlive the process's EAL). Returns 0,
 * or -1 when DPDK refused the command. */
int tw_metrics_telemetry_register(struct tw_metrics_board *b);

#endif
