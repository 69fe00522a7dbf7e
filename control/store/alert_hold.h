/* alert_hold.h - alerts and summary updates that had not reached Redis when a run ended,
 * kept in a file for the next start.
 *
 * The flow records have their spool (spool.h); the alert writer's queue (alerts.c) is saved
 * whole at the end of a run instead, since it only holds what Redis did not take during the
 * final drain. One file, written to FILE.tmp and renamed over FILE (all integers little
 * endian):
 *
 *   0            8           12          16         24          28       32
 *   +------------+-----------+-----------+----------+-----------+--------+----------------+
 *   | "TWHOLD01" | item size | crc32 of  | count    | crc32 of  | zero   | count items    |
 *   |            |           | the items |          | bytes 0-23|        | of item size   |
 *   +------------+-----------+-----------+----------+-----------+--------+----------------+
 *
 * The next start puts the items back at the head of the queue and removes the file once
 * Redis has taken all of them, so a run killed before that finds them again (writes are
 * idempotent: an item written twice changes nothing).
 */
#ifndef TW_ALERT_HOLD_H
#define TW_ALERT_HOLD_H

#include <stddef.h>
#include <stdint.h>

/* Writes n_first items at first, then n_second at second (the two halves of a ring; either
 * may be empty), item_size bytes each, to path (through path.tmp, fsynced, renamed). No
 * items at all removes the file. Returns 0, or -1 with errno set. */
int tw_hold_save(const char *path, uint32_t item_size, const void *first, uint64_t n_first,
                 const void *second, uint64_t n_second);

/* Reads the items of path, calling take(ctx, item) for each in order. Sets *loaded (0 when
 * there is no file). Returns 0, or -1 with a one-line reason in err (unreadable, not a hold
 * file, items of another size, damaged, or take failed); the file is then left alone. */
int tw_hold_load(const char *path, uint32_t item_size, int (*take)(void *ctx, const void *item),
                 void *ctx, uint64_t *loaded, char *err, size_t errlen);

/* Removes the file (no file is fine). Returns 0, or -1 with errno set. */
int tw_hold_remove(const char *path);

#endif
