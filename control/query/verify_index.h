/* verify_index.h - `tapwatch-query verify`'s part for the indexes the query tool reads (README
 * "Evidence"): a record or alert hidden from `flows` or `alerts` by an altered or emptied
 * index is a finding, as is an index entry that points at nothing.
 *
 *   flow index (compact.h): the postings every record must have are compact.c's
 *   tw_cx_record_postings, the list the writer indexes with (time, the /24 or /64 of each
 *   address with its host part, the port bucket of each port with the port, in every hour
 *   the record spans); the postings there are every slice of tw:{S:H}:x:<bucket> and
 *   tw:{S:H}:x:a of the hours listed or spanned, decoded with compact.c's reader. Findings:
 *     altered: index: a record missing from a posting it must have (flows would not find it
 *              by that address, port or hour), a posting naming a record it does not describe
 *              (another value, port, host part or last_seen), postings filed in a bucket the
 *              reader does not look in for them, a slice that does not decode;
 *     inserted: index: postings pointing at no record (unless that hour's records expired),
 *              a field that is not a block id.
 *   A flow longer than the writer's max_hours (the hot window + 2 h, which Redis does not
 *   say) is indexed in its newest hours only: its older hours are required from the oldest
 *   hour it has postings in, and always its last two.
 *
 *   Near the end of their life (the covering seal's ttl, within 2 min: EXPIRE is refreshed
 *   once a minute per key) a record's missing postings are not said, nor an alert's older
 *   than the seals' keep (the stream is trimmed by whole nodes, later than its index expires).
 *
 *   alert index (alert.h): every alert of the stream tw:{S}:alerts is in tw:{S}:alerts:t:<H>
 *   (H the hour of its ts) with its ts as score, and H is in tw:{S}:alerts:hours (member =
 *   score = H), else `alerts --since/--until` would not list it (altered: index); an entry of
 *   a time index must be an alert of the stream (inserted: index), unless older than the
 *   stream's oldest entry (trimmed: the stream is cut by time, its index expires by key).
 *
 * With --since/--until: only the hours of the range (their index keys, the records' and
 * alerts' postings in them).
 */
#ifndef TW_QUERY_VERIFY_INDEX_H
#define TW_QUERY_VERIFY_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "control/query/query.h"
#include "control/store/redis_client.h"

struct tq_vix_hooks {
    void *arg;
    /* one finding line (no newline); run and seq name it for the summary (NULL, 0: none) */
    void (*finding)(void *arg, const char *run, uint64_t seq, const char *line);
};

struct tq_vix;

/* A checker for o's sensor and range. Returns NULL when out of memory. */
struct tq_vix *tq_vix_new(const struct tq_opts *o, const struct tq_vix_hooks *hooks);
void tq_vix_free(struct tq_vix *v);

/* The k-th record (json, len bytes) of field `field` (flen bytes: <block id>:<frame> or a
 * version 2 <block id>) of tw:{S:hour}:b, as verify read it. A field of another shape is
 * ignored (verify says it). Returns 0, or -1 when out of memory. */
int tq_vix_record(struct tq_vix *v, uint64_t hour, const char *field, size_t flen, unsigned k,
                  const char *json, size_t len);

/* Reads the indexes and checks them against the records given (above) and the alerts of the
 * stream. Findings go to hooks->finding. Returns 0, or -1 (Redis failed or no memory: said on
 * stderr). */
int tq_vix_check(struct tq_vix *v, struct tw_rclient *c);

#endif
