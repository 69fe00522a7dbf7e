/* verify_statements.c - verify's checks of the completeness statements (verify_statements.h). */
#include "control/query/verify_statements.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/evidence/chain.h"
#include "control/evidence/statement.h"
#include "control/query/coverage.h"
#include "control/record/keys.h"

/* One statement as read back. */
struct vst {
    struct tq_span_st span; /* from, to, interval, run, stop, seq (0: none) */
    uint64_t n, records_to, alerts_to;
    int good; /* its signature verified with the sensor's key */
    int in;   /* its interval overlaps the checked range */
    char where[TW_KEY_LEN + 48];
};

/* How far a run's good seals reach. */
struct vrun {
    char run[17];
    uint64_t sealed;
    int reported; /* an unwatched line already says that its statements stop short */
};

struct tq_vst {
    const struct tq_opts *o;
    struct tq_vst_hooks h;
    struct vst *s;
    size_t n, cap;
    struct vrun *runs;
    size_t nruns, rcap;
    uint64_t newest_seal_us, count;
};

static void say(struct tq_vst *v, const char *run, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(struct tq_vst *v, const char *run, uint64_t seq, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    v->h.finding(v->h.arg, run, seq, line);
}

static uint64_t num(json_object *j, const char *key)
{
    json_object *x;

    return json_object_object_get_ex(j, key, &x) && json_object_is_type(x, json_type_int)
               ? json_object_get_uint64(x) : 0;
}

static int is_run(const char *r)
{
    if (strlen(r) != TW_CHAIN_RUN_LEN)
        return 0;
    for (const char *p = r; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int in_range(const struct tq_opts *o, uint64_t from, uint64_t to)
{
    return !(o->has_since && to < o->since_us) && !(o->has_until && from > o->until_us);
}

static struct vrun *find_run(struct tq_vst *v, const char *run, int add)
{
    for (size_t i = 0; i < v->nruns; i++)
        if (strcmp(v->runs[i].run, run) == 0)
            return &v->runs[i];
    if (!add)
        return NULL;
    struct vrun *g = tq_grow(v->runs, v->nruns, &v->rcap, sizeof(*g), 16);
    if (g == NULL)
        return NULL;
    v->runs = g;
    g = &v->runs[v->nruns++];
    memset(g, 0, sizeof(*g));
    snprintf(g->run, sizeof(g->run), "%s", run);
    return g;
}

/* One stream entry: its fields fv (field, value, ...) under id. Returns 0, or -1 (no memory). */
static int one(struct tq_vst *v, const char *key, const char *id, const redisReply *fv,
               const struct tq_key_set *ks)
{
    const redisReply *text = NULL, *sig = NULL, *sig_prev = NULL;
    struct vst st;
    json_object *j;

    memset(&st, 0, sizeof(st));
    snprintf(st.where, sizeof(st.where), "%s %s", key, id);
    for (size_t k = 0; k + 1 < fv->elements; k += 2) {
        const redisReply *f = fv->element[k], *val = fv->element[k + 1];
        if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
            continue;
        if (text == NULL && strcmp(f->str, "statement") == 0)
            text = val;
        else if (sig == NULL && strcmp(f->str, "sig") == 0)
            sig = val;
        else if (sig_prev == NULL && strcmp(f->str, "sig_previous") == 0)
            sig_prev = val;
    }
    v->count++;
    if (text == NULL || (j = tq_json_parse(text->str, text->len)) == NULL) {
        say(v, NULL, 0, "altered: statement %s is not a statement (no JSON text)", st.where);
        return 0;
    }
    tq_span_of(j, &st.span);
    st.n = num(j, "n");
    st.records_to = num(j, "records_to");
    st.alerts_to = num(j, "alerts_to");
    json_object_put(j);
    if (!is_run(st.span.run))
        st.span.run[0] = '\0';
    st.in = in_range(v->o, st.span.from, st.span.to);
    /* the signature over the text as found, never a re-rendering of it, by the key accepted at
     * its time (key_set.h: across rotations; a key_rotation needs both its signatures) */
    int sigok = tq_key_set_check_statement(ks, text->str, text->len, sig ? sig->str : "",
                                           sig_prev ? sig_prev->str : NULL);
    st.good = sigok == 1;
    if (st.span.seq == 0 || st.span.run[0] == '\0') {
        st.span.seq = 0;
        if (st.in)
            say(v, NULL, 0, "inserted: statement %s (n %" PRIu64 ") has no sequence number",
                st.where, st.n);
    } else {
        if (st.in && !st.good)
            say(v, st.span.run, st.span.seq, "bad signature: statement %s (run %s n %" PRIu64
                " seq %" PRIu64 ")%s", st.where, st.span.run, st.n, st.span.seq,
                sigok == 0 ? ": not signed" : ": the text is not what the sensor signed");
        if (v->h.item(v->h.arg, st.span.run, st.span.seq, TW_ITEM_STATEMENT, text->str,
                      text->len, st.where) != 0)
            return -1;
    }
    struct vst *g = tq_grow(v->s, v->n, &v->cap, sizeof(*g), 64);
    if (g == NULL)
        return -1;
    v->s = g;
    v->s[v->n++] = st;
    return 0;
}

int tq_vst_read(struct tw_rclient *c, const struct tq_opts *o, const struct tq_key_set *ks,
                const struct tq_vst_hooks *hooks, struct tq_vst **out)
{
    char key[TW_KEY_LEN], start[48] = "-";
    struct tq_vst *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    v->o = o;
    v->h = *hooks;
    tw_key_statements(key, sizeof(key), o->sensor);
    for (;;) {
        redisReply *r = tw_rclient_command(c, "XRANGE %s %s + COUNT %d", key, start, TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            tq_vst_free(v);
            return tq_reply_failed(c, r, "XRANGE statements");
        }
        size_t got = r->elements;
        for (size_t i = 0; i < got; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            snprintf(start, sizeof(start), "(%s", e->element[0]->str);
            if (one(v, key, e->element[0]->str, e->element[1], ks) != 0) {
                fprintf(stderr, PROG ": out of memory\n");
                freeReplyObject(r);
                tq_vst_free(v);
                return -1;
            }
        }
        freeReplyObject(r);
        if (got < TQ_PAGE)
            break;
    }
    *out = v;
    return 0;
}

void tq_vst_seal(struct tq_vst *v, const struct tw_seal *s, int good)
{
    struct vrun *r;

    if (!good || (r = find_run(v, s->run, 1)) == NULL)
        return;
    if (s->last > r->sealed)
        r->sealed = s->last;
    if (s->time_us > v->newest_seal_us)
        v->newest_seal_us = s->time_us;
}

int tq_vst_stops_short(int has_stop, uint64_t last_to, uint64_t interval_us, uint64_t ref_us)
{
    return !has_stop && ref_us > last_to && ref_us - last_to > 2 * interval_us;
}

static int by_run_seq(const void *pa, const void *pb)
{
    const struct vst *a = pa, *b = pb;
    int c = strcmp(a->span.run, b->span.run);

    if (c != 0)
        return c;
    return a->span.seq < b->span.seq ? -1 : a->span.seq > b->span.seq;
}

/* One unwatched span: a finding, or told (stdout, not counted). */
static void on_span(void *arg, uint64_t from, uint64_t to, enum tq_unwatched_why why,
                    const struct tq_span_st *st)
{
    struct tq_vst *v = arg;
    char a[32], b[32];
    int error = why == TQ_UW_MISSING || why == TQ_UW_NO_STOP || why == TQ_UW_SILENT;

    tq_utc_text(from, 1, a, sizeof(a));
    tq_utc_text(to, 1, b, sizeof(b));
    if (!error) {
        printf("unwatched: from %s to %s UTC, sensor %s: %s (told, not an error)\n", a, b,
               v->o->sensor, tq_unwatched_text(why));
        return;
    }
    if (why != TQ_UW_MISSING) { /* the run's statements stop short: said once */
        struct vrun *r = find_run(v, st->run, 1);
        if (r != NULL)
            r->reported = 1;
    }
    say(v, st->run[0] ? st->run : NULL, st->seq, "unwatched: from %s to %s UTC, sensor %s: %s"
        " (run %s)", a, b, v->o->sensor, tq_unwatched_text(why), st->run[0] ? st->run : "?");
}

/* The end of each run's chain: its newest good statement must be sealed. */
static void chain_ends(struct tq_vst *v)
{
    for (size_t i = 0; i < v->n; i++) {
        const struct vst *st = &v->s[i];
        size_t k = i;
        /* the last good statement of the run (sorted by run, seq) */
        while (k + 1 < v->n && strcmp(v->s[k + 1].span.run, st->span.run) == 0)
            k++;
        const struct vst *newest = NULL;
        for (size_t m = i; m <= k; m++)
            if (v->s[m].good && v->s[m].span.seq != 0)
                newest = &v->s[m];
        i = k;
        if (newest == NULL || !newest->in)
            continue;
        const struct vrun *r = find_run(v, newest->span.run, 0);
        uint64_t sealed = r != NULL ? r->sealed : 0;
        if (newest->span.seq > sealed)
            say(v, newest->span.run, sealed + 1, "deleted: run %s seq %" PRIu64 "..%" PRIu64
                ": statement n %" PRIu64 " (%s) was chained at seq %" PRIu64 " (%" PRIu64
                " records and %" PRIu64 " alerts emitted in the run by then), the run's seals "
                "end at seq %" PRIu64 ": the newest seals are missing", newest->span.run,
                sealed + 1, newest->span.seq, newest->n, newest->where, newest->span.seq,
                newest->records_to, newest->alerts_to, sealed);
    }
}

/* Runs without a stop statement whose last one is older than 2 intervals before the newest
 * seal or now, not already said by an unwatched span. */
static void stops_short(struct tq_vst *v, uint64_t ref_us)
{
    for (size_t i = 0; i < v->n; i++) {
        size_t k = i;
        while (k + 1 < v->n && strcmp(v->s[k + 1].span.run, v->s[i].span.run) == 0)
            k++;
        const struct vst *last = NULL;
        int has_stop = 0;
        for (size_t m = i; m <= k; m++) {
            const struct vst *s = &v->s[m];
            if (!s->good || s->span.run[0] == '\0')
                continue;
            has_stop |= s->span.stop;
            if (last == NULL || s->span.to > last->span.to)
                last = s;
        }
        i = k;
        if (last == NULL ||
            !tq_vst_stops_short(has_stop, last->span.to, last->span.interval_us, ref_us))
            continue;
        struct vrun *r = find_run(v, last->span.run, 1);
        if (r == NULL || r->reported)
            continue;
        /* unwatched until the next run began (its first statement), else until ref */
        uint64_t end = ref_us;
        for (size_t m = 0; m < v->n; m++)
            if (v->s[m].good && strcmp(v->s[m].span.run, last->span.run) != 0 &&
                v->s[m].span.from >= last->span.to && v->s[m].span.from < end)
                end = v->s[m].span.from;
        if (!in_range(v->o, last->span.to, end))
            continue;
        char a[32], b[32];
        tq_utc_text(last->span.to, 1, a, sizeof(a));
        tq_utc_text(end, 1, b, sizeof(b));
        r->reported = 1;
        say(v, last->span.run, last->span.seq, "unwatched: from %s to %s UTC, sensor %s: run %s's "
            "statements stop short: no stop statement, its last (n %" PRIu64 ") %.0f s before "
            "%s", a, b, v->o->sensor, last->span.run, last->n,
            (double)(ref_us - last->span.to) / 1e6,
            ref_us == v->newest_seal_us ? "the newest seal" : "now");
    }
}

void tq_vst_finish(struct tq_vst *v, uint64_t now_us)
{
    struct tq_span_st *spans;
    size_t ns = 0;

    if (v->n > 1)
        qsort(v->s, v->n, sizeof(*v->s), by_run_seq);
    chain_ends(v);
    /* what the good statements cover: one that does not verify vouches for nothing */
    if (v->n > 0 && (spans = calloc(v->n, sizeof(*spans))) != NULL) {
        for (size_t i = 0; i < v->n; i++)
            if (v->s[i].good)
                spans[ns++] = v->s[i].span;
        tq_unwatched_spans(spans, ns, v->o, now_us, 0, on_span, v);
        free(spans);
    } else if (v->n > 0) {
        fprintf(stderr, PROG ": out of memory: unwatched spans not checked\n");
    }
    stops_short(v, v->newest_seal_us > now_us ? v->newest_seal_us : now_us);
}

uint64_t tq_vst_count(const struct tq_vst *v)
{
    return v != NULL ? v->count : 0;
}

void tq_vst_free(struct tq_vst *v)
{
    if (v == NULL)
        return;
    free(v->s);
    free(v->runs);
    free(v);
}
