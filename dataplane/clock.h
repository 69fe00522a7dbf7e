/* clock.h - the two clocks the process reads besides packet time: a monotonic one for
 * timers and rates, the wall clock for live traffic and relative query times. One place,
 * so every timer in the process counts the same way. */
#ifndef TW_CLOCK_H
#define TW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in nanoseconds (never goes back; not related to the date). */
static inline uint64_t tw_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t tw_mono_ms(void)
{
    return tw_mono_ns() / 1000000u;
}

/* Wall-clock time, microseconds since the epoch. */
static inline uint64_t tw_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t tw_wall_ms(void)
{
    return tw_wall_us() / 1000u;
}

#endif
