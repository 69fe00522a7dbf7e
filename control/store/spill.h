/* spill.h - the writers' on-disk spill: fixed-size items that Redis has not taken yet wait
 * here, in order, and are read back from here. The flow-record writer spills records that do
 * not fit in memory (run_dir/redis-spool-<sensor>.dat); the alert writer saves the alerts and
 * summary items left at the end of a run (run_dir/redis-alerts-<sensor>.dat, tw_spill_save).
 *
 * One file, a ring of fixed-size slots behind a header (all integers little endian):
 *
 *   0            8        12        16         24       32       40      44        64
 *   +------------+--------+---------+----------+--------+--------+-------+---------+
 *   | "TWSPILL1" | version| item    | capacity | done   | tail   | crc32 | zero    |   header
 *   |            |        | size    |          |        |        | 0..39 |         |
 *   +------------+--------+---------+----------+--------+--------+-------+---------+
 *   slot i (item number i, i >= 0) at 64 + (i % capacity) * (16 + item size):
 *   +---------+--------------+----------+--------------------+
 *   | "TWSI"  | crc32 of item| number i | item (item size)   |
 *   +---------+--------------+----------+--------------------+
 *
 * Items done .. tail-1 are waiting. `done` moves when Redis acknowledged items
 * (tw_spill_ack); it is written to the header at most every few hundred ms, so a crash
 * replays a few items twice (harmless: the writers' writes are idempotent). `tail` in the
 * header is only a hint: on open, slots are read on from it while their number and checksum
 * are right, so items appended after the last header write are found too, and a slot torn
 * by a crash ends the spill there. A slot read back with a wrong checksum is skipped and
 * counted. When everything is done the file is truncated back to its header. Nothing is
 * fsynced but tw_spill_save: the spill survives the process (SIGKILL, OOM kill), not a power
 * cut.
 *
 * Every open is O_NOFOLLOW: a symbolic link at the name is refused, never followed; so is
 * anything but a regular file of ours with one link (run_dir.h says why).
 * The file is locked (flock), so two processes cannot share it. Files of the older formats
 * ("TWSPOOL1" record spool, "TWHOLD01" alert hold file) are refused with one line saying so.
 */
#ifndef TW_SPILL_H
#define TW_SPILL_H

#include <stddef.h>
#include <stdint.h>

struct tw_spill;

/* Opens (or creates) the spill at path for items of item_size bytes, with room for capacity
 * items (capacity > 0). A file left by an earlier run is kept, with its own capacity until
 * it is drained, and its waiting items are read back first: *recovered says how many.
 * Returns the spill, or NULL with a one-line reason in err (cannot create, locked by another
 * process, not a spill file, an older format, items of another size). */
struct tw_spill *tw_spill_open(const char *path, uint32_t item_size, uint64_t capacity,
                               uint64_t *recovered, char *err, size_t errlen);

/* Creates a new, empty spill at path, which must not exist yet (O_EXCL: a file or a link
 * planted at the name makes it fail): for temporaries that are renamed over a spill once
 * written. Returns the spill, or NULL with a one-line reason in err (when err is not NULL). */
struct tw_spill *tw_spill_create(const char *path, uint32_t item_size, uint64_t capacity,
                                 char *err, size_t errlen);

/* Appends one item. Returns 0, or -1 when the spill is full or the file cannot be written
 * (errno says which: ENOSPC for full). The append may sit in a small buffer until
 * tw_spill_flush or the next read. */
int tw_spill_append(struct tw_spill *sp, const void *item);

/* Items appended and not yet read back by tw_spill_read. */
uint64_t tw_spill_unread(const struct tw_spill *sp);
/* Items appended and not yet acknowledged (read or not). */
uint64_t tw_spill_pending(const struct tw_spill *sp);

/* Reads up to max items, the oldest unread first, into out (max * item size bytes);
 * numbers[i] gets the item number to acknowledge it with. A slot that fails its checksum is
 * skipped and counted in *corrupt. Returns how many were read, or -1 on a read error. */
int tw_spill_read(struct tw_spill *sp, void *out, uint64_t *numbers, int max,
                  uint64_t *corrupt);

/* Every item up to and including number is in Redis. When nothing is pending any more the
 * file is truncated back to its header. Returns 0, or -1 on a write error. */
int tw_spill_ack(struct tw_spill *sp, uint64_t number, uint64_t now_ms);

/* Writes buffered appends to the file. Returns 0 or -1. */
int tw_spill_flush(struct tw_spill *sp);

/* Flushes, writes the header and closes. NULL is fine. */
void tw_spill_close(struct tw_spill *sp);

/* Writes a whole queue as a new spill at path: n_first items at first, then n_second at
 * second (the two halves of a ring; either may be empty), through path.new, fsynced, renamed
 * over path. No items at all removes the file. Returns 0, or -1 with errno set. */
int tw_spill_save(const char *path, uint32_t item_size, const void *first, uint64_t n_first,
                  const void *second, uint64_t n_second);

/* Removes the file (no file is fine). Returns 0, or -1 with errno set. */
int tw_spill_remove(const char *path);

#endif
