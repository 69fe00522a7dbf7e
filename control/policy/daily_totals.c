/* daily_totals.c - bytes each equipment sent abroad per day (see daily_totals.h). */
#include "control/policy/daily_totals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct upload_slot {
    char name[TW_EQUIPMENT_LEN];
    int64_t day;
    uint64_t total;
    uint8_t used, over;
};

struct tw_upload_acc {
    struct upload_slot slots[TW_UPLOAD_SLOTS];
};

struct tw_upload_acc *tw_upload_acc_new(void)
{
    return calloc(1, sizeof(struct tw_upload_acc));
}

void tw_upload_acc_free(struct tw_upload_acc *u)
{
    free(u);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

uint64_t tw_upload_acc_add(struct tw_upload_acc *u, const char *equipment, int64_t day,
                           uint64_t bytes, uint64_t limit, int *first_over)
{
    size_t start = fnv1a(equipment) % TW_UPLOAD_SLOTS;
    struct upload_slot *found = NULL, *reuse = NULL;

    *first_over = 0;
    /* linear probing without deletion: an entry of another name whose day is over may be
     * reused, but only once the name is known to be absent from the whole chain */
    for (size_t i = 0; i < TW_UPLOAD_SLOTS; i++) {
        struct upload_slot *s = &u->slots[(start + i) % TW_UPLOAD_SLOTS];
        if (!s->used) {
            if (reuse == NULL)
                reuse = s;
            break;
        }
        if (strcmp(s->name, equipment) == 0) {
            found = s;
            break;
        }
        if (s->day < day && reuse == NULL)
            reuse = s;
    }
    if (found == NULL) {
        if (reuse == NULL)
            return UINT64_MAX;
        found = reuse;
        memset(found, 0, sizeof(*found));
        found->used = 1;
        snprintf(found->name, sizeof(found->name), "%s", equipment);
        found->day = day;
    }
    if (found->day != day) {
        if (day < found->day)
            return found->total; /* a late packet of yesterday: today's total stands */
        found->day = day;
        found->total = 0;
        found->over = 0;
    }
    found->total = bytes > UINT64_MAX - found->total ? UINT64_MAX - 1 : found->total + bytes;
    if (limit && found->total > limit && !found->over) {
        found->over = 1;
        *first_over = 1;
    }
    return found->total;
}

