/* cmd_verify.c - `tapwatch-query verify --pubkey FILE.pub [--pubkey NEW.pub ...] [--since T]
 * [--until T]`: checks a sensor's evidence (control/evidence/chain.h, seal.h) from Redis and
 * its public keys alone.
 *
 *   0. with several keys, the key rotations (tw:{S}:rotations, key_set.h): the first key is
 *      trusted, a later one from the valid rotation that admits it (a rotation that is not
 *      valid is a bad signature finding);
 *   1. the seals (tw:{S}:seals): each signature against the key accepted at its time (its
 *      `key` names it), then per run the links: numbers 1, 2, ... without a hole, prev_seal
 *      the hash of the seal before, prev_chain its chain, first its last + 1;
 *   2. the items: every record frame of every hour (tw:{S:H}:b), every alert (tw:{S}:alerts),
 *      every gap record (tw:{S}:gaps), every statement (tw:{S}:statements, read and checked
 *      in verify_statements.c), each with its run and sequence number (chain.h);
 *   3. per seal in the range (its time in [--since, --until]): the items first..last, in
 *      sequence order, must hash from prev_chain to chain.
 *   4. the indexes `flows` and `alerts` read, in the range (verify_index.h): every record and
 *      alert reachable through each index it must be in, each entry pointing at one it describes.
 *      and, without --since/--until, each sealed summary bucket holds what its snapshots
 *      (items of kind 'u') sum to (verify_summaries.c).
 *
 * One line per finding, then a summary line. Findings: altered (a seal's items do not hash to
 * its chain), deleted (sequence numbers no item holds, before their hot window ended; a seal
 * missing between two others), inserted (an item no seal covers, or without a sequence number,
 * or a second different item under a number), reordered (an item stored twice: an older one
 * replayed), bad signature (a seal the key did not sign, or not a seal line), and, not errors:
 * gap (the sensor's own record of records it lost) and expired (numbers missing after the
 * seal's time + its hot window: Redis expired them, counted in the summary); unwatched
 * (verify_statements.h: spans no statement covers, errors or told).
 * Exit 0 when every seal and item verifies, 3 when not (the summary names the first bad
 * sequence number), 1 when Redis fails, 2 for a bad command line or key file.
 *
 * Read-only: HGETALL, ZRANGE, XRANGE, and INFO stats for Redis's count of evicted keys (said in
 * a note line when not 0; skipped when the user may not run INFO), on every master of a Redis
 * Cluster (CLUSTER SLOTS: a sensor's {S} and {S:H} keys lie on several).
 *
 * The same reads and chain checks, quiet, give `flows --verify` and `alerts --verify` each
 * item's outcome (tq_verify_items, verify_items.h): steps 1 to 3 over every seal, no index,
 * statement span or witness checks.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "control/evidence/chain.h"
#include "control/evidence/seal.h"
#include "control/evidence/sign_key.h"
#include "control/query/compact_read.h"
#include "control/query/key_set.h"
#include "control/query/query.h"
#include "control/query/verify_items.h"
#include "control/query/verify_index.h"
#include "control/query/verify_statements.h"
#include "control/query/verify_summaries.h"
#include "control/record/compact.h"
#include "control/record/keys.h"
#include "dataplane/clock.h"

#define EXIT_UNVERIFIED 3

#define MAX_PUBKEYS 8 /* --audit: the keys of the programs that answer (a rotation, consoles) */

static const char *pubkey_paths[MAX_PUBKEYS];
static size_t npubkeys;
static int audit_mode;        /* --audit: the query audit trail (audit_verify.c) */
static const char *known_head; /* --known-head SEQ:HASH, with --audit */

static int parse_pubkey(const char *value)
{
    if (npubkeys == MAX_PUBKEYS)
        return tq_usage_error("at most %d --pubkey", MAX_PUBKEYS);
    pubkey_paths[npubkeys++] = value;
    return 0;
}

static int parse_audit(const char *value)
{
    (void)value;
    audit_mode = 1;
    return 0;
}

static int parse_known_head(const char *value)
{
    known_head = value;
    return tq_audit_known_head_check(value);
}

static int check(const struct tq_opts *o)
{
    if (tq_witness_check(audit_mode) != 0)
        return EXIT_USAGE;
    if (audit_mode) /* the bank's trail, one for its sensors */
        return tq_sensors_several(o) ? tq_usage_error("verify --audit checks a bank's trail: "
                                                      "--bank NAME, not several sensors")
                                     : 0;
    if (known_head != NULL)
        return tq_usage_error("--known-head goes with --audit");
    if (tq_sensors_several(o)) /* each sensor has its own key */
        return tq_usage_error("verify checks one sensor at a time (--sensor NAME)");
    return npubkeys == 0 ? tq_usage_error("verify needs --pubkey FILE.pub") : 0;
}

/* verify --audit: the query audit trail of --bank, with every --pubkey given. */
static int run_audit(struct tw_rclient *c, const struct tq_opts *o)
{
    uint8_t pks[MAX_PUBKEYS][TW_SIGN_PK_LEN];
    char fprs[MAX_PUBKEYS][TW_SIGN_FPR_LEN + 1], err[512];
    int rc;

    for (size_t i = 0; i < npubkeys; i++)
        if (tw_sign_pub_load(pubkey_paths[i], pks[i], fprs[i], err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": --pubkey: %s\n", err);
            return EXIT_USAGE;
        }
    rc = tq_audit_verify(c, o->bank, (const uint8_t(*)[TW_SIGN_PK_LEN])pks,
                         (const char(*)[TW_SIGN_FPR_LEN + 1])fprs, npubkeys, known_head, stdout);
    if (rc == EXIT_REDIS || rc == EXIT_USAGE)
        return rc;
    tq_rows += 1; /* its answer: one summary line */
    int f = tq_finish(0);
    return f != 0 ? f : rc;
}

/* One item as read back. */
struct item {
    char run[17];
    uint64_t seq;
    char kind;
    char *bytes; /* malloc'd */
    size_t len;
    char where[TW_KEY_LEN + 64]; /* the key (and field) it was read from, for messages */
};

struct seal_rec {
    struct tw_seal s;
    int good; /* signature checked */
};

struct ctx {
    const struct tq_opts *o;
    struct tq_key_set keys;     /* every key given, across rotations (key_set.h) */
    uint64_t now_us;
    struct item *items;
    size_t nitems, cap;
    struct seal_rec *seals;
    size_t nseals, scap;
    struct tq_vix *vix;   /* the index checks: every record read goes there */
    /* counts */
    uint64_t findings, expired, gaps, records, alerts, gap_records, checked;
    int has_bad;
    char bad_run[17];
    uint64_t bad_seq;
    /* tq_verify_items (flows --verify, alerts --verify): nothing printed, and each item's
     * outcome (enum tq_vi_status, per item once sorted) handed to result */
    int quiet, failed;
    uint8_t *st;
    tq_vi_result *result;
    void *result_arg;
};

static void finding(struct ctx *x, const char *run, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void finding(struct ctx *x, const char *run, uint64_t seq, const char *fmt, ...)
{
    va_list ap;

    if (!x->quiet) {
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
    }
    x->findings++;
    if (run != NULL && seq != 0 &&
        (!x->has_bad || strcmp(run, x->bad_run) < 0 ||
         (strcmp(run, x->bad_run) == 0 && seq < x->bad_seq))) {
        x->has_bad = 1;
        snprintf(x->bad_run, sizeof(x->bad_run), "%s", run);
        x->bad_seq = seq;
    }
}

static int add_item(struct ctx *x, const char *run, uint64_t seq, char kind, const void *bytes,
                    size_t len, const char *where)
{
    struct item *it;

    if ((it = tq_grow(x->items, x->nitems, &x->cap, sizeof(*it), 1024)) == NULL)
        return -1;
    x->items = it;
    it = &x->items[x->nitems];
    memset(it, 0, sizeof(*it));
    snprintf(it->run, sizeof(it->run), "%s", run);
    it->seq = seq;
    it->kind = kind;
    if ((it->bytes = malloc(len + 1)) == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    memcpy(it->bytes, bytes, len);
    it->bytes[len] = '\0'; /* for the gap record's reason */
    it->len = len;
    snprintf(it->where, sizeof(it->where), "%s", where);
    x->nitems++;
    return 0;
}

/* A JSON item (record, gap): tagged, or an untagged one no seal can cover. */
static int add_json(struct ctx *x, char kind, const char *json, size_t len, const char *where)
{
    uint64_t seq;
    char run[17];

    if (tw_chain_json_untag(json, len, &seq, run) != 0 || seq == 0) {
        finding(x, NULL, 0, "inserted: %s %s has no sequence number", kind == 'r' ? "record in" :
                "gap record", where);
        return 0;
    }
    return add_item(x, run, seq, kind, json, len, where);
}

/* ---- reading ---- */

static int read_seals(struct tw_rclient *c, struct ctx *x)
{
    char key[TW_KEY_LEN];
    redisReply *r;

    tw_key_seals(key, sizeof(key), x->o->sensor);
    if ((r = tw_rclient_command(c, "HGETALL %s", key)) == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL seals");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        struct seal_rec *s;
        char field[TW_SEAL_FIELD_LEN + 1];
        if ((s = tq_grow(x->seals, x->nseals, &x->scap, sizeof(*s), 64)) == NULL) {
            freeReplyObject(r);
            return -1;
        }
        x->seals = s;
        s = &x->seals[x->nseals];
        if (v->type != REDIS_REPLY_STRING || tw_seal_parse(v->str, v->len, &s->s) != 0) {
            finding(x, NULL, 0, "bad signature: seal field %.*s is not a seal line",
                    f->type == REDIS_REPLY_STRING ? (int)f->len : 0, f->str ? f->str : "");
            continue;
        }
        tw_seal_field(&s->s, field);
        if (f->type != REDIS_REPLY_STRING || f->len != strlen(field) ||
            memcmp(f->str, field, f->len) != 0) {
            /* still a seal: its signature and links are checked all the same */
            finding(x, s->s.run, s->s.first, "reordered: seal field %.*s holds seal %s",
                    f->type == REDIS_REPLY_STRING ? (int)f->len : 0, f->str ? f->str : "", field);
        }
        s->good = tq_key_set_check_seal(&x->keys, &s->s) == 0 &&
                  strcmp(s->s.sensor, x->o->sensor) == 0;
        x->nseals++;
    }
    freeReplyObject(r);
    return 0;
}

static int read_records(struct tw_rclient *c, struct ctx *x)
{
    char key[TW_KEY_LEN];
    redisReply *hours;

    tw_key_hours(key, sizeof(key), x->o->sensor);
    if ((hours = tw_rclient_command(c, "ZRANGE %s 0 -1", key)) == NULL ||
        hours->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, hours, "ZRANGE hours");
    for (size_t h = 0; h < hours->elements; h++) {
        uint64_t hour;
        redisReply *b;
        if (hours->element[h]->type != REDIS_REPLY_STRING ||
            tq_parse_uint(hours->element[h]->str, 0, UINT64_MAX, &hour) != 0)
            continue;
        tw_key_cx_blocks(key, sizeof(key), x->o->sensor, hour);
        if ((b = tw_rclient_command(c, "HGETALL %s", key)) == NULL || b->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(hours);
            return tq_reply_failed(c, b, "HGETALL record blocks");
        }
        for (size_t i = 0; i + 1 < b->elements; i += 2) {
            const redisReply *f = b->element[i], *v = b->element[i + 1];
            char where[TW_KEY_LEN + 64], err[160];
            uint8_t *raw = NULL;
            size_t rawlen;
            uint32_t *off = NULL;
            uint16_t *len = NULL;
            int n;
            snprintf(where, sizeof(where), "%s %.*s", key, (int)(f->len < 40 ? f->len : 40),
                     f->str ? f->str : "");
            if (v->type != REDIS_REPLY_STRING ||
                tw_cx_unpack('R', v->str, v->len, &raw, &rawlen, err, sizeof(err)) < 0 ||
                (n = tw_cx_block_split(raw, rawlen, &off, &len)) < 0) {
                finding(x, NULL, 0, "altered: %s is not a record frame", where);
                free(raw);
                continue;
            }
            for (int k = 0; k < n; k++) {
                const char *js = (const char *)raw + off[k];
                /* the index checks (none for tq_verify_items: x->vix NULL) */
                if (x->vix != NULL &&
                    tq_vix_record(x->vix, hour, f->str, f->len, (unsigned)k, js, len[k]) != 0) {
                    fprintf(stderr, PROG ": out of memory\n");
                    free(raw), free(off), free(len);
                    freeReplyObject(b);
                    freeReplyObject(hours);
                    return -1;
                }
                x->records++;
                if (add_json(x, TW_ITEM_RECORD, (const char *)raw + off[k], len[k], where) != 0) {
                    free(raw), free(off), free(len);
                    freeReplyObject(b);
                    freeReplyObject(hours);
                    return -1;
                }
            }
            free(raw), free(off), free(len);
        }
        freeReplyObject(b);
    }
    freeReplyObject(hours);
    return 0;
}

static int read_alerts(struct tw_rclient *c, struct ctx *x)
{
    char key[TW_KEY_LEN], start[48] = "-";

    tw_key_alerts(key, sizeof(key), x->o->sensor);
    for (;;) {
        redisReply *r = tw_rclient_command(c, "XRANGE %s %s + COUNT %d", key, start, TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY)
            return tq_reply_failed(c, r, "XRANGE alerts");
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            const redisReply *fv = e->element[1];
            size_t np = fv->elements / 2;
            const char **p = calloc(2 * np + 1, sizeof(*p));
            size_t *l = calloc(2 * np + 1, sizeof(*l)), cap = 64;
            char run[17] = "", where[TW_KEY_LEN + 64];
            uint64_t seq = 0;
            snprintf(where, sizeof(where), "%s %s", key, e->element[0]->str);
            for (size_t k = 0; p != NULL && l != NULL && k < 2 * np; k++) {
                p[k] = fv->element[k]->str ? fv->element[k]->str : "";
                l[k] = fv->element[k]->len;
                cap += 4 + l[k];
                if (k % 2 == 1 && strcmp(p[k - 1], "seq") == 0)
                    tq_parse_uint(p[k], 1, UINT64_MAX, &seq);
                if (k % 2 == 1 && strcmp(p[k - 1], "run") == 0 && l[k] == 16)
                    memcpy(run, p[k], 17);
            }
            uint8_t *bytes = p != NULL && l != NULL ? malloc(cap) : NULL;
            long n = bytes != NULL ? tw_chain_fields(p, l, np, bytes, cap) : -1;
            x->alerts++;
            if (n < 0) {
                fprintf(stderr, PROG ": out of memory\n");
                free(p), free(l), free(bytes);
                freeReplyObject(r);
                return -1;
            }
            if (seq == 0 || run[0] == '\0')
                finding(x, NULL, 0, "inserted: alert %s has no sequence number", where);
            else if (add_item(x, run, seq, TW_ITEM_ALERT, bytes, (size_t)n, where) != 0) {
                free(p), free(l), free(bytes);
                freeReplyObject(r);
                return -1;
            }
            free(p), free(l), free(bytes);
        }
        size_t got = r->elements;
        if (got > 0) { /* the next page starts after the last id */
            const redisReply *last = r->element[got - 1];
            if (last->type == REDIS_REPLY_ARRAY && last->elements == 2 && last->element[0]->str)
                snprintf(start, sizeof(start), "(%s", last->element[0]->str);
        }
        freeReplyObject(r);
        if (got < TQ_PAGE)
            return 0;
    }
}

static int read_gaps(struct tw_rclient *c, struct ctx *x)
{
    char key[TW_KEY_LEN];
    redisReply *r;

    tw_key_gaps(key, sizeof(key), x->o->sensor);
    if ((r = tw_rclient_command(c, "HGETALL %s", key)) == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL gaps");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        char where[TW_KEY_LEN + 64];
        snprintf(where, sizeof(where), "%s %.*s", key, (int)(f->len < 40 ? f->len : 40),
                 f->str ? f->str : "");
        x->gap_records++;
        if (v->type == REDIS_REPLY_STRING &&
            add_json(x, TW_ITEM_GAP, v->str, v->len, where) != 0) {
            freeReplyObject(r);
            return -1;
        }
    }
    freeReplyObject(r);
    return 0;
}

/* ---- checking ---- */

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->run, y->run);

    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int seal_cmp(const void *a, const void *b)
{
    const struct seal_rec *x = a, *y = b;
    int c = strcmp(x->s.run, y->s.run);

    if (c != 0)
        return c;
    return x->s.no < y->s.no ? -1 : x->s.no > y->s.no;
}

/* The first item of (run, seq) or later. */
static size_t lower_bound(const struct ctx *x, const char *run, uint64_t seq)
{
    size_t lo = 0, hi = x->nitems;
    struct item key;

    snprintf(key.run, sizeof(key.run), "%s", run);
    key.seq = seq;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (item_cmp(&x->items[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int in_range(const struct ctx *x, uint64_t t_us)
{
    return (!x->o->has_since || t_us >= x->o->since_us) &&
           (!x->o->has_until || t_us <= x->o->until_us);
}

static void say_missing(struct ctx *x, const char *run, uint64_t from, uint64_t n)
{
    if (n == 1)
        finding(x, run, from, "deleted: run %s seq %" PRIu64 " (missing before its hot window "
                "ended)", run, from);
    else if (n > 1)
        finding(x, run, from, "deleted: run %s seq %" PRIu64 "..%" PRIu64 " (%" PRIu64 " items "
                "missing before their hot window ended)", run, from, from + n - 1, n);
}

/* tq_verify_items: the outcome of the items of seal s, st, as one (the chain cannot tell which
 * of its items changed); a second item under a number another holds with other bytes is not
 * the one the chain took. */
static void mark_seal(struct ctx *x, const struct tw_seal *s, int st)
{
    for (size_t i = lower_bound(x, s->run, s->first), first = i; x->st != NULL &&
             i < x->nitems && strcmp(x->items[i].run, s->run) == 0 && x->items[i].seq <= s->last;
         i++) {
        if (i > first && x->items[i].seq == x->items[i - 1].seq) {
            size_t k = i - 1;
            while (k > first && x->items[k - 1].seq == x->items[i].seq)
                k--; /* the first item under this number: the one hashed */
            x->st[i] = x->items[i].len == x->items[k].len &&
                       memcmp(x->items[i].bytes, x->items[k].bytes, x->items[k].len) == 0
                           ? (uint8_t)st : TQ_VI_INSERTED;
        } else {
            x->st[i] = (uint8_t)st;
        }
    }
}

/* tq_verify_items: items i.. of run from seq `from` up to `last` take outcome st. */
static void mark_range(struct ctx *x, const char *run, uint64_t from, uint64_t last, int st)
{
    for (size_t i = lower_bound(x, run, from); x->st != NULL && i < x->nitems &&
             strcmp(x->items[i].run, run) == 0 && x->items[i].seq <= last; i++)
        x->st[i] = (uint8_t)st;
}

/* The items of one good seal: present, once, hashing to its chain. covered[i] becomes 2 for
 * the items it checked. */
static void check_seal(struct ctx *x, const struct tw_seal *s, uint8_t *covered)
{
    uint8_t h[TW_CHAIN_HASH_LEN];
    struct tw_chain ch = {0};
    size_t i = lower_bound(x, s->run, s->first);
    uint64_t miss_from = 0, miss_n = 0;
    int complete = 1, deleted = 0;

    if (tw_chain_begin(&ch, s->prev_chain) != 0) {
        fprintf(stderr, PROG ": out of memory\n");
        tw_chain_free(&ch);
        return;
    }
    for (uint64_t q = s->first; q <= s->last; q++) {
        while (i < x->nitems && strcmp(x->items[i].run, s->run) == 0 && x->items[i].seq < q)
            i++;
        if (i >= x->nitems || strcmp(x->items[i].run, s->run) != 0 || x->items[i].seq != q) {
            complete = 0;
            /* records after ttl, the seal's long-lived items (alerts) after keep */
            if (tw_seal_item_expired(s, q, x->now_us)) {
                x->expired++;
            } else {
                if (miss_n == 0)
                    miss_from = q;
                miss_n++;
                deleted = 1;
            }
            continue;
        }
        say_missing(x, s->run, miss_from, miss_n);
        miss_n = 0;
        const struct item *it = &x->items[i];
        covered[i] = 2;
        x->checked++;
        tw_chain_add(&ch, it->kind, q, it->bytes, it->len);
        /* the same number again: an older item replayed, or another item claiming it */
        for (size_t j = i + 1; j < x->nitems && strcmp(x->items[j].run, s->run) == 0 &&
                               x->items[j].seq == q; j++) {
            covered[j] = 2;
            if (x->items[j].len == it->len && memcmp(x->items[j].bytes, it->bytes, it->len) == 0)
                finding(x, s->run, q, "reordered: run %s seq %" PRIu64 " stored twice (%s and %s)",
                        s->run, q, it->where, x->items[j].where);
            else
                finding(x, s->run, q, "inserted: run %s seq %" PRIu64 " claimed by a second item "
                        "(%s)", s->run, q, x->items[j].where);
        }
    }
    say_missing(x, s->run, miss_from, miss_n);
    tw_chain_end(&ch, h);
    tw_chain_free(&ch);
    int altered = complete && memcmp(h, s->chain, sizeof(h)) != 0;
    if (altered)
        finding(x, s->run, s->first, "altered: run %s seq %" PRIu64 "..%" PRIu64 ": the items do "
                "not hash to seal %" PRIu64 "'s chain (an item among them was changed)", s->run,
                s->first, s->last, s->no);
    mark_seal(x, s, altered ? TQ_VI_ALTERED : complete ? TQ_VI_OK
                  : deleted ? TQ_VI_INCOMPLETE : TQ_VI_EXPIRED);
}

static void check_all(struct ctx *x)
{
    uint8_t *covered = calloc(x->nitems + 1, 1);
    size_t nseals_in = 0, bad_sigs = 0;

    /* (qsort of nothing: its array may be NULL, which qsort must not be given) */
    if (x->nitems > 1)
        qsort(x->items, x->nitems, sizeof(*x->items), item_cmp);
    if (x->nseals > 1)
        qsort(x->seals, x->nseals, sizeof(*x->seals), seal_cmp);
    if (x->result != NULL && (x->st = malloc(x->nitems + 1)) != NULL)
        memset(x->st, TQ_VI_NOT_COVERED, x->nitems + 1);
    if (covered == NULL || (x->result != NULL && x->st == NULL)) {
        fprintf(stderr, PROG ": out of memory\n");
        x->has_bad = 1;
        x->failed = 1;
        free(covered);
        return;
    }
    for (size_t k = 0; k < x->nseals; k++) {
        const struct seal_rec *sr = &x->seals[k];
        const struct tw_seal *s = &sr->s;
        const struct seal_rec *pr = k > 0 && strcmp(x->seals[k - 1].s.run, s->run) == 0
                                        ? &x->seals[k - 1] : NULL;
        int in = in_range(x, s->time_us);
        /* items a seal missing before this one covered: not inserted, but a finding of their own */
        uint64_t from = pr != NULL ? pr->s.last + 1 : 1;
        for (size_t i = lower_bound(x, s->run, from); i < x->nitems &&
                                                     strcmp(x->items[i].run, s->run) == 0 &&
                                                     x->items[i].seq < s->first; i++)
            covered[i] = 1;
        if (s->first > from)
            mark_range(x, s->run, from, s->first - 1, TQ_VI_DELETED_SEAL);
        if (!sr->good) {
            bad_sigs++;
            finding(x, s->run, s->first, "bad signature: seal run %s no %" PRIu64 " (seq %" PRIu64
                    "..%" PRIu64 ")", s->run, s->no, s->first, s->last);
            for (size_t i = lower_bound(x, s->run, s->first); i < x->nitems &&
                     strcmp(x->items[i].run, s->run) == 0 && x->items[i].seq <= s->last; i++)
                covered[i] = 1;
            mark_range(x, s->run, s->first, s->last, TQ_VI_BAD_SIGNATURE);
            continue;
        }
        uint64_t want_no = pr != NULL ? pr->s.no + 1 : 1;
        if (s->no != want_no && in)
            finding(x, s->run, from, "deleted: seal run %s no %" PRIu64 "%s%.0" PRIu64
                    " (seq %" PRIu64 "..%" PRIu64 ")", s->run, want_no, s->no - want_no > 1 ? ".." : "",
                    s->no - want_no > 1 ? s->no - 1 : 0, from, s->first - 1);
        else if (pr != NULL && pr->good && in) {
            uint8_t ph[TW_CHAIN_HASH_LEN];
            tw_seal_hash(&pr->s, ph);
            if (memcmp(ph, s->prev_seal, sizeof(ph)) != 0 ||
                memcmp(pr->s.chain, s->prev_chain, sizeof(ph)) != 0 || s->first != pr->s.last + 1)
                finding(x, s->run, s->first, "reordered: seal run %s no %" PRIu64 " does not follow "
                        "seal %" PRIu64, s->run, s->no, pr->s.no);
        } else if (pr == NULL && in && s->first != 1)
            finding(x, s->run, 1, "deleted: seal run %s no 1..%" PRIu64 " (seq 1..%" PRIu64 ")",
                    s->run, s->no - 1, s->first - 1);
        if (!in) { /* outside the range: its items are neither checked nor inserted */
            for (size_t i = lower_bound(x, s->run, s->first); i < x->nitems &&
                     strcmp(x->items[i].run, s->run) == 0 && x->items[i].seq <= s->last; i++)
                covered[i] = 1;
            continue;
        }
        nseals_in++;
        check_seal(x, s, covered);
    }
    /* what no seal covers: inserted (a gap record is also said as such) */
    for (size_t i = 0; i < x->nitems; i++) {
        const struct item *it = &x->items[i];
        if (it->kind == TW_ITEM_GAP && covered[i] == 2) {
            char reason[64] = "?";
            const char *r = strstr(it->bytes, "\"reason\":\"");
            uint64_t n = 0;
            const char *rc = strstr(it->bytes, "\"records\":");
            if (r != NULL)
                sscanf(r + 10, "%63[^\"]", reason);
            if (rc != NULL)
                n = strtoull(rc + 10, NULL, 10);
            if (!x->quiet)
                printf("gap: run %s seq %" PRIu64 ": the sensor lost %" PRIu64 " records (%s)\n",
                       it->run, it->seq, n, reason);
            x->gaps++;
        }
        if (covered[i])
            continue;
        /* a run of uncovered items of one run: one line */
        size_t k = i;
        while (k + 1 < x->nitems && !covered[k + 1] && strcmp(x->items[k + 1].run, it->run) == 0)
            k++;
        if (k == i)
            finding(x, it->run, it->seq, "inserted: run %s seq %" PRIu64 " (%s): no seal covers it",
                    it->run, it->seq, it->where);
        else
            finding(x, it->run, it->seq, "inserted: run %s seq %" PRIu64 "..%" PRIu64 " (%zu items, "
                    "the first in %s): no seal covers them", it->run, it->seq, x->items[k].seq,
                    k - i + 1, it->where);
        i = k;
    }
    if (bad_sigs == x->nseals && x->nseals > 0 && !x->quiet)
        printf("note: no seal verifies with %s: is it the sensor's?\n",
               x->keys.n > 1 ? "these public keys" : "this public key");
    for (size_t i = 0; x->result != NULL && i < x->nitems; i++)
        x->result(x->result_arg, x->items[i].run, x->items[i].seq, x->items[i].kind,
                  x->items[i].bytes, x->items[i].len, x->st[i]);
    free(covered);
    free(x->st);
    x->st = NULL;
    x->nseals = nseals_in; /* what the summary counts */
}

/* verify_statements.c's hooks: statements are chain items and findings like the others */
static int vst_item(void *arg, const char *run, uint64_t seq, char kind, const void *bytes,
                    size_t len, const char *where)
{
    return add_item(arg, run, seq, kind, bytes, len, where);
}

static void vst_finding(void *arg, const char *run, uint64_t seq, const char *line)
{
    finding(arg, run, seq, "%s", line);
}

/* evicted_keys of one node's INFO stats: 0 when it has none, -1 when it does not say (INFO
 * refused, e.g. to a user without +info). */
static long long evicted_on(struct tw_rclient *c)
{
    redisReply *r = tw_rclient_command(c, "INFO stats");
    const char *p;
    long long n = -1;

    if (r != NULL && r->type == REDIS_REPLY_STRING &&
        (p = strstr(r->str, "evicted_keys:")) != NULL)
        n = strtoll(p + 13, NULL, 10);
    if (r != NULL)
        freeReplyObject(r);
    return n;
}

/* The master [host, port, id...] of one CLUSTER SLOTS entry (start, end, master, replicas...),
 * or NULL when the entry is not what Redis sends. */
static const redisReply *slots_master(const redisReply *e)
{
    const redisReply *m;

    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        (m = e->element[2])->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
        m->element[0]->type != REDIS_REPLY_STRING || m->element[1]->type != REDIS_REPLY_INTEGER)
        return NULL;
    return m;
}

static int same_node(const redisReply *a, const redisReply *b)
{
    return a->element[1]->integer == b->element[1]->integer &&
           a->element[0]->len == b->element[0]->len &&
           memcmp(a->element[0]->str, b->element[0]->str, a->element[0]->len) == 0;
}

/* Keys Redis evicted under maxmemory-policy are deleted records to verify; say when Redis
 * reports any. A sensor's keys lie on several masters of a Redis Cluster ({S} and each hour's
 * {S:H}), so each master of CLUSTER SLOTS is asked, not only the node we talk to; a single
 * Redis refuses CLUSTER SLOTS and is asked alone. A node that does not answer INFO (a user
 * without +info) is skipped: nothing is said for it. */
static void evictions(struct tw_rclient *c)
{
    redisReply *r = tw_rclient_command(c, "CLUSTER SLOTS");
    long long total = 0, n;
    size_t masters = 0, with = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        if (r != NULL)
            freeReplyObject(r);
        if ((n = evicted_on(c)) > 0)
            printf("note: Redis reports %lld keys evicted (maxmemory-policy): what they held "
                   "counts as deleted\n", n);
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *m = slots_master(r->element[i]), *o;
        size_t j = 0;
        /* a master of several slot ranges is listed once for each: asked once */
        while (m != NULL && j < i &&
               ((o = slots_master(r->element[j])) == NULL || !same_node(o, m)))
            j++;
        if (m == NULL || j < i)
            continue;
        masters++;
        /* "" or "?": the endpoint asked (Redis does not know how it is reached) */
        const char *host = m->element[0]->str;
        struct tw_rclient *node =
            m->element[0]->len == 0 || strcmp(host, "?") == 0
                ? c : tw_rclient_node(c, host, m->element[0]->len, (int)m->element[1]->integer);
        if (node != NULL && (n = evicted_on(node)) > 0)
            total += n, with++;
    }
    freeReplyObject(r);
    if (total > 0)
        printf("note: Redis reports %lld keys evicted (maxmemory-policy) on %zu of the cluster's "
               "%zu masters: what they held counts as deleted\n", total, with, masters);
}

/* key rotation (key_set.h): a rotation that is not valid is a finding, one naming a key not
 * given a note; a valid one is said as a note too (which key signs from when). */
static void said_rotation(void *ctx, const char *id, int outcome, const char *why)
{
    struct ctx *x = ctx;

    if (outcome == TQ_ROT_BAD)
        finding(x, NULL, 0, "bad signature: key rotation %s: %s", id, why);
    else if (!x->quiet)
        printf("note: key rotation %s: %s\n", id, why);
}

static int read_rotations(struct tw_rclient *c, struct ctx *x)
{
    if (x->keys.n < 2) /* one key: no rotation can admit another */
        return 0;
    return tq_key_set_read(&x->keys, c, x->o->sensor, said_rotation, x);
}

/* The fingerprints given, in order, comma-separated. */
static const char *keys_text(const struct ctx *x, char *out, size_t len)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < x->keys.n && off < len; i++) {
        int n = snprintf(out + off, len - off, "%s%s", i ? ", " : "", x->keys.k[i].fpr);
        off += n > 0 ? (size_t)n : 0;
    }
    return out;
}

/* Every item of the chain and what vouches for it (rotations, seals) into x: the one list of
 * reads run() and tq_verify_items() share, so an item kind added is read by both (a seal's
 * chain is recomputed from all its items, of every kind, or not at all). The statements'
 * and sealed summaries' own state goes to *vst and *vsum. Returns 0, or -1 (Redis, said). */
static int read_items(struct tw_rclient *c, struct ctx *x, const struct tq_opts *o,
                      struct tq_vst **vst, struct tq_vsum **vsum)
{
    struct tq_vst_hooks hooks = {.arg = x, .item = vst_item, .finding = vst_finding};

    if (read_rotations(c, x) != 0 || read_seals(c, x) != 0 || read_records(c, x) != 0 ||
        read_alerts(c, x) != 0 || read_gaps(c, x) != 0 ||
        tq_vst_read(c, o, &x->keys, &hooks, vst) != 0 || tq_vsum_read(c, o, &hooks, vsum) != 0)
        return -1;
    return 0;
}

static void ctx_free(struct ctx *x, struct tq_vst *vst, struct tq_vsum *vsum)
{
    tq_vst_free(vst);
    tq_vsum_free(vsum);
    for (size_t i = 0; i < x->nitems; i++)
        free(x->items[i].bytes);
    free(x->items);
    free(x->seals);
    tq_vix_free(x->vix);
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    struct ctx x = {.o = o, .now_us = tw_wall_us()};
    struct tq_vst *vst = NULL;
    struct tq_vsum *vsum = NULL; /* the sealed summaries (verify_summaries.h) */
    char err[256], kt[TQ_KEYS_MAX * (TW_SIGN_FPR_LEN + 2)];
    int rc;

    if (audit_mode)
        return run_audit(c, o);
    if (tq_key_set_load(&x.keys, pubkey_paths, npubkeys, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": --pubkey: %s\n", err);
        return EXIT_USAGE;
    }
    struct tq_vix_hooks vix_hooks = {.arg = &x, .finding = vst_finding};
    if ((x.vix = tq_vix_new(o, &vix_hooks)) == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        rc = EXIT_REDIS;
        goto out;
    }
    if (read_items(c, &x, o, &vst, &vsum) != 0) {
        rc = EXIT_REDIS;
        goto out;
    }
    for (size_t k = 0; k < x.nseals; k++)
        tq_vst_seal(vst, &x.seals[k].s, x.seals[k].good);
    check_all(&x);
    tq_vst_finish(vst, x.now_us); /* the chain's ends, unwatched spans */
    if (tq_vix_check(x.vix, c) != 0) { /* the indexes, of the range's hours */
        rc = EXIT_REDIS;
        goto out;
    }
    if (!o->has_since && !o->has_until && tq_vsum_check(vsum, c) != 0) { /* the whole store */
        rc = EXIT_REDIS;
        goto out;
    }
    evictions(c);
    if (tq_witness_wanted()) { /* the seals against a witness outside the bank */
        long w = tq_verify_witness(c, o, x.now_us);
        if (w < 0) {
            rc = w == -2 ? EXIT_USAGE : EXIT_REDIS;
            goto out;
        }
        x.findings += (uint64_t)w;
    }
    if (x.findings == 0 && x.nseals == 0 && x.nitems == 0)
        printf("note: sensor %s has no signed evidence in this range\n", o->sensor);
    printf("verify: sensor %s, key%s %s: %zu seals, %" PRIu64 " items checked (records %" PRIu64
           ", alerts %" PRIu64 ", gap records %" PRIu64 ", statements %" PRIu64 "), %" PRIu64
           " expired, %" PRIu64 " gaps, %" PRIu64 " findings",
           o->sensor, x.keys.n > 1 ? "s" : "", keys_text(&x, kt, sizeof(kt)), x.nseals,
           x.checked, x.records, x.alerts, x.gap_records, tq_vst_count(vst), x.expired, x.gaps,
           x.findings);
    if (x.findings > 0 && x.has_bad)
        printf("; first bad: run %s seq %" PRIu64, x.bad_run, x.bad_seq);
    printf(x.findings > 0 ? ": NOT VERIFIED\n" : ": verified\n");
    rc = tq_finish(0);
    if (rc == 0 && x.findings > 0)
        rc = EXIT_UNVERIFIED;
out:
    ctx_free(&x, vst, vsum);
    return rc;
}

int tq_verify_items(struct tw_rclient *c, const struct tq_opts *o, const struct tq_key_set *keys,
                    tq_vi_result *result, void *arg)
{
    struct tq_opts all = *o; /* every seal: the rows' seals are not those of a time range */
    struct ctx x = {.o = &all, .keys = *keys, .now_us = tw_wall_us(), .quiet = 1,
                    .result = result, .result_arg = arg};
    struct tq_vst *vst = NULL;
    struct tq_vsum *vsum = NULL;
    int rc = -1;

    all.has_since = all.has_until = all.has_cursor = 0;
    if (read_items(c, &x, &all, &vst, &vsum) == 0) { /* run()'s reads: every item kind */
        check_all(&x);
        rc = x.failed ? -1 : 0;
    }
    ctx_free(&x, vst, vsum);
    return rc;
}

static const struct tq_option own[] = {
    {"pubkey", parse_pubkey}, {"known-head", parse_known_head},
    {"witness", tq_witness_opt_url}, {"witness-user", tq_witness_opt_user},
    {"witness-password-file", tq_witness_opt_password_file},
    {"witness-tls-ca", tq_witness_opt_tls_ca}, {"witness-grace", tq_witness_opt_grace},
    {NULL, NULL}};
static const struct tq_option own_flags[] = {{"audit", parse_audit}, {NULL, NULL}};

const struct tq_subcommand tq_cmd_verify = {
    .name = "verify",
    .summary = "check the sensor's signed evidence: seals, chain, every record, alert, gap and "
               "statement",
    .usage = "verify --pubkey FILE.pub [--pubkey NEW.pub ...] [--since T] [--until T]\n"
             "                   checks the seals made in the range against the sensor's public\n"
             "                   key (the first; a later one from the key rotation that admits\n"
             "                   it, signed by both) and recomputes their chain from the records,\n"
             "                   alerts, gap records, statements and summary snapshots in Redis;\n"
             "                   checks the indexes flows and alerts read (the range's hours) and,\n"
             "                   over the whole store, that each summary holds what its snapshots\n"
             "                   sum to; one line per finding (altered, deleted, inserted,\n"
             "                   reordered, bad signature, unwatched; gap, expired and some\n"
             "                   unwatched spans are told, not errors), then a summary.\n"
             "                   Exit 0 verified, 3 not verified\n"
             "  --witness URL [--witness-user U] [--witness-password-file F] [--witness-tls-ca F]\n"
             "    [--witness-grace S]  also compare the seals with the hashes a witness outside\n"
             "                   the bank got of them (altered, deleted, inserted: witness: ...);\n"
             "                   seals younger than S seconds (10) may still lack there\n"
             "verify --audit [--bank NAME] [--pubkey FILE.pub ...] [--known-head SEQ:HASH]\n"
             "                   the same for the audit trail of queries (as verify-audit)\n",
    .common = TQ_OPT_SINCE | TQ_OPT_UNTIL,
    .own = own,
    .own_flags = own_flags,
    .check = check,
    .run = run,
};
