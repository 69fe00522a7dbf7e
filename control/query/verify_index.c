/* verify_index.c - verify's checks of the flow and alert indexes (see verify_index.h). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/evidence/chain.h"
#include "control/evidence/seal.h"
#include "control/query/verify_index.h"
#include "control/record/compact.h"
#include "control/record/keys.h"
#include "control/record/record_json.h"
#include "dataplane/clock.h"

#define NO_REC UINT32_MAX
/* The writer refreshes a key's EXPIRE at most once a minute (compact_writer.c), each key at
 * its first write of the minute: an hour's index slices may expire up to that long before
 * its records. A record whose seal's ttl ends within this may have lost its postings to
 * Redis, not to anyone (record_ending). */
#define EXPIRE_SLACK_MS 120000

/* A record read from a block: where it is, and what names it in findings. */
struct vrec {
    uint64_t hour; /* its block's hour (first_seen) */
    uint64_t first_h, last_h;
    char block[TW_CX_BLOCK_ID_LEN + 1];
    uint16_t ord;
    uint8_t ok; /* parsed: its postings are known */
    char run[17];
    uint64_t seq;
};

/* A posting, expected (from a record) or read (from a slice), in one comparable form. */
struct vpost {
    uint64_t hour, last_us, value, detail; /* value, detail: bytes big endian, zero-padded */
    uint32_t rec;
    uint8_t kind, vlen;
};

/* An alert of the stream, or an entry of a time index (ms-seq, ts_us; hour: its key's). */
struct valert {
    uint64_t ms, sq, ts_us, hour;
    char run[17];
    uint64_t seq;
};

struct vseal;

struct tq_vix {
    const struct tq_opts *o;
    struct tq_vix_hooks h;
    struct vrec *recs;
    size_t nrecs, rcap;
    uint32_t *tab; /* (hour, block, ord) -> index + 1, open addressing */
    size_t tsize;
    struct vpost *exp, *act;
    size_t nexp, ecap, nact, acap;
    uint64_t *rhours; /* the hours records were read in, sorted, once */
    size_t nrhours;
    struct vseal *seals; /* sorted by run, first */
    size_t nseals;
    uint64_t keep_ms, now_us; /* the longest keep of the seals (redis.retention); verify's clock */
    uint32_t cur; /* the record whose postings tw_cx_record_postings is listing */
};

static void say(struct tq_vix *v, const char *run, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(struct tq_vix *v, const char *run, uint64_t seq, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    v->h.finding(v->h.arg, run, seq, line);
}

/* A name read from Redis, printable: at most 40 characters of [0-9A-Za-z:-], '?' else. */
static const char *safe(const char *s, size_t len, char out[41])
{
    size_t i;

    for (i = 0; i < len && i < 40; i++) {
        char ch = s[i];
        out[i] = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 ch == ':' || ch == '-' ? ch : '?';
    }
    out[i] = '\0';
    return out;
}

/* Is any of hour h in the range? (the whole store without --since/--until) */
static int hour_in_range(const struct tq_vix *v, uint64_t h)
{
    return (!v->o->has_since || (h + 1) * TW_US_PER_HOUR > v->o->since_us) &&
           (!v->o->has_until || h * TW_US_PER_HOUR <= v->o->until_us);
}

struct tq_vix *tq_vix_new(const struct tq_opts *o, const struct tq_vix_hooks *hooks)
{
    struct tq_vix *v = calloc(1, sizeof(*v));

    if (v != NULL) {
        v->o = o;
        v->h = *hooks;
    }
    return v;
}

void tq_vix_free(struct tq_vix *v)
{
    if (v == NULL)
        return;
    free(v->recs);
    free(v->tab);
    free(v->exp);
    free(v->act);
    free(v->rhours);
    free(v->seals);
    free(v);
}

/* ---- records ---- */

static uint64_t rec_hash(uint64_t hour, const char *block, uint16_t ord)
{
    uint64_t h = hour * 0x9e3779b97f4a7c15ULL ^ ord;

    for (int i = 0; i < TW_CX_BLOCK_ID_LEN; i++)
        h = (h ^ (unsigned char)block[i]) * 1099511628211ULL;
    /* murmur3's finalizer: FNV's low bits mix only low bits, and the ordinals of a block and
     * the ids of consecutive blocks differ in just those (long probe runs without it) */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint32_t rec_find(const struct tq_vix *v, uint64_t hour, const char *block, uint16_t ord)
{
    if (v->tsize == 0)
        return NO_REC;
    for (size_t j = rec_hash(hour, block, ord) & (v->tsize - 1); v->tab[j] != 0;
         j = (j + 1) & (v->tsize - 1)) {
        const struct vrec *r = &v->recs[v->tab[j] - 1];
        if (r->hour == hour && r->ord == ord && memcmp(r->block, block, TW_CX_BLOCK_ID_LEN) == 0)
            return v->tab[j] - 1;
    }
    return NO_REC;
}

static int tab_put(struct tq_vix *v, uint32_t i)
{
    if ((v->nrecs + 1) * 2 > v->tsize) {
        size_t ts = v->tsize ? v->tsize * 2 : 1024;
        uint32_t *tab = calloc(ts, sizeof(*tab));
        if (tab == NULL)
            return -1;
        free(v->tab);
        v->tab = tab;
        v->tsize = ts;
        for (uint32_t k = 0; k < i; k++) /* the records before i, again */
            if (rec_find(v, v->recs[k].hour, v->recs[k].block, v->recs[k].ord) == NO_REC) {
                size_t j = rec_hash(v->recs[k].hour, v->recs[k].block, v->recs[k].ord) & (ts - 1);
                while (tab[j] != 0)
                    j = (j + 1) & (ts - 1);
                tab[j] = k + 1;
            }
    }
    size_t j = rec_hash(v->recs[i].hour, v->recs[i].block, v->recs[i].ord) & (v->tsize - 1);
    while (v->tab[j] != 0)
        j = (j + 1) & (v->tsize - 1);
    v->tab[j] = i + 1;
    return 0;
}

static uint64_t be_pad(const uint8_t *p, size_t n)
{
    uint64_t x = 0;

    for (size_t i = 0; i < 8; i++)
        x = x << 8 | (i < n && p != NULL ? p[i] : 0);
    return x;
}

static struct vpost *post_add(struct vpost **a, size_t *n, size_t *cap)
{
    struct vpost *p = tq_grow(*a, *n, cap, sizeof(**a), 4096);

    if (p == NULL)
        return NULL;
    *a = p;
    return &(*a)[(*n)++];
}

static int post_cmp(const void *pa, const void *pb);

/* Sorts a[0..n) by post_cmp: insertion sort for the few postings of one record (they come
 * nearly in order), qsort past that. */
static void sort_few(struct vpost *a, size_t n)
{
    if (n > 32) {
        qsort(a, n, sizeof(*a), post_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct vpost t = a[i];
        size_t j = i;
        for (; j > 0 && post_cmp(&a[j - 1], &t) > 0; j--)
            a[j] = a[j - 1];
        a[j] = t;
    }
}

/* tw_cx_record_postings' callback: one posting the record v->cur must have */
static int expect(void *arg, uint64_t hour, enum tw_post_kind kind, const uint8_t *value,
                  size_t vlen, const uint8_t *detail, uint16_t back, uint64_t last_us)
{
    struct tq_vix *v = arg;
    struct vpost *p;

    (void)back; /* the record is known: hour - back is its block's hour */
    if (!hour_in_range(v, hour))
        return 0;
    if ((p = post_add(&v->exp, &v->nexp, &v->ecap)) == NULL)
        return -1;
    p->hour = hour;
    p->last_us = last_us;
    p->value = be_pad(value, vlen);
    p->detail = be_pad(detail, detail != NULL ? tw_cx_detail_len(kind) : 0);
    p->rec = v->cur;
    p->kind = (uint8_t)kind;
    p->vlen = (uint8_t)vlen;
    return 0;
}

/* The value after "key": in a record's JSON text, or NULL. The first match is the key: in
 * tw_record_to_json's text a '"' inside a string is escaped, and every key read here comes
 * before the free-text fields (app, server_name). */
static const char *json_val(const char *js, size_t len, const char *key, size_t klen)
{
    const char *p = memmem(js, len, key, klen);

    return p != NULL ? p + klen : NULL;
}

static int json_uint(const char *p, const char *end, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;
    const char *s = p;

    for (; p < end && *p >= '0' && *p <= '9' && p - s < 20; p++)
        x = x * 10 + (uint64_t)(*p - '0');
    if (p == s || x > max)
        return -1;
    *out = x;
    return 0;
}

/* epoch seconds with up to six decimals -> microseconds */
static int json_us(const char *p, const char *end, uint64_t *out)
{
    uint64_t s = 0, us = 0;
    int d = 0;

    if (json_uint(p, end, UINT64_MAX / 1000000 - 1, &s) != 0)
        return -1;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9' && d < 6; p++, d++)
            us = us * 10 + (uint64_t)(*p - '0');
    for (; d < 6; d++)
        us *= 10;
    *out = s * 1000000 + us;
    return 0;
}

static int json_addr(const char *p, const char *end, int v4, uint8_t *addr)
{
    char text[48];
    size_t n = 0;

    if (p == NULL || p >= end || *p++ != '"')
        return -1;
    while (p < end && *p != '"' && n + 1 < sizeof(text))
        text[n++] = *p++;
    if (p >= end || *p != '"')
        return -1;
    text[n] = '\0';
    memset(addr, 0, 16);
    return inet_pton(v4 ? AF_INET : AF_INET6, text, addr) == 1 ? 0 : -1;
}

#define KEY(k) "\"" k "\":", sizeof("\"" k "\":") - 1

/* What the postings of a record depend on (tw_cx_record_postings), read from its JSON text
 * without building the whole record: json-c's parse of every record cost verify ten times
 * what the rest of its index checks cost. 0, or -1 when a key is missing or malformed (then
 * tw_record_from_json decides). */
static int scan_record(const char *js, size_t len, struct tw_flow_record *r)
{
    const char *end = js + len, *p;
    uint64_t ver, sp, dp;

    memset(r, 0, sizeof(*r));
    if ((p = json_val(js, len, KEY("ip_version"))) == NULL ||
        json_uint(p, end, 6, &ver) != 0 || (ver != 4 && ver != 6) ||
        json_addr(json_val(js, len, KEY("src_ip")), end, ver == 4, r->src_ip) != 0 ||
        json_addr(json_val(js, len, KEY("dst_ip")), end, ver == 4, r->dst_ip) != 0 ||
        (p = json_val(js, len, KEY("src_port"))) == NULL || json_uint(p, end, UINT16_MAX, &sp) != 0 ||
        (p = json_val(js, len, KEY("dst_port"))) == NULL || json_uint(p, end, UINT16_MAX, &dp) != 0 ||
        (p = json_val(js, len, KEY("first_seen"))) == NULL || json_us(p, end, &r->first_seen_us) != 0 ||
        (p = json_val(js, len, KEY("last_seen"))) == NULL || json_us(p, end, &r->last_seen_us) != 0)
        return -1;
    r->ip_version = (uint8_t)ver;
    r->src_port = (uint16_t)sp;
    r->dst_port = (uint16_t)dp;
    return 0;
}

#undef KEY

int tq_vix_record(struct tq_vix *v, uint64_t hour, const char *field, size_t flen, unsigned k,
                  const char *json, size_t len)
{
    struct tw_flow_record fr;
    struct vrec *r;
    unsigned long frame = 0;
    char *text;

    if (flen == TW_CX_FIELD_LEN && field[TW_CX_BLOCK_ID_LEN] == ':')
        frame = strtoul(field + TW_CX_BLOCK_ID_LEN + 1, NULL, 16); /* version 3: frames */
    else if (flen != TW_CX_BLOCK_ID_LEN)
        return 0; /* not a field of ours: verify says so */
    if (frame * TW_CX_FRAME_RECORDS + k > UINT16_MAX || v->nrecs >= NO_REC - 1)
        return 0; /* no posting can point at it */
    if ((r = tq_grow(v->recs, v->nrecs, &v->rcap, sizeof(*r), 1024)) == NULL)
        return -1;
    v->recs = r;
    r = &v->recs[v->nrecs];
    memset(r, 0, sizeof(*r));
    r->hour = hour;
    memcpy(r->block, field, TW_CX_BLOCK_ID_LEN);
    r->ord = (uint16_t)(frame * TW_CX_FRAME_RECORDS + k);
    if (tw_chain_json_untag(json, len, &r->seq, r->run) != 0)
        r->seq = 0;
    if (rec_find(v, hour, r->block, r->ord) != NO_REC)
        return 0; /* the same place twice: the chain checks say it */
    if (tab_put(v, (uint32_t)v->nrecs) != 0)
        return -1;
    v->cur = (uint32_t)v->nrecs++;
    /* a record that does not parse has no postings to expect (the chain checks find it) */
    int ok = scan_record(json, len, &fr) == 0;
    if (!ok) { /* not as tw_record_to_json writes it: as the query tool reads it, if it can */
        if ((text = malloc(len + 1)) == NULL)
            return -1;
        memcpy(text, json, len);
        text[len] = '\0';
        ok = tw_record_from_json(text, &fr, NULL, 0) == 0;
        free(text);
    }
    if (ok && fr.first_seen_us / TW_US_PER_HOUR == hour) {
        uint64_t last = fr.last_seen_us > fr.first_seen_us ? fr.last_seen_us : fr.first_seen_us;
        r = &v->recs[v->cur];
        r->ok = 1;
        r->first_h = hour;
        r->last_h = last / TW_US_PER_HOUR;
        size_t first = v->nexp;
        if (tw_cx_record_postings(&fr, UINT32_MAX, expect, v) != 0)
            return -1;
        sort_few(v->exp + first, v->nexp - first); /* exp stays sorted: records come in order */
    }
    return 0;
}

/* ---- the flow index ---- */

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The hours whose index to read: those listed in tw:{S}:hours and those records span, in the
 * range. Returns the count (*out malloc'd), or -1. */
static long index_hours(struct tq_vix *v, struct tw_rclient *c, uint64_t **out)
{
    char key[TW_KEY_LEN];
    redisReply *r;
    uint64_t *hs = NULL;
    size_t n = 0, cap = 0;

    tw_key_hours(key, sizeof(key), v->o->sensor);
    if ((r = tw_rclient_command(c, "ZRANGE %s 0 -1", key)) == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "ZRANGE hours");
    for (size_t i = 0; i <= r->elements + v->nexp; i++) {
        uint64_t h;
        if (i < r->elements) {
            if (r->element[i]->type != REDIS_REPLY_STRING ||
                tq_parse_uint(r->element[i]->str, 0, UINT64_MAX / TW_US_PER_HOUR - 1, &h) != 0 ||
                !hour_in_range(v, h))
                continue;
        } else if (i - r->elements < v->nexp) {
            h = v->exp[i - r->elements].hour;
            if (n > 0 && hs[n - 1] == h)
                continue;
        } else {
            break;
        }
        uint64_t *g = tq_grow(hs, n, &cap, sizeof(*hs), 64);
        if (g == NULL) {
            free(hs);
            freeReplyObject(r);
            return -1;
        }
        hs = g;
        hs[n++] = h;
    }
    freeReplyObject(r);
    if (n > 1) {
        qsort(hs, n, sizeof(*hs), u64_cmp);
        size_t u = 1;
        for (size_t i = 1; i < n; i++)
            if (hs[i] != hs[u - 1])
                hs[u++] = hs[i];
        n = u;
    }
    *out = hs;
    return (long)n;
}

/* Has hour any record read? (else its block hash expired or is gone: postings into it point at
 * what Redis let go, or what the chain checks say is deleted) */
/* The index of hour in rhours, or nrhours. */
static size_t rhour_find(const struct tq_vix *v, uint64_t hour)
{
    size_t lo = 0, hi = v->nrhours;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->rhours[mid] < hour)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->nrhours && v->rhours[lo] == hour ? lo : v->nrhours;
}

static int hour_has_records(const struct tq_vix *v, uint64_t hour)
{
    return rhour_find(v, hour) < v->nrhours;
}

/* The hours records were read in, sorted. Returns 0, or -1 (no memory). */
static int record_hours(struct tq_vix *v)
{
    if (v->nrecs == 0)
        return 0;
    if ((v->rhours = malloc(v->nrecs * sizeof(*v->rhours))) == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < v->nrecs; i++)
        v->rhours[i] = v->recs[i].hour;
    qsort(v->rhours, v->nrecs, sizeof(*v->rhours), u64_cmp);
    v->nrhours = 1;
    for (size_t i = 1; i < v->nrecs; i++)
        if (v->rhours[i] != v->rhours[v->nrhours - 1])
            v->rhours[v->nrhours++] = v->rhours[i];
    return 0;
}

/* The seals as far as the index checks need them: which items may have lost their index to
 * Redis (its keys expire on their own clock). A seal whose line was forged to say so fails
 * its signature in verify's chain checks. */
struct vseal {
    char run[17];
    uint64_t first, last, time_us, ttl_us, keep_us;
};

static int seal_cmp(const void *pa, const void *pb)
{
    const struct vseal *a = pa, *b = pb;
    int c = strcmp(a->run, b->run);

    return c != 0 ? c : a->first < b->first ? -1 : a->first > b->first;
}

static int read_seals(struct tq_vix *v, struct tw_rclient *c)
{
    char key[TW_KEY_LEN];
    redisReply *r;
    size_t cap = 0;

    tw_key_seals(key, sizeof(key), v->o->sensor);
    /* HGETALL, not HVALS: the reader users' ACL grants the reads the query tool needs, and
     * verify reads the seals so everywhere else (a field's name is not used here) */
    if ((r = tw_rclient_command(c, "HGETALL %s", key)) == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL seals");
    for (size_t i = 1; i < r->elements; i += 2) {
        struct tw_seal se;
        struct vseal *g;
        if (r->element[i]->type != REDIS_REPLY_STRING ||
            tw_seal_parse(r->element[i]->str, r->element[i]->len, &se) != 0)
            continue;
        if ((g = tq_grow(v->seals, v->nseals, &cap, sizeof(*g), 64)) == NULL) {
            freeReplyObject(r);
            return -1;
        }
        v->seals = g;
        g = &v->seals[v->nseals++];
        snprintf(g->run, sizeof(g->run), "%s", se.run);
        g->first = se.first;
        g->last = se.last;
        g->time_us = se.time_us;
        g->ttl_us = (uint64_t)se.ttl_s * 1000000;
        g->keep_us = (uint64_t)se.keep_s * 1000000;
        if (se.keep_s * (uint64_t)1000 > v->keep_ms)
            v->keep_ms = se.keep_s * (uint64_t)1000;
    }
    freeReplyObject(r);
    if (v->nseals > 1)
        qsort(v->seals, v->nseals, sizeof(*v->seals), seal_cmp);
    return 0;
}

/* May record (run, seq) have lost postings to Redis? When the seal that covers it is within
 * EXPIRE_SLACK_MS of its ttl: the writer refreshes each key's EXPIRE at most once a minute,
 * at its first write of the minute, so an hour's slices may expire that much before its
 * records. */
static int record_ending(const struct tq_vix *v, const char *run, uint64_t seq)
{
    size_t lo = 0, hi = v->nseals;

    while (lo < hi) { /* the last seal of run with first <= seq */
        size_t mid = (lo + hi) / 2;
        int c = strcmp(v->seals[mid].run, run);
        if (c < 0 || (c == 0 && v->seals[mid].first <= seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    const struct vseal *s = &v->seals[lo - 1];
    return strcmp(s->run, run) == 0 && seq <= s->last &&
           s->time_us + s->ttl_us < v->now_us + EXPIRE_SLACK_MS * 1000;
}

/* One slice (field f of key, in hour; bucket: the key's, -1 for x:a): its postings go to
 * v->act, those pointing at nothing or filed in the wrong bucket are said, one line each. */
static int read_slice(struct tq_vix *v, const char *key, uint64_t hour, int bucket,
                      const redisReply *f, const redisReply *val)
{
    char fs[41], err[160];
    uint8_t *raw = NULL;
    size_t rawlen, orphans = 0, misfiled = 0;
    struct tw_cx_cursor cur = {0};
    struct tw_cx_posting p;
    uint64_t o_hour = 0;
    unsigned o_ord = 0;
    uint32_t last = NO_REC;
    int rc;

    safe(f->str, f->len, fs);
    if (f->len != TW_CX_BLOCK_ID_LEN) {
        say(v, NULL, 0, "inserted: index: %s field %s is not a block id", key, fs);
        return 0;
    }
    if (val->type != REDIS_REPLY_STRING ||
        tw_cx_unpack('X', val->str, val->len, &raw, &rawlen, err, sizeof(err)) < 0) {
        say(v, NULL, 0, "altered: index: %s field %s is not an index slice", key, fs);
        return 0;
    }
    while ((rc = tw_cx_slice_next(raw, rawlen, &cur, &p)) == 1) {
        if (bucket >= 0 && tw_cx_bucket(p.kind, p.value, p.vlen) != (unsigned)bucket) {
            misfiled++;
            continue;
        }
        /* the records of a frame were read in order: the record after the last one found is
         * most often the next posting's (a group's postings come in the batch's order) */
        uint32_t ri = NO_REC;
        if (p.back <= hour && last != NO_REC) {
            uint64_t cand = (uint64_t)last + p.ordinal - v->recs[last].ord;
            const struct vrec *cr = &v->recs[cand < v->nrecs ? cand : last];
            if (cand < v->nrecs && cr->ord == p.ordinal && cr->hour == hour - p.back &&
                memcmp(cr->block, f->str, TW_CX_BLOCK_ID_LEN) == 0)
                ri = (uint32_t)cand;
        }
        if (ri == NO_REC && p.back <= hour)
            ri = rec_find(v, hour - p.back, f->str, p.ordinal);
        if (ri != NO_REC)
            last = ri;
        if (ri == NO_REC) {
            uint64_t rh = p.back <= hour ? hour - p.back : 0;
            if (p.back > hour || hour_has_records(v, rh)) {
                if (orphans++ == 0)
                    o_hour = rh, o_ord = p.ordinal;
            }
            continue;
        }
        struct vpost *a = post_add(&v->act, &v->nact, &v->acap);
        if (a == NULL) {
            free(raw);
            return -1;
        }
        a->hour = hour;
        a->last_us = p.last_seen_us;
        a->value = be_pad(p.value, p.vlen);
        a->detail = be_pad(p.detail, tw_cx_detail_len(p.kind));
        a->rec = ri;
        a->kind = (uint8_t)p.kind;
        a->vlen = p.vlen;
    }
    free(raw);
    if (rc < 0)
        say(v, NULL, 0, "altered: index: %s field %s is a malformed index slice", key, fs);
    if (orphans > 0)
        say(v, NULL, 0, "inserted: index: %s field %s: %zu posting%s point%s at no record (the "
            "first: hour %" PRIu64 " ordinal %u)", key, fs, orphans, orphans > 1 ? "s" : "",
            orphans > 1 ? "" : "s", o_hour, o_ord);
    if (misfiled > 0)
        say(v, NULL, 0, "altered: index: %s field %s: %zu posting%s of other buckets (flows "
            "looks for them elsewhere)", key, fs, misfiled, misfiled > 1 ? "s" : "");
    return 0;
}

/* Reads the 64 bucket keys and the quiet key of hour (one pipelined round). */
static int read_hour(struct tq_vix *v, struct tw_rclient *c, uint64_t hour)
{
    char key[TW_CX_BUCKETS + 1][TW_KEY_LEN];
    int rc = 0;

    for (unsigned b = 0; b <= TW_CX_BUCKETS; b++) {
        if (b < TW_CX_BUCKETS)
            tw_key_cx_index(key[b], sizeof(key[b]), v->o->sensor, hour, b);
        else
            tw_key_cx_index_quiet(key[b], sizeof(key[b]), v->o->sensor, hour);
        tw_rclient_append(c, "HGETALL %s", key[b]);
    }
    for (unsigned b = 0; b <= TW_CX_BUCKETS; b++) {
        redisReply *r = NULL;
        if (tw_rclient_get_reply(c, &r) != REDIS_OK || r == NULL || r->type != REDIS_REPLY_ARRAY) {
            tq_reply_failed(c, r, "HGETALL index");
            rc = -1; /* the connection is not reused after a failure */
            continue;
        }
        for (size_t i = 0; rc == 0 && i + 1 < r->elements; i += 2) {
            const redisReply *f = r->element[i];
            if (f->type != REDIS_REPLY_STRING)
                continue;
            if (read_slice(v, key[b], hour, b < TW_CX_BUCKETS ? (int)b : -1, f,
                           r->element[i + 1]) != 0)
                rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}

static int post_cmp(const void *pa, const void *pb)
{
    const struct vpost *a = pa, *b = pb;

    if (a->rec != b->rec)
        return a->rec < b->rec ? -1 : 1;
    if (a->hour != b->hour)
        return a->hour < b->hour ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->vlen != b->vlen)
        return a->vlen < b->vlen ? -1 : 1;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    if (a->detail != b->detail)
        return a->detail < b->detail ? -1 : 1;
    return a->last_us < b->last_us ? -1 : a->last_us > b->last_us;
}

/* A posting as a finding names it: "port 443 in hour H". */
static const char *post_text(const struct vpost *p, char *out, size_t len)
{
    uint8_t v[8], d[8];

    for (int i = 0; i < 8; i++) {
        v[i] = (uint8_t)(p->value >> (56 - 8 * i));
        d[i] = (uint8_t)(p->detail >> (56 - 8 * i));
    }
    switch (p->kind) {
    case TW_POST_TIME:
        snprintf(out, len, "time posting");
        break;
    case TW_POST_NET4:
        snprintf(out, len, "address posting %u.%u.%u.%u", v[0], v[1], v[2], d[0]);
        break;
    case TW_POST_NET6:
        snprintf(out, len, "address posting %02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", v[0], v[1],
                 v[2], v[3], v[4], v[5], v[6], v[7]);
        break;
    case TW_POST_PORT:
        snprintf(out, len, "port posting %u", (unsigned)d[0] << 8 | d[1]);
        break;
    default:
        snprintf(out, len, "posting of kind %u", p->kind);
    }
    size_t n = strlen(out);
    snprintf(out + n, len - n, " in hour %" PRIu64 " (last_seen %" PRIu64 " us)", p->hour,
             p->last_us);
    return out;
}

/* The postings of record ri: exp[e0..e1) expected, act[a0..a1) read; both sorted. */
static void check_record(struct tq_vix *v, uint32_t ri, const struct vpost *e, size_t ne,
                         const struct vpost *a, size_t na)
{
    const struct vrec *r = &v->recs[ri];
    uint64_t lo = r->last_h > r->first_h ? r->last_h - 1 : r->first_h;
    size_t i = 0, j = 0, missing = 0, wrong = 0;
    const struct vpost *m1 = NULL, *w1 = NULL;
    char t[160], run[17];

    if (!r->ok)
        return; /* its postings are not known: the chain checks say what happened to it */
    int ending = r->seq != 0 && record_ending(v, r->run, r->seq);
    /* a flow past max_hours has postings in its newest hours only (verify_index.h) */
    for (size_t k = 0; k < na; k++)
        if (a[k].hour < lo)
            lo = a[k].hour;
    while (i < ne || j < na) {
        if (j > 0 && j < na && post_cmp(&a[j - 1], &a[j]) == 0) {
            j++; /* the same posting twice (a batch's slice in x:a and in its bucket, say)
                  * hides nothing and describes the record: not a finding */
            continue;
        }
        int c = i == ne ? 1 : j == na ? -1 : post_cmp(&e[i], &a[j]);
        if (c == 0) {
            i++, j++;
        } else if (c < 0) {
            if (e[i].hour >= lo && missing++ == 0)
                m1 = &e[i];
            i++;
        } else {
            if (wrong++ == 0)
                w1 = &a[j];
            j++;
        }
    }
    snprintf(run, sizeof(run), "%s", r->seq ? r->run : "-");
    if (missing > 0 && !ending)
        say(v, r->seq ? r->run : NULL, r->seq, "altered: index: run %s seq %" PRIu64 " (hour %"
            PRIu64 ") lacks %zu posting%s, the first its %s: flows would not find it by it",
            run, r->seq, r->hour, missing, missing > 1 ? "s" : "", post_text(m1, t, sizeof(t)));
    if (wrong > 0)
        say(v, r->seq ? r->run : NULL, r->seq, "altered: index: %zu posting%s name%s run %s seq %"
            PRIu64 " (hour %" PRIu64 ") but do%s not describe it, the first a %s", wrong,
            wrong > 1 ? "s" : "", wrong > 1 ? "" : "s", run, r->seq, r->hour,
            wrong > 1 ? "" : "es", post_text(w1, t, sizeof(t)));
}

/* Puts v->act in post_cmp's order: by record (counting), then each record's few (sort_few). A
 * qsort of every posting cost as much as the rest of the checks. */
static int sort_by_record(struct tq_vix *v)
{
    size_t *start = calloc(v->nrecs + 1, sizeof(*start));
    struct vpost *out = malloc((v->nact ? v->nact : 1) * sizeof(*out));

    if (start == NULL || out == NULL) {
        free(start), free(out);
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < v->nact; i++)
        start[v->act[i].rec + 1]++;
    for (size_t r = 0; r < v->nrecs; r++)
        start[r + 1] += start[r];
    for (size_t i = 0; i < v->nact; i++)
        out[start[v->act[i].rec]++] = v->act[i];
    for (size_t r = 0, b = 0; r < v->nrecs; r++) { /* start[r] is now record r's end */
        sort_few(out + b, start[r] - b);
        b = start[r];
    }
    free(v->act);
    v->act = out;
    v->acap = v->nact ? v->nact : 1;
    free(start);
    return 0;
}

static int check_flows(struct tq_vix *v, struct tw_rclient *c)
{
    uint64_t *hours = NULL;
    long nh;
    size_t i = 0, j = 0;

    if (record_hours(v) != 0 || (nh = index_hours(v, c, &hours)) < 0)
        return -1;
    for (long k = 0; k < nh; k++)
        if (read_hour(v, c, hours[k]) != 0) {
            free(hours);
            return -1;
        }
    free(hours);
    if (sort_by_record(v) != 0)
        return -1;
    while (i < v->nexp || j < v->nact) {
        uint32_t ri = i < v->nexp ? v->exp[i].rec : NO_REC;
        if (j < v->nact && v->act[j].rec < ri)
            ri = v->act[j].rec;
        size_t i1 = i, j1 = j;
        while (i1 < v->nexp && v->exp[i1].rec == ri)
            i1++;
        while (j1 < v->nact && v->act[j1].rec == ri)
            j1++;
        check_record(v, ri, v->exp + i, i1 - i, v->act + j, j1 - j);
        i = i1, j = j1;
    }
    return 0;
}

/* ---- the alert index ---- */

/* "1772442300.026000" -> microseconds; 0 when not such a text */
static uint64_t ts_text(const char *s, size_t len)
{
    uint64_t sec = 0, us = 0;
    size_t i = 0;
    int d = 0;

    for (; i < len && s[i] >= '0' && s[i] <= '9' && i < 12; i++)
        sec = sec * 10 + (uint64_t)(s[i] - '0');
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9' && d < 6; i++, d++)
            us = us * 10 + (uint64_t)(s[i] - '0');
    for (; d < 6; d++)
        us *= 10;
    return i == len ? sec * 1000000 + us : 0;
}

/* "<ms>-<seq>" -> 0, or -1 */
static int id_parse(const char *s, size_t len, uint64_t *ms, uint64_t *sq)
{
    char buf[48], *end;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *ms = strtoull(buf, &end, 10);
    if (*end != '-' || end == buf)
        return -1;
    *sq = strtoull(end + 1, &end, 10);
    return *end == '\0' ? 0 : -1;
}

static int alert_cmp(const void *pa, const void *pb)
{
    const struct valert *a = pa, *b = pb;

    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    return a->sq < b->sq ? -1 : a->sq > b->sq;
}

static struct valert *alert_add(struct valert **a, size_t *n, size_t *cap)
{
    struct valert *p = tq_grow(*a, *n, cap, sizeof(**a), 256);

    if (p == NULL)
        return NULL;
    *a = p;
    memset(&(*a)[*n], 0, sizeof(**a));
    return &(*a)[(*n)++];
}

/* The stream's alerts: id, ts, run, seq (XRANGE by pages). */
static int read_alert_stream(struct tw_rclient *c, const char *key, struct valert **out,
                             size_t *n)
{
    char start[48] = "-";
    size_t cap = 0;

    for (;;) {
        redisReply *r = tw_rclient_command(c, "XRANGE %s %s + COUNT %d", key, start, TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY)
            return tq_reply_failed(c, r, "XRANGE alerts");
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            struct valert a = {0};
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING ||
                e->element[1]->type != REDIS_REPLY_ARRAY ||
                id_parse(e->element[0]->str, e->element[0]->len, &a.ms, &a.sq) != 0)
                continue;
            const redisReply *fv = e->element[1];
            for (size_t k = 0; k + 1 < fv->elements; k += 2) {
                const redisReply *f = fv->element[k], *val = fv->element[k + 1];
                if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
                    continue;
                if (strcmp(f->str, "ts") == 0)
                    a.ts_us = ts_text(val->str, val->len);
                else if (strcmp(f->str, "run") == 0 && val->len == 16)
                    memcpy(a.run, val->str, 17);
                else if (strcmp(f->str, "seq") == 0)
                    tq_parse_uint(val->str, 1, UINT64_MAX, &a.seq);
            }
            struct valert *p = alert_add(out, n, &cap);
            if (p == NULL) {
                freeReplyObject(r);
                return -1;
            }
            *p = a;
        }
        size_t got = r->elements;
        if (got > 0) {
            const redisReply *last = r->element[got - 1];
            if (last->type == REDIS_REPLY_ARRAY && last->elements == 2 &&
                last->element[0]->type == REDIS_REPLY_STRING)
                snprintf(start, sizeof(start), "(%s", last->element[0]->str);
        }
        freeReplyObject(r);
        if (got < TQ_PAGE)
            return 0;
    }
}

static int check_alerts(struct tq_vix *v, struct tw_rclient *c)
{
    char skey[TW_KEY_LEN], hkey[TW_KEY_LEN], tkey[TW_KEY_LEN], name[41];
    struct valert *al = NULL, *ix = NULL;
    size_t nal = 0, nix = 0, icap = 0;
    uint64_t *hours = NULL, *listed = NULL;
    size_t nh = 0, hcap = 0, nlisted = 0, lcap = 0;
    redisReply *r;
    int rc = -1;

    tw_key_alerts(skey, sizeof(skey), v->o->sensor);
    tw_key_alerts_hours(hkey, sizeof(hkey), v->o->sensor);
    if (read_alert_stream(c, skey, &al, &nal) != 0)
        goto out;
    /* An alert's time index key expires redis.retention after the last alert of its hour was
     * written, and XADD MINID ~ trims the stream only by whole nodes, later: an alert written
     * (its id) more than the retention (the seals' keep) ago may be without its index. */
    uint64_t now_ms = v->now_us / 1000, old_ms = now_ms > v->keep_ms ? now_ms - v->keep_ms : 0;
    if (v->keep_ms == 0)
        old_ms = 0;
    if ((r = tw_rclient_command(c, "ZRANGE %s 0 -1 WITHSCORES", hkey)) == NULL ||
        r->type != REDIS_REPLY_ARRAY) {
        tq_reply_failed(c, r, "ZRANGE alerts:hours");
        goto out;
    }
    /* the hours listed: member = score = hour (alert_writer.c's script) */
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *m = r->element[i], *s = r->element[i + 1];
        uint64_t h, sh;
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING ||
            tq_parse_uint(m->str, 0, UINT64_MAX / TW_US_PER_HOUR - 1, &h) != 0 ||
            tq_parse_uint(s->str, 0, UINT64_MAX, &sh) != 0 || sh != h) {
            say(v, NULL, 0, "inserted: index: %s member %s is not an hour", hkey,
                m->type == REDIS_REPLY_STRING ? safe(m->str, m->len, name) : "?");
            continue;
        }
        uint64_t *g = tq_grow(listed, nlisted, &lcap, sizeof(*listed), 64);
        if (g == NULL) {
            freeReplyObject(r);
            goto out;
        }
        listed = g;
        listed[nlisted++] = h;
    }
    freeReplyObject(r);
    /* the hours to read: those listed, and those of the alerts, in the range */
    for (size_t i = 0; i < nlisted + nal; i++) {
        uint64_t h = i < nlisted ? listed[i] : al[i - nlisted].ts_us / TW_US_PER_HOUR;
        if (!hour_in_range(v, h) || (nh > 0 && hours[nh - 1] == h))
            continue;
        uint64_t *g = tq_grow(hours, nh, &hcap, sizeof(*hours), 64);
        if (g == NULL)
            goto out;
        hours = g;
        hours[nh++] = h;
    }
    if (nh > 1) {
        qsort(hours, nh, sizeof(*hours), u64_cmp);
        size_t u = 1;
        for (size_t i = 1; i < nh; i++)
            if (hours[i] != hours[u - 1])
                hours[u++] = hours[i];
        nh = u;
    }
    for (size_t i = 0; i < nh; i++) {
        tw_key_alerts_time(tkey, sizeof(tkey), v->o->sensor, hours[i]);
        tw_rclient_append(c, "ZRANGE %s 0 -1 WITHSCORES", tkey);
    }
    for (size_t i = 0; i < nh; i++) {
        if (tw_rclient_get_reply(c, &r) != REDIS_OK || r == NULL || r->type != REDIS_REPLY_ARRAY) {
            tq_reply_failed(c, r, "ZRANGE alerts:t");
            goto out;
        }
        tw_key_alerts_time(tkey, sizeof(tkey), v->o->sensor, hours[i]);
        for (size_t k = 0; k + 1 < r->elements; k += 2) {
            const redisReply *m = r->element[k], *s = r->element[k + 1];
            struct valert *e;
            uint64_t ms, sq, ts;
            if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING ||
                id_parse(m->str, m->len, &ms, &sq) != 0 ||
                tq_parse_uint(s->str, 0, UINT64_MAX, &ts) != 0) {
                say(v, NULL, 0, "inserted: index: %s entry %s is not an alert's", tkey,
                    m->type == REDIS_REPLY_STRING ? safe(m->str, m->len, name) : "?");
                continue;
            }
            if ((e = alert_add(&ix, &nix, &icap)) == NULL) {
                freeReplyObject(r);
                goto out;
            }
            e->ms = ms, e->sq = sq, e->ts_us = ts, e->hour = hours[i];
        }
        freeReplyObject(r);
    }
    if (nix > 1)
        qsort(ix, nix, sizeof(*ix), alert_cmp);
    if (nal > 1)
        qsort(al, nal, sizeof(*al), alert_cmp);
    /* both by id: each alert against its entries (one expected), each entry against an alert */
    for (size_t i = 0, j = 0; i < nal || j < nix;) {
        int cmp = i == nal ? 1 : j == nix ? -1 : alert_cmp(&al[i], &ix[j]);
        if (cmp > 0) { /* an entry no alert has: trimmed from the stream if older than it */
            if (nal > 0 && alert_cmp(&ix[j], &al[0]) > 0) {
                tw_key_alerts_time(tkey, sizeof(tkey), v->o->sensor, ix[j].hour);
                say(v, NULL, 0, "inserted: index: %s entry %" PRIu64 "-%" PRIu64 " points at no "
                    "alert", tkey, ix[j].ms, ix[j].sq);
            }
            j++;
            continue;
        }
        const struct valert *a = &al[i];
        uint64_t h = a->ts_us / TW_US_PER_HOUR;
        const char *run = a->seq ? a->run : NULL;
        int found = 0;
        for (; j < nix && cmp == 0 && alert_cmp(&ix[j], a) == 0; j++) {
            if (ix[j].hour == h && ix[j].ts_us == a->ts_us) {
                found = 1;
                continue;
            }
            tw_key_alerts_time(tkey, sizeof(tkey), v->o->sensor, ix[j].hour);
            say(v, run, a->seq, "altered: index: %s entry %" PRIu64 "-%" PRIu64 " says ts %"
                PRIu64 " us, the alert (run %s seq %" PRIu64 ") %" PRIu64, tkey, a->ms, a->sq,
                ix[j].ts_us, a->run, a->seq, a->ts_us);
        }
        i++;
        if (!hour_in_range(v, h) || a->ms < old_ms) /* not read; past its retention */
            continue;
        int in_hours = 0;
        for (size_t k = 0; k < nlisted && !in_hours; k++)
            in_hours = listed[k] == h;
        tw_key_alerts_time(tkey, sizeof(tkey), v->o->sensor, h);
        if (!found)
            say(v, run, a->seq, "altered: index: alert %" PRIu64 "-%" PRIu64 " (run %s seq %"
                PRIu64 ") is not in %s with its ts: alerts --since/--until would not list it",
                a->ms, a->sq, a->run[0] ? a->run : "-", a->seq, tkey);
        if (!in_hours)
            say(v, run, a->seq, "altered: index: alert %" PRIu64 "-%" PRIu64 " (run %s seq %"
                PRIu64 "): its hour %" PRIu64 " is not in %s: alerts --since/--until would not "
                "list it", a->ms, a->sq, a->run[0] ? a->run : "-", a->seq, h, hkey);
    }
    rc = 0;
out:
    free(al);
    free(ix);
    free(hours);
    free(listed);
    return rc;
}

int tq_vix_check(struct tq_vix *v, struct tw_rclient *c)
{
    v->now_us = tw_wall_us();
    return read_seals(v, c) != 0 || check_flows(v, c) != 0 || check_alerts(v, c) != 0 ? -1 : 0;
}
