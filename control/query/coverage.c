/* coverage.c - gap, unwatched and invalid lines on stderr (coverage.h). */
#include "control/query/coverage.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/query/escape.h"
#include "control/record/keys.h"

/* Statements read at most (a week at 60 s is 10080): a query over more checks the newest only,
 * and says so. */
#define TQ_STATEMENTS_MAX 20000

json_object *tq_json_parse(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *j;

    if (tok == NULL)
        return NULL;
    j = json_tokener_parse_ex(tok, text, (int)len);
    /* the whole text, one object: "{} trailing" or a number is not a record */
    if (j != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
                      json_tokener_get_parse_end(tok) != len ||
                      !json_object_is_type(j, json_type_object))) {
        json_object_put(j);
        j = NULL;
    }
    json_tokener_free(tok);
    return j;
}

/* text from Redis on a terminal: escaped (escape.h) */
static void put_safe(const char *s)
{
    char buf[512];

    tq_escape_text(s, buf, sizeof(buf));
    fputs(buf, stderr);
}

void tq_warn_invalid(const char *key, const char *field, const char *why)
{
    fputs(PROG ": warning: ", stderr);
    put_safe(key);
    fputc(' ', stderr);
    put_safe(field);
    fprintf(stderr, ": %s, left out of the answer\n", why);
}

static void utc(uint64_t us, char *out, size_t len)
{
    tq_utc_text(us, 1, out, len);
}

static uint64_t us_of(json_object *j, const char *key)
{
    json_object *v;
    double d;

    if (!json_object_object_get_ex(j, key, &v))
        return 0;
    d = json_object_get_double(v);
    return d > 0 ? (uint64_t)llround(d * 1e6) : 0;
}

static int overlaps(const struct tq_opts *o, uint64_t from, uint64_t to)
{
    return !(o->has_since && to < o->since_us) && !(o->has_until && from > o->until_us);
}

/* tw:{S}:gaps: every gap record whose span overlaps the range */
static int gaps(struct tw_rclient *c, const struct tq_opts *o)
{
    char key[TW_KEY_LEN], a[32], b[32];
    redisReply *r;

    tw_key_gaps(key, sizeof(key), o->sensor);
    if ((r = tw_rclient_command(c, "HGETALL %s", key)) == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        json_object *j, *x;
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if ((j = tq_json_parse(v->str, v->len)) == NULL) {
            tq_warn_invalid(key, f->str, "gap record not valid JSON");
            continue;
        }
        uint64_t from = us_of(j, "from"), until = us_of(j, "until");
        if (overlaps(o, from, until)) {
            utc(from, a, sizeof(a));
            utc(until, b, sizeof(b));
            fprintf(stderr, PROG ": warning: gap: %" PRIu64 " records lost (",
                    json_object_object_get_ex(j, "records", &x) ? json_object_get_uint64(x) : 0);
            put_safe(json_object_object_get_ex(j, "reason", &x) ? json_object_get_string(x) : "?");
            fprintf(stderr, ") from %s to %s UTC, sensor ", a, b);
            put_safe(o->sensor);
            fputs(", gap ", stderr);
            put_safe(f->str);
            fputc('\n', stderr);
        }
        json_object_put(j);
    }
    freeReplyObject(r);
    return 0;
}

static int by_to(const void *pa, const void *pb)
{
    const struct tq_span_st *a = pa, *b = pb;
    return a->to < b->to ? -1 : a->to > b->to ? 1 : a->from < b->from ? -1 : a->from > b->from;
}

const char *tq_unwatched_text(enum tq_unwatched_why why)
{
    switch (why) {
    case TQ_UW_BEFORE_FIRST: return "before the first completeness statement";
    case TQ_UW_MISSING: return "a completeness statement is missing";
    case TQ_UW_STOPPED: return "the sensor was stopped";
    case TQ_UW_NO_STOP: return "the sensor stopped without a statement";
    case TQ_UW_AFTER_STOP: return "after the sensor's stop statement";
    case TQ_UW_SILENT: return "no completeness statement since (the sensor is silent)";
    }
    return "?";
}

void tq_span_of(json_object *j, struct tq_span_st *t)
{
    json_object *x;

    memset(t, 0, sizeof(*t));
    t->from = us_of(j, "from");
    t->to = us_of(j, "to");
    t->interval_us = (json_object_object_get_ex(j, "interval", &x)
                          ? json_object_get_uint64(x) : 60) * 1000000;
    snprintf(t->run, sizeof(t->run), "%s",
             json_object_object_get_ex(j, "run", &x) ? json_object_get_string(x) : "");
    t->stop = json_object_object_get_ex(j, "kind", &x) &&
              strcmp(json_object_get_string(x), "stop") == 0;
    if (json_object_object_get_ex(j, "seq", &x) && json_object_is_type(x, json_type_int))
        t->seq = json_object_get_uint64(x);
}

/* one span: clipped to the range, nothing when empty or outside it */
static void span(const struct tq_opts *o, uint64_t from, uint64_t to, enum tq_unwatched_why why,
                 const struct tq_span_st *st, tq_unwatched_fn fn, void *arg)
{
    if (to <= from || !overlaps(o, from, to))
        return;
    if (o->has_since && from < o->since_us) /* said within the asked range */
        from = o->since_us;
    if (o->has_until && to > o->until_us)
        to = o->until_us;
    fn(arg, from, to, why, st);
}

void tq_unwatched_spans(struct tq_span_st *s, size_t n, const struct tq_opts *o,
                        uint64_t now_us, int truncated, tq_unwatched_fn fn, void *arg)
{
    if (n == 0) /* a sensor from before statements: nothing to say */
        return;
    qsort(s, n, sizeof(*s), by_to);
    if (!truncated && o->has_since)
        span(o, o->since_us, s[0].from, TQ_UW_BEFORE_FIRST, &s[0], fn, arg);
    for (size_t i = 0; i + 1 < n; i++) {
        const struct tq_span_st *a = &s[i], *b = &s[i + 1];
        if (strcmp(a->run, b->run) == 0) {
            if (b->from > a->to)
                span(o, a->to, b->from, TQ_UW_MISSING, a, fn, arg);
        } else if (b->from > a->to && b->from - a->to > 2 * a->interval_us) {
            span(o, a->to, b->from, a->stop ? TQ_UW_STOPPED : TQ_UW_NO_STOP, a, fn, arg);
        }
    }
    const struct tq_span_st *last = &s[n - 1];
    uint64_t upto = o->has_until ? o->until_us : now_us;
    if (o->has_until && upto > now_us)
        upto = now_us; /* the future is not unwatched yet */
    if (last->stop && o->has_until)
        span(o, last->to, upto, TQ_UW_AFTER_STOP, last, fn, arg);
    else if (!last->stop && upto > last->to && upto - last->to > 2 * last->interval_us)
        span(o, last->to, upto, TQ_UW_SILENT, last, fn, arg);
}

/* flows/alerts: one line on stderr per span */
static void warn_span(void *arg, uint64_t from, uint64_t to, enum tq_unwatched_why why,
                      const struct tq_span_st *st)
{
    const struct tq_opts *o = arg;
    char a[32], b[32];

    (void)st;
    utc(from, a, sizeof(a));
    utc(to, b, sizeof(b));
    fprintf(stderr, PROG ": warning: unwatched: from %s to %s UTC, sensor ", a, b);
    put_safe(o->sensor);
    fprintf(stderr, ": %s\n", tq_unwatched_text(why));
}

int tq_coverage_warn(struct tw_rclient *c, const struct tq_opts *o)
{
    char key[TW_KEY_LEN];
    struct tq_span_st *s = NULL;
    size_t n = 0, cap = 0;
    char end[48] = "+", lo[32] = "-";
    redisReply *r;
    int truncated = 0;

    if (gaps(c, o) < 0)
        return -1;
    /* the statements that may cover the range, newest first in pages: an entry is written at
     * or after its statement's `to`, so none ending after --since has an older ID */
    tw_key_statements(key, sizeof(key), o->sensor);
    if (o->has_since)
        snprintf(lo, sizeof(lo), "%" PRIu64, o->since_us / 1000);
    for (;;) {
        if (n >= TQ_STATEMENTS_MAX) {
            truncated = 1;
            break;
        }
        r = tw_rclient_command(c, "XREVRANGE %s %s %s COUNT %d", key, end, lo, TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            free(s);
            return tq_reply_failed(c, r, "XREVRANGE");
        }
        size_t got = r->elements;
        for (size_t i = 0; i < got; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            snprintf(end, sizeof(end), "(%s", e->element[0]->str);
            const redisReply *fv = e->element[1];
            json_object *j = NULL;
            for (size_t k = 0; k + 1 < fv->elements; k += 2)
                if (j == NULL && fv->element[k]->type == REDIS_REPLY_STRING &&
                    fv->element[k + 1]->type == REDIS_REPLY_STRING &&
                    strcmp(fv->element[k]->str, "statement") == 0)
                    j = tq_json_parse(fv->element[k + 1]->str, fv->element[k + 1]->len);
            if (j == NULL) { /* said by `statements`; here it simply covers nothing */
                tq_warn_invalid(key, e->element[0]->str, "statement not valid JSON");
                continue;
            }
            struct tq_span_st *g = tq_grow(s, n, &cap, sizeof(*s), 256);
            if (g == NULL) {
                json_object_put(j);
                freeReplyObject(r);
                free(s);
                return -1;
            }
            s = g;
            tq_span_of(j, &s[n++]);
            json_object_put(j);
        }
        freeReplyObject(r);
        if (got < TQ_PAGE)
            break;
    }
    if (truncated)
        fprintf(stderr, PROG ": warning: more than %d completeness statements: unwatched spans "
                        "checked over the newest %d only (narrow the range with --since)\n",
                TQ_STATEMENTS_MAX, TQ_STATEMENTS_MAX);
    tq_unwatched_spans(s, n, o, (uint64_t)time(NULL) * 1000000, truncated, warn_span, (void *)o);
    free(s);
    return 0;
}
