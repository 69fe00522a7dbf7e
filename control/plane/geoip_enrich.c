/* geoip_enrich.c - countries and ASNs into flow records, once per flow (see
 * geoip_enrich.h). */
#include "control/plane/geoip_enrich.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    uint64_t flow_id;
    uint32_t gen; /* 0: empty; else the database generation the answer came from */
    uint32_t src_asn, dst_asn;
    char src_country[4], dst_country[4];
    uint8_t pad[4];
};
_Static_assert(sizeof(struct slot) == TW_GEOIP_SLOT_BYTES, "cache slot size");

struct tw_geoip_enrich {
    struct tw_geoip *db;
    struct slot *cache; /* TW_GEOIP_CACHE_SLOTS, made with the first database */
    uint32_t gen;       /* bumped by every database change: older slots are empty */
    struct tw_geoip_stats past; /* the counts of the databases replaced */
    struct tw_geoip_enrich_stats st;
};

struct tw_geoip_enrich *tw_geoip_enrich_new(void)
{
    struct tw_geoip_enrich *e = calloc(1, sizeof(*e));

    if (e != NULL)
        e->gen = 1;
    return e;
}

int tw_geoip_enrich_set(struct tw_geoip_enrich *e, struct tw_geoip *g)
{
    if (g != NULL && e->cache == NULL &&
        (e->cache = calloc(TW_GEOIP_CACHE_SLOTS, sizeof(*e->cache))) == NULL) {
        tw_geoip_close(g);
        return -1;
    }
    if (e->db != NULL) { /* its counts stay in the run's totals */
        struct tw_geoip_stats was;
        tw_geoip_get_stats(e->db, &was);
        e->past.lookups += was.lookups;
        e->past.errors += was.errors;
        e->past.rejected += was.rejected;
        e->st.swaps++;
    }
    tw_geoip_close(e->db);
    e->db = g;
    /* every slot older than this generation reads as empty: no sweep of 2 MiB */
    if (++e->gen == 0) {
        if (e->cache != NULL)
            memset(e->cache, 0, TW_GEOIP_CACHE_SLOTS * sizeof(*e->cache));
        e->gen = 1;
    }
    return 0;
}

struct tw_geoip *tw_geoip_enrich_db(const struct tw_geoip_enrich *e)
{
    return e != NULL ? e->db : NULL;
}

/* The flow id is already a hash (of key and first packet time); mix it anyway, since a
 * replayed test capture may make ids that differ in their high bits only. */
static uint32_t slot_of(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (uint32_t)id & (TW_GEOIP_CACHE_SLOTS - 1);
}

void tw_geoip_enrich_record(struct tw_geoip_enrich *e, struct tw_flow_record *r)
{
    if (e == NULL || e->db == NULL)
        return;
    struct slot *s = &e->cache[slot_of(r->flow_id)];
    int v4 = r->ip_version == 4;

    e->st.records++;
    if (s->gen == e->gen && s->flow_id == r->flow_id) {
        e->st.cache_hits++;
    } else {
        s->flow_id = r->flow_id;
        s->gen = e->gen;
        tw_geoip_lookup(e->db, r->src_ip, v4, s->src_country, &s->src_asn);
        tw_geoip_lookup(e->db, r->dst_ip, v4, s->dst_country, &s->dst_asn);
    }
    memcpy(r->src_country, s->src_country, sizeof(r->src_country));
    memcpy(r->dst_country, s->dst_country, sizeof(r->dst_country));
    r->src_asn = s->src_asn;
    r->dst_asn = s->dst_asn;
    if (r->event == TW_EVENT_END)
        s->gen = 0; /* the flow is over: its slot is free */
}

void tw_geoip_enrich_get_stats(const struct tw_geoip_enrich *e,
                               struct tw_geoip_enrich_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (e == NULL)
        return;
    *out = e->st;
    tw_geoip_get_stats(e->db, &out->db);
    out->db.lookups += e->past.lookups;
    out->db.errors += e->past.errors;
    out->db.rejected += e->past.rejected;
}

void tw_geoip_enrich_summary(const struct tw_geoip_enrich *e, FILE *out)
{
    struct tw_geoip_enrich_stats st;

    if (e == NULL || e->db == NULL)
        return;
    tw_geoip_enrich_get_stats(e, &st);
    fprintf(out, "  geoip                %s%s, records %" PRIu64 " (cache hits %" PRIu64
            "), lookups %" PRIu64 ", errors %" PRIu64 ", refused answers %" PRIu64 "\n",
            tw_geoip_has_asn(e->db) ? "country+asn " : "country ", tw_geoip_sha256(e->db),
            st.records, st.cache_hits, st.db.lookups, st.db.errors, st.db.rejected);
}

void tw_geoip_enrich_free(struct tw_geoip_enrich *e)
{
    if (e == NULL)
        return;
    tw_geoip_close(e->db);
    free(e->cache);
    free(e);
}
