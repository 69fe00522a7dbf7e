/* test_timeparse.c - command-line times (control/timeparse.c). Expected values were checked
 * with `date -u -d @SECONDS`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/query/timeparse.h"

#define S 1000000ULL
/* 2026-03-02T09:00:00Z */
#define T0 1772442000ULL
/* "now" for relative times: 2026-03-02T12:00:00.5Z */
#define NOW ((T0 + 3 * 3600) * S + 500000)

static uint64_t ok(const char *text)
{
    uint64_t us = 0;
    char err[160] = "";

    if (tw_parse_time(text, NOW, &us, err, sizeof(err)) != 0)
        fail_msg("\"%s\" refused: %s", text, err);
    return us;
}

static void test_iso(void **state)
{
    (void)state;
    assert_int_equal(ok("2026-03-02T09:00:00Z"), T0 * S);
    assert_int_equal(ok("2026-03-02t09:00:00z"), T0 * S);
    assert_int_equal(ok("2026-03-02 09:00:00Z"), T0 * S);
    assert_int_equal(ok("2026-03-02T09:00Z"), T0 * S);
    assert_int_equal(ok("2026-03-02"), (T0 - 9 * 3600) * S);
    assert_int_equal(ok("1970-01-01"), 0);
    assert_int_equal(ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ok("2022-06-04T23:25:42.293Z"), 1654385142293000ULL);
    assert_int_equal(ok("2022-06-04T23:25:42,293Z"), 1654385142293000ULL);
    assert_int_equal(ok("2026-03-02T09:00:00.000001Z"), T0 * S + 1);
    assert_int_equal(ok("2026-03-02T09:00:00.123456789Z"), T0 * S + 123456); /* truncated */
    assert_int_equal(ok("2024-02-29T00:00:00Z"), 1709164800ULL * S);          /* leap day */
    assert_int_equal(ok("2000-02-29"), 951782400ULL * S);
    assert_int_equal(ok("9999-12-31T23:59:59Z"), 253402300799ULL * S);
}

static void test_offsets(void **state)
{
    (void)state;
    /* 17:00 in Beijing is 09:00 UTC */
    assert_int_equal(ok("2026-03-02T17:00:00+08:00"), T0 * S);
    assert_int_equal(ok("2026-03-02T17:00:00+0800"), T0 * S);
    assert_int_equal(ok("2026-03-02T04:00:00-05:00"), T0 * S);
    assert_int_equal(ok("2026-03-02T14:30:00.5+05:30"), T0 * S + 500000);
    assert_int_equal(ok("2026-03-02T09:00:00+00:00"), T0 * S);
    assert_int_equal(ok("2026-03-02T09:00:00-00:00"), T0 * S);
    /* an offset can carry the time across midnight */
    assert_int_equal(ok("2026-03-03T01:00:00+14:00"), (T0 + 2 * 3600) * S);
    assert_int_equal(ok("2026-03-01T23:00:00-12:00"), (T0 + 2 * 3600) * S);
}

static void test_epoch(void **state)
{
    (void)state;
    assert_int_equal(ok("1772442000"), T0 * S);
    assert_int_equal(ok("1654385142.293"), 1654385142293000ULL);
    assert_int_equal(ok("1654385142.293000"), 1654385142293000ULL);
    assert_int_equal(ok("0"), 0);
    assert_int_equal(ok("12.5"), 12500000);
}

static void test_relative(void **state)
{
    (void)state;
    assert_int_equal(ok("-45s"), NOW - 45 * S);
    assert_int_equal(ok("-30m"), NOW - 30 * 60 * S);
    assert_int_equal(ok("-2h"), NOW - 2 * 3600 * S);
    assert_int_equal(ok("-7d"), NOW - 7 * 86400 * S);
    assert_int_equal(ok("-0s"), NOW);
    assert_int_equal(ok("now"), NOW);
}

static void test_bad(void **state)
{
    static const char *bad[] = {
        "",                          /* empty */
        "yesterday",                 /* words */
        "2026-13-01",                /* month 13 */
        "2026-00-10",                /* month 0 */
        "2026-02-29",                /* not a leap year */
        "2026-04-31",                /* April has 30 days */
        "2026-3-2",                  /* digits missing */
        "2026-03-02T25:00:00Z",      /* hour 25 */
        "2026-03-02T09:60:00Z",      /* minute 60 */
        "2026-03-02T09:00:00",       /* no zone: refused, not guessed */
        "2026-03-02T09:00:00+8",     /* short offset */
        "2026-03-02T09:00:00+15:00", /* offset beyond +14 */
        "2026-03-02T09:00:00.Z",     /* dot without digits */
        "2026-03-02T09:00:00Zjunk",  /* trailing text */
        "1969-12-31",                /* before the epoch */
        "1970-01-01T00:00:00+01:00", /* before the epoch through the offset */
        "-2",                        /* no unit */
        "-2w",                       /* unknown unit */
        "-h",                        /* no number */
        "-2hh",                      /* trailing text */
        "-999999d",                  /* before the epoch */
        "12abc",                     /* not a number */
        "1.2.3",                     /* two dots */
        ".5",                        /* no integer part */
        "99999999999999",            /* far too large for seconds */
        "+5m",                       /* the future is not a form */
    };
    uint64_t us;
    char err[160];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        us = 12345;
        if (tw_parse_time(bad[i], NOW, &us, err, sizeof(err)) != -1)
            fail_msg("\"%s\" accepted as %llu", bad[i], (unsigned long long)us);
        /* one line that names the input */
        assert_non_null(strstr(err, "bad time \""));
        assert_null(strchr(err, '\n'));
        assert_int_equal(us, 12345); /* untouched on error */
    }
    assert_int_equal(tw_parse_time(NULL, NOW, &us, err, sizeof(err)), -1);
    /* a tiny or absent err buffer is fine */
    assert_int_equal(tw_parse_time("bad", NOW, &us, err, 4), -1);
    assert_int_equal(strlen(err), 3);
    assert_int_equal(tw_parse_time("bad", NOW, &us, NULL, 0), -1);
}

static void test_error_text(void **state)
{
    char err[160];
    uint64_t us;
    (void)state;

    tw_parse_time("2026-13-01", NOW, &us, err, sizeof(err));
    assert_string_equal(err, "bad time \"2026-13-01\": month must be 01 to 12");
    tw_parse_time("2026-03-02T09:00:00", NOW, &us, err, sizeof(err));
    assert_string_equal(err, "bad time \"2026-03-02T09:00:00\": add a time zone: Z for UTC or an "
                             "offset like +08:00");
    tw_parse_time("-2w", NOW, &us, err, sizeof(err));
    assert_string_equal(err, "bad time \"-2w\": unknown unit \"w\" (use s, m, h or d)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso),      cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_epoch),    cmocka_unit_test(test_relative),
        cmocka_unit_test(test_bad),      cmocka_unit_test(test_error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
