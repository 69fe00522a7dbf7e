/* pipeline.h - the dataplane assembled: one source, its mbuf pools, one worker per lcore
 * with its flow table and event ring, software dispatch when the source has fewer queues
 * than workers. The control plane sees it only through the narrow view at the end: copies
 * of flow records, summed counters, a done flag, ring occupancy, source statistics.
 *
 *   tw_pipeline_open    before DPDK: open the source (a bad file fails fast), build the
 *                       workers' tables on a thread while EAL starts
 *   tw_pipeline_start   after rte_eal_init: pools (the source's), rings, dispatch
 *   tw_pipeline_launch  the workers on their lcores
 *   tw_pipeline_wait, tw_pipeline_close
 */
#ifndef TW_PIPELINE_H
#define TW_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "flow_record.h"
#include "source.h"
#include "worker.h"

struct tw_pipeline;

struct tw_pipeline_params {
    const struct tw_source_kind *kind;  /* chosen once by main */
    struct tw_source_args source;       /* nb_queues is set to workers here */
    unsigned workers;
    struct tw_worker_params worker;     /* lossless is set from the source here */
    unsigned mbufs;                     /* packet pool size */
    unsigned ring_size;                 /* events per worker ring (a power of two) */
    volatile int *stop;                 /* workers stop when it is set (signal handler) */
};

/* Opens the source and starts building the workers' tables on a thread (DPDK need not
 * run yet). Returns the pipeline, or NULL with a one-line reason in err. */
struct tw_pipeline *tw_pipeline_open(const struct tw_pipeline_params *p, char *err,
                                     size_t errlen);

/* Opens the source again (a removed interface is back): the workers that read it park,
 * the source is closed and opened again on the same pool, the workers go on. Control lcore
 * only. Returns 0, or -1 with a one-line reason (the source cannot, or opening failed). */
int tw_pipeline_reattach(struct tw_pipeline *pl, char *err, size_t errlen);

/* What the source said at start that the operator must know (a fall-back), or "". */
const char *tw_pipeline_source_note(const struct tw_pipeline *pl);

/* The --vdev the source needs from EAL ("" for none). */
const char *tw_pipeline_eal_vdev(const struct tw_pipeline *pl);

/* Waits for the tables to be built. Returns 0, or -1 with the reason (call it even when
 * EAL failed: it joins the thread). */
int tw_pipeline_prepared(struct tw_pipeline *pl, char *err, size_t errlen);

/* After rte_eal_init and tw_pipeline_prepared: registers the mbuf field, starts the source
 * with its pools, creates the event rings and the dispatch rings. Returns 0, or -1 with a
 * one-line reason. */
int tw_pipeline_start(struct tw_pipeline *pl, char *err, size_t errlen);

/* Runs the workers on the worker lcores. Returns how many started; when not all, the
 * others are marked done and the stop flag is set, so the started ones wind down. */
unsigned tw_pipeline_launch(struct tw_pipeline *pl);

/* Waits for the worker lcores to return. */
void tw_pipeline_wait(struct tw_pipeline *pl);

/* Frees the tables and closes the source (a port goes back to its previous mode). NULL
 * is ignored. Rings and pools are left to rte_eal_cleanup. */
void tw_pipeline_close(struct tw_pipeline *pl);

/* ---- the control plane's view -------------------------------------------------------- */

unsigned tw_pipeline_workers(const struct tw_pipeline *pl);

/* Copies up to max events of worker w's ring into out, oldest first. Returns how many.
 * One caller (the control lcore). */
unsigned tw_pipeline_events(struct tw_pipeline *pl, unsigned w, struct tw_flow_record *out,
                            unsigned max);

/* 1 when every worker has returned; every event it wrote is then visible to
 * tw_pipeline_events (acquire, paired with the worker's release). */
int tw_pipeline_done(const struct tw_pipeline *pl);

/* Counter i (counters.h) summed over the workers. Frames the source lost for want of an
 * mbuf (its rx_nombuf) count as received and as drop_no_mbuf, so that received = parsed +
 * drops still holds. Control lcore only (it reads the source's statistics). */
uint64_t tw_pipeline_counter(struct tw_pipeline *pl, unsigned i);

/* Events waiting in the rings, and their total capacity. */
void tw_pipeline_rings(const struct tw_pipeline *pl, unsigned *used, unsigned *capacity);

/* Flows in the workers' tables (as last published). */
uint64_t tw_pipeline_active_flows(const struct tw_pipeline *pl);

/* The source's statistics (NIC and kernel drops). Control lcore only. */
void tw_pipeline_source_stats(struct tw_pipeline *pl, struct tw_source_stats *st);

/* What the summary calls the input, and the note it left when it ended early ("" none). */
const char *tw_pipeline_input_name(const struct tw_pipeline *pl);
const char *tw_pipeline_end_note(const struct tw_pipeline *pl);

/* 1 when the input is a file mapped in memory (it can shrink under us: SIGBUS). */
int tw_pipeline_maps_file(const struct tw_pipeline *pl);

/* How far the dataplane has come, for the policy's silence rules (control/policy/silence.h).
 * Read it before tw_pipeline_events: every event of a packet time up to now_us is then in
 * the rings. */
struct tw_pipeline_progress {
    uint64_t now_us;   /* the packet time every worker has reached (0: one has none yet) */
    uint64_t first_us; /* the first packet time of a file (0: none yet, or a live source) */
    uint64_t packets;  /* packets the workers received */
    int replay;        /* 1: a file, time is packet time; 0: live, time is the clock */
};
void tw_pipeline_progress(const struct tw_pipeline *pl, struct tw_pipeline_progress *out);

/* Holes of at least us microseconds in a file's packet times are looked for from now on
 * (0: none); a live source ignores it. */
void tw_pipeline_set_gap_threshold(struct tw_pipeline *pl, uint64_t us);

/* The oldest hole found (time_gaps.h). Returns 1 with it, 0 when none waits. One caller
 * (the control lcore). */
int tw_pipeline_next_gap(struct tw_pipeline *pl, uint64_t *start_us, uint64_t *end_us);

/* Holes lost because the control lcore did not take them in time (queue full). */
uint64_t tw_pipeline_gaps_dropped(const struct tw_pipeline *pl);

#endif
