/* worker.h - one dataplane worker: its flow table, its nDPI state, its counters, its event
 * ring. One polling loop per worker lcore; nothing here blocks on the control plane except
 * a replayed file, which waits for room in the ring instead of losing events.
 *
 *   source ─burst─> tw_worker_packet() ─> parse ─> flow table ─> nDPI ─> events ring
 */
#ifndef TW_WORKER_H
#define TW_WORKER_H

#include <stdint.h>

#include "classify.h"
#include "counters.h"
#include "dedup.h"
#include "flow_record.h"
#include "flow_table.h"
#include "reassembly.h"

#define TW_MAX_WORKERS 64

struct rte_ring;
struct tw_source;
struct tw_worker;

/* Software spreading of a single-queue source (a capture file) over several workers.
 * Worker 0 reads the source, parses each frame once (the result rides in the mbuf's private
 * area), and hands it to the worker that owns its flow by the symmetric flow hash; the
 * others read their input rings. Timestamps are made monotonic once, by the reader, so
 * every worker sees the same times whatever the worker count. */
struct tw_dispatch {
    struct tw_worker *workers;
    unsigned nb_workers;
    volatile int input_done;          /* the reader has enqueued its last packet */
    volatile uint64_t reader_now_us;  /* published after the packets up to it were enqueued */
};

/* Several workers each reading its own queue of a multi-queue source (a NIC's RSS, af_packet
 * fanout) that hashes the outer headers: a packet is redirected, once parsed, to the worker
 * owning its inner address pair (tw_worker_of), through that worker's multi-producer input
 * ring. At the end each worker keeps draining its ring until every worker has stopped
 * reading, so that no redirected packet is left unaccounted. */
struct tw_redirect {
    struct tw_worker *workers;
    unsigned nb_workers;
    volatile unsigned stopped;        /* workers that no longer read their queue */
};

struct tw_worker_params {
    uint32_t capacity;          /* flows in the table */
    uint64_t idle_us;
    uint64_t active_us;         /* 0 = no periodic updates */
    uint64_t close_us;
    int evict_when_full;        /* 1: end the oldest flow to make room; 0: drop the packet */
    int lossless;               /* 1: wait for room in the event ring (file input) */
    uint32_t burst;
    uint32_t idle_sleep_us;     /* longest nap when there is nothing to read, 0 = spin */
    uint64_t dedup_us;          /* dedup_window: 0 = off (dedup.h) */
    int reassembly;             /* 1: reassemble IP fragments (reasm); 0: count them as before */
    struct tw_reasm_params reasm;
    struct tw_parse_settings parse; /* tunnels to open (config `decap:`) */
};

struct tw_worker {
    struct tw_counters counters;       /* first: its own cache lines */
    unsigned id;
    struct tw_worker_params p;
    struct tw_flow_table *flows;
    struct tw_classifier *dpi;
    struct tw_dedup *dedup;            /* NULL: duplicate suppression off */
    struct tw_reasm *reasm;            /* NULL when reassembly is off */
    struct rte_ring *events;           /* struct tw_flow_record by value, SP/SC */
    struct tw_source *source;          /* what run() reads */
    uint16_t queue;
    struct tw_dispatch *dispatch;      /* NULL: this worker reads its own source queue */
    struct rte_ring *inq;              /* dispatched mbufs (workers > 0 under dispatch), or
                                        * redirected ones (every worker under redirect) */
    struct tw_redirect *redirect;      /* NULL: no other worker reads a queue of the source */
    uint64_t now_us;                   /* latest packet time, never goes back */
    uint64_t seq;                      /* event sequence number */
    volatile int *stop;                /* set by the signal handler */
    const int *pause;                  /* set by the control lcore while it re-opens the
                                        * source (tw_pipeline_reattach): readers stop reading */
    int paused;                        /* 1 while this reader is parked (release/acquire) */
    int done;                          /* 1 once run() has flushed and returned: stored with
                                        * release after its last ring write, read with acquire */
    volatile uint32_t active_flows;    /* published for the live stats */
    uint64_t published_now_us;         /* now_us once a burst's events are in the ring
                                        * (release): the packet time the control plane
                                        * has every event up to (tw_pipeline_progress) */
};

/* The workers' state is cache-line aligned (counters first, each worker on its own lines):
 * an array of them must be allocated aligned, as tw_worker_alloc does. */
_Static_assert(_Alignof(struct tw_worker) == 64, "struct tw_worker is cache-line aligned");
_Static_assert(sizeof(struct tw_worker) % 64 == 0, "an array of workers keeps the alignment");

/* n zeroed workers, 64-byte aligned (plain C: callable before DPDK starts). Returns the
 * array, or NULL with errno. Free with tw_worker_free. */
struct tw_worker *tw_worker_alloc(unsigned n);
/* Frees what tw_worker_alloc returned (not the tables: tw_worker_fini). NULL is ignored. */
void tw_worker_free(struct tw_worker *w);

/* Creates a worker's tables: flow table, nDPI module, reassembler. No DPDK call, so it may run on
 * any thread, even before rte_eal_init; the caller then sets events (and, to run it,
 * source, queue and stop). Returns 0, or -1 with errno. */
int tw_worker_prepare(struct tw_worker *w, unsigned id, const struct tw_worker_params *p);
void tw_worker_fini(struct tw_worker *w);

/* Accounts for one frame (all the per-packet work). */
void tw_worker_packet(struct tw_worker *w, const uint8_t *frame, uint32_t caplen,
                      uint32_t wire_len, int linktype, uint64_t ts_us);

/* Accounts for one frame that was already parsed (and counted as received) by a reader;
 * ts_us must not go back. */
void tw_worker_parsed(struct tw_worker *w, const struct tw_packet *pkt, uint32_t wire_len,
                      uint64_t ts_us);

/* Worker that owns the flow of a parsed packet among n (the same for both directions). A
 * fragment goes by the addresses of its fragmented header, so a datagram meets in one. */
unsigned tw_worker_of(const struct tw_packet *pkt, unsigned n);

/* Bytes each mbuf needs in its private area for dispatching. */
unsigned tw_worker_mbuf_priv_size(void);

/* Ends the flows that timed out by the latest packet time. */
void tw_worker_expire(struct tw_worker *w);

/* Ends every flow with the given reason (end of input, shutdown). */
void tw_worker_flush(struct tw_worker *w, enum tw_end_reason why);

/* The lcore loop: reads w->source queue w->queue until the input ends or *stop is set,
 * then flushes every flow. Returns 0. Signature fits rte_eal_remote_launch. */
int tw_worker_run(void *arg);

#endif
