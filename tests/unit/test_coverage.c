/* test_coverage.c - what no completeness statement covers (control/query/coverage.c,
 * tq_unwatched_spans: the one definition `flows` says on stderr and `verify` checks), and
 * verify's rule for a run whose statements stop short (verify_statements.c). Times are in
 * seconds here (statement_interval 60 s), made microseconds by S(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/query/coverage.h"
#include "control/query/verify_statements.h"

#define S(x) ((uint64_t)(x) * 1000000u)

struct got {
    unsigned n;
    uint64_t from[8], to[8];
    enum tq_unwatched_why why[8];
    char run[8][20];
};

static void collect(void *arg, uint64_t from, uint64_t to, enum tq_unwatched_why why,
                    const struct tq_span_st *st)
{
    struct got *g = arg;

    assert_true(g->n < 8);
    g->from[g->n] = from;
    g->to[g->n] = to;
    g->why[g->n] = why;
    snprintf(g->run[g->n], sizeof(g->run[0]), "%s", st->run);
    g->n++;
}

static struct tq_span_st st(const char *run, uint64_t from, uint64_t to, int stop)
{
    struct tq_span_st s;

    memset(&s, 0, sizeof(s));
    snprintf(s.run, sizeof(s.run), "%s", run);
    s.from = S(from);
    s.to = S(to);
    s.interval_us = S(60);
    s.stop = stop;
    return s;
}

/* one run, given out of order: a statement missing between 220 and 230, then silent */
static void test_one_run(void **state)
{
    struct tq_span_st s[3] = {st("a", 230, 290, 0), st("a", 100, 160, 0), st("a", 160, 220, 0)};
    struct tq_opts o;
    struct got g = {0};

    (void)state;
    memset(&o, 0, sizeof(o));
    o.has_since = 1;
    o.since_us = S(50);
    tq_unwatched_spans(s, 3, &o, S(1000), 0, collect, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.why[0], TQ_UW_BEFORE_FIRST);
    assert_true(g.from[0] == S(50) && g.to[0] == S(100));
    assert_int_equal(g.why[1], TQ_UW_MISSING);
    assert_true(g.from[1] == S(220) && g.to[1] == S(230));
    assert_int_equal(g.why[2], TQ_UW_SILENT);
    assert_true(g.from[2] == S(290) && g.to[2] == S(1000));
    /* now within 2 intervals of the last statement: not silent yet; truncated: no "before" */
    memset(&g, 0, sizeof(g));
    tq_unwatched_spans(s, 3, &o, S(400), 1, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.why[0], TQ_UW_MISSING);
    /* --until before the hole: nothing; the spans are clipped to the range */
    memset(&g, 0, sizeof(g));
    o.has_since = 0;
    o.has_until = 1;
    o.until_us = S(225);
    tq_unwatched_spans(s, 3, &o, S(1000), 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_true(g.from[0] == S(220) && g.to[0] == S(225));
}

/* runs: a stopped one and one that ended without a statement, more than 2 intervals before
 * the next; a quick restart says nothing; after a stop statement only with --until */
static void test_runs(void **state)
{
    struct tq_span_st s[5] = {st("a", 100, 200, 0), st("a", 200, 210, 1), st("b", 500, 560, 0),
                              st("c", 800, 860, 0), st("c", 860, 870, 1)};
    struct tq_opts o;
    struct got g = {0};

    (void)state;
    memset(&o, 0, sizeof(o));
    tq_unwatched_spans(s, 5, &o, S(5000), 0, collect, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.why[0], TQ_UW_STOPPED);
    assert_true(g.from[0] == S(210) && g.to[0] == S(500));
    assert_string_equal(g.run[0], "a");
    assert_int_equal(g.why[1], TQ_UW_NO_STOP);
    assert_true(g.from[1] == S(560) && g.to[1] == S(800));
    assert_string_equal(g.run[1], "b");
    memset(&g, 0, sizeof(g));
    o.has_until = 1;
    o.until_us = S(9000); /* later than now: the future is not unwatched */
    s[3] = st("c", 600, 860, 0); /* run b restarted within 2 intervals */
    tq_unwatched_spans(s, 5, &o, S(5000), 0, collect, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.why[1], TQ_UW_AFTER_STOP);
    assert_true(g.from[1] == S(870) && g.to[1] == S(5000));
    /* no statement at all (a sensor from before them): nothing */
    memset(&g, 0, sizeof(g));
    tq_unwatched_spans(s, 0, &o, S(5000), 0, collect, &g);
    assert_int_equal(g.n, 0);
    assert_string_equal(tq_unwatched_text(TQ_UW_MISSING), "a completeness statement is missing");
}

static void test_stops_short(void **state)
{
    (void)state;
    /* a stop statement: never */
    assert_int_equal(tq_vst_stops_short(1, S(100), S(60), S(10000)), 0);
    /* 2 intervals and less after the last statement: not yet (a live sensor) */
    assert_int_equal(tq_vst_stops_short(0, S(100), S(60), S(220)), 0);
    assert_int_equal(tq_vst_stops_short(0, S(100), S(60), S(221)), 1);
    /* a reference older than the statement (clocks apart): no */
    assert_int_equal(tq_vst_stops_short(0, S(100), S(60), S(50)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_run),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_stops_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
