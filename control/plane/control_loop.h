/* control_loop.h - the main lcore: drains the workers' event rings, runs the policy hook on
 * every event, hands flow events to the outputs (control/store/sink.h: --flows-jsonl, Redis),
 * polls them, and prints the live stats line. It sees the dataplane only through the
 * pipeline's view (dataplane/pipeline.h): copied tw_flow_record values, summed counters, a
 * done flag. */
#ifndef TW_CONTROL_LOOP_H
#define TW_CONTROL_LOOP_H

#include "control/plane/link_watch.h"
#include <stdint.h>
#include <stdio.h>

#include "dataplane/flow_record.h"
#include "dataplane/pipeline.h"
#include "control/store/sink.h"
#include "control/policy/silence.h"

struct tw_metrics_feed;
struct tw_geoip_enrich;
struct tw_statements;

/* Called for every event before it is stored: the seam for the policy engine. */
typedef void (*tw_event_hook)(void *ctx, const struct tw_flow_record *r);

/* Called every iteration with the time (silence.h) and the holes found in a replay's packet
 * times; returns the shortest hole the source must report (tw_policy_hook_clock). */
typedef uint64_t (*tw_clock_hook)(void *ctx, const struct tw_silence_clock *clk,
                                  const uint64_t (*gaps)[2], unsigned ngaps);

struct tw_control {
    struct tw_pipeline *pipeline; /* the dataplane, through its view only */
    struct tw_sinks *sinks;      /* the outputs (outputs.h); NULL = none */
    tw_event_hook hook;
    void *hook_ctx;
    struct tw_geoip_enrich *geoip; /* fills countries and ASNs before the hook and the outputs
                                    * (geoip_enrich.h); NULL = none */
    void (*tick)(void *ctx);     /* called every loop iteration (policy reload); NULL = none */
    void *tick_ctx;
    tw_clock_hook clock;         /* the silence rules' time; NULL = none */
    void *clock_ctx;
    uint64_t clock_start_us;     /* live: CLOCK_REALTIME when the run began */
    uint32_t stats_interval_s;   /* 0 = no live line */
    int quiet;
    uint64_t start_ns;
    uint64_t packets_end_ns;     /* the workers were done: packets/s stops here, not after the
                                  * drain (which waits on Redis) */
    uint64_t longest_outputs_ns; /* the longest poll of the outputs (the Redis writers' I/O):
                                  * what the workers' events waited on them; a writer that
                                  * blocked on Redis would show here */
    uint64_t last_stats_ns;
    uint64_t last_stats_packets;
    uint64_t last_stats_gap;     /* tcp_gap_bytes and tcp_acked_bytes at the last line */
    uint64_t last_stats_acked;
    uint64_t last_counters_ns;
    uint64_t events[4];          /* by enum tw_event_kind */
    uint64_t memory_budget;      /* bytes the configuration may use (budget.h), 0 = unknown */
    int wait_for_interface;      /* a removed interface is waited for (link_watch.h) */
    struct tw_link_watch link;   /* the interface's link: down, up, gone */
    uint64_t last_link_ns;
    int input_gone;              /* the run ended because the interface was removed */
    struct tw_metrics_feed *metrics; /* published every period and at the end (metrics_collect.h);
                                      * NULL = no metrics */
    struct tw_statements *statements; /* completeness statements every interval and at stop,
                                       * before the drain (statements.h; the start one is made
                                       * before the workers start); NULL none */
};

/* Handles every event waiting in the rings now. Returns how many. */
unsigned tw_control_poll(struct tw_control *c);

/* Runs until every worker is done (or *stop and then every worker is done) and the rings
 * are empty; then drains each output for up to drain_ms and keeps what is left for the next
 * start (tw_sinks_drain). */
void tw_control_run(struct tw_control *c, volatile int *stop, uint64_t drain_ms);

/* Counter i summed over the workers (tw_pipeline_counter). */
uint64_t tw_control_counter(struct tw_control *c, unsigned i);

/* Prints the end-of-run summary, with the lines of the outputs that take flows. */
void tw_control_summary(struct tw_control *c, FILE *out, const char *input,
                        const char *end_note);

#endif
