/* verify_summaries.c - verify's checks of the sealed summaries (verify_summaries.h). */
#include "control/query/verify_summaries.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/evidence/chain.h"
#include "control/evidence/sum_snapshot.h"
#include "control/record/keys.h"

/* One sealed bucket: the sum of its snapshots, and the newest one (for the finding). */
struct vbucket {
    struct tw_sum_bucket sum; /* sum.e malloc'd, cap entries */
    size_t cap;
    char run[17];
    uint64_t seq;
};

struct tq_vsum {
    const struct tq_opts *o;
    struct tq_vst_hooks h;
    struct vbucket *b;
    size_t n, cap;
    uint64_t snapshots;
};

static void say(struct tq_vsum *v, const char *run, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(struct tq_vsum *v, const char *run, uint64_t seq, const char *fmt, ...)
{
    char line[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    v->h.finding(v->h.arg, run, seq, line);
}

/* <E>:<h|d>:<n> of tw:{S}:sum-sealed into b's header. Returns 0, or -1 when it is not one
 * (equipment names are [A-Za-z0-9_.-], alert.h). */
static int member(const char *m, size_t len, struct tw_sum_bucket *b)
{
    const char *c2 = NULL, *c1 = NULL;
    char num[24];
    char *end;

    for (size_t i = len; i-- > 0;)
        if (m[i] == ':') {
            if (c2 == NULL)
                c2 = m + i;
            else {
                c1 = m + i;
                break;
            }
        }
    if (c1 == NULL || c1 == m || c1 - m > TW_SUM_EQUIPMENT_MAX || c2 - c1 != 2 ||
        (c1[1] != 'h' && c1[1] != 'd') || (size_t)(m + len - c2 - 1) >= sizeof(num) ||
        m + len - c2 - 1 == 0)
        return -1;
    for (const char *p = m; p < c1; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return -1;
    memset(b, 0, sizeof(*b));
    memcpy(b->equipment, m, (size_t)(c1 - m));
    b->by = c1[1];
    memcpy(num, c2 + 1, (size_t)(m + len - c2 - 1));
    num[m + len - c2 - 1] = '\0';
    if (num[0] < '0' || num[0] > '9')
        return -1;
    b->bucket = strtoull(num, &end, 10);
    return *end == '\0' ? 0 : -1;
}

static int add_entries(struct vbucket *vb, const struct tw_sum_entry *e, size_t n)
{
    if (vb->sum.n + n > vb->cap) {
        size_t nc = vb->cap ? vb->cap : 64;
        while (nc < vb->sum.n + n)
            nc *= 2;
        struct tw_sum_entry *ne = realloc(vb->sum.e, nc * sizeof(*ne));
        if (ne == NULL)
            return -1;
        vb->sum.e = ne;
        vb->cap = nc;
    }
    memcpy(vb->sum.e + vb->sum.n, e, n * sizeof(*e));
    vb->sum.n += n;
    return 0;
}

/* The snapshots of one bucket (vb's header set). */
static int read_bucket(struct tq_vsum *v, struct tw_rclient *c, struct vbucket *vb)
{
    char key[TW_KEY_LEN], where[TW_KEY_LEN + 48];
    redisReply *r;

    if (tw_key_summary(key, sizeof(key), v->o->sensor, vb->sum.equipment, vb->sum.by,
                       vb->sum.bucket, "seals") < 0)
        return 0;
    if ((r = tw_rclient_command(c, "HGETALL %s", key)) == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL summary seals");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *val = r->element[i + 1];
        struct tw_sum_bucket snap;
        uint64_t seq = 0;
        char run[17] = "";
        if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
            continue;
        snprintf(where, sizeof(where), "%s %.*s", key, (int)(f->len < 40 ? f->len : 40), f->str);
        int ok = tw_sum_parse(val->str, val->len, &snap, &seq, run) == 0;
        if (!ok || seq == 0) {
            /* not a snapshot any more: its number from the field, so that the chain says
             * which item changed */
            unsigned long long q = 0;
            char fr[17];
            if (f->len < 48 && sscanf(f->str, "%16[0-9a-f]:%llu", fr, &q) == 2 && q != 0 &&
                strlen(fr) == 16) {
                snprintf(run, sizeof(run), "%s", fr);
                seq = q;
            } else {
                say(v, NULL, 0, "inserted: summary snapshot %s has no sequence number", where);
                free(snap.e);
                continue;
            }
        }
        v->snapshots++;
        if (v->h.item(v->h.arg, run, seq, TW_ITEM_SUMMARY, val->str, val->len, where) != 0) {
            free(snap.e);
            freeReplyObject(r);
            return -1;
        }
        if (ok && (strcmp(snap.equipment, vb->sum.equipment) != 0 || snap.by != vb->sum.by ||
                   snap.bucket != vb->sum.bucket))
            say(v, run, seq, "altered: summary snapshot %s names another bucket (%s:%c:%" PRIu64
                ")", where, snap.equipment, snap.by, snap.bucket);
        else if (ok && add_entries(vb, snap.e, snap.n) != 0) {
            free(snap.e);
            freeReplyObject(r);
            fprintf(stderr, PROG ": out of memory\n");
            return -1;
        }
        if (strcmp(run, vb->run) > 0 || (strcmp(run, vb->run) == 0 && seq > vb->seq)) {
            snprintf(vb->run, sizeof(vb->run), "%s", run);
            vb->seq = seq;
        }
        free(snap.e);
    }
    freeReplyObject(r);
    return 0;
}

int tq_vsum_read(struct tw_rclient *c, const struct tq_opts *o, const struct tq_vst_hooks *hooks,
                 struct tq_vsum **out)
{
    struct tq_vsum *v = calloc(1, sizeof(*v));
    char key[TW_KEY_LEN];
    redisReply *r = NULL;

    *out = v;
    if (v == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    v->o = o;
    v->h = *hooks;
    tw_key_sum_sealed(key, sizeof(key), o->sensor);
    /* ZRANGEBYSCORE, not ZRANGE: what the regulator's ACL grants (redis_acl.c) */
    if ((r = tw_rclient_command(c, "ZRANGEBYSCORE %s -inf +inf", key)) == NULL ||
        r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "ZRANGEBYSCORE sum-sealed");
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *m = r->element[i];
        struct vbucket *vb;
        if (m->type != REDIS_REPLY_STRING)
            continue;
        if ((vb = tq_grow(v->b, v->n, &v->cap, sizeof(*vb), 64)) == NULL) {
            freeReplyObject(r);
            return -1;
        }
        v->b = vb;
        vb = &v->b[v->n];
        memset(vb, 0, sizeof(*vb));
        /* a member that names no bucket: the snapshots it should have named are missing
         * from the chain, said there */
        if (member(m->str, m->len, &vb->sum) != 0)
            continue;
        v->n++;
        if (read_bucket(v, c, vb) != 0) {
            freeReplyObject(r);
            return -1;
        }
    }
    freeReplyObject(r);
    return 0;
}

/* A zset's members and integer scores as entries of sect. Returns 0 (*bad set when a score
 * or a member cannot be the sensor's), or -1 (Redis failed, said). */
static int read_zset(struct tw_rclient *c, const char *key, char sect, struct vbucket *live,
                     int *bad)
{
    redisReply *r = tw_rclient_command(c, "ZRANGEBYSCORE %s -inf +inf WITHSCORES", key);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "ZRANGEBYSCORE summary");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *m = r->element[i], *s = r->element[i + 1];
        struct tw_sum_entry e = {.sect = sect};
        char num[64], *end;
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING || s->len >= sizeof(num))
            continue;
        memcpy(num, s->str, s->len);
        num[s->len] = '\0';
        double d = strtod(num, &end);
        if (*end != '\0' || d != floor(d) || fabs(d) > 9.2e18)
            *bad = 1;
        else
            e.value = (int64_t)d;
        e.nlen = (uint8_t)(m->len < TW_SUM_NAME_MAX ? m->len : TW_SUM_NAME_MAX);
        *bad |= m->len > TW_SUM_NAME_MAX;
        memcpy(e.name, m->str, e.nlen);
        if (add_entries(live, &e, 1) != 0) {
            freeReplyObject(r);
            return -1;
        }
    }
    freeReplyObject(r);
    return 0;
}

static int read_hash(struct tw_rclient *c, const char *key, struct vbucket *live, int *bad)
{
    redisReply *r = tw_rclient_command(c, "HGETALL %s", key);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL summary");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *val = r->element[i + 1];
        struct tw_sum_entry e = {.sect = 'f'};
        char num[32], *end;
        if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
            continue;
        if (val->len == 0 || val->len >= sizeof(num)) {
            *bad = 1;
        } else {
            memcpy(num, val->str, val->len);
            num[val->len] = '\0';
            e.value = (int64_t)strtoll(num, &end, 10);
            *bad |= *end != '\0';
        }
        e.nlen = (uint8_t)(f->len < TW_SUM_NAME_MAX ? f->len : TW_SUM_NAME_MAX);
        *bad |= f->len > TW_SUM_NAME_MAX;
        memcpy(e.name, f->str, e.nlen);
        if (add_entries(live, &e, 1) != 0) {
            freeReplyObject(r);
            return -1;
        }
    }
    freeReplyObject(r);
    return 0;
}

static char *render_all(const struct tw_sum_bucket *b)
{
    size_t cap = TW_SUM_LINE_MAX * (b->n + 2) + TW_SUM_TAG_MAX, from = 0;
    char *t = malloc(cap);

    if (t != NULL && tw_sum_render(b, &from, 0, "", t, cap) < 0)
        t[0] = '\0';
    return t;
}

/* Says how the two normalized buckets first differ, into out. Returns the section of the
 * entry that differs ('f' when none does: a value that is not a number). */
static char first_diff(const struct tw_sum_bucket *want, const struct tw_sum_bucket *got,
                       char *out, size_t len)
{
    char w[TW_SUM_LINE_MAX], g[TW_SUM_LINE_MAX];
    size_t i = 0, j = 0;

    while (i < want->n && j < got->n && tw_sum_entry_cmp(&want->e[i], &got->e[j]) == 0 &&
           want->e[i].value == got->e[j].value)
        i++, j++;
    int c = i == want->n ? 1 : j == got->n ? -1 : tw_sum_entry_cmp(&want->e[i], &got->e[j]);
    if (i < want->n)
        tw_sum_line(&want->e[i], w);
    if (j < got->n)
        tw_sum_line(&got->e[j], g);
    char sect = i < want->n && c <= 0 ? want->e[i].sect : j < got->n ? got->e[j].sect : 'f';
    if (i == want->n && j == got->n)
        snprintf(out, len, "a value is not what the sensor writes");
    else if (c < 0)
        snprintf(out, len, "Redis has no \"%s\" the sealed snapshots sum to", w);
    else if (c > 0)
        snprintf(out, len, "Redis holds \"%s\" no sealed snapshot has", g);
    else
        snprintf(out, len, "Redis holds \"%s\" where the sealed snapshots sum to \"%s\"", g, w);
    return sect;
}

static int has_sect(const struct tw_sum_bucket *b, char sect)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->e[i].sect == sect)
            return 1;
    return 0;
}

static int check_bucket(struct tq_vsum *v, struct tw_rclient *c, struct vbucket *vb)
{
    static const char sects[] = "fpac";
    static const char *const suffix[] = {NULL, "peers", "apps", "countries"};
    char keys[4][TW_KEY_LEN], bkey[TW_KEY_LEN], num[24];
    struct vbucket live = {.sum = vb->sum};
    int bad = 0, rc = 0;
    redisReply *r;

    live.sum.e = NULL;
    live.sum.n = 0;
    if (vb->seq == 0) /* no snapshot left: the chain says which are missing */
        return 0;
    for (int i = 0; i < 4; i++)
        if (tw_key_summary(keys[i], TW_KEY_LEN, v->o->sensor, vb->sum.equipment, vb->sum.by,
                           vb->sum.bucket, suffix[i]) < 0)
            return 0;
    if (read_hash(c, keys[0], &live, &bad) != 0 || read_zset(c, keys[1], 'p', &live, &bad) != 0 ||
        read_zset(c, keys[2], 'a', &live, &bad) != 0 ||
        (vb->sum.by == 'd' && read_zset(c, keys[3], 'c', &live, &bad) != 0)) {
        free(live.sum.e);
        return -1;
    }
    tw_sum_normalize(&vb->sum);
    tw_sum_normalize(&live.sum);
    char *want = render_all(&vb->sum), *got = render_all(&live.sum);
    if (want == NULL || got == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        rc = -1;
    } else if (bad || strcmp(want, got) != 0) {
        int said = 0;
        for (int i = 0; i < 4; i++)
            if (has_sect(&vb->sum, sects[i]) && !has_sect(&live.sum, sects[i])) {
                say(v, vb->run, vb->seq, "deleted: summary %s (sealed up to run %s seq %" PRIu64 ")",
                    keys[i], vb->run, vb->seq);
                said = 1;
            }
        if (!said) {
            char d[2 * TW_SUM_LINE_MAX + 80];
            const char *k = keys[strchr(sects, first_diff(&vb->sum, &live.sum, d, sizeof(d))) - sects];
            say(v, vb->run, vb->seq, "altered: summary %s: %s (newest snapshot: run %s seq %"
                PRIu64 ")", k, d, vb->run, vb->seq);
        }
    }
    free(want);
    free(got);
    free(live.sum.e);
    if (rc != 0)
        return rc;
    /* listed where `summary` finds its buckets */
    tw_key_summary_buckets(bkey, sizeof(bkey), v->o->sensor, vb->sum.equipment, vb->sum.by);
    snprintf(num, sizeof(num), "%" PRIu64, vb->sum.bucket);
    if ((r = tw_rclient_command(c, "ZRANGEBYSCORE %s %s %s", bkey, num, num)) == NULL ||
        r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "ZRANGEBYSCORE summary buckets");
    int listed = 0;
    for (size_t i = 0; i < r->elements; i++)
        listed |= r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len == strlen(num) &&
                  memcmp(r->element[i]->str, num, r->element[i]->len) == 0;
    if (!listed)
        say(v, vb->run, vb->seq, "deleted: summary %s bucket %s (sealed up to run %s seq %" PRIu64
            ")", bkey, num, vb->run, vb->seq);
    freeReplyObject(r);
    return 0;
}

int tq_vsum_check(struct tq_vsum *v, struct tw_rclient *c)
{
    for (size_t i = 0; i < v->n; i++)
        if (check_bucket(v, c, &v->b[i]) != 0)
            return -1;
    if (v->n > 0)
        printf("summaries: %zu buckets sealed in %" PRIu64 " snapshots, checked against Redis\n",
               v->n, v->snapshots);
    return 0;
}

void tq_vsum_free(struct tq_vsum *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->b[i].sum.e);
    free(v->b);
    free(v);
}
