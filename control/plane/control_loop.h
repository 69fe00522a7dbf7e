/* control_loop.h - the main lcore: drains the workers' event rings, runs the policy hook on
 * every event, writes finished flows to --flows-jsonl and flow records to the store, and
 * prints the live stats line. Past the rings it sees only copied tw_flow_record values. */
#ifndef TW_CONTROL_LOOP_H
#define TW_CONTROL_LOOP_H

#include <stdint.h>
#include <stdio.h>

#include "dataplane/flow_record.h"
#include "dataplane/worker.h"
#include "control/store/store.h"

/* Called for every event before it is stored: the seam for the policy engine. */
typedef void (*tw_event_hook)(void *ctx, const struct tw_flow_record *r);

struct tw_control {
    struct tw_worker *workers;
    unsigned nb_workers;
    FILE *jsonl;                 /* finished flows, one JSON object a line; NULL = off */
    struct tw_store *store;      /* NULL = no store */
    tw_event_hook hook;
    void *hook_ctx;
    void (*tick)(void *ctx);     /* called every loop iteration (policy reload, alert I/O); NULL = none */
    void *tick_ctx;
    uint32_t stats_interval_s;   /* 0 = no live line */
    int quiet;
    uint64_t start_ns;
    uint64_t packets_end_ns;     /* the workers were done: packets/s stops here, not after the
                                  * drain (which waits on Redis) */
    uint64_t last_stats_ns;
    uint64_t last_stats_packets;
    uint64_t last_counters_ns;
    uint64_t events[4];          /* by enum tw_event_kind */
    uint64_t jsonl_records;
    uint64_t jsonl_errors;
    uint64_t store_refused;      /* records the store buffer could not take */
    uint64_t memory_budget;      /* bytes the configuration may use (budget.h), 0 = unknown */
};

/* Handles every event waiting in the rings now. Returns how many. */
unsigned tw_control_poll(struct tw_control *c);

/* Runs until every worker is done (or *stop and then every worker is done) and the rings
 * are empty; then drains the store for up to drain_ms. */
void tw_control_run(struct tw_control *c, volatile int *stop, uint64_t drain_ms);

/* Sums counter i over the workers. */
uint64_t tw_control_counter(const struct tw_control *c, unsigned i);

/* Prints the end-of-run summary. */
void tw_control_summary(struct tw_control *c, FILE *out, const char *input,
                        const char *end_note);

#endif
