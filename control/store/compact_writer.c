/* compact_writer.c - one batch in the compact store format (see compact_writer.h and the
 * layout in control/record/compact.h).
 *
 * The postings of the batch are collected in one array, sorted by (hour, bucket, kind, value,
 * arrival), and each (hour, bucket) run becomes one index slice. zstd level 1: level 3 saved
 * a few more bytes per record but cost the main job more CPU than the store may take.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "control/record/compact.h"
#include "control/store/compact_writer.h"

#define CW_LEVEL 1
#define CW_EXPIRE_MS 60000u /* a key's EXPIRE is refreshed at most this often */
#define CW_HOURS_CACHED 64

#define CW_VALUE_MAX 8 /* the longest posting value: a /64 */

struct cw_post {
    uint64_t last_us;
    uint16_t ordinal, back;
    uint8_t kind, vlen;
    uint8_t value[CW_VALUE_MAX];
    uint8_t detail[8];
};

/* What the postings are put in order by (group_postings): hour, bucket, then (kind, value
 * length, value) groups, arrival within a group. */
struct cw_key {
    uint64_t hour;
    uint64_t value; /* the value's bytes, big endian, zero-padded: orders as memcmp */
    uint32_t bkv;   /* bucket << 16 | kind << 8 | vlen */
    uint32_t seq;   /* arrival, and the posting's index in posts */
};

/* An hour the writer has written lately: which of its keys already have their EXPIRE in this
 * period, and how many postings went to its quiet slices (compact.h) */
struct cw_hour {
    uint64_t hour;
    uint64_t buckets; /* bit k: tw:{S:H}:x:<k> */
    uint32_t quiet_posts;
    uint8_t blocks, listed, quiet, used;
    uint8_t busy; /* passed TW_CX_QUIET_POSTS: bucket slices from now on */
};

struct tw_cw {
    char sensor[64];
    char ex[16];
    uint32_t max_hours;
    uint32_t quiet_posts; /* TW_CX_QUIET_POSTS unless configured */
    struct cw_post *posts;
    struct cw_key *keys, *sorted;
    size_t nposts, cap, keys_cap, sorted_cap;
    /* group_postings' work space */
    struct cw_group *groups;
    size_t groups_cap;
    uint32_t *gtab, *post_group, *hour_rank;
    size_t gtab_cap, post_group_cap, hour_rank_cap;
    uint64_t *hours_seen;
    uint32_t *htab; /* hour -> index in hours_seen + 1 */
    size_t hours_seen_cap, htab_cap;
    uint64_t *rec_hour;
    uint16_t *ordinal;
    size_t rec_cap;
    uint8_t *raw, *packed;
    size_t raw_cap, packed_cap;
    struct cw_hour hours[CW_HOURS_CACHED];
    ZSTD_CCtx *zc;
    uint32_t *by_hour; /* record indexes of a batch, by hour */
    uint64_t period_ms;
};

struct tw_cw *tw_cw_new(const char *sensor, uint32_t hot_window_s, uint32_t max_hours,
                        uint32_t quiet_posts)
{
    struct tw_cw *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    snprintf(w->sensor, sizeof(w->sensor), "%s", sensor);
    snprintf(w->ex, sizeof(w->ex), "%u", hot_window_s);
    w->max_hours = max_hours ? max_hours : 1;
    w->quiet_posts = quiet_posts;
    if ((w->zc = ZSTD_createCCtx()) == NULL) {
        free(w);
        return NULL;
    }
    return w;
}

void tw_cw_free(struct tw_cw *w)
{
    if (w == NULL)
        return;
    free(w->posts);
    free(w->keys);
    free(w->sorted);
    free(w->groups);
    free(w->gtab);
    free(w->post_group);
    free(w->hour_rank);
    free(w->hours_seen);
    free(w->htab);
    free(w->rec_hour);
    free(w->ordinal);
    free(w->raw);
    free(w->packed);
    free(w->by_hour);
    ZSTD_freeCCtx(w->zc);
    free(w);
}

void tw_cw_forget(struct tw_cw *w)
{
    for (int i = 0; i < CW_HOURS_CACHED; i++) { /* keeps which hours are busy */
        w->hours[i].buckets = 0;
        w->hours[i].blocks = w->hours[i].listed = w->hours[i].quiet = 0;
    }
}

static int reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 1024;
    void *q;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    if ((q = realloc(*p, n * elem)) == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int add_post(struct tw_cw *w, uint64_t hour, enum tw_post_kind kind, const void *value,
                    size_t vlen, const uint8_t *detail, uint16_t ordinal, uint16_t back,
                    uint64_t last_us)
{
    const uint8_t *v = value;
    struct cw_post *p;
    struct cw_key *k;

    if (vlen > CW_VALUE_MAX || w->nposts >= UINT32_MAX ||
        reserve((void **)&w->posts, &w->cap, w->nposts + 1, sizeof(*p)) < 0 ||
        reserve((void **)&w->keys, &w->keys_cap, w->nposts + 1, sizeof(*k)) < 0)
        return -1;
    p = &w->posts[w->nposts];
    k = &w->keys[w->nposts];
    p->ordinal = ordinal;
    p->back = back;
    p->last_us = last_us;
    p->kind = (uint8_t)kind;
    p->vlen = (uint8_t)vlen;
    memset(p->value, 0, sizeof(p->value));
    if (vlen)
        memcpy(p->value, value, vlen);
    memset(p->detail, 0, sizeof(p->detail));
    if (detail != NULL)
        memcpy(p->detail, detail, tw_cx_detail_len(kind));
    k->hour = hour;
    k->value = 0;
    for (size_t i = 0; i < CW_VALUE_MAX; i++)
        k->value = k->value << 8 | (i < vlen ? v[i] : 0);
    k->bkv = tw_cx_bucket(kind, value, vlen) << 16 | (uint32_t)kind << 8 | (uint32_t)vlen;
    k->seq = (uint32_t)w->nposts++;
    return 0;
}

static const uint64_t *sort_ctx; /* qsort has no context argument: the hours being sorted */

static int by_hour_order(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

    if (sort_ctx[a] != sort_ctx[b])
        return sort_ctx[a] < sort_ctx[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* A (hour, kind, value) of the batch: its postings, and where they go. */
struct cw_group {
    uint64_t hour, value;
    uint32_t bkv, count, next; /* next: the place of its next posting in sorted */
    uint32_t hour_idx;         /* index of its hour in hours_seen */
};

static uint64_t group_hash(uint64_t hour, uint64_t value, uint32_t bkv)
{
    uint64_t h = (hour * 0x9e3779b97f4a7c15ULL) ^ value ^ ((uint64_t)bkv << 40);

    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

static int u64_order(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

    return a < b ? -1 : a > b;
}

static const uint64_t *rank_ctx; /* qsort has no context argument: the hours being ranked */

static int hour_idx_order(const void *pa, const void *pb)
{
    return u64_order(&rank_ctx[*(const uint32_t *)pa], &rank_ctx[*(const uint32_t *)pb]);
}

/* Puts keys[0..nposts) into w->sorted ordered by hour, then bucket, with each (kind, value)
 * group's postings together in arrival order (groups of a bucket in the order they first
 * came). Linear but for the hours (few in a batch): a comparison sort of the postings was a
 * fifth of the writer's time. Returns 0, or -1 (no memory). */
static int group_postings(struct tw_cw *w)
{
    size_t n = w->nposts, ngroups = 0, nhours = 0, tsize = 64;
    const struct cw_key *ks = w->keys;

    while (tsize < 2 * n)
        tsize *= 2;
    if (reserve((void **)&w->sorted, &w->sorted_cap, n, sizeof(*w->sorted)) < 0 ||
        reserve((void **)&w->post_group, &w->post_group_cap, n, sizeof(uint32_t)) < 0 ||
        reserve((void **)&w->groups, &w->groups_cap, n, sizeof(*w->groups)) < 0 ||
        reserve((void **)&w->hours_seen, &w->hours_seen_cap, n, sizeof(uint64_t)) < 0 ||
        reserve((void **)&w->gtab, &w->gtab_cap, tsize, sizeof(uint32_t)) < 0 ||
        reserve((void **)&w->htab, &w->htab_cap, tsize, sizeof(uint32_t)) < 0)
        return -1;
    memset(w->gtab, 0, tsize * sizeof(uint32_t));
    memset(w->htab, 0, tsize * sizeof(uint32_t));
    /* the groups, and the distinct hours, in order of first arrival */
    for (size_t i = 0; i < n; i++) {
        size_t j = group_hash(ks[i].hour, ks[i].value, ks[i].bkv) & (tsize - 1);
        struct cw_group *g;
        for (; w->gtab[j] != 0; j = (j + 1) & (tsize - 1)) {
            g = &w->groups[w->gtab[j] - 1];
            if (g->hour == ks[i].hour && g->value == ks[i].value && g->bkv == ks[i].bkv)
                break;
        }
        if (w->gtab[j] == 0) {
            g = &w->groups[ngroups];
            *g = (struct cw_group){.hour = ks[i].hour, .value = ks[i].value, .bkv = ks[i].bkv};
            size_t hj = group_hash(g->hour, 0, 0) & (tsize - 1);
            while (w->htab[hj] != 0 && w->hours_seen[w->htab[hj] - 1] != g->hour)
                hj = (hj + 1) & (tsize - 1);
            if (w->htab[hj] == 0) {
                w->hours_seen[nhours++] = g->hour;
                w->htab[hj] = (uint32_t)nhours;
            }
            g->hour_idx = w->htab[hj] - 1;
            w->gtab[j] = (uint32_t)++ngroups;
        }
        g = &w->groups[w->gtab[j] - 1];
        g->count++;
        w->post_group[i] = w->gtab[j] - 1;
    }
    /* hours in order: their ranks */
    if (reserve((void **)&w->hour_rank, &w->hour_rank_cap, 2 * nhours, sizeof(uint32_t)) < 0)
        return -1;
    uint32_t *by_hour = w->hour_rank + nhours;
    for (size_t h = 0; h < nhours; h++)
        by_hour[h] = (uint32_t)h;
    rank_ctx = w->hours_seen;
    qsort(by_hour, nhours, sizeof(*by_hour), hour_idx_order);
    for (size_t r = 0; r < nhours; r++)
        w->hour_rank[by_hour[r]] = (uint32_t)r;
    /* where each group starts: counting by (hour rank, bucket), groups in arrival order
     * within; gtab is free again and holds the counts */
    size_t nslots = nhours * TW_CX_BUCKETS;
    if (reserve((void **)&w->gtab, &w->gtab_cap, nslots + 1, sizeof(uint32_t)) < 0)
        return -1;
    memset(w->gtab, 0, (nslots + 1) * sizeof(uint32_t));
    for (size_t g = 0; g < ngroups; g++) {
        const struct cw_group *gr = &w->groups[g];
        w->gtab[w->hour_rank[gr->hour_idx] * TW_CX_BUCKETS + (gr->bkv >> 16) + 1] += gr->count;
    }
    for (size_t s = 1; s <= nslots; s++)
        w->gtab[s] += w->gtab[s - 1];
    for (size_t g = 0; g < ngroups; g++) {
        struct cw_group *gr = &w->groups[g];
        uint32_t *at = &w->gtab[w->hour_rank[gr->hour_idx] * TW_CX_BUCKETS + (gr->bkv >> 16)];
        gr->next = *at;
        *at += gr->count;
    }
    for (size_t i = 0; i < n; i++)
        w->sorted[w->groups[w->post_group[i]].next++] = ks[i];
    return 0;
}

static int same_value(const struct cw_key *a, const struct cw_key *b)
{
    return a->bkv == b->bkv && a->value == b->value;
}

struct index_arg {
    struct tw_cw *w;
    uint16_t ordinal;
};

static int index_post(void *arg, uint64_t hour, enum tw_post_kind kind, const uint8_t *value,
                      size_t vlen, const uint8_t *detail, uint16_t back, uint64_t last_us)
{
    const struct index_arg *a = arg;

    return add_post(a->w, hour, kind, value, vlen, detail, a->ordinal, back, last_us);
}

/* A record's postings: compact.c's list, which `verify` checks the index against. */
static int index_record(struct tw_cw *w, const struct tw_flow_record *r, uint16_t ordinal)
{
    struct index_arg a = {.w = w, .ordinal = ordinal};

    return tw_cx_record_postings(r, w->max_hours, index_post, &a);
}

static struct cw_hour *hour_cache(struct tw_cw *w, uint64_t hour)
{
    struct cw_hour *free_slot = NULL;

    for (int i = 0; i < CW_HOURS_CACHED; i++) {
        if (w->hours[i].used && w->hours[i].hour == hour)
            return &w->hours[i];
        if (!w->hours[i].used && free_slot == NULL)
            free_slot = &w->hours[i];
    }
    if (free_slot == NULL) { /* full: forgetting costs EXPIREs and, for an hour still busy,
                                 * one more quiet slice of at most TW_CX_QUIET_POSTS */
        memset(w->hours, 0, sizeof(w->hours));
        free_slot = &w->hours[0];
    }
    free_slot->used = 1;
    free_slot->hour = hour;
    return free_slot;
}

static void put_expire(struct tw_cw *w, struct tw_buf *out, const char *key, int n, long *ncmds)
{
    tw_buf_array(out, 3);
    tw_buf_str(out, "EXPIRE");
    tw_buf_bulk(out, key, (size_t)n);
    tw_buf_str(out, w->ex);
    (*ncmds)++;
}

/* Appends the field <field> with the value raw[0..rawlen) packed, to an HSET being written.
 * Returns 0, or -1. */
static int put_field(struct tw_cw *w, struct tw_buf *out, const char *field, size_t flen,
                     char what, const uint8_t *raw, size_t rawlen)
{
    long z;

    if (reserve((void **)&w->packed, &w->packed_cap, tw_cx_bound(rawlen), 1) < 0)
        return -1;
    if ((z = tw_cx_pack(what, raw, rawlen, w->packed, w->packed_cap, CW_LEVEL, w->zc)) < 0)
        return -1;
    tw_buf_bulk(out, field, flen);
    tw_buf_bulk(out, w->packed, (size_t)z);
    return 0;
}

static void put_hset(struct tw_buf *out, const char *key, int klen, size_t fields, long *ncmds)
{
    tw_buf_array(out, 2 + 2 * fields);
    tw_buf_str(out, "HSET");
    tw_buf_bulk(out, key, (size_t)klen);
    (*ncmds)++;
}

/* HSET key <id> <packed raw>. Returns 0, or -1. */
static int put_value(struct tw_cw *w, struct tw_buf *out, const char *key, int klen,
                     const char *id, char what, size_t rawlen, long *ncmds)
{
    put_hset(out, key, klen, 1, ncmds);
    return put_field(w, out, id, TW_CX_BLOCK_ID_LEN, what, w->raw, rawlen);
}

/* The records by_hour[gi..ge) (one hour's, in batch order) as frames of
 * TW_CX_FRAME_RECORDS: one HSET of fields <id>:<frame>. Numbers the records' ordinals.
 * Returns 0, or -1. */
static int put_frames(struct tw_cw *w, struct tw_buf *out, const char *key, int klen,
                      const char *id, size_t gi, size_t ge, const char *const *json,
                      const uint16_t *jlen, long *ncmds)
{
    size_t frames = (ge - gi + TW_CX_FRAME_RECORDS - 1) / TW_CX_FRAME_RECORDS;
    char field[TW_CX_FIELD_LEN + 1];

    put_hset(out, key, klen, frames, ncmds);
    for (size_t f = 0; f < frames; f++) {
        size_t from = gi + f * TW_CX_FRAME_RECORDS, cnt = 0, rawlen = 2;
        size_t to = from + TW_CX_FRAME_RECORDS < ge ? from + TW_CX_FRAME_RECORDS : ge;
        for (size_t g = from; g < to; g++)
            rawlen += 2 + jlen[w->by_hour[g]];
        if (reserve((void **)&w->raw, &w->raw_cap, rawlen, 1) < 0)
            return -1;
        rawlen = 2;
        for (size_t g = from; g < to; g++) {
            size_t j = w->by_hour[g];
            w->ordinal[j] = (uint16_t)(g - gi);
            w->raw[rawlen] = (uint8_t)(jlen[j] >> 8);
            w->raw[rawlen + 1] = (uint8_t)jlen[j];
            memcpy(w->raw + rawlen + 2, json[j], jlen[j]);
            rawlen += 2 + jlen[j];
            cnt++;
        }
        w->raw[0] = (uint8_t)(cnt >> 8);
        w->raw[1] = (uint8_t)cnt;
        tw_cx_frame_field(field, id, (unsigned)f);
        if (put_field(w, out, field, TW_CX_FIELD_LEN, 'R', w->raw, rawlen) < 0)
            return -1;
    }
    return 0;
}

long tw_cw_encode(struct tw_cw *w, struct tw_buf *out, uint64_t run_us, uint32_t seq,
                  const struct tw_flow_record *const *recs, const char *const *json,
                  const uint16_t *jlen, size_t n, uint64_t now_ms)
{
    char id[TW_CX_BLOCK_ID_LEN + 1], key[TW_KEY_LEN];
    long ncmds = 0;
    int klen;

    if (n == 0)
        return 0;
    if (n > TW_CX_MAX_RECORDS)
        return -1;
    if (now_ms - w->period_ms >= CW_EXPIRE_MS) {
        tw_cw_forget(w);
        w->period_ms = now_ms;
    }
    snprintf(id, sizeof(id), "%016" PRIx64 "%08" PRIx32, run_us, seq);
    if (reserve((void **)&w->rec_hour, &w->rec_cap, n, sizeof(uint64_t) + sizeof(uint16_t)) < 0)
        return -1;
    /* rec_cap counts elements of the larger type: ordinal lives in its own array */
    free(w->ordinal);
    if ((w->ordinal = malloc(n * sizeof(*w->ordinal))) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        w->rec_hour[i] = recs[i]->first_seen_us / TW_US_PER_HOUR;

    /* record blocks: one per hour the batch's records start in (almost always one); the
     * records of an hour keep their batch order (the sort is by hour, then index) */
    free(w->by_hour);
    if ((w->by_hour = malloc(n * sizeof(*w->by_hour))) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        w->by_hour[i] = (uint32_t)i;
    sort_ctx = w->rec_hour;
    qsort(w->by_hour, n, sizeof(*w->by_hour), by_hour_order);
    for (size_t gi = 0; gi < n;) {
        uint64_t h = w->rec_hour[w->by_hour[gi]];
        size_t ge = gi;
        while (ge < n && w->rec_hour[w->by_hour[ge]] == h)
            ge++;
        if ((klen = tw_key_cx_blocks(key, sizeof(key), w->sensor, h)) < 0 ||
            put_frames(w, out, key, klen, id, gi, ge, json, jlen, &ncmds) < 0)
            return -1;
        gi = ge;
        struct cw_hour *c = hour_cache(w, h);
        if (!c->blocks) {
            c->blocks = 1;
            put_expire(w, out, key, klen, &ncmds);
        }
    }

    /* index slices */
    w->nposts = 0;
    for (size_t i = 0; i < n; i++)
        if (index_record(w, recs[i], w->ordinal[i]) < 0)
            return -1;
    if (group_postings(w) < 0)
        return -1;
    for (size_t i = 0, hour_end = 0; i < w->nposts;) {
        size_t j = i, rawlen = 0;
        const struct cw_key *ks = w->sorted;
        struct cw_hour *c = hour_cache(w, ks[i].hour);
        if (i == hour_end) { /* an hour's first posting: quiet or busy for this batch? */
            while (hour_end < w->nposts && ks[hour_end].hour == ks[i].hour)
                hour_end++;
            if (!c->busy && c->quiet_posts + (hour_end - i) <= w->quiet_posts)
                c->quiet_posts += (uint32_t)(hour_end - i);
            else
                c->busy = 1;
        }
        if (c->busy)
            while (j < hour_end && ks[j].bkv >> 16 == ks[i].bkv >> 16)
                j++;
        else
            j = hour_end;
        /* a group header per (kind, value) run, an entry per posting */
        if (reserve((void **)&w->raw, &w->raw_cap, (j - i) * (4 + CW_VALUE_MAX + 12 + 8), 1) < 0)
            return -1;
        for (size_t k = i; k < j;) {
            const struct cw_post *g = &w->posts[ks[k].seq];
            size_t m = k, d = tw_cx_detail_len((enum tw_post_kind)g->kind);
            while (m < j && m - k < UINT16_MAX && same_value(&ks[m], &ks[k]))
                m++;
            uint8_t *o = w->raw + rawlen;
            *o++ = g->kind;
            *o++ = g->vlen;
            memcpy(o, g->value, g->vlen);
            o += g->vlen;
            *o++ = (uint8_t)((m - k) >> 8);
            *o++ = (uint8_t)(m - k);
            for (size_t e = k; e < m; e++) {
                const struct cw_post *p = &w->posts[ks[e].seq];
                *o++ = (uint8_t)(p->ordinal >> 8);
                *o++ = (uint8_t)p->ordinal;
                *o++ = (uint8_t)(p->back >> 8);
                *o++ = (uint8_t)p->back;
                for (int b = 7; b >= 0; b--)
                    *o++ = (uint8_t)(p->last_us >> (8 * b));
                memcpy(o, p->detail, d);
                o += d;
            }
            rawlen = (size_t)(o - w->raw);
            k = m;
        }
        uint64_t h = ks[i].hour;
        unsigned bucket = ks[i].bkv >> 16;
        klen = c->busy ? tw_key_cx_index(key, sizeof(key), w->sensor, h, bucket)
                       : tw_key_cx_index_quiet(key, sizeof(key), w->sensor, h);
        if (klen < 0 || put_value(w, out, key, klen, id, 'X', rawlen, &ncmds) < 0)
            return -1;
        if (c->busy ? !(c->buckets >> bucket & 1) : !c->quiet) {
            if (c->busy)
                c->buckets |= (uint64_t)1 << bucket;
            else
                c->quiet = 1;
            put_expire(w, out, key, klen, &ncmds);
        }
        if (!c->listed) {
            char hk[TW_KEY_LEN], text[24];
            int hn = tw_key_hours(hk, sizeof(hk), w->sensor);
            c->listed = 1;
            snprintf(text, sizeof(text), "%" PRIu64, h);
            tw_buf_array(out, 4);
            tw_buf_str(out, "ZADD");
            tw_buf_bulk(out, hk, (size_t)hn);
            tw_buf_str(out, text);
            tw_buf_str(out, text);
            ncmds++;
            put_expire(w, out, hk, hn, &ncmds);
        }
        i = j;
    }
    return out->oom ? -1 : ncmds;
}
