/* compact_writer.h - encodes one batch of flow records in the compact store format
 * (redis.format: 2; the format is drawn in control/record/compact.h).
 *
 * Per batch: one HSET per hour the records start in (the record block), one HSET per
 * (hour, index bucket) the postings touch (the index slices; one per hour while the hour is
 * quiet), and, once a minute per key, the EXPIRE and the ZADD of tw:{S}:hours. No command
 * names two keys.
 */
#ifndef TW_STORE_COMPACT_WRITER_H
#define TW_STORE_COMPACT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "control/store/redis_engine.h"
#include "dataplane/flow_record.h"

struct tw_cw;

/* max_hours: a flow is indexed in at most its newest max_hours hours (as format 1);
 * quiet_posts: the postings an hour may have in its quiet slices (compact.h; 0: none, every
 * hour written in bucket slices). Returns NULL on no memory. */
struct tw_cw *tw_cw_new(const char *sensor, uint32_t hot_window_s, uint32_t max_hours,
                        uint32_t quiet_posts);
void tw_cw_free(struct tw_cw *w);

/* Forgets which keys were given their EXPIRE (a new connection: the server may have lost
 * them). */
void tw_cw_forget(struct tw_cw *w);

/* Appends to out the commands of a batch of n records (recs[i], its JSON json[i] of jlen[i]
 * bytes), block id = run_us and seq. Returns how many commands were appended, or -1 (no
 * memory, a JSON text over 65535 bytes; out may then hold a part: abort it). */
long tw_cw_encode(struct tw_cw *w, struct tw_buf *out, uint64_t run_us, uint32_t seq,
                  const struct tw_flow_record *const *recs, const char *const *json,
                  const uint16_t *jlen, size_t n, uint64_t now_ms);

#endif
