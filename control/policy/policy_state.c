/* policy_state.c - the evaluation state that outlives a policy reload (see policy.h): one
 * alert per flow per kind, the bytes of each flow already added to the daily totals, the
 * daily totals (daily_totals.c) and the days unknown devices alerted (device_days.c).
 *
 * A set-associative table of flows, TW_WAYS slots per bucket, keyed by flow_id. A full bucket
 * evicts its least recently used slot (counted): the table never grows, and END events free
 * slots.
 *
 *   bucket = hash(flow_id) & (nbuckets - 1)
 *   [slot 0][slot 1] ... [slot 7]      slot = struct flow_slot (policy_model.h)
 */
#include "control/policy/policy_model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/policy/daily_totals.h"
#include "control/policy/device_days.h"

#define TW_WAYS 8

struct tw_policy_state {
    uint32_t nbuckets;
    uint64_t clock;
    struct tw_upload_acc *acc;
    struct tw_reached *reached;  /* cross_border's first_contact memory (reached.c) */
    tw_reached_note_fn note;     /* told each advance of it (the store writes it through) */
    void *note_ctx;
    struct tw_device_days *devices;
    struct tw_policy_state_stats st;
    struct flow_slot slots[]; /* nbuckets * TW_WAYS, allocated with the state */
};

struct tw_policy_state *tw_policy_state_new(uint32_t flows_max)
{
    struct tw_policy_state *st;
    uint32_t nb = 128;

    while ((uint64_t)nb * TW_WAYS < flows_max && nb < (1u << 26))
        nb *= 2;
    st = calloc(1, sizeof(*st) + (size_t)nb * TW_WAYS * sizeof(st->slots[0]));
    if (st == NULL || (st->acc = tw_upload_acc_new()) == NULL ||
        (st->reached = tw_reached_new()) == NULL ||
        (st->devices = tw_device_days_new()) == NULL) {
        tw_policy_state_free(st);
        errno = ENOMEM;
        return NULL;
    }
    st->nbuckets = nb;
    return st;
}

void tw_policy_state_free(struct tw_policy_state *st)
{
    if (st != NULL) {
        tw_upload_acc_free(st->acc);
        tw_reached_free(st->reached);
        tw_device_days_free(st->devices);
    }
    free(st);
}

void tw_policy_state_get_stats(const struct tw_policy_state *st, struct tw_policy_state_stats *out)
{
    struct tw_device_days_stats ds;

    *out = st->st;
    out->reached_forgotten = tw_reached_forgotten(st->reached);
    tw_device_days_get_stats(st->devices, &ds);
    out->devices = ds.tracked;
    out->devices_evicted = ds.evicted;
}

struct flow_slot *tw_policy_state_slot(struct tw_policy_state *st, uint64_t id)
{
    uint64_t h = id * 0x9e3779b97f4a7c15ULL;
    struct flow_slot *b = &st->slots[(size_t)((h >> 32) & (st->nbuckets - 1)) * TW_WAYS];
    struct flow_slot *free_slot = NULL, *oldest = &b[0];

    st->clock++;
    for (int i = 0; i < TW_WAYS; i++) {
        if (b[i].used && b[i].flow_id == id) {
            b[i].lru = st->clock;
            return &b[i];
        }
        if (!b[i].used && free_slot == NULL)
            free_slot = &b[i];
        if (b[i].lru < oldest->lru)
            oldest = &b[i];
    }
    if (free_slot == NULL) {
        free_slot = oldest;
        st->st.evicted++;
        st->st.tracked--;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    free_slot->flow_id = id;
    free_slot->lru = st->clock;
    st->st.tracked++;
    return free_slot;
}

void tw_policy_state_release(struct tw_policy_state *st, struct flow_slot *slot)
{
    slot->used = 0;
    st->st.tracked--;
}

void tw_policy_state_count_alert(struct tw_policy_state *st)
{
    st->st.alerts++;
}

uint64_t tw_policy_state_add_upload(struct tw_policy_state *st, const char *equipment,
                                    int64_t day, uint64_t bytes, uint64_t limit,
                                    int *first_over)
{
    return tw_upload_acc_add(st->acc, equipment, day, bytes, limit, first_over);
}

struct tw_reached *tw_policy_state_reached(struct tw_policy_state *st)
{
    return st->reached;
}

void tw_policy_state_on_reached(struct tw_policy_state *st, tw_reached_note_fn fn, void *ctx)
{
    st->note = fn;
    st->note_ctx = ctx;
}

void tw_policy_state_note_reached(struct tw_policy_state *st, const char *equipment,
                                  uint64_t code, int64_t day, uint32_t days)
{
    char what[16];

    if (st->note != NULL && tw_reached_code_text(code, what, sizeof(what)) == 0)
        st->note(st->note_ctx, equipment, what, day, days);
}

int tw_policy_state_seed_reached(struct tw_policy_state *st, const char *equipment,
                                 const char *what, int64_t day)
{
    uint64_t code;

    if (tw_reached_code_parse(what, &code) != 0)
        return -1;
    return tw_reached_seed(st->reached, equipment, code, day);
}

int tw_policy_state_device_new_day(struct tw_policy_state *st, const uint8_t *addr, int v4,
                                   int64_t day)
{
    return tw_device_days_mark(st->devices, addr, v4, day);
}
