/* compact.c - the compact store format's codec and key names (see compact.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "control/record/compact.h"

int tw_key_cx_blocks(char *buf, size_t len, const char *sensor, uint64_t hour)
{
    int n = snprintf(buf, len, "tw:{%s:%" PRIu64 "}:b", sensor, hour);
    return n >= 0 && (size_t)n < len ? n : -1;
}

int tw_key_cx_index(char *buf, size_t len, const char *sensor, uint64_t hour, unsigned bucket)
{
    int n = snprintf(buf, len, "tw:{%s:%" PRIu64 "}:x:%u", sensor, hour, bucket);
    return n >= 0 && (size_t)n < len ? n : -1;
}

int tw_key_cx_index_quiet(char *buf, size_t len, const char *sensor, uint64_t hour)
{
    int n = snprintf(buf, len, "tw:{%s:%" PRIu64 "}:x:a", sensor, hour);
    return n >= 0 && (size_t)n < len ? n : -1;
}

int tw_key_cx_acl_pattern(char *buf, size_t len, const char *sensor)
{
    int n = snprintf(buf, len, "~tw:{%s:*", sensor);
    return n >= 0 && (size_t)n < len && strpbrk(sensor, "*?[]\\:{}") == NULL ? n : -1;
}

void tw_cx_frame_field(char *out, const char *id, unsigned frame)
{
    memcpy(out, id, TW_CX_BLOCK_ID_LEN);
    snprintf(out + TW_CX_BLOCK_ID_LEN, 6, ":%04x", frame & 0xffffu);
}

int tw_cx_version(const void *val, size_t len)
{
    const uint8_t *v = val;

    return len >= 4 && v[0] == 'T' && v[1] == 'W' ? v[3] : -1;
}

unsigned tw_cx_bucket(enum tw_post_kind kind, const void *value, size_t vlen)
{
    const uint8_t *v = value;
    uint32_t h = 2166136261u ^ (uint32_t)kind;

    h *= 16777619u;
    for (size_t i = 0; i < vlen; i++)
        h = (h ^ v[i]) * 16777619u;
    return (h ^ (h >> 16)) % TW_CX_BUCKETS;
}

size_t tw_cx_detail_len(enum tw_post_kind kind)
{
    switch (kind) {
    case TW_POST_NET4: return 1;
    case TW_POST_NET6: return 8;
    case TW_POST_PORT: return 2;
    default: return 0;
    }
}

size_t tw_cx_bound(size_t n)
{
    return 4 + ZSTD_compressBound(n);
}

long tw_cx_pack(char what, const void *raw, size_t n, void *out, size_t cap, int level,
                void *cctx)
{
    uint8_t *o = out;
    size_t z;

    if (cap < 4)
        return -1;
    o[0] = 'T';
    o[1] = 'W';
    o[2] = (uint8_t)what;
    o[3] = TW_CX_VERSION;
    z = cctx != NULL ? ZSTD_compressCCtx(cctx, o + 4, cap - 4, raw, n, level)
                     : ZSTD_compress(o + 4, cap - 4, raw, n, level);
    if (ZSTD_isError(z))
        return -1;
    return (long)(z + 4);
}

int tw_cx_unpack(char what, const void *val, size_t len, uint8_t **raw, size_t *rawlen,
                 char *err, size_t errlen)
{
    const uint8_t *v = val;
    unsigned long long size;
    size_t got;
    uint8_t *buf;

    *raw = NULL;
    *rawlen = 0;
    if (len < 4 || v[0] != 'T' || v[1] != 'W' || v[2] != (uint8_t)what) {
        snprintf(err, errlen, "not a compact %s (bad prefix)", what == 'R' ? "record block"
                                                                           : "index slice");
        return -1;
    }
    if (v[3] < TW_CX_VERSION_MIN || v[3] > TW_CX_VERSION) {
        snprintf(err, errlen,
                 "unknown compact format version %u (this tool reads versions %u to %u)", v[3],
                 TW_CX_VERSION_MIN, TW_CX_VERSION);
        return -1;
    }
    size = ZSTD_getFrameContentSize(v + 4, len - 4);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
        size > TW_CX_MAX_RAW) {
        snprintf(err, errlen, "corrupt compact block (bad frame size)");
        return -1;
    }
    if ((buf = malloc(size ? (size_t)size : 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    got = ZSTD_decompress(buf, (size_t)size, v + 4, len - 4);
    if (ZSTD_isError(got) || got != size) {
        free(buf);
        snprintf(err, errlen, "corrupt compact block (does not decompress)");
        return -1;
    }
    *raw = buf;
    *rawlen = got;
    return 0;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

int tw_cx_block_split(const uint8_t *raw, size_t rawlen, uint32_t **off, uint16_t **len)
{
    size_t pos = 2;
    unsigned n;

    *off = NULL;
    *len = NULL;
    if (rawlen < 2)
        return -1;
    n = be16(raw);
    *off = malloc((n ? n : 1) * sizeof(**off));
    *len = malloc((n ? n : 1) * sizeof(**len));
    if (*off == NULL || *len == NULL)
        goto bad;
    for (unsigned i = 0; i < n; i++) {
        if (rawlen - pos < 2)
            goto bad;
        uint16_t l = be16(raw + pos);
        pos += 2;
        if (rawlen - pos < l)
            goto bad;
        (*off)[i] = (uint32_t)pos;
        (*len)[i] = l;
        pos += l;
    }
    if (pos != rawlen)
        goto bad;
    return (int)n;
bad:
    free(*off);
    free(*len);
    *off = NULL;
    *len = NULL;
    return -1;
}

int tw_cx_slice_next(const uint8_t *raw, size_t rawlen, struct tw_cx_cursor *c,
                     struct tw_cx_posting *p)
{
    size_t d, need;

    while (c->left == 0) {
        if (c->pos == rawlen)
            return 0;
        if (rawlen - c->pos < 2 || raw[c->pos] >= TW_POST__COUNT)
            return -1;
        c->kind = (enum tw_post_kind)raw[c->pos];
        c->vlen = raw[c->pos + 1];
        c->pos += 2;
        if (rawlen - c->pos < (size_t)c->vlen + 2)
            return -1;
        c->value = raw + c->pos;
        c->pos += c->vlen;
        c->left = be16(raw + c->pos);
        c->pos += 2;
    }
    d = tw_cx_detail_len(c->kind);
    need = 12 + d;
    if (rawlen - c->pos < need)
        return -1;
    p->kind = c->kind;
    p->vlen = c->vlen;
    p->value = c->value;
    p->ordinal = be16(raw + c->pos);
    p->back = be16(raw + c->pos + 2);
    p->last_seen_us = 0;
    for (int i = 0; i < 8; i++)
        p->last_seen_us = p->last_seen_us << 8 | raw[c->pos + 4 + i];
    memset(p->detail, 0, sizeof(p->detail));
    memcpy(p->detail, raw + c->pos + 12, d);
    c->pos += need;
    c->left--;
    return 1;
}

int tw_cx_record_postings(const struct tw_flow_record *r, uint32_t max_hours, tw_cx_post_fn fn,
                          void *arg)
{
    uint64_t last_us = r->last_seen_us > r->first_seen_us ? r->last_seen_us : r->first_seen_us;
    uint64_t rec_h = r->first_seen_us / TW_US_PER_HOUR, first_h = rec_h;
    uint64_t last_h = last_us / TW_US_PER_HOUR;
    int v4 = r->ip_version == 4, rc = 0;
    const uint8_t *ends[2] = {r->src_ip, r->dst_ip};
    uint16_t ports[2] = {r->src_port, r->dst_port};

    if (max_hours == 0)
        max_hours = 1;
    if (last_h - first_h >= max_hours)
        first_h = last_h - max_hours + 1;
    if (last_h - rec_h > UINT16_MAX)
        return 0; /* a duration no capture has: not indexed (as format 1) */
    for (uint64_t h = first_h; h <= last_h; h++) {
        uint16_t back = (uint16_t)(h - rec_h);
        rc |= fn(arg, h, TW_POST_TIME, NULL, 0, NULL, back, last_us);
        for (int e = 0; e < 2; e++) {
            if (e == 1 && memcmp(r->src_ip, r->dst_ip, 16) == 0)
                break;
            if (v4)
                rc |= fn(arg, h, TW_POST_NET4, ends[e], 3, ends[e] + 3, back, last_us);
            else
                rc |= fn(arg, h, TW_POST_NET6, ends[e], 8, ends[e] + 8, back, last_us);
        }
        for (int e = 0; e < 2; e++) {
            if (ports[e] == 0 || (e == 1 && ports[1] == ports[0]))
                continue;
            uint16_t bk = tw_port_bucket(ports[e]);
            uint8_t v[2] = {(uint8_t)(bk >> 8), (uint8_t)bk};
            uint8_t d[2] = {(uint8_t)(ports[e] >> 8), (uint8_t)ports[e]};
            rc |= fn(arg, h, TW_POST_PORT, v, 2, d, back, last_us);
        }
    }
    return rc;
}
