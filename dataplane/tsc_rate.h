/* tsc_rate.h - the TSC rate for DPDK's EAL, measured without its 100 ms sleep.
 *
 * rte_eal_init asks an architecture hook, get_tsc_freq_arch(), for the TSC rate. On x86,
 * DPDK 22.11's hook knows Intel CPUs only (CPUID leaf 0x15, MSR 0xCE); on AMD and on the
 * virtual CPUs of most clouds (this project's machines included) it says 0, and EAL then
 * measures the rate by sleeping 100 ms: 8% of a benchmark run's whole time.
 *
 * tsc_rate.c provides that hook when DPDK is linked statically (the archive member holding
 * DPDK's own is then not linked): the rate is measured from tw_tsc_rate_start(), called first
 * thing in main(), to EAL's question, against CLOCK_MONOTONIC_RAW as EAL's own measure does,
 * and it only sleeps for what is missing of a 20 ms window. With DPDK_LINK=shared, EAL keeps
 * its own hook and this file is unused.
 */
#ifndef TW_TSC_RATE_H
#define TW_TSC_RATE_H

#include <stdint.h>

/* The shortest time between the two readings: clock reading jitter (< 1 us) is then < 5e-5. */
#define TW_TSC_RATE_WINDOW_NS 20000000ull

/* Takes the first reading. Call it before rte_eal_init, as early as possible. */
void tw_tsc_rate_start(void);

/* The rate (Hz) the hook gave EAL, or 0 when EAL did not ask it (shared DPDK, EAL not
 * started). */
uint64_t tw_tsc_rate_given(void);

#endif
