/* pipeline.c - the dataplane assembled (see pipeline.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "pipeline.h"
#include "time_gaps.h"

struct tw_pipeline {
    struct tw_pipeline_params p;
    struct tw_source *src;
    struct tw_worker *workers;   /* 64-byte aligned array (tw_worker_alloc) */
    struct tw_dispatch dispatch; /* used when the source has fewer queues than workers */
    struct tw_redirect redirect; /* used when each worker reads a queue of its own */
    /* the thread that builds the workers' tables while EAL starts */
    pthread_t thread;
    int preparing;               /* the thread runs and has not been joined */
    unsigned prepared;           /* workers[0..prepared) have their tables */
    int prepare_err;             /* errno of the one that failed */
    int pause;                   /* readers park while the source is re-opened */
};

static void *prepare_workers(void *arg)
{
    struct tw_pipeline *pl = arg;

    for (; pl->prepared < pl->p.workers; pl->prepared++) {
        if (tw_worker_prepare(&pl->workers[pl->prepared], pl->prepared, &pl->p.worker) != 0) {
            pl->prepare_err = errno;
            break;
        }
    }
    return NULL;
}

struct tw_pipeline *tw_pipeline_open(const struct tw_pipeline_params *p, char *err,
                                     size_t errlen)
{
    struct tw_pipeline *pl = calloc(1, sizeof(*pl));

    if (!pl || !(pl->workers = tw_worker_alloc(p->workers))) {
        free(pl);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pl->p = *p;
    pl->p.source.nb_queues = (uint16_t)p->workers;
    pl->src = p->kind->open(&pl->p.source, err, errlen);
    if (!pl->src) {
        tw_worker_free(pl->workers);
        free(pl);
        return NULL;
    }
    pl->p.worker.lossless = pl->src->replayable;
    /* The tables and nDPI modules (tens of ms) are built while DPDK starts. */
    pl->preparing = pthread_create(&pl->thread, NULL, prepare_workers, pl) == 0;
    if (!pl->preparing)
        prepare_workers(pl);
    return pl;
}

const char *tw_pipeline_eal_vdev(const struct tw_pipeline *pl)
{
    return pl->src->eal_vdev;
}

const char *tw_pipeline_source_note(const struct tw_pipeline *pl)
{
    return pl->src->note;
}

int tw_pipeline_prepared(struct tw_pipeline *pl, char *err, size_t errlen)
{
    if (pl->preparing) {
        pthread_join(pl->thread, NULL);
        pl->preparing = 0;
    }
    if (pl->prepared < pl->p.workers) {
        snprintf(err, errlen, "worker %u: %s", pl->prepared, strerror(pl->prepare_err));
        return -1;
    }
    return 0;
}

/* Worker i's ring of events (struct tw_flow_record by value, one producer, one consumer). */
static int create_event_ring(struct tw_pipeline *pl, unsigned i, char *err, size_t errlen)
{
    char name[32];

    snprintf(name, sizeof(name), "tw_events%u", i);
    pl->workers[i].events = rte_ring_create_elem(name, sizeof(struct tw_flow_record),
                                                 pl->p.ring_size, (int)rte_socket_id(),
                                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!pl->workers[i].events) {
        snprintf(err, errlen, "cannot create the event ring: %s", rte_strerror(rte_errno));
        return -1;
    }
    return 0;
}

/* A single-queue source (a file) is spread over the workers by worker 0; the others read
 * an input ring each, sized so that the rings together hold half the pool. */
static int create_dispatch(struct tw_pipeline *pl, char *err, size_t errlen)
{
    unsigned n = pl->p.workers, inq_size = 1;

    pl->dispatch.workers = pl->workers;
    pl->dispatch.nb_workers = n;
    while (inq_size * 2 <= pl->p.mbufs / (2 * n))
        inq_size *= 2;
    for (unsigned i = 0; i < n; i++) {
        pl->workers[i].dispatch = &pl->dispatch;
        if (i == 0)
            continue;
        char name[32];
        snprintf(name, sizeof(name), "tw_inq%u", i);
        pl->workers[i].inq = rte_ring_create(name, inq_size, (int)rte_socket_id(),
                                             RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!pl->workers[i].inq) {
            snprintf(err, errlen, "cannot create the dispatch ring: %s", rte_strerror(rte_errno));
            return -1;
        }
    }
    return 0;
}

/* A multi-queue source spreads by its own hash (outer headers, ports): each worker gets a
 * multi-producer ring for the packets the others read for it, sized as the dispatch's. */
static int create_redirect(struct tw_pipeline *pl, char *err, size_t errlen)
{
    unsigned n = pl->p.workers, inq_size = 1;

    pl->redirect.workers = pl->workers;
    pl->redirect.nb_workers = n;
    while (inq_size * 2 <= pl->p.mbufs / (2 * n))
        inq_size *= 2;
    for (unsigned i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "tw_rdq%u", i);
        pl->workers[i].redirect = &pl->redirect;
        pl->workers[i].inq = rte_ring_create(name, inq_size, (int)rte_socket_id(), RING_F_SC_DEQ);
        if (!pl->workers[i].inq) {
            snprintf(err, errlen, "cannot create the redirect ring: %s", rte_strerror(rte_errno));
            return -1;
        }
    }
    return 0;
}

int tw_pipeline_start(struct tw_pipeline *pl, char *err, size_t errlen)
{
    if (tw_mbuf_meta_register() != 0) {
        snprintf(err, errlen, "cannot register the mbuf field: %s", rte_strerror(rte_errno));
        return -1;
    }
    /* the private area carries the parsed packet from the reader to its worker */
    struct tw_source_pool pool = {
        .mbufs = pl->p.mbufs,
        .priv_size = (uint16_t)tw_worker_mbuf_priv_size(),
        .socket = (int)rte_socket_id(),
    };
    if (pl->p.kind->start(pl->src, &pool, err, errlen) != 0)
        return -1;
    for (unsigned i = 0; i < pl->p.workers; i++) {
        if (create_event_ring(pl, i, err, errlen) != 0)
            return -1;
        pl->workers[i].source = pl->src;
        pl->workers[i].queue = (uint16_t)i;
        pl->workers[i].stop = pl->p.stop;
        pl->workers[i].pause = &pl->pause;
    }
    if (pl->src->nb_queues < pl->p.workers && create_dispatch(pl, err, errlen) != 0)
        return -1;
    if (pl->p.workers > 1 && pl->src->nb_queues >= pl->p.workers &&
        create_redirect(pl, err, errlen) != 0)
        return -1;
    return 0;
}

unsigned tw_pipeline_launch(struct tw_pipeline *pl)
{
    unsigned lcore, started = 0;

    RTE_LCORE_FOREACH_WORKER(lcore) {
        if (started == pl->p.workers)
            break;
        if (rte_eal_remote_launch(tw_worker_run, &pl->workers[started], lcore) != 0) {
            *pl->p.stop = 1;
            break;
        }
        started++;
    }
    if (started < pl->p.workers)
        *pl->p.stop = 1; /* too few lcores: the started ones must not wait for the others */
    for (unsigned i = started; i < pl->p.workers; i++)
        __atomic_store_n(&pl->workers[i].done, 1, __ATOMIC_RELEASE);
    return started;
}

void tw_pipeline_wait(struct tw_pipeline *pl)
{
    (void)pl;
    rte_eal_mp_wait_lcore();
}

void tw_pipeline_close(struct tw_pipeline *pl)
{
    if (!pl)
        return;
    if (pl->preparing)
        pthread_join(pl->thread, NULL);
    for (unsigned i = 0; i < pl->prepared; i++)
        tw_worker_fini(&pl->workers[i]);
    /* Rings and pools are not freed one by one: DPDK zeroes freed memory, which would touch
     * megabytes of never-used ring slots only for rte_eal_cleanup to unmap them. */
    pl->p.kind->close(pl->src);
    tw_worker_free(pl->workers);
    free(pl);
}

unsigned tw_pipeline_workers(const struct tw_pipeline *pl)
{
    return pl->p.workers;
}

unsigned tw_pipeline_events(struct tw_pipeline *pl, unsigned w, struct tw_flow_record *out,
                            unsigned max)
{
    return rte_ring_sc_dequeue_burst_elem(pl->workers[w].events, out, sizeof(*out), max, NULL);
}

int tw_pipeline_done(const struct tw_pipeline *pl)
{
    for (unsigned w = 0; w < pl->p.workers; w++)
        if (!__atomic_load_n(&pl->workers[w].done, __ATOMIC_ACQUIRE))
            return 0;
    return 1;
}

uint64_t tw_pipeline_counter(struct tw_pipeline *pl, unsigned i)
{
    uint64_t sum = 0;

    for (unsigned w = 0; w < pl->p.workers; w++)
        sum += pl->workers[w].counters.v[i];
    if (i == TW_C_RECEIVED || i == TW_C_DROP_NO_MBUF) {
        struct tw_source_stats st;
        tw_pipeline_source_stats(pl, &st);
        sum += st.rx_nombuf;
    }
    return sum;
}

void tw_pipeline_rings(const struct tw_pipeline *pl, unsigned *used, unsigned *capacity)
{
    *used = *capacity = 0;
    for (unsigned w = 0; w < pl->p.workers; w++) {
        *used += rte_ring_count(pl->workers[w].events);
        *capacity += rte_ring_get_capacity(pl->workers[w].events);
    }
}

uint64_t tw_pipeline_active_flows(const struct tw_pipeline *pl)
{
    uint64_t active = 0;

    for (unsigned w = 0; w < pl->p.workers; w++)
        active += pl->workers[w].active_flows;
    return active;
}

void tw_pipeline_source_stats(struct tw_pipeline *pl, struct tw_source_stats *st)
{
    pl->p.kind->stats(pl->src, st);
}

const char *tw_pipeline_input_name(const struct tw_pipeline *pl)
{
    return pl->src->name;
}

const char *tw_pipeline_end_note(const struct tw_pipeline *pl)
{
    return pl->src->end_note;
}

int tw_pipeline_maps_file(const struct tw_pipeline *pl)
{
    return pl->src->maps_file;
}

int tw_pipeline_reattach(struct tw_pipeline *pl, char *err, size_t errlen)
{
    int rc;

    if (!pl->src->kind->reattach) {
        snprintf(err, errlen, "this input cannot be opened again");
        return -1;
    }
    __atomic_store_n(&pl->pause, 1, __ATOMIC_RELEASE);
    /* every worker that reads the source parks (or has finished) before it is touched;
     * 2 s: a worker between two bursts parks within a nap */
    for (unsigned i = 0, waited = 0; i < pl->p.workers; i++) {
        struct tw_worker *w = &pl->workers[i];
        if (w->dispatch && w->id != 0)
            continue; /* a follower reads its ring, not the source */
        while (!__atomic_load_n(&w->paused, __ATOMIC_ACQUIRE) &&
               !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
            if (++waited > 2000) {
                __atomic_store_n(&pl->pause, 0, __ATOMIC_RELEASE);
                snprintf(err, errlen, "worker %u did not pause", i);
                return -1;
            }
            usleep(1000);
        }
    }
    rc = pl->src->kind->reattach(pl->src, err, errlen);
    __atomic_store_n(&pl->pause, 0, __ATOMIC_RELEASE);
    return rc;
}

void tw_pipeline_progress(const struct tw_pipeline *pl, struct tw_pipeline_progress *out)
{
    uint64_t now = UINT64_MAX, packets = 0;

    for (unsigned w = 0; w < pl->p.workers; w++) {
        uint64_t t = __atomic_load_n(&pl->workers[w].published_now_us, __ATOMIC_ACQUIRE);
        if (t < now)
            now = t;
        packets += pl->workers[w].counters.v[TW_C_RECEIVED];
    }
    out->now_us = now == UINT64_MAX ? 0 : now;
    out->packets = packets;
    out->replay = pl->src->replayable;
    out->first_us = pl->src->gaps ? __atomic_load_n(&pl->src->gaps->first_us, __ATOMIC_ACQUIRE) : 0;
}

void tw_pipeline_set_gap_threshold(struct tw_pipeline *pl, uint64_t us)
{
    if (pl->src->gaps)
        __atomic_store_n(&pl->src->gaps->threshold_us, us, __ATOMIC_RELAXED);
}

int tw_pipeline_next_gap(struct tw_pipeline *pl, uint64_t *start_us, uint64_t *end_us)
{
    return pl->src->gaps ? tw_time_gaps_pop(pl->src->gaps, start_us, end_us) : 0;
}

uint64_t tw_pipeline_gaps_dropped(const struct tw_pipeline *pl)
{
    return pl->src->gaps ? __atomic_load_n(&pl->src->gaps->dropped, __ATOMIC_RELAXED) : 0;
}
