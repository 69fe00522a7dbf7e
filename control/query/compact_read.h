/* compact_read.h - tapwatch-query's reader of the compact store format (redis.format 2,
 * layout in control/record/compact.h): which hours hold it, their postings, their records.
 * Read-only; everything read is checked before use (a block of an unknown version is refused
 * with one line naming it, and the hour is skipped).
 */
#ifndef TQ_COMPACT_READ_H
#define TQ_COMPACT_READ_H

#include <stddef.h>
#include <stdint.h>

#include "control/record/compact.h"
#include "control/store/redis_client.h"
#include "dataplane/flow_record.h"

/* 1 when hour holds compact data (its time postings, in tw:{S:H}:x:<bucket of t> or
 * tw:{S:H}:x:a, exist: an hour
 * a flow spans may hold no record block), 0 when not, -1 when Redis failed (said). */
int tq_cx_hour_has(struct tw_rclient *c, const char *sensor, uint64_t hour);

/* Where one record version is: ordinal ord of block id of tw:{S:rec_hour}:b, in frames
 * (version 3) or in one field (version 2): the version of the slice that pointed at it. */
struct tq_cx_ref {
    uint64_t last_us, rec_hour;
    char block[TW_CX_BLOCK_ID_LEN + 1];
    uint16_t ord;
    uint8_t version;
};

/* Keeps a posting? (kind, its binary value, its detail bytes) */
typedef int (*tq_cx_keep)(const struct tw_cx_posting *p, void *arg);

/* Reads the index buckets buckets[0..nb) of hour, and its quiet slices, and appends to *refs the postings with
 * last_seen in [lo, hi] that keep() accepts. Returns 0, or -1 (Redis failed, no memory, a
 * malformed slice: said on stderr). */
int tq_cx_postings(struct tw_rclient *c, const char *sensor, uint64_t hour,
                   const unsigned *buckets, size_t nb, tq_cx_keep keep, void *arg, uint64_t lo,
                   uint64_t hi, struct tq_cx_ref **refs, size_t *n, size_t *cap);

/* The record blocks (version 2) and frames (version 3) read so far, decoded. */
struct tq_cx_cache;
struct tq_cx_cache *tq_cx_cache_new(void);
void tq_cx_cache_free(struct tq_cx_cache *k);

/* Reads the blocks or frames of refs[0..n) not yet in the cache (one pipelined round of HGET).
 * Returns 0, or -1 (Redis failed, no memory). A block that is absent (expired) or refused is
 * remembered as empty: its records are then not found. */
int tq_cx_fetch(struct tw_rclient *c, struct tq_cx_cache *k, const char *sensor,
                const struct tq_cx_ref *refs, size_t n);

/* The JSON text of a record (not NUL-terminated, *len bytes), or NULL when its block was not
 * found or is shorter. Call tq_cx_fetch for it first. */
const char *tq_cx_json(const struct tq_cx_cache *k, const struct tq_cx_ref *r, size_t *len);

/* Prints one flow record in o's --format as `flows` does (cmd_flows.c). */
struct tq_opts;
void tq_flows_print_one(const struct tq_opts *o, const char *json,
                        const struct tw_flow_record *r);

#endif
