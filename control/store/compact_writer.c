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

struct cw_post {
    uint64_t hour;
    uint32_t seq; /* arrival: keeps a value's postings in order */
    uint16_t ordinal, back;
    uint64_t last_us;
    uint8_t bucket, kind, vlen;
    uint8_t value[TW_APP_LEN];
    uint8_t detail[8];
};

/* keys of an hour that already have their EXPIRE in this period */
struct cw_hour {
    uint64_t hour;
    uint64_t buckets; /* bit k: tw:{S:H}:x:<k> */
    uint8_t blocks, listed, used;
};

struct tw_cw {
    char sensor[64];
    char ex[16];
    uint32_t max_hours;
    struct cw_post *posts;
    size_t nposts, cap;
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

struct tw_cw *tw_cw_new(const char *sensor, uint32_t hot_window_s, uint32_t max_hours)
{
    struct tw_cw *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    snprintf(w->sensor, sizeof(w->sensor), "%s", sensor);
    snprintf(w->ex, sizeof(w->ex), "%u", hot_window_s);
    w->max_hours = max_hours ? max_hours : 1;
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
    memset(w->hours, 0, sizeof(w->hours));
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
    struct cw_post *p;

    if (vlen > TW_APP_LEN || reserve((void **)&w->posts, &w->cap, w->nposts + 1, sizeof(*p)) < 0)
        return -1;
    p = &w->posts[w->nposts];
    p->hour = hour;
    p->seq = (uint32_t)w->nposts++;
    p->ordinal = ordinal;
    p->back = back;
    p->last_us = last_us;
    p->kind = (uint8_t)kind;
    p->vlen = (uint8_t)vlen;
    if (vlen)
        memcpy(p->value, value, vlen);
    memset(p->detail, 0, sizeof(p->detail));
    if (detail != NULL)
        memcpy(p->detail, detail, tw_cx_detail_len(kind));
    p->bucket = (uint8_t)tw_cx_bucket(kind, value, vlen);
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

static int post_order(const void *pa, const void *pb)
{
    const struct cw_post *a = pa, *b = pb;
    int c;

    if (a->hour != b->hour)
        return a->hour < b->hour ? -1 : 1;
    if (a->bucket != b->bucket)
        return a->bucket - b->bucket;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    if (a->vlen != b->vlen)
        return a->vlen - b->vlen;
    if ((c = memcmp(a->value, b->value, a->vlen)) != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int index_record(struct tw_cw *w, const struct tw_flow_record *r, uint16_t ordinal)
{
    char apps[TW_APP_PARTS_MAX][TW_APP_LEN];
    uint64_t last_us = r->last_seen_us > r->first_seen_us ? r->last_seen_us : r->first_seen_us;
    uint64_t rec_h = r->first_seen_us / TW_US_PER_HOUR, first_h = rec_h;
    uint64_t last_h = last_us / TW_US_PER_HOUR;
    int v4 = r->ip_version == 4, napps, rc = 0;
    const uint8_t *ends[2] = {r->src_ip, r->dst_ip};
    uint16_t ports[2] = {r->src_port, r->dst_port};

    if (last_h - first_h >= w->max_hours)
        first_h = last_h - w->max_hours + 1;
    if (last_h - rec_h > UINT16_MAX)
        return 0; /* a duration no capture has: not indexed (as format 1) */
    napps = tw_app_parts(r->app, sizeof(r->app), apps, TW_APP_PARTS_MAX);
    for (uint64_t h = first_h; h <= last_h; h++) {
        uint16_t back = (uint16_t)(h - rec_h);
        rc |= add_post(w, h, TW_POST_TIME, NULL, 0, NULL, ordinal, back, last_us);
        for (int e = 0; e < 2; e++) {
            if (e == 1 && memcmp(r->src_ip, r->dst_ip, 16) == 0)
                break;
            if (v4)
                rc |= add_post(w, h, TW_POST_NET4, ends[e], 3, ends[e] + 3, ordinal, back,
                               last_us);
            else
                rc |= add_post(w, h, TW_POST_NET6, ends[e], 8, ends[e] + 8, ordinal, back,
                               last_us);
        }
        for (int e = 0; e < 2; e++) {
            if (ports[e] == 0 || (e == 1 && ports[1] == ports[0]))
                continue;
            uint16_t bk = tw_port_bucket(ports[e]);
            uint8_t v[2] = {(uint8_t)(bk >> 8), (uint8_t)bk};
            uint8_t d[2] = {(uint8_t)(ports[e] >> 8), (uint8_t)ports[e]};
            rc |= add_post(w, h, TW_POST_PORT, v, 2, d, ordinal, back, last_us);
        }
        for (int i = 0; i < napps; i++)
            rc |= add_post(w, h, TW_POST_APP, apps[i], strlen(apps[i]), NULL, ordinal, back,
                           last_us);
    }
    return rc;
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
    if (free_slot == NULL) { /* full: forgetting only costs EXPIREs */
        tw_cw_forget(w);
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

/* HSET key <id> <packed raw>. Returns 0, or -1. */
static int put_value(struct tw_cw *w, struct tw_buf *out, const char *key, int klen,
                     const char *id, char what, size_t rawlen, long *ncmds)
{
    long z;

    if (reserve((void **)&w->packed, &w->packed_cap, tw_cx_bound(rawlen), 1) < 0)
        return -1;
    if ((z = tw_cx_pack(what, w->raw, rawlen, w->packed, w->packed_cap, CW_LEVEL, w->zc)) < 0)
        return -1;
    tw_buf_array(out, 4);
    tw_buf_str(out, "HSET");
    tw_buf_bulk(out, key, (size_t)klen);
    tw_buf_bulk(out, id, TW_CX_BLOCK_ID_LEN);
    tw_buf_bulk(out, w->packed, (size_t)z);
    (*ncmds)++;
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
        size_t rawlen = 2, cnt = 0, ge = gi;
        while (ge < n && w->rec_hour[w->by_hour[ge]] == h)
            rawlen += 2 + jlen[w->by_hour[ge++]];
        if (reserve((void **)&w->raw, &w->raw_cap, rawlen, 1) < 0)
            return -1;
        rawlen = 2;
        for (size_t gj = gi; gj < ge; gj++) {
            size_t j = w->by_hour[gj];
            w->ordinal[j] = (uint16_t)cnt++;
            w->raw[rawlen] = (uint8_t)(jlen[j] >> 8);
            w->raw[rawlen + 1] = (uint8_t)jlen[j];
            memcpy(w->raw + rawlen + 2, json[j], jlen[j]);
            rawlen += 2 + jlen[j];
        }
        gi = ge;
        w->raw[0] = (uint8_t)(cnt >> 8);
        w->raw[1] = (uint8_t)cnt;
        if ((klen = tw_key_cx_blocks(key, sizeof(key), w->sensor, h)) < 0 ||
            put_value(w, out, key, klen, id, 'R', rawlen, &ncmds) < 0)
            return -1;
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
    qsort(w->posts, w->nposts, sizeof(*w->posts), post_order);
    for (size_t i = 0; i < w->nposts;) {
        size_t j = i, rawlen = 0;
        while (j < w->nposts && w->posts[j].hour == w->posts[i].hour &&
               w->posts[j].bucket == w->posts[i].bucket)
            j++;
        /* a group header per (kind, value) run, an entry per posting */
        if (reserve((void **)&w->raw, &w->raw_cap, (j - i) * (4 + TW_APP_LEN + 12 + 8), 1) < 0)
            return -1;
        for (size_t k = i; k < j;) {
            const struct cw_post *g = &w->posts[k];
            size_t m = k, d = tw_cx_detail_len((enum tw_post_kind)g->kind);
            while (m < j && m - k < UINT16_MAX && w->posts[m].kind == g->kind &&
                   w->posts[m].vlen == g->vlen && memcmp(w->posts[m].value, g->value, g->vlen) == 0)
                m++;
            uint8_t *o = w->raw + rawlen;
            *o++ = g->kind;
            *o++ = g->vlen;
            memcpy(o, g->value, g->vlen);
            o += g->vlen;
            *o++ = (uint8_t)((m - k) >> 8);
            *o++ = (uint8_t)(m - k);
            for (size_t e = k; e < m; e++) {
                const struct cw_post *p = &w->posts[e];
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
        uint64_t h = w->posts[i].hour;
        unsigned bucket = w->posts[i].bucket;
        if ((klen = tw_key_cx_index(key, sizeof(key), w->sensor, h, bucket)) < 0 ||
            put_value(w, out, key, klen, id, 'X', rawlen, &ncmds) < 0)
            return -1;
        struct cw_hour *c = hour_cache(w, h);
        if (!(c->buckets >> bucket & 1)) {
            c->buckets |= (uint64_t)1 << bucket;
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
