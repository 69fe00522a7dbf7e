/* compact.h - the compact store format (redis.format: 2): flow records and their indexes as
 * zstd-compressed blocks, one block per batch and hour, written with one HSET per key.
 * The writer is control/store/compact_writer.c, the reader control/query/compact_read.c;
 * this file is the contract between them (codec, key names, bounds).
 *
 * Keys (S sensor, H epoch hour; the hash tag {S:H} puts one sensor-hour in one cluster slot,
 * so a big sensor's hours spread over the nodes; no command names two keys):
 *
 *   tw:{S}:hours          zset H -> H (as format 1): the hours that hold flows
 *   tw:{S:H}:b            hash <block id>:<frame> -> record frame: the records of one batch
 *                         whose first_seen is in H, TW_CX_FRAME_RECORDS a frame (frame: 4 hex
 *                         digits, 0000 first; version 2 wrote one field <block id> -> all of them)
 *   tw:{S:H}:x:<k>        hash <block id> -> index slice: the postings of one batch, in hour
 *                         H, of the (kind, value) pairs whose bucket is k (0 ..
 *                         TW_CX_BUCKETS-1, decimal; tw_cx_bucket)
 *   tw:{S:H}:x:a          hash <block id> -> index slice of every bucket (version 3): the
 *                         postings of one batch in a quiet hour (below)
 *
 * A quiet hour: while an hour has had at most TW_CX_QUIET_POSTS postings from the writer, its
 * batches' postings go, all buckets together, into one slice of tw:{S:H}:x:a; from the batch
 * that would pass that, into the bucket slices. 64 slices per batch would cost an hour of a few
 * hundred flows (a quiet branch, a replay of a long capture) more Redis memory and commands
 * than its records; a reader reads x:a beside the buckets it wants (its size is bounded by
 * TW_CX_QUIET_POSTS per writer run), and a slice's postings carry their kind and value, so
 * the answer is the same.
 *
 * A block id is the run (epoch microseconds of the store's start, 16 hex digits) and the
 * batch's sequence number in the run (8 hex digits): 24 characters, ordered as written. A batch
 * sent again (a reconnect) sends the same bytes under the same id: HSET then changes nothing,
 * so a resend stores nothing twice. Every key gets EX hot_window.
 *
 * Record frame (the value of a field of tw:{S:H}:b; version 2: the whole block in one):
 *
 *   0   3   4
 *   +---+---+-------------------------------------------------------------+
 *   |TWR|ver| zstd frame: count (u16) | count x { len (u16) | JSON (len) } |
 *   +---+---+-------------------------------------------------------------+
 *
 * Index slice (the value of a field of tw:{S:H}:x:<k>):
 *
 *   +---+---+-------------------------------------------------------------------------+
 *   |TWX|ver| zstd frame: groups to the end, each:                                     |
 *   |   |   |   kind (u8) | vlen (u8) | value (vlen) | n (u16) |                       |
 *   |   |   |   n x { ordinal (u16) | back (u16) | last_seen_us (u64) | detail (d) }    |
 *   +---+---+-------------------------------------------------------------------------+
 *
 * Integers big endian; ver = TW_CX_VERSION (3; version 2, before frames and tw:{S:H}:x:a, is
 * read too). kind and value are format 1's posting kinds and key values in binary (keys.h):
 * t none; n4 the /24 (3 bytes) with detail the host byte (d=1); n6 the /64 (8 bytes), detail
 * the low 64 bits (d=8); p the port bucket (u16), detail the port (d=2). Version 2 also wrote
 * a (app name parts); no reader used them (a flow's app can change between its versions, so
 * --app filters the records themselves), and version 3 writes none. A posting in hour H
 * points at record `ordinal` of block <same block id> of tw:{S:(H-back)}:b: in version 3 record
 * ordinal % TW_CX_FRAME_RECORDS of the frame ordinal / TW_CX_FRAME_RECORDS (a slice's version
 * says which layout its block has). Every flow has postings in each hour it spans, as in
 * format 1.
 *
 * Why frames: a query for a few flows spread over many blocks (a server /24's newest flows,
 * one per block) read and decompressed a 2048-record block per flow; a frame is 64 records,
 * and costs Redis a hash field (about one byte a record).
 *
 * Everything read back is untrusted: prefixes, versions, lengths and counts are checked
 * against the bytes actually there, the decompressed size is capped (TW_CX_MAX_RAW), and a
 * version this code does not know is refused with one line naming it.
 */
#ifndef TW_RECORD_COMPACT_H
#define TW_RECORD_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "control/record/keys.h"

#define TW_CX_VERSION 3
#define TW_CX_VERSION_MIN 2 /* the oldest version a reader reads */
#define TW_CX_QUIET_POSTS 16384
#define TW_CX_BUCKETS 64
#define TW_CX_BLOCK_ID_LEN 24
#define TW_CX_FRAME_RECORDS 64
#define TW_CX_FIELD_LEN (TW_CX_BLOCK_ID_LEN + 5) /* <block id>:<frame, 4 hex digits> */
#define TW_CX_MAX_RECORDS 65535
#define TW_CX_MAX_RAW ((size_t)64 << 20) /* what a block or slice may decompress to */

/* tw:{S:H}:b and tw:{S:H}:x:<k>. Return the length, or -1 when buf is too small. */
int tw_key_cx_blocks(char *buf, size_t len, const char *sensor, uint64_t hour);
int tw_key_cx_index(char *buf, size_t len, const char *sensor, uint64_t hour, unsigned bucket);
/* tw:{S:H}:x:a, the quiet hour's slices. Returns the length, or -1 when buf is too small. */
int tw_key_cx_index_quiet(char *buf, size_t len, const char *sensor, uint64_t hour);

/* The ACL key pattern of a sensor's compact keys, "~tw:{S:*" (S has no glob character nor
 * ':', config.c's sensor names), beside tw_key_acl_pattern's "~tw:{S}:*". Returns its length
 * or -1 (buf too small). */
int tw_key_cx_acl_pattern(char *buf, size_t len, const char *sensor);

/* The field of frame `frame` of block id (TW_CX_BLOCK_ID_LEN characters) in out (at least
 * TW_CX_FIELD_LEN + 1 bytes, NUL-terminated). */
void tw_cx_frame_field(char *out, const char *id, unsigned frame);

/* The version byte of a stored value, or -1 when it has no compact prefix. */
int tw_cx_version(const void *val, size_t len);

/* The index bucket of a (kind, binary value) pair: 0 .. TW_CX_BUCKETS-1. */
unsigned tw_cx_bucket(enum tw_post_kind kind, const void *value, size_t vlen);

/* Detail bytes a posting of kind carries (0, 1, 2 or 8). */
size_t tw_cx_detail_len(enum tw_post_kind kind);

/* Compresses raw[0..n) behind the 4-byte prefix of a record block ('R') or an index slice
 * ('X') into out (at least tw_cx_bound(n) bytes). level: zstd's; cctx: a ZSTD_CCtx to reuse
 * (a writer compresses thousands of values a second: making a context each time cost more than
 * compressing), or NULL. Returns the size, or -1. */
size_t tw_cx_bound(size_t n);
long tw_cx_pack(char what, const void *raw, size_t n, void *out, size_t cap, int level,
                void *cctx);

/* Checks the prefix ('R' or 'X') and version of a stored value and decompresses it into a
 * malloc'd buffer (*raw, *rawlen; free() it). Returns 0, or -1 with one line in err: not a
 * block of ours, "unknown compact format version N", corrupt or too large. */
int tw_cx_unpack(char what, const void *val, size_t len, uint8_t **raw, size_t *rawlen,
                 char *err, size_t errlen);

/* The records of a decompressed record block: offsets and lengths of each JSON text.
 * Returns the count (0..TW_CX_MAX_RECORDS) and fills off/len (malloc'd arrays, free them),
 * or -1 when the lengths do not add up to the block. */
int tw_cx_block_split(const uint8_t *raw, size_t rawlen, uint32_t **off, uint16_t **len);

/* The postings a record has (compact.h above: every hour it spans, at most its newest
 * max_hours; none when it spans more than UINT16_MAX hours): for each, fn(arg, hour, kind,
 * value, vlen, detail (tw_cx_detail_len bytes, NULL for t), back, last_us). The writer indexes
 * with it and `verify` checks the index against it, so the two cannot disagree. Returns the
 * OR of what fn returned (0, or negative on the first failure of fn's). */
typedef int (*tw_cx_post_fn)(void *arg, uint64_t hour, enum tw_post_kind kind,
                             const uint8_t *value, size_t vlen, const uint8_t *detail,
                             uint16_t back, uint64_t last_us);
int tw_cx_record_postings(const struct tw_flow_record *r, uint32_t max_hours, tw_cx_post_fn fn,
                          void *arg);

/* One posting of an index slice, as tw_cx_slice_next returns it. */
struct tw_cx_posting {
    enum tw_post_kind kind;
    uint8_t vlen;
    const uint8_t *value;
    uint16_t ordinal, back;
    uint64_t last_seen_us;
    uint8_t detail[8];
};

/* Walks the postings of a decompressed index slice: *pos starts at 0. Returns 1 with *p
 * filled, 0 at the end, -1 when the slice is malformed (a length past its end, a bad kind). */
struct tw_cx_cursor {
    size_t pos;
    size_t left;          /* entries left in the current group */
    enum tw_post_kind kind;
    uint8_t vlen;
    const uint8_t *value;
};
int tw_cx_slice_next(const uint8_t *raw, size_t rawlen, struct tw_cx_cursor *c,
                     struct tw_cx_posting *p);

#endif
