/* verify_witness.c - `tapwatch-query verify --witness URL`: the store's seals against the
 * hashes a witness outside the bank got of them (control/evidence/witness.h).
 *
 * The bank runs the sensor host and holds the signing key: it can rewrite history and sign
 * it again, and every signature and link then verifies. What it cannot do is take back what
 * the witness got: the sensor may only add fields there (HSETNX), never read, overwrite or
 * delete them. So, seal by seal (field <run>:<no> on both sides):
 *
 *   store seal, witness entry, hashes differ   altered: witness   (rewritten, or a fork)
 *   witness entry, no store seal               deleted: witness   (also a cut at the end)
 *   store seal, no witness entry               inserted: witness  unless
 *     - the seal is younger than --witness-grace (default TQ_WITNESS_RECENT_S: the sensor
 *       sends within a second; a witness that was just down still gets it), or
 *     - pending: its run has entries on the witness, no end marker there, and the seal comes
 *       after the run's last witnessed one: the run's tail not yet witnessed (the sensor keeps
 *       its hashes, in run_dir across a restart, until the witness takes them)
 *   a witness entry older than the store's retention (the seals' keep) with no store seal:
 *   expired, counted, not a finding.
 *
 * With --since/--until only the seals of the range (their time, on either side) are compared.
 * Reads HGETALL of the witness hash (a read-only user: --print-acl-witness's witness-reader)
 * and of tw:{S}:seals.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "control/evidence/witness.h"
#include "control/query/query.h"
#include "control/record/keys.h"
#include "control/store/redis_conn.h"

#define TQ_WITNESS_RECENT_S 10
#define WITNESS_TIMEOUT_MS 3000

static const char *w_url;
static struct tw_redis_options w_opts = {.tls_verify_host = 1, .names = "witness."};
static int w_extra; /* a --witness-* option was given */
static uint64_t w_grace_s = TQ_WITNESS_RECENT_S; /* --witness-grace */

int tq_witness_opt_url(const char *v) { w_url = v; return 0; }
int tq_witness_opt_user(const char *v) { w_opts.user = v; w_extra = 1; return 0; }
int tq_witness_opt_password_file(const char *v) { w_opts.password_file = v; w_extra = 1; return 0; }
int tq_witness_opt_tls_ca(const char *v) { w_opts.tls_ca = v; w_extra = 1; return 0; }

int tq_witness_opt_grace(const char *v)
{
    if (tq_parse_uint(v, 0, 86400, &w_grace_s) != 0)
        return tq_usage_error("--witness-grace: expected seconds from 0 to 86400, got \"%s\"", v);
    w_extra = 1;
    return 0;
}

int tq_witness_wanted(void) { return w_url != NULL; }

int tq_witness_check(int audit)
{
    if (w_url != NULL && audit)
        return tq_usage_error("--witness checks a sensor's seals, not the audit trail");
    if (w_url == NULL && w_extra)
        return tq_usage_error("--witness-user, --witness-password-file, --witness-tls-ca and "
                              "--witness-grace go with --witness URL");
    return 0;
}

struct wseal {
    struct tw_witness_entry e;
    uint32_t keep_s; /* store seals: their retention */
};

static int wcmp(const void *a, const void *b)
{
    const struct wseal *x = a, *y = b;
    int c = strcmp(x->e.run, y->e.run);

    return c != 0 ? c : x->e.no < y->e.no ? -1 : x->e.no > y->e.no;
}

struct wctx {
    const struct tq_opts *o;
    uint64_t now_us;
    struct wseal *st, *wi;   /* the store's seals, the witness's entries */
    size_t nst, nwi, cst, cwi;
    struct tw_witness_entry *ends; /* end markers */
    size_t nends, cends;
    uint64_t findings, matched, pending, recent, expired, noise;
    uint32_t keep_s;         /* the longest keep of the store's seals (0: none) */
};

static int in_range(const struct wctx *x, uint64_t t)
{
    return (!x->o->has_since || t >= x->o->since_us) && (!x->o->has_until || t <= x->o->until_us);
}

static int read_store(struct tw_rclient *c, struct wctx *x)
{
    char key[TW_KEY_LEN];
    redisReply *r;

    tw_key_seals(key, sizeof(key), x->o->sensor);
    if ((r = tw_rclient_command(c, "HGETALL %s", key)) == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL seals");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *v = r->element[i + 1];
        struct tw_seal s;
        struct wseal *w;
        /* a value that is not a seal line is verify's finding already (bad signature) */
        if (v->type != REDIS_REPLY_STRING || tw_seal_parse(v->str, v->len, &s) != 0)
            continue;
        if ((w = tq_grow(x->st, x->nst, &x->cst, sizeof(*w), 64)) == NULL) {
            freeReplyObject(r);
            return -1;
        }
        x->st = w;
        w = &x->st[x->nst++];
        tw_witness_from_line(v->str, v->len, &w->e);
        w->keep_s = s.keep_s;
        if (s.keep_s > x->keep_s)
            x->keep_s = s.keep_s;
    }
    freeReplyObject(r);
    return 0;
}

static int read_witness(struct tw_rclient *c, struct wctx *x)
{
    char key[TW_KEY_LEN];
    redisReply *r;

    tw_key_witness(key, sizeof(key), x->o->sensor);
    if ((r = tw_rclient_command(c, "HGETALL %s", key)) == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL witness");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        struct tw_witness_entry e;
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            tw_witness_parse(f->str, f->len, v->str, v->len, &e) != 0) {
            x->noise++; /* the sensor's witness user can add anything: not ours to trust */
            continue;
        }
        if (e.no == 0) {
            struct tw_witness_entry *en = tq_grow(x->ends, x->nends, &x->cends, sizeof(*en), 16);
            if (en == NULL) {
                freeReplyObject(r);
                return -1;
            }
            x->ends = en;
            x->ends[x->nends++] = e;
            continue;
        }
        struct wseal *w = tq_grow(x->wi, x->nwi, &x->cwi, sizeof(*w), 64);
        if (w == NULL) {
            freeReplyObject(r);
            return -1;
        }
        x->wi = w;
        x->wi[x->nwi].e = e;
        x->wi[x->nwi++].keep_s = 0;
    }
    freeReplyObject(r);
    return 0;
}

/* The run's end marker's last seal, or 0 when the witness has none. */
static uint64_t run_end(const struct wctx *x, const char *run)
{
    for (size_t i = 0; i < x->nends; i++)
        if (strcmp(x->ends[i].run, run) == 0)
            return x->ends[i].last;
    return 0;
}

/* The highest seal number of run the witness has (0: none); x->wi is sorted. */
static uint64_t run_top(const struct wctx *x, const char *run)
{
    size_t lo = 0, hi = x->nwi;

    while (lo < hi) { /* the first entry of a later run */
        size_t mid = (lo + hi) / 2;
        if (strcmp(x->wi[mid].e.run, run) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && strcmp(x->wi[lo - 1].e.run, run) == 0 ? x->wi[lo - 1].e.no : 0;
}

/* One line for a span of seals no from..to of run. */
static void span(struct wctx *x, const char *what, const char *run, uint64_t from, uint64_t to,
                 const char *why)
{
    if (from == to)
        printf("%s: witness: run %s seal no %" PRIu64 ": %s\n", what, run, from, why);
    else
        printf("%s: witness: run %s seal no %" PRIu64 "..%" PRIu64 " (%" PRIu64 " seals): %s\n",
               what, run, from, to, to - from + 1, why);
    if (strcmp(what, "pending") != 0)
        x->findings++;
}

/* Store seals the witness lacks, by kind; consecutive ones of a run are one line. */
enum lack { L_NONE, L_RECENT, L_PENDING, L_INSERTED };

static void compare(struct wctx *x)
{
    size_t i = 0, j = 0;
    enum lack open_kind = L_NONE;
    char open_run[TW_CHAIN_RUN_LEN + 1] = "";
    uint64_t open_from = 0, open_to = 0;
    /* witness entries the store lacks */
    char del_run[TW_CHAIN_RUN_LEN + 1] = "";
    uint64_t del_from = 0, del_to = 0;
    int del_open = 0;

    if (x->nst > 1)
        qsort(x->st, x->nst, sizeof(*x->st), wcmp);
    if (x->nwi > 1)
        qsort(x->wi, x->nwi, sizeof(*x->wi), wcmp);
#define CLOSE_LACK()                                                                              \
    do {                                                                                          \
        if (open_kind == L_PENDING)                                                               \
            span(x, "pending", open_run, open_from, open_to, "after the last seal the witness "   \
                 "has of this run, which has not ended there: the sensor still holds their "      \
                 "hashes");                                                                       \
        else if (open_kind == L_INSERTED)                                                         \
            span(x, "inserted", open_run, open_from, open_to, "in the store, never on the witness");       \
        open_kind = L_NONE;                                                                       \
    } while (0)
#define CLOSE_DEL()                                                                               \
    do {                                                                                          \
        if (del_open)                                                                             \
            span(x, "deleted", del_run, del_from, del_to, "on the witness, not in the store"); \
        del_open = 0;                                                                             \
    } while (0)
    while (i < x->nst || j < x->nwi) {
        int c = i >= x->nst ? 1 : j >= x->nwi ? -1 : wcmp(&x->st[i], &x->wi[j]);
        if (c == 0) {
            const struct tw_witness_entry *s = &x->st[i].e, *w = &x->wi[j].e;
            i++, j++;
            if (!in_range(x, s->time_us) && !in_range(x, w->time_us))
                continue;
            CLOSE_LACK();
            CLOSE_DEL();
            if (memcmp(s->hash, w->hash, sizeof(s->hash)) != 0) {
                char hs[2 * TW_CHAIN_HASH_LEN + 1], hw[2 * TW_CHAIN_HASH_LEN + 1];
                tw_hex(s->hash, TW_CHAIN_HASH_LEN, hs);
                tw_hex(w->hash, TW_CHAIN_HASH_LEN, hw);
                printf("altered: witness: run %s seal no %" PRIu64 ": the store's seal hashes to "
                       "%.16s..., the witness got %.16s... (history rewritten)\n", s->run, s->no,
                       hs, hw);
                x->findings++;
            } else {
                x->matched++;
            }
        } else if (c < 0) { /* in the store only */
            const struct tw_witness_entry *s = &x->st[i++].e;
            if (!in_range(x, s->time_us))
                continue;
            CLOSE_DEL();
            uint64_t end = run_end(x, s->run), top = run_top(x, s->run);
            enum lack k = s->time_us + w_grace_s * 1000000u > x->now_us
                              ? L_RECENT
                          : end == 0 && top > 0 && s->no > top ? L_PENDING
                                                               : L_INSERTED;
            if (k == L_RECENT) {
                x->recent++;
                continue;
            }
            if (k == L_PENDING)
                x->pending++;
            if (open_kind == k && strcmp(open_run, s->run) == 0 && s->no == open_to + 1) {
                open_to = s->no;
                continue;
            }
            CLOSE_LACK();
            open_kind = k;
            snprintf(open_run, sizeof(open_run), "%s", s->run);
            open_from = open_to = s->no;
        } else { /* on the witness only */
            const struct tw_witness_entry *w = &x->wi[j++].e;
            if (!in_range(x, w->time_us))
                continue;
            CLOSE_LACK();
            if (x->keep_s > 0 && w->time_us + (uint64_t)x->keep_s * 1000000u < x->now_us) {
                x->expired++; /* older than the store keeps seals */
                continue;
            }
            if (del_open && strcmp(del_run, w->run) == 0 && w->no == del_to + 1) {
                del_to = w->no;
                continue;
            }
            CLOSE_DEL();
            del_open = 1;
            snprintf(del_run, sizeof(del_run), "%s", w->run);
            del_from = del_to = w->no;
        }
    }
    CLOSE_LACK();
    CLOSE_DEL();
#undef CLOSE_LACK
#undef CLOSE_DEL
}

long tq_verify_witness(struct tw_rclient *store, const struct tq_opts *o, uint64_t now_us)
{
    struct wctx x = {.o = o, .now_us = now_us};
    struct tw_redis_target *t;
    struct tw_rclient *c = NULL;
    enum tw_rclient_fail why;
    char err[512];
    long rc = -1;

    if ((t = tw_redis_target_open(w_url, &w_opts, err, sizeof(err))) == NULL) {
        fprintf(stderr, PROG ": --witness: %s\n", err);
        return -2;
    }
    tw_redis_url_mask((char *)w_url); /* argv: what ps shows */
    if ((c = tw_rclient_open(t, WITNESS_TIMEOUT_MS, &why, err, sizeof(err))) == NULL) {
        fprintf(stderr, PROG ": --witness: %s\n", err);
        rc = why == TW_RCLIENT_CONFIG ? -2 : -1;
        goto out;
    }
    if (read_witness(c, &x) != 0 || read_store(store, &x) != 0)
        goto out;
    compare(&x);
    if (x.noise > 0)
        printf("note: witness: %" PRIu64 " fields of the witness hash are not seal entries "
               "(ignored)\n", x.noise);
    printf("witness: %s: %" PRIu64 " seals match, %" PRIu64 " pending, %" PRIu64 " too recent "
           "(< %" PRIu64 " s), %" PRIu64 " expired, %" PRIu64 " findings\n",
           tw_redis_target_url(t), x.matched, x.pending, x.recent, w_grace_s, x.expired,
           x.findings);
    rc = (long)x.findings;
out:
    tw_rclient_close(c);
    tw_redis_target_close(t);
    free(x.st);
    free(x.wi);
    free(x.ends);
    return rc;
}
