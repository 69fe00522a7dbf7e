/* geoip_enrich.h - the flow records' countries and ASNs, filled on the control plane before
 * the policy hook and the outputs see a record (control_loop.c), never on the packet path.
 *
 * A flow's events (classified, updates, end) share one lookup of its two ends: the answer
 * is kept in a small cache by flow_id, direct-mapped (a slot per hash of the id, bounded,
 * nothing allocated per flow), and the slot is freed by the flow's END event. Two live
 * flows on one slot cost each other a lookup, never a wrong answer: a slot holds its id.
 * A new database (SIGHUP) empties the cache, so later events see the new answers.
 *
 *   record ──flow_id──> cache slot ──hit──> src/dst country, ASN copied in
 *                                  └─miss──> tw_geoip_lookup x 2 ──> slot
 */
#ifndef TW_GEOIP_ENRICH_H
#define TW_GEOIP_ENRICH_H

#include <stdint.h>
#include <stdio.h>

#include "dataplane/flow_record.h"
#include "control/record/geoip.h"

#define TW_GEOIP_CACHE_SLOTS (1u << 16) /* made with the first database: 2 MiB */
#define TW_GEOIP_SLOT_BYTES 32

struct tw_geoip_enrich;

struct tw_geoip_enrich_stats {
    uint64_t records;    /* records enriched (events of flows) */
    uint64_t cache_hits; /* of those, answered from the cache */
    uint64_t swaps;      /* databases replaced while running (SIGHUP) */
    struct tw_geoip_stats db; /* lookups, errors, answers refused: every database of the run */
};

/* Returns an enricher without a database (records pass unchanged), or NULL without
 * memory. */
struct tw_geoip_enrich *tw_geoip_enrich_new(void);

/* Makes g the database in force (owned from now on; NULL: none), closes the one before and
 * empties the cache. Returns 0, or -1 without memory for the cache (g is then closed and the
 * old database stays). */
int tw_geoip_enrich_set(struct tw_geoip_enrich *e, struct tw_geoip *g);

/* The database in force (NULL: none), for tw_geoip_sha256 and lookups of single addresses. */
struct tw_geoip *tw_geoip_enrich_db(const struct tw_geoip_enrich *e);

/* Fills r's src_country, dst_country, src_asn and dst_asn (left as they are without a
 * database). e may be NULL. */
void tw_geoip_enrich_record(struct tw_geoip_enrich *e, struct tw_flow_record *r);

void tw_geoip_enrich_get_stats(const struct tw_geoip_enrich *e,
                               struct tw_geoip_enrich_stats *out);

/* The summary's geoip line ("  geoip  ..."), nothing without a database. */
void tw_geoip_enrich_summary(const struct tw_geoip_enrich *e, FILE *out);

/* Closes the database and frees the cache. NULL is fine. */
void tw_geoip_enrich_free(struct tw_geoip_enrich *e);

#endif
