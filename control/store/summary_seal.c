/* summary_seal.c - the open summary buckets of the sensor (summary_seal.h).
 *
 * One pool of entries, each naming its bucket; an open-addressing index (twice the pool,
 * linear probing) finds an entry by bucket, section and name, and another the buckets. At a
 * take the pool is sorted by bucket then entry and handed out bucket by bucket.
 */
#include "control/store/summary_seal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_HOUR 3600000000ULL
#define EMPTY UINT32_MAX

struct bkey {
    char equipment[TW_SUM_EQUIPMENT_MAX + 1];
    char by;
    uint64_t bucket;
};

struct pentry {
    uint32_t b; /* its bucket */
    struct tw_sum_entry e;
};

struct tw_sumseal {
    uint32_t max, n, nb;
    uint32_t isize;          /* index slots: a power of two, at least 2 x max */
    uint32_t *index;         /* entry numbers */
    uint32_t *bindex;        /* bucket numbers */
    struct pentry *pool;
    struct bkey *buckets;    /* at most max (each has an entry) */
    struct tw_sum_entry *out; /* a bucket's entries, for fn */
    uint64_t hour;           /* the hour of the sensor's time */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

struct tw_sumseal *tw_sumseal_open(uint32_t max_entries)
{
    struct tw_sumseal *ss = calloc(1, sizeof(*ss));
    uint32_t size = 16;

    if (ss == NULL || max_entries == 0 || max_entries > (1u << 28))
        goto fail;
    while (size < 2 * max_entries)
        size *= 2;
    ss->max = max_entries;
    ss->isize = size;
    ss->index = malloc(size * sizeof(*ss->index));
    ss->bindex = malloc(size * sizeof(*ss->bindex));
    ss->pool = malloc(max_entries * sizeof(*ss->pool));
    ss->buckets = malloc(max_entries * sizeof(*ss->buckets));
    ss->out = malloc(max_entries * sizeof(*ss->out));
    if (!ss->index || !ss->bindex || !ss->pool || !ss->buckets || !ss->out)
        goto fail;
    memset(ss->index, 0xff, size * sizeof(*ss->index));
    memset(ss->bindex, 0xff, size * sizeof(*ss->bindex));
    return ss;
fail:
    tw_sumseal_close(ss);
    errno = ENOMEM;
    return NULL;
}

void tw_sumseal_close(struct tw_sumseal *ss)
{
    if (ss == NULL)
        return;
    free(ss->index);
    free(ss->bindex);
    free(ss->pool);
    free(ss->buckets);
    free(ss->out);
    free(ss);
}

/* The bucket's number, made when new; EMPTY when there is no room. */
static uint32_t bucket_of(struct tw_sumseal *ss, const char *equipment, char by, uint64_t bucket)
{
    struct bkey k;
    uint64_t h;

    memset(&k, 0, sizeof(k));
    strncpy(k.equipment, equipment, TW_SUM_EQUIPMENT_MAX);
    k.by = by;
    k.bucket = bucket;
    h = fnv(fnv(fnv(14695981039346656037ULL, k.equipment, strlen(k.equipment)), &by, 1),
            &bucket, sizeof(bucket));
    for (uint32_t i = (uint32_t)h & (ss->isize - 1);; i = (i + 1) & (ss->isize - 1)) {
        uint32_t b = ss->bindex[i];
        if (b == EMPTY) {
            if (ss->nb == ss->max)
                return EMPTY;
            ss->buckets[ss->nb] = k;
            ss->bindex[i] = ss->nb;
            return ss->nb++;
        }
        if (memcmp(&ss->buckets[b], &k, sizeof(k)) == 0)
            return b;
    }
}

int tw_sumseal_add(struct tw_sumseal *ss, const char *equipment, char by, uint64_t bucket,
                   char sect, const char *name, int64_t value)
{
    size_t nlen = strnlen(name, TW_SUM_NAME_MAX);
    uint32_t b;
    uint64_t h;

    if (ss->n == ss->max || (b = bucket_of(ss, equipment, by, bucket)) == EMPTY)
        return -ENOSPC;
    h = fnv(fnv(fnv(14695981039346656037ULL, &b, sizeof(b)), &sect, 1), name, nlen);
    for (uint32_t i = (uint32_t)h & (ss->isize - 1);; i = (i + 1) & (ss->isize - 1)) {
        uint32_t x = ss->index[i];
        if (x == EMPTY) {
            struct pentry *p = &ss->pool[ss->n];
            memset(p, 0, sizeof(*p));
            p->b = b;
            p->e.sect = sect;
            p->e.nlen = (uint8_t)nlen;
            memcpy(p->e.name, name, nlen);
            p->e.value = value;
            ss->index[i] = ss->n++;
            return 0;
        }
        struct pentry *p = &ss->pool[x];
        if (p->b == b && p->e.sect == sect && p->e.nlen == nlen && memcmp(p->e.name, name, nlen) == 0) {
            p->e.value = (int64_t)((uint64_t)p->e.value + (uint64_t)value);
            return 0;
        }
    }
}

int tw_sumseal_time(struct tw_sumseal *ss, uint64_t t_us)
{
    uint64_t hour = t_us / US_PER_HOUR;

    if (hour <= ss->hour)
        return 0;
    int passed = ss->hour != 0 && ss->n > 0;
    ss->hour = hour;
    return passed;
}

size_t tw_sumseal_pending(const struct tw_sumseal *ss)
{
    return ss->n;
}

static int pentry_cmp(const void *a, const void *b)
{
    const struct pentry *x = a, *y = b;

    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return tw_sum_entry_cmp(&x->e, &y->e);
}

void tw_sumseal_take(struct tw_sumseal *ss,
                     void (*fn)(void *arg, const struct tw_sum_bucket *b), void *arg)
{
    qsort(ss->pool, ss->n, sizeof(*ss->pool), pentry_cmp);
    for (uint32_t i = 0; i < ss->n;) {
        uint32_t j = i;
        struct tw_sum_bucket tb;
        const struct bkey *k = &ss->buckets[ss->pool[i].b];
        for (; j < ss->n && ss->pool[j].b == ss->pool[i].b; j++)
            ss->out[j - i] = ss->pool[j].e;
        memset(&tb, 0, sizeof(tb));
        memcpy(tb.equipment, k->equipment, sizeof(tb.equipment));
        tb.by = k->by;
        tb.bucket = k->bucket;
        tb.e = ss->out;
        tb.n = j - i;
        fn(arg, &tb);
        i = j;
    }
    ss->n = ss->nb = 0;
    memset(ss->index, 0xff, ss->isize * sizeof(*ss->index));
    memset(ss->bindex, 0xff, ss->isize * sizeof(*ss->bindex));
}
