/* device_days.h - the unknown_device rule's memory: for each address it alerted on, the
 * last local day it did (unknown_device.c).
 *
 * A fixed table of TW_DEVICE_DAYS_SLOTS addresses, set-associative (8 ways a bucket); a full
 * bucket forgets its least recently seen address, which is counted: that address may then
 * alert a second time on the same day (the Redis write guard of the alert, day and address,
 * still keeps one in Redis). Nothing is allocated after creation. */
#ifndef TW_DEVICE_DAYS_H
#define TW_DEVICE_DAYS_H

#include <stdint.h>

#define TW_DEVICE_DAYS_SLOTS 65536

struct tw_device_days;

/* Returns a table of TW_DEVICE_DAYS_SLOTS addresses (2 MiB), or NULL with errno ENOMEM. */
struct tw_device_days *tw_device_days_new(void);
void tw_device_days_free(struct tw_device_days *d);

/* Marks addr (16 bytes, v4 in the first 4) as seen on day. Returns 1 when that is news:
 * the address was not remembered, or only on an earlier day; 0 when it was already seen on
 * day or a later one (an event arriving late from another worker). */
int tw_device_days_mark(struct tw_device_days *d, const uint8_t *addr, int v4, int64_t day);

struct tw_device_days_stats {
    uint64_t tracked; /* addresses remembered now */
    uint64_t evicted; /* addresses forgotten to make room */
};
void tw_device_days_get_stats(const struct tw_device_days *d, struct tw_device_days_stats *out);

#endif
