/* spool.h - the on-disk part of the store's buffer: flow records that do not fit in memory
 * while Redis is down or slow wait here, in order, and are replayed from here.
 *
 * One file, a ring of fixed-size slots behind a header (all integers little endian):
 *
 *   0            8        12       16         24       32       40      44        64
 *   +------------+--------+--------+----------+--------+--------+-------+---------+
 *   | "TWSPOOL1" | version| slot   | capacity | done   | tail   | crc32 | zero    |   header
 *   +------------+--------+--------+----------+--------+--------+-------+---------+
 *   slot i (record number i, i >= 0) at 64 + (i % capacity) * slot size:
 *   +---------+--------+----------+----------------------------+
 *   | magic   | crc32  | number i | struct tw_flow_record       |
 *   +---------+--------+----------+----------------------------+
 *
 * Records done .. tail-1 are waiting. `done` moves when Redis acknowledged records
 * (tw_spool_ack); it is written to the header at most every few hundred ms, so a crash
 * replays a few records twice (harmless: store writes are idempotent). `tail` in the header
 * is only a hint: on open, slots are read on from it while their number and checksum are
 * right, so records appended after the last header write are found too, and a slot torn by
 * a crash ends the spool there. When everything is done the file is truncated back to its
 * header. Nothing is fsynced: the spool survives the process (SIGKILL, OOM kill), not a
 * power cut.
 *
 * The file is locked (flock), so two processes cannot share it.
 */
#ifndef TW_SPOOL_H
#define TW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/flow_record.h"

struct tw_spool;

/* Opens (or creates) the spool file at path with room for capacity records (capacity > 0).
 * A file left by an earlier run is kept, with its own capacity until it is drained, and its
 * waiting records are replayed first: *recovered says how many. Returns the spool, or NULL
 * with a one-line reason in err (cannot create, locked by another process, not a spool). */
struct tw_spool *tw_spool_open(const char *path, uint64_t capacity, uint64_t *recovered,
                               char *err, size_t errlen);

/* Appends one record. Returns 0, or -1 when the spool is full or the file cannot be written
 * (errno says which: ENOSPC for full). The append may sit in a small buffer until
 * tw_spool_flush or the next read. */
int tw_spool_append(struct tw_spool *sp, const struct tw_flow_record *r);

/* Records appended and not yet read back by tw_spool_read. */
uint64_t tw_spool_unread(const struct tw_spool *sp);
/* Records appended and not yet acknowledged (read or not). */
uint64_t tw_spool_pending(const struct tw_spool *sp);

/* Reads up to max records, the oldest unread first, into out; numbers[i] gets the record
 * number to acknowledge it with. A slot that fails its checksum is skipped and counted in
 * *corrupt. Returns how many were read, or -1 on a read error. */
int tw_spool_read(struct tw_spool *sp, struct tw_flow_record *out, uint64_t *numbers, int max,
                  uint64_t *corrupt);

/* Every record up to and including number is in Redis. When nothing is pending any more the
 * file is truncated back to its header. Returns 0, or -1 on a write error. */
int tw_spool_ack(struct tw_spool *sp, uint64_t number, uint64_t now_ms);

/* Writes buffered appends to the file. Returns 0 or -1. */
int tw_spool_flush(struct tw_spool *sp);

/* Flushes, writes the header and closes. NULL is fine. */
void tw_spool_close(struct tw_spool *sp);

#endif
