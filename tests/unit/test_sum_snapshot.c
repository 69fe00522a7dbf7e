/* test_sum_snapshot.c - the canonical text of a summary bucket (control/evidence/
 * sum_snapshot.c), which the sensor seals and verify renders again from Redis, and the
 * sensor's accumulator of what it added to each open bucket (control/store/summary_seal.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/evidence/sum_snapshot.h"
#include "control/store/summary_seal.h"

static struct tw_sum_entry ent(char sect, const char *name, int64_t v)
{
    struct tw_sum_entry e = {.sect = sect, .value = v};

    e.nlen = (uint8_t)strlen(name);
    memcpy(e.name, name, e.nlen);
    return e;
}

/* The order of the lines is the sections' then the names' bytes, whatever the order the
 * entries came in; the same name twice is one line with the sum; a name with a space, a
 * '%' or a control byte is escaped; the tag ends a sealed snapshot. */
static void test_render(void **state)
{
    (void)state;
    struct tw_sum_entry e[] = {
        ent('p', "10.0.0.9", 300), ent('f', "flows", 1), ent('a', "TLS.Google", 50),
        ent('f', "bytes_out", 7), ent('p', "10.0.0.10", 20), ent('f', "flows", 2),
        ent('a', "a b%\n", -5),
    };
    struct tw_sum_bucket b = {.equipment = "srv-02", .by = 'd', .bucket = 20514, .e = e, .n = 7};
    char out[1024];
    size_t from = 0;

    tw_sum_normalize(&b);
    assert_int_equal(b.n, 6);
    long n = tw_sum_render(&b, &from, 12, "000661ab1d4f8c21", out, sizeof(out));
    const char *want = "tws-sum1 srv-02 d 20514\n"
                       "a TLS.Google 50\n"
                       "a a%20b%25%0A -5\n"
                       "f bytes_out 7\n"
                       "f flows 3\n"
                       "p 10.0.0.10 20\n"
                       "p 10.0.0.9 300\n"
                       "seq=12 run=000661ab1d4f8c21\n";
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(from, 6);

    /* read back: the same bucket, the same number */
    struct tw_sum_bucket p;
    uint64_t seq;
    char run[17];
    assert_int_equal(tw_sum_parse(out, (size_t)n, &p, &seq, run), 0);
    assert_string_equal(p.equipment, "srv-02");
    assert_int_equal(p.by, 'd');
    assert_int_equal(p.bucket, 20514);
    assert_int_equal(seq, 12);
    assert_string_equal(run, "000661ab1d4f8c21");
    assert_int_equal(p.n, 6);
    for (size_t i = 0; i < p.n; i++) {
        assert_int_equal(tw_sum_entry_cmp(&p.e[i], &b.e[i]), 0);
        assert_int_equal(p.e[i].value, b.e[i].value);
    }
    /* rendered again without the tag: what verify compares */
    char again[1024];
    from = 0;
    assert_true(tw_sum_render(&p, &from, 0, "", again, sizeof(again)) > 0);
    assert_int_equal(strncmp(again, want, strlen(again)), 0);
    assert_null(strstr(again, "seq="));
    free(p.e);
}

/* A small buffer: the entries are split over parts, each with the header and the tag, and
 * together they hold every entry once. */
static void test_parts(void **state)
{
    (void)state;
    struct tw_sum_entry e[40];
    char name[24];
    for (unsigned i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "10.0.0.%u", i);
        e[i] = ent('p', name, (int64_t)i);
    }
    struct tw_sum_bucket b = {.equipment = "e1", .by = 'h', .bucket = 492345, .e = e, .n = 40};
    tw_sum_normalize(&b);
    size_t from = 0, total = 0;
    int parts = 0;
    while (from < b.n) {
        char out[200];
        struct tw_sum_bucket p;
        uint64_t seq;
        char run[17];
        long n = tw_sum_render(&b, &from, 100 + (uint64_t)parts, "0000000000000001", out,
                               sizeof(out));
        assert_true(n > 0 && n < 200);
        assert_int_equal(tw_sum_parse(out, (size_t)n, &p, &seq, run), 0);
        assert_int_equal(seq, 100 + (uint64_t)parts);
        total += p.n;
        free(p.e);
        parts++;
    }
    assert_true(parts > 1);
    assert_int_equal(total, 40);
    /* too small for the header, an entry and the tag */
    char tiny[40];
    from = 0;
    assert_int_equal(tw_sum_render(&b, &from, 1, "0000000000000001", tiny, sizeof(tiny)), -1);
}

/* Texts that are not snapshots: refused, nothing allocated. */
static void test_parse_bad(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "tws-sum1 e1 h 5",                      /* no newline */
        "tws-sum2 e1 h 5\n",                    /* another version */
        "tws-sum1 e1 x 5\n",                    /* neither hour nor day */
        "tws-sum1 e1 h 05\n",                   /* a leading zero */
        "tws-sum1 e1 h 5\nf flows\n",           /* no value */
        "tws-sum1 e1 h 5\nf flows 1x\n",        /* not a number */
        "tws-sum1 e1 h 5\nz flows 1\n",         /* no such section */
        "tws-sum1 e1 h 5\nf fl%4 1\n",          /* a cut escape */
        "tws-sum1 e1 h 5\nf flows 1\nseq=0 run=0000000000000001\n", /* seq 0 */
        "tws-sum1 e1 h 5\nseq=3 run=0000000000000001\nf flows 1\n", /* the tag not last */
        "tws-sum1 e1 h 5\nf flows 99999999999999999999\n", /* beyond int64 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tw_sum_bucket p;
        uint64_t seq;
        char run[17];
        assert_int_equal(tw_sum_parse(bad[i], strlen(bad[i]), &p, &seq, run), -1);
        assert_null(p.e);
    }
}

struct taken {
    unsigned n;
    char text[4][512];
};

static void take(void *arg, const struct tw_sum_bucket *b)
{
    struct taken *t = arg;
    size_t from = 0;

    assert_true(t->n < 4);
    assert_true(tw_sum_render(b, &from, 0, "", t->text[t->n], sizeof(t->text[0])) > 0);
    assert_int_equal(from, b->n);
    t->n++;
}

/* The accumulator: entries add up per bucket; an hour boundary of the sensor's time says to
 * take them (not the first time it is set, nor with nothing open); a full memory refuses. */
static void test_accumulator(void **state)
{
    (void)state;
    struct tw_sumseal *ss = tw_sumseal_open(4);
    struct taken t = {0};
    const uint64_t hour = 3600000000ULL;

    assert_non_null(ss);
    assert_int_equal(tw_sumseal_time(ss, 492345 * hour + 10), 0);
    assert_int_equal(tw_sumseal_add(ss, "e1", 'h', 492345, 'f', "flows", 1), 0);
    assert_int_equal(tw_sumseal_add(ss, "e1", 'h', 492345, 'f', "flows", 1), 0);
    assert_int_equal(tw_sumseal_add(ss, "e1", 'd', 20514, 'f', "flows", 1), 0);
    assert_int_equal(tw_sumseal_add(ss, "e2", 'h', 492345, 'p', "10.0.0.1", 70), 0);
    assert_int_equal(tw_sumseal_add(ss, "e1", 'h', 492345, 'a', "SSH", 5), 0);
    assert_int_equal(tw_sumseal_add(ss, "e1", 'h', 492345, 'a', "VNC", 5), -ENOSPC);
    assert_int_equal(tw_sumseal_pending(ss), 4);
    assert_int_equal(tw_sumseal_time(ss, 492345 * hour + 20), 0); /* the same hour */
    assert_int_equal(tw_sumseal_time(ss, 492346 * hour), 1);      /* the next */
    tw_sumseal_take(ss, take, &t);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.text[0], "tws-sum1 e1 h 492345\na SSH 5\nf flows 2\n");
    assert_string_equal(t.text[1], "tws-sum1 e1 d 20514\nf flows 1\n");
    assert_string_equal(t.text[2], "tws-sum1 e2 h 492345\np 10.0.0.1 70\n");
    assert_int_equal(tw_sumseal_pending(ss), 0);
    assert_int_equal(tw_sumseal_time(ss, 492347 * hour), 0); /* nothing open */
    /* room again after a take */
    assert_int_equal(tw_sumseal_add(ss, "e1", 'h', 492345, 'a', "VNC", 5), 0);
    tw_sumseal_close(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_accumulator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
