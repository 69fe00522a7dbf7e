/* time_gaps.h - holes in the packet times of a capture, found where its packets are read in
 * order (source_pcap.c) and handed to the control plane (the policy's mirror_silent rule on
 * replays: policy_hook.h). A hole of at least threshold_us between a packet and the latest
 * packet time before it is one (start, end) entry of a small single-producer,
 * single-consumer queue; a full queue counts the hole in dropped instead. The reader pays a
 * compare and a store per packet; nothing else is shared with it.
 *
 *   reader (worker 0)                     control lcore
 *   tw_time_gaps_see(ts) ──q[head++]──>   tw_time_gaps_pop() (tail++)
 *   first_us (once)                       threshold_us (policy: mirror_silent_after)
 */
#ifndef TW_TIME_GAPS_H
#define TW_TIME_GAPS_H

#include <stdint.h>

#define TW_TIME_GAPS 64 /* entries; a power of two */

struct tw_time_gaps {
    uint64_t threshold_us; /* written by the control lcore (relaxed); 0 = none looked for */
    uint64_t first_us;     /* the first packet time, published once (release); 0 = none yet */
    uint64_t last_us;      /* the reader's own: the latest packet time */
    uint64_t dropped;      /* holes lost to a full queue (written by the reader) */
    uint32_t head;         /* next entry the reader writes (release) */
    uint32_t tail;         /* next entry the control lcore reads (release) */
    struct {
        uint64_t start_us, end_us;
    } q[TW_TIME_GAPS];
};

/* The reader's part, once per packet of time ts (in read order) against threshold (read
 * once per burst from threshold_us). */
static inline void tw_time_gaps_see(struct tw_time_gaps *g, uint64_t ts, uint64_t threshold)
{
    if (ts <= g->last_us)
        return; /* time that goes back makes no hole (the worker keeps it monotonic) */
    if (__builtin_expect(g->last_us == 0, 0)) {
        __atomic_store_n(&g->first_us, ts, __ATOMIC_RELEASE);
    } else if (__builtin_expect(threshold != 0 && ts - g->last_us >= threshold, 0)) {
        uint32_t tail = __atomic_load_n(&g->tail, __ATOMIC_ACQUIRE);
        if (g->head - tail >= TW_TIME_GAPS) {
            __atomic_store_n(&g->dropped, g->dropped + 1, __ATOMIC_RELAXED);
        } else {
            g->q[g->head % TW_TIME_GAPS].start_us = g->last_us;
            g->q[g->head % TW_TIME_GAPS].end_us = ts;
            __atomic_store_n(&g->head, g->head + 1, __ATOMIC_RELEASE);
        }
    }
    g->last_us = ts;
}

/* The control lcore's part: the oldest hole. Returns 1 with it, 0 when there is none. */
static inline int tw_time_gaps_pop(struct tw_time_gaps *g, uint64_t *start_us, uint64_t *end_us)
{
    uint32_t head = __atomic_load_n(&g->head, __ATOMIC_ACQUIRE);

    if (g->tail == head)
        return 0;
    *start_us = g->q[g->tail % TW_TIME_GAPS].start_us;
    *end_us = g->q[g->tail % TW_TIME_GAPS].end_us;
    __atomic_store_n(&g->tail, g->tail + 1, __ATOMIC_RELEASE);
    return 1;
}

#endif
