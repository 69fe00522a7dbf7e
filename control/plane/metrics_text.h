/* metrics_text.h - a metrics snapshot as Prometheus text exposition format, version 0.0.4
 * (what GET /metrics answers): one family per figure, "# HELP" and "# TYPE" before its
 * samples, counters named *_total, label values escaped (\\, \", \n).
 *
 * The dataplane counters come from the X-macro list (dataplane/counters.h), so a new counter
 * appears without a change here: a drop as tapwatch_packets_dropped_total{reason="<name>"},
 * a flows_end_<why> as tapwatch_flows_ended_total{reason="<why>"}, any other as
 * tapwatch_<name>_total. The sinks' pairs are grouped by name across sinks, with the label
 * output="<sink>".
 */
#ifndef TW_METRICS_TEXT_H
#define TW_METRICS_TEXT_H

#include <stddef.h>

#include "control/plane/metrics_snapshot.h"

#define TW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes the text of s into buf (NUL-terminated, cut when len is too small, like snprintf).
 * Returns the length the whole text needs, without the NUL. */
size_t tw_metrics_render(const struct tw_metrics_snapshot *s, char *buf, size_t len);

#endif
