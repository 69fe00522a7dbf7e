/* tsc_rate.c - the TSC rate for DPDK's EAL, measured without its 100 ms sleep (see tsc_rate.h). */
#include "tsc_rate.h"

#include <time.h>

#include <rte_cycles.h>

/* one reading of both clocks */
struct clock_pair {
    uint64_t tsc;
    uint64_t ns;
};

static struct clock_pair first;
static uint64_t given_hz;

static uint64_t raw_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Both clocks read together: a reading the thread was interrupted in (the two TSC reads
 * around the clock read far apart) is taken again. */
static struct clock_pair read_pair(void)
{
    struct clock_pair best = {0, 0};
    uint64_t best_gap = UINT64_MAX;

    for (int i = 0; i < 8; i++) {
        uint64_t before = rte_rdtsc_precise();
        uint64_t ns = raw_ns();
        uint64_t after = rte_rdtsc_precise();
        if (after - before < best_gap) {
            best_gap = after - before;
            best = (struct clock_pair){before + (after - before) / 2, ns};
        }
        if (best_gap < 2000)
            break;
    }
    return best;
}

void tw_tsc_rate_start(void)
{
    first = read_pair();
}

uint64_t tw_tsc_rate_given(void)
{
    return given_hz;
}

#ifdef RTE_ARCH_X86
/* DPDK's hook (lib/eal/common/eal_private.h, not installed). Called once, from
 * rte_eal_init's timer set-up; 0 would make EAL measure the rate itself. */
uint64_t get_tsc_freq_arch(void);

uint64_t get_tsc_freq_arch(void)
{
    if (!first.ns)
        tw_tsc_rate_start();
    uint64_t elapsed = raw_ns() - first.ns;
    if (elapsed < TW_TSC_RATE_WINDOW_NS) {
        uint64_t rest = TW_TSC_RATE_WINDOW_NS - elapsed;
        struct timespec nap = {(time_t)(rest / 1000000000u), (long)(rest % 1000000000u)};
        while (nanosleep(&nap, &nap) != 0)
            ;
    }
    struct clock_pair last = read_pair();
    if (last.ns <= first.ns || last.tsc <= first.tsc)
        return 0; /* a clock went back: let EAL measure */
    double hz = (double)(last.tsc - first.tsc) * 1e9 / (double)(last.ns - first.ns);
    given_hz = (uint64_t)(hz / 1000.0 + 0.5) * 1000u; /* kHz, as the kernel states it */
    return given_hz;
}
#endif
