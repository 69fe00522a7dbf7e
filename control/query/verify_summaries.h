/* verify_summaries.h - `tapwatch-query verify`'s part for the per-equipment summaries
 * (README "Summaries"), sealed by the sensor as chain items of kind 'u' (chain.h,
 * control/evidence/sum_snapshot.h):
 *
 *   tq_vsum_read    ZRANGEBYSCORE tw:{S}:sum-sealed, then HGETALL of each bucket's
 *                   tw:{S}:sum:<E>:<h|d>:<n>:seals: each snapshot (its text as stored, which
 *                   ends with its seq and run) goes to the chain checks as an item
 *                   (hooks->item), so an altered, deleted or inserted snapshot is found as a
 *                   record is; a snapshot without a number is `inserted`;
 *   tq_vsum_check   (the whole store only, as the indexes) for each bucket: the sum of its
 *                   snapshots, rendered canonically, must be what Redis holds in the bucket's
 *                   hash, :peers, :apps and :countries, rendered the same way
 *                   (tw_sum_render): `deleted: summary <key>` when one of them is gone,
 *                   `altered: summary <key>` when they differ (naming the first line that
 *                   does); and the bucket must be listed in the equipment's :hours / :days
 *                   zset (`summary` reads it), else `deleted: summary <key> bucket <n>`.
 * Every finding goes through hooks->finding.
 */
#ifndef TW_QUERY_VERIFY_SUMMARIES_H
#define TW_QUERY_VERIFY_SUMMARIES_H

#include <stdint.h>

#include "control/query/query.h"
#include "control/query/verify_statements.h"

struct tq_vsum;

/* Reads o's sensor's summary snapshots (above). Returns 0 with *out (free it with
 * tq_vsum_free), or -1 after saying why (Redis failed, no memory). */
int tq_vsum_read(struct tw_rclient *c, const struct tq_opts *o, const struct tq_vst_hooks *hooks,
                 struct tq_vsum **out);
/* Compares each sealed bucket with what Redis holds (above) and prints one told line,
 * "summaries: B buckets, N snapshots". Returns 0, or -1 when Redis failed (said). */
int tq_vsum_check(struct tq_vsum *v, struct tw_rclient *c);
void tq_vsum_free(struct tq_vsum *v);

#endif
