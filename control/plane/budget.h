/* budget.h - the memory a configuration may use, so an operator can size the appliance and
 * a flood test can check that memory stays bounded. Every table and pool is sized from the
 * configuration at start-up; only the fixed base (DPDK, libraries) is a measured constant. */
#ifndef TW_BUDGET_H
#define TW_BUDGET_H

#include <stdint.h>

#include "control/plane/config.h"

struct tw_memory_budget {
    uint64_t base;          /* DPDK EAL and libraries: measured, see budget.c */
    uint64_t ndpi_modules;  /* one nDPI detection module per worker */
    uint64_t flow_tables;   /* capacity entries of 256 bytes + buckets, per worker */
    uint64_t dpi_states;    /* nDPI per-flow states: worst case every flow in detection */
    uint64_t packet_pools;  /* mbufs, and the pool for frames beyond 2 KiB */
    uint64_t event_rings;   /* worker -> control plane rings */
    uint64_t redis_buffer;  /* records waiting for Redis */
    uint64_t ipfix_queue;   /* IPFIX messages waiting to be sent (with ipfix.collector) */
    uint64_t reassembly;    /* IP reassembly slots of 64 KiB, per worker */
    uint64_t geoip;         /* the GeoIP databases' copies, twice (a reload maps the new ones
                             * before the old ones go), and the per-flow cache */
    uint64_t total;
};

/* Fills b for cfg. */
void tw_memory_budget(const struct tw_config *cfg, struct tw_memory_budget *b);

/* Peak resident memory of this process so far, in bytes (0 when unknown). */
uint64_t tw_peak_rss(void);

#endif
