/* metrics_snapshot.h - the figures the metrics endpoint and the DPDK telemetry command show,
 * as one plain value: the control loop fills it (metrics_collect.c) and publishes a copy
 * (metrics_board.h); the HTTP and telemetry threads read copies of that copy, never the
 * dataplane or a sink. Strings it points to (counter names, metric names, help) are literals.
 */
#ifndef TW_METRICS_SNAPSHOT_H
#define TW_METRICS_SNAPSHOT_H

#include <stdint.h>

#include "control/record/alert.h"
#include "control/store/sink.h"
#include "dataplane/counters.h"

struct tw_metrics_snapshot {
    uint64_t counters[TW_C__COUNT];  /* dataplane/counters.h, summed over the workers */
    uint64_t imissed, ierrors, rx_nombuf; /* what the source lost below us */
    uint64_t active_flows;
    uint64_t link_downs, link_ups, link_removals; /* the interface's events (link_watch.h) */
    int link_up;                     /* 1 up, 0 down or gone, -1 unknown (a file) */
    uint64_t ring_used, ring_size;   /* events waiting in the workers' rings, and capacity */
    uint64_t events[4];              /* events the control loop handled, by tw_event_kind */
    unsigned n_sinks;
    struct tw_sink_metrics sinks[TW_SINKS_MAX];
    int policy;                      /* 1: a policy is loaded, the fields below mean something */
    uint64_t alerts_by_kind[TW_ALERT__COUNT];
    uint64_t summaries;
    uint64_t reloads, reload_errors;
    int last_reload_ok;              /* 1 when the last reload (or the load at start) worked */
    char policy_sha256[72];          /* the policy in force (hex), as stamped on alerts */
    char geoip_sha256[72];           /* the GeoIP databases in force, "" without */
    int geoip;                       /* 1: a GeoIP database is open, the fields below mean
                                      * something (control/plane/geoip_enrich.h) */
    uint64_t geoip_records, geoip_cache_hits, geoip_lookups, geoip_errors, geoip_refused;
    const char *version;             /* tapwatch's version */
    double start_time_s;             /* process start, seconds since the epoch */
};

#endif
