/* device_days.c - address -> last day alerted, bounded (see device_days.h).
 *
 *   bucket = hash(address) & (nbuckets - 1)
 *   [slot 0][slot 1] ... [slot 7]      slot = address, day, recency (32 bytes)
 */
#include "control/policy/device_days.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 8
#define NBUCKETS (TW_DEVICE_DAYS_SLOTS / WAYS)

struct slot {
    uint8_t addr[16];
    int64_t day;
    uint32_t lru;  /* the table's clock when last seen; 0: free */
    uint8_t v4;
    uint8_t pad[3];
};
_Static_assert(sizeof(struct slot) == 32, "device slot has holes");

struct tw_device_days {
    uint32_t clock;
    struct tw_device_days_stats st;
    struct slot slots[NBUCKETS * WAYS];
};

struct tw_device_days *tw_device_days_new(void)
{
    struct tw_device_days *d = calloc(1, sizeof(*d));

    if (d == NULL)
        errno = ENOMEM;
    return d;
}

void tw_device_days_free(struct tw_device_days *d)
{
    free(d);
}

static uint32_t addr_hash(const uint8_t *a)
{
    uint64_t x, y;

    memcpy(&x, a, 8);
    memcpy(&y, a + 8, 8);
    x = (x ^ (y * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;
    return (uint32_t)(x >> 32);
}

/* Restarts the clock from 1 when it would wrap, keeping the slots' order. Once in 4 billion
 * marks: the cost does not matter. */
static void renumber(struct tw_device_days *d)
{
    for (size_t i = 0; i < NBUCKETS * WAYS; i++)
        if (d->slots[i].lru)
            d->slots[i].lru = d->slots[i].lru / 2 + 1;
    d->clock = UINT32_MAX / 2 + 1;
}

int tw_device_days_mark(struct tw_device_days *d, const uint8_t *addr, int v4, int64_t day)
{
    struct slot *b = &d->slots[(size_t)(addr_hash(addr) & (NBUCKETS - 1)) * WAYS];
    struct slot *free_slot = NULL, *oldest = &b[0];

    if (d->clock == UINT32_MAX)
        renumber(d);
    d->clock++;
    for (int i = 0; i < WAYS; i++) {
        struct slot *s = &b[i];
        if (s->lru && s->v4 == (v4 != 0) && memcmp(s->addr, addr, 16) == 0) {
            s->lru = d->clock;
            if (day <= s->day)
                return 0;
            s->day = day;
            return 1;
        }
        if (!s->lru && free_slot == NULL)
            free_slot = s;
        if (s->lru < oldest->lru)
            oldest = s;
    }
    if (free_slot == NULL) {
        free_slot = oldest;
        d->st.evicted++;
    } else {
        d->st.tracked++;
    }
    memcpy(free_slot->addr, addr, 16);
    free_slot->v4 = (uint8_t)(v4 != 0);
    free_slot->day = day;
    free_slot->lru = d->clock;
    return 1;
}

void tw_device_days_get_stats(const struct tw_device_days *d, struct tw_device_days_stats *out)
{
    *out = d->st;
}
