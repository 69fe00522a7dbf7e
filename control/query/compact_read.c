/* compact_read.c - reads the compact store format (see compact_read.h, compact.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/query/compact_read.h"
#include "control/query/query.h"

int tq_cx_hour_has(struct tw_rclient *c, const char *sensor, uint64_t hour)
{
    char key[TW_KEY_LEN], quiet[TW_KEY_LEN];
    redisReply *r;
    int has;

    /* the time postings: every hour a flow spans has them, also one no record starts in; in
     * its time bucket, or in its quiet slices (one slot: the same hash tag) */
    if (tw_key_cx_index(key, sizeof(key), sensor, hour, tw_cx_bucket(TW_POST_TIME, NULL, 0)) < 0 ||
        tw_key_cx_index_quiet(quiet, sizeof(quiet), sensor, hour) < 0)
        return 0;
    r = tw_rclient_command(c, "EXISTS %s %s", key, quiet);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return tq_reply_failed(c, r, "EXISTS");
    has = r->integer > 0;
    freeReplyObject(r);
    return has;
}

/* Decodes one slice; appends what keep() accepts. Returns 0, or -1 (said why). */
static int read_slice(const redisReply *v, uint64_t hour, tq_cx_keep keep, void *arg,
                      uint64_t lo, uint64_t hi, const char *field, struct tq_cx_ref **refs,
                      size_t *n, size_t *cap)
{
    int version = tw_cx_version(v->str, v->len);
    uint8_t *raw;
    size_t rawlen;
    char err[160];
    struct tw_cx_cursor cur = {0};
    struct tw_cx_posting p;
    int rc;

    if (tw_cx_unpack('X', v->str, v->len, &raw, &rawlen, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": hour %" PRIu64 ": %s\n", hour, err);
        return -1;
    }
    while ((rc = tw_cx_slice_next(raw, rawlen, &cur, &p)) == 1) {
        if (p.last_seen_us < lo || p.last_seen_us > hi || p.back > hour || !keep(&p, arg))
            continue;
        struct tq_cx_ref *r = tq_grow(*refs, *n, cap, sizeof(*r), 1024);
        if (r == NULL) {
            rc = -1;
            break;
        }
        *refs = r;
        r = &(*refs)[(*n)++];
        r->last_us = p.last_seen_us;
        r->rec_hour = hour - p.back;
        memcpy(r->block, field, TW_CX_BLOCK_ID_LEN);
        r->block[TW_CX_BLOCK_ID_LEN] = '\0';
        r->ord = p.ordinal;
        r->version = (uint8_t)version;
    }
    free(raw);
    if (rc < 0)
        fprintf(stderr, PROG ": hour %" PRIu64 ": malformed compact index slice\n", hour);
    return rc < 0 ? -1 : 0;
}

int tq_cx_postings(struct tw_rclient *c, const char *sensor, uint64_t hour,
                   const unsigned *buckets, size_t nb, tq_cx_keep keep, void *arg, uint64_t lo,
                   uint64_t hi, struct tq_cx_ref **refs, size_t *n, size_t *cap)
{
    char key[TW_KEY_LEN];
    int rc = 0;

    /* the buckets asked for, and the quiet slices, which hold every bucket (compact.h) */
    for (size_t i = 0; i < nb; i++) {
        tw_key_cx_index(key, sizeof(key), sensor, hour, buckets[i]);
        tw_rclient_append(c, "HGETALL %s", key);
    }
    tw_key_cx_index_quiet(key, sizeof(key), sensor, hour);
    tw_rclient_append(c, "HGETALL %s", key);
    for (size_t i = 0; i < nb + 1; i++) {
        redisReply *r = NULL;
        if (tw_rclient_get_reply(c, &r) != REDIS_OK || r == NULL ||
            r->type != REDIS_REPLY_ARRAY) {
            tq_reply_failed(c, r, "HGETALL");
            rc = -1; /* the replies still pending are read by the next command's client */
            continue;
        }
        for (size_t k = 0; rc == 0 && k + 1 < r->elements; k += 2) {
            const redisReply *f = r->element[k], *v = r->element[k + 1];
            if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
                f->len != TW_CX_BLOCK_ID_LEN)
                continue; /* not a field of ours */
            if (read_slice(v, hour, keep, arg, lo, hi, f->str, refs, n, cap) < 0)
                rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}

/* ---- record blocks ---- */

struct cx_block {
    uint64_t hour;
    char id[TW_CX_FIELD_LEN + 1]; /* the field: <block id> (version 2) or <block id>:<frame> */
    uint8_t *raw; /* NULL: absent or refused */
    uint32_t *off;
    uint16_t *len;
    int n;
};

struct tq_cx_cache {
    struct cx_block *b;
    size_t n, cap;
    size_t *tab; /* open addressing: index + 1 */
    size_t tsize;
};

static uint64_t block_hash(uint64_t hour, const char *id)
{
    uint64_t h = hour * 0x9e3779b97f4a7c15ULL;

    for (const char *c = id; *c != '\0'; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    return h ^ (h >> 31);
}

/* The field that holds r's record, and the record's index in that field's value. */
static unsigned ref_field(const struct tq_cx_ref *r, char *field)
{
    if (r->version < 3) {
        memcpy(field, r->block, TW_CX_BLOCK_ID_LEN + 1);
        return r->ord;
    }
    tw_cx_frame_field(field, r->block, r->ord / TW_CX_FRAME_RECORDS);
    return r->ord % TW_CX_FRAME_RECORDS;
}

struct tq_cx_cache *tq_cx_cache_new(void)
{
    return calloc(1, sizeof(struct tq_cx_cache));
}

void tq_cx_cache_free(struct tq_cx_cache *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++) {
        free(k->b[i].raw);
        free(k->b[i].off);
        free(k->b[i].len);
    }
    free(k->b);
    free(k->tab);
    free(k);
}

static struct cx_block *find(const struct tq_cx_cache *k, uint64_t hour, const char *id)
{
    if (k->tsize == 0)
        return NULL;
    for (size_t j = block_hash(hour, id) & (k->tsize - 1); k->tab[j] != 0;
         j = (j + 1) & (k->tsize - 1)) {
        struct cx_block *b = &k->b[k->tab[j] - 1];
        if (b->hour == hour && strcmp(b->id, id) == 0)
            return b;
    }
    return NULL;
}

static struct cx_block *add(struct tq_cx_cache *k, uint64_t hour, const char *id)
{
    if ((k->n + 1) * 2 > k->tsize) {
        size_t ts = k->tsize ? k->tsize * 2 : 256;
        size_t *tab = calloc(ts, sizeof(*tab));
        if (tab == NULL)
            return NULL;
        for (size_t i = 0; i < k->n; i++) {
            size_t j = block_hash(k->b[i].hour, k->b[i].id) & (ts - 1);
            while (tab[j] != 0)
                j = (j + 1) & (ts - 1);
            tab[j] = i + 1;
        }
        free(k->tab);
        k->tab = tab;
        k->tsize = ts;
    }
    struct cx_block *b = tq_grow(k->b, k->n, &k->cap, sizeof(*b), 64);
    if (b == NULL)
        return NULL;
    k->b = b;
    b = &k->b[k->n];
    memset(b, 0, sizeof(*b));
    b->hour = hour;
    snprintf(b->id, sizeof(b->id), "%s", id);
    size_t j = block_hash(hour, id) & (k->tsize - 1);
    while (k->tab[j] != 0)
        j = (j + 1) & (k->tsize - 1);
    k->tab[j] = ++k->n;
    return b;
}

int tq_cx_fetch(struct tw_rclient *c, struct tq_cx_cache *k, const char *sensor,
                const struct tq_cx_ref *refs, size_t n)
{
    char key[TW_KEY_LEN], err[160], field[TW_CX_FIELD_LEN + 1];
    size_t first = k->n, sent;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        ref_field(&refs[i], field);
        if (find(k, refs[i].rec_hour, field) != NULL)
            continue;
        struct cx_block *b = add(k, refs[i].rec_hour, field);
        if (b == NULL) {
            fprintf(stderr, PROG ": out of memory\n");
            rc = -1;
            break;
        }
        tw_key_cx_blocks(key, sizeof(key), sensor, b->hour);
        tw_rclient_append(c, "HGET %s %s", key, b->id);
    }
    sent = k->n - first;
    for (size_t i = 0; i < sent; i++) {
        struct cx_block *b = &k->b[first + i];
        redisReply *r = NULL;
        if (tw_rclient_get_reply(c, &r) != REDIS_OK || r == NULL) {
            tq_reply_failed(c, r, "HGET");
            rc = -1;
            continue;
        }
        if (r->type == REDIS_REPLY_STRING) {
            size_t rawlen;
            if (tw_cx_unpack('R', r->str, r->len, &b->raw, &rawlen, err, sizeof(err)) < 0 ||
                (b->n = tw_cx_block_split(b->raw, rawlen, &b->off, &b->len)) < 0) {
                fprintf(stderr, PROG ": block %s of hour %" PRIu64 ": %s\n", b->id, b->hour,
                        b->raw == NULL ? err : "malformed record block");
                free(b->raw);
                b->raw = NULL;
                b->n = 0;
            }
        } else if (r->type == REDIS_REPLY_ERROR) {
            tq_reply_failed(c, r, "HGET");
            r = NULL;
            rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}

const char *tq_cx_json(const struct tq_cx_cache *k, const struct tq_cx_ref *r, size_t *len)
{
    char field[TW_CX_FIELD_LEN + 1];
    unsigned i = ref_field(r, field);
    const struct cx_block *b = find(k, r->rec_hour, field);

    if (b == NULL || b->raw == NULL || i >= (unsigned)b->n)
        return NULL;
    *len = b->len[i];
    return (const char *)b->raw + b->off[i];
}
