/* budget.c - the memory budget of a configuration (see budget.h). */
#include "control/plane/budget.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include "dataplane/classify.h"
#include "dataplane/dedup.h"
#include "dataplane/flow_record.h"
#include "dataplane/flow_table.h"
#include "control/plane/geoip_enrich.h"
#include "control/store/evidence_log.h"
#include "control/store/summary_seal.h"
#include "control/store/witness_writer.h"
#include "control/store/store.h"

/* Measured on Debian 12 (DPDK 22.11 --no-huge, nDPI 4.2): a run with the smallest tables
 * peaks at about 45 MiB besides the pools counted below; 64 MiB leaves room for libc arenas
 * and hiredis buffers. */
#define BASE_BYTES (64ull << 20)
#define NDPI_MODULE_BYTES (12ull << 20) /* 10 MiB measured after ndpi_finalize_initialization */
#define MBUF_BYTES (2048ull + 128 + 128 + 96) /* data room, headroom, mbuf header, private area (a parsed packet: 88 bytes) */
#define BIG_POOL_BYTES (128ull * 65536)

void tw_memory_budget(const struct tw_config *cfg, struct tw_memory_budget *b)
{
    uint64_t w = cfg->workers, buckets = 1;

    while (buckets < cfg->flow_table.capacity)
        buckets <<= 1;
    b->base = BASE_BYTES;
    b->ndpi_modules = w * NDPI_MODULE_BYTES;
    b->flow_tables = w * ((uint64_t)cfg->flow_table.capacity * sizeof(struct tw_flow) + buckets * 4);
    if (cfg->dedup_window_us) /* one duplicate table per worker */
        b->flow_tables += w * TW_DEDUP_BYTES;
    b->dpi_states = w * (uint64_t)cfg->flow_table.capacity * tw_classify_state_size();
    b->packet_pools = (uint64_t)cfg->mbufs * MBUF_BYTES + BIG_POOL_BYTES;
    b->event_rings = w * (uint64_t)cfg->ring_size * sizeof(struct tw_flow_record);
    b->redis_buffer = cfg->redis.url[0] ? (uint64_t)cfg->redis.buffer_records *
                                              TW_STORE_BYTES_PER_RECORD : 0;
    /* signing.key: each record's evidence number and run beside it, and the seal queue */
    if (cfg->redis.url[0] && cfg->signing.key[0])
        b->redis_buffer += (uint64_t)cfg->redis.buffer_records * TW_EVLOG_BYTES_PER_RECORD +
                           TW_EVLOG_BYTES;
    if (cfg->redis.url[0] && cfg->signing.key[0]) /* the summary buckets not yet sealed */
        b->redis_buffer += TW_SUMSEAL_BYTES;
    if (cfg->redis.url[0] && cfg->signing.key[0] && cfg->evidence.witness[0])
        b->redis_buffer += TW_WITNESS_BYTES; /* the witness's queue of seal hashes */
    b->ipfix_queue = cfg->ipfix.collector[0] ? (uint64_t)cfg->ipfix.queue * cfg->ipfix.mtu : 0;
    b->reassembly = cfg->reassembly.enabled ? w * (uint64_t)cfg->reassembly.datagrams *
                                                  (65600 + 8ull * cfg->reassembly.fragments) : 0;
    b->geoip = 0;
    if (cfg->geoip.country_db[0]) { /* the files as they are now (geoip.c copies them) */
        struct stat st;
        b->geoip = (uint64_t)TW_GEOIP_CACHE_SLOTS * TW_GEOIP_SLOT_BYTES;
        if (stat(cfg->geoip.country_db, &st) == 0)
            b->geoip += 2 * (uint64_t)st.st_size;
        if (cfg->geoip.asn_db[0] && stat(cfg->geoip.asn_db, &st) == 0)
            b->geoip += 2 * (uint64_t)st.st_size;
    }
    b->total = b->base + b->ndpi_modules + b->flow_tables + b->dpi_states + b->packet_pools +
               b->event_rings + b->redis_buffer + b->ipfix_queue + b->reassembly + b->geoip;
}

uint64_t tw_peak_rss(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024; /* kilobytes on Linux */
}
