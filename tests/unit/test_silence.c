/* test_silence.c - the silence rules (control/policy/silence.h) with hand-made flow records
 * and clocks: an equipment silent inside its expected hours alerts once, and once back; a
 * silence that begins outside them waits for the next window (its guard_period is the
 * window's start); windows across midnight; nothing for a silence shorter than silent_after
 * or refilled by a late report within the report lag; a silence found whole between the
 * horizon and a later activity (silent and back together); the state kept across a reload
 * by equipment name; the mirror's holes (replay) and its pulse (live); the loader's keys and
 * which rules they make configured; the reader's hole queue (dataplane/time_gaps.h).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/policy/policy.h"
#include "control/policy/silence.h"
#include "control/record/alert.h"
#include "dataplane/time_gaps.h"

#define SEC 1000000ULL
#define MIN (60 * SEC)
#define HOUR (3600 * SEC)
#define MON (1772409600ULL * SEC) /* 2026-03-02T00:00:00Z, a Monday */

static struct tw_policy *load_text(const char *text)
{
    char path[] = "/tmp/tw-silence-test.XXXXXX", err[512];
    int fd = mkstemp(path);
    struct tw_policy *p;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    p = tw_policy_load(path, err, sizeof(err));
    unlink(path);
    if (p == NULL)
        fail_msg("policy should load: %s", err);
    return p;
}

struct got {
    int n;
    struct tw_alert a[16];
};

static void collect(void *ctx, const struct tw_alert *a)
{
    struct got *g = ctx;
    if (g->n < 16)
        g->a[g->n] = *a;
    g->n++;
}

/* A flow of the equipment at addr seen from first to last (microseconds). */
static struct tw_flow_record flow(const char *addr, uint64_t first, uint64_t last)
{
    struct tw_flow_record r;

    memset(&r, 0, sizeof(r));
    r.ip_version = 4;
    assert_int_equal(inet_pton(AF_INET, addr, r.src_ip), 1);
    assert_int_equal(inet_pton(AF_INET, "192.0.2.9", r.dst_ip), 1);
    r.first_seen_us = first;
    r.last_seen_us = last;
    r.event = TW_EVENT_END;
    return r;
}

/* A replay's clock at now with no report lag (start: Monday 07:00). */
static int tick(struct tw_silence *s, uint64_t now, uint64_t lag, int final, struct got *g)
{
    struct tw_silence_clock c = {.now_us = now, .start_us = MON + 7 * HOUR, .replay = 1,
                                 .report_lag_us = lag, .final = (uint8_t)final};
    return tw_silence_tick(s, &c, collect, g);
}

static void expect(const struct got *g, int i, unsigned kind, const char *eq, uint64_t ts,
                   uint64_t guard_us)
{
    assert_true(i < g->n);
    assert_string_equal(tw_alert_kind_name(g->a[i].kind), tw_alert_kind_name(kind));
    assert_string_equal(g->a[i].equipment, eq);
    assert_int_equal(g->a[i].ts_us, ts);
    assert_int_equal(g->a[i].guard_period, guard_us / SEC);
    assert_int_equal(g->a[i].flow_id, 0);
    assert_int_equal(g->a[i].record_hour, UINT64_MAX);
}

static const char day_policy[] =
    "equipment:\n"
    "  - name: atm-01\n"
    "    addresses: [10.0.0.1]\n"
    "    expect_traffic: \"mon-fri 08:00-18:00\"\n"
    "  - name: night-01\n"
    "    addresses: [10.0.0.2]\n"
    "    expect_traffic: [\"daily 22:00-02:00\"]\n"
    "    silent_after: 30m\n"
    "  - name: other\n"
    "    addresses: [10.0.0.3]\n";

static void test_inside_hours(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(day_policy);
    struct tw_silence *s = tw_silence_new();
    struct got g = {0};
    struct tw_flow_record r;

    assert_non_null(s);
    assert_int_equal(tw_silence_bind(s, p), 0);
    tick(s, MON + 7 * HOUR, 0, 0, &g);
    r = flow("10.0.0.1", MON + 7 * HOUR + 50 * MIN, MON + 8 * HOUR + 30 * MIN);
    tw_silence_activity(s, &r);
    r = flow("10.0.0.2", MON + 7 * HOUR, MON + 23 * HOUR); /* keeps night-01 quiet */
    tw_silence_activity(s, &r);
    tick(s, MON + 9 * HOUR + 29 * MIN, 0, 0, &g);
    assert_int_equal(g.n, 0); /* 59 minutes */
    tick(s, MON + 10 * HOUR, 0, 0, &g);
    assert_int_equal(g.n, 1);
    expect(&g, 0, TW_ALERT_SILENT_EQUIPMENT, "atm-01", MON + 9 * HOUR + 30 * MIN,
           MON + 9 * HOUR + 30 * MIN);
    tick(s, MON + 10 * HOUR + 30 * MIN, 0, 0, &g);
    assert_int_equal(g.n, 1); /* once per silence */
    r = flow("10.0.0.1", MON + 11 * HOUR, MON + 11 * HOUR + MIN);
    tw_silence_activity(s, &r);
    tick(s, MON + 11 * HOUR + 2 * MIN, 0, 0, &g);
    assert_int_equal(g.n, 2);
    expect(&g, 1, TW_ALERT_EQUIPMENT_BACK, "atm-01", MON + 11 * HOUR, MON + 9 * HOUR + 30 * MIN);
    r = flow("10.0.0.1", MON + 11 * HOUR + 30 * MIN, MON + 11 * HOUR + 31 * MIN);
    tw_silence_activity(s, &r);
    tick(s, MON + 11 * HOUR + 40 * MIN, 0, 0, &g);
    assert_int_equal(g.n, 2); /* back once */
    tw_silence_free(s);
    tw_policy_free(p);
}

/* A silence that begins after the hours: nothing until the next window opens, whose start is
 * the silence's first second. */
static void test_outside_hours(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(day_policy);
    struct tw_silence *s = tw_silence_new();
    struct got g = {0};
    struct tw_flow_record r;

    assert_int_equal(tw_silence_bind(s, p), 0);
    r = flow("10.0.0.1", MON + 7 * HOUR, MON + 17 * HOUR + 30 * MIN);
    tw_silence_activity(s, &r);
    r = flow("10.0.0.2", MON + 7 * HOUR, MON + 48 * HOUR);
    tw_silence_activity(s, &r);
    tick(s, MON + 23 * HOUR, 0, 0, &g);
    tick(s, MON + 31 * HOUR + 59 * MIN, 0, 0, &g); /* Tuesday 07:59 */
    assert_int_equal(g.n, 0);
    tick(s, MON + 32 * HOUR + 5 * MIN, 0, 0, &g);
    assert_int_equal(g.n, 1);
    expect(&g, 0, TW_ALERT_SILENT_EQUIPMENT, "atm-01", MON + 32 * HOUR, MON + 32 * HOUR);
    tw_silence_free(s);
    tw_policy_free(p);
}

/* "daily 22:00-02:00": the tail after midnight is inside, 02:00 is not. */
static void test_across_midnight(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(day_policy);
    struct tw_silence *s = tw_silence_new();
    struct got g = {0};
    struct tw_flow_record r;

    assert_int_equal(tw_silence_bind(s, p), 0);
    r = flow("10.0.0.1", MON + 7 * HOUR, MON + 48 * HOUR); /* atm-01 busy */
    tw_silence_activity(s, &r);
    r = flow("10.0.0.2", MON + 7 * HOUR, MON + 23 * HOUR + 20 * MIN);
    tw_silence_activity(s, &r);
    tick(s, MON + 24 * HOUR, 0, 0, &g); /* 23:50 inside: silent */
    assert_int_equal(g.n, 1);
    expect(&g, 0, TW_ALERT_SILENT_EQUIPMENT, "night-01", MON + 23 * HOUR + 50 * MIN,
           MON + 23 * HOUR + 50 * MIN);
    r = flow("10.0.0.2", MON + 25 * HOUR + 50 * MIN, MON + 25 * HOUR + 50 * MIN); /* 01:50 */
    tw_silence_activity(s, &r);
    tick(s, MON + 26 * HOUR, 0, 0, &g);
    assert_int_equal(g.n, 2);
    expect(&g, 1, TW_ALERT_EQUIPMENT_BACK, "night-01", MON + 25 * HOUR + 50 * MIN,
           MON + 23 * HOUR + 50 * MIN);
    /* 02:20 is outside: the next silence starts at Tuesday 22:00 */
    tick(s, MON + 45 * HOUR + 59 * MIN, 0, 0, &g);
    assert_int_equal(g.n, 2);
    tick(s, MON + 46 * HOUR, 0, 0, &g);
    assert_int_equal(g.n, 3);
    expect(&g, 2, TW_ALERT_SILENT_EQUIPMENT, "night-01", MON + 46 * HOUR, MON + 46 * HOUR);
    tw_silence_free(s);
    tw_policy_free(p);
}

/* Decisions wait for the report lag: a flow reported late fills what would have been a
 * silence; a hole found whole gives silent and back at once, in any arrival order. */
static void test_report_lag(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(day_policy);
    struct tw_silence *s = tw_silence_new();
    struct got g = {0};
    struct tw_flow_record r;
    const uint64_t lag = 7 * MIN;

    assert_int_equal(tw_silence_bind(s, p), 0);
    r = flow("10.0.0.2", MON + 7 * HOUR, MON + 48 * HOUR);
    tw_silence_activity(s, &r);
    r = flow("10.0.0.1", MON + 7 * HOUR, MON + 8 * HOUR);
    tw_silence_activity(s, &r);
    tick(s, MON + 9 * HOUR + 5 * MIN, lag, 0, &g); /* T0 9:00 > H 8:58 */
    assert_int_equal(g.n, 0);
    r = flow("10.0.0.1", MON + 8 * HOUR + 59 * MIN, MON + 9 * HOUR + 2 * MIN); /* late */
    tw_silence_activity(s, &r);
    tick(s, MON + 9 * HOUR + 30 * MIN, lag, 0, &g);
    assert_int_equal(g.n, 0);
    /* a flow at 11:00 arrives before the horizon reaches the silence of 10:02 */
    r = flow("10.0.0.1", MON + 11 * HOUR, MON + 11 * HOUR);
    tw_silence_activity(s, &r);
    tick(s, MON + 11 * HOUR + 2 * MIN, lag, 1, &g); /* final: H = now */
    assert_int_equal(g.n, 2);
    expect(&g, 0, TW_ALERT_SILENT_EQUIPMENT, "atm-01", MON + 10 * HOUR + 2 * MIN,
           MON + 10 * HOUR + 2 * MIN);
    expect(&g, 1, TW_ALERT_EQUIPMENT_BACK, "atm-01", MON + 11 * HOUR, MON + 10 * HOUR + 2 * MIN);
    tw_silence_free(s);
    tw_policy_free(p);
}

/* Never heard of: silent from the run's start (07:00: its first hour ends at 08:00). A reload
 * keeps an open silence by name; a disabled rule says nothing. */
static void test_start_and_reload(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(day_policy);
    struct tw_silence *s = tw_silence_new();
    struct got g = {0};
    struct tw_flow_record r;

    assert_int_equal(tw_silence_bind(s, p), 0);
    r = flow("10.0.0.2", MON + 7 * HOUR, MON + 48 * HOUR);
    tw_silence_activity(s, &r);
    tick(s, MON + 8 * HOUR + 10 * MIN, 0, 0, &g);
    assert_int_equal(g.n, 1);
    expect(&g, 0, TW_ALERT_SILENT_EQUIPMENT, "atm-01", MON + 8 * HOUR, MON + 8 * HOUR);
    struct tw_policy *p2 = load_text("equipment:\n"
                                     "  - name: new-01\n"
                                     "    addresses: [10.0.0.9]\n"
                                     "    expect_traffic: \"daily 00:00-24:00\"\n"
                                     "  - name: atm-01\n"
                                     "    addresses: [10.0.0.1]\n"
                                     "    expect_traffic: \"mon-fri 08:00-18:00\"\n"
                                     "rules:\n  silent_equipment: {enabled: false}\n");
    assert_int_equal(tw_silence_bind(s, p2), 0);
    tw_policy_free(p);
    r = flow("10.0.0.1", MON + 9 * HOUR, MON + 9 * HOUR);
    tw_silence_activity(s, &r);
    tick(s, MON + 9 * HOUR + 30 * MIN, 0, 0, &g);
    assert_int_equal(g.n, 2); /* back, for the silence opened before the reload */
    expect(&g, 1, TW_ALERT_EQUIPMENT_BACK, "atm-01", MON + 9 * HOUR, MON + 8 * HOUR);
    /* new-01 starts its silence at the reload (horizon 08:10); silent_equipment is off */
    tick(s, MON + 10 * HOUR, 0, 0, &g);
    assert_int_equal(g.n, 2);
    tw_silence_free(s);
    tw_policy_free(p2);
}

static void test_mirror_gap(void **state)
{
    (void)state;
    struct tw_policy *p = load_text("mirror_silent_after: 60s\n"
                                    "equipment:\n  - {name: e1, addresses: [10.0.0.1]}\n");
    struct tw_silence *s = tw_silence_new();
    struct got g = {0};
    const uint64_t t = MON + 10 * HOUR;

    assert_int_equal(tw_silence_gap_threshold_us(p), 60 * SEC);
    assert_int_equal(tw_silence_bind(s, p), 0);
    assert_int_equal(tw_silence_gap(s, t, t + 59 * SEC, collect, &g), 0);
    assert_int_equal(tw_silence_gap(s, t, t + 5 * MIN, collect, &g), 2);
    expect(&g, 0, TW_ALERT_MIRROR_SILENT, "", t + MIN, t + MIN);
    expect(&g, 1, TW_ALERT_MIRROR_BACK, "", t + 5 * MIN, t + MIN);
    /* a replay has no pulse: the clock alone raises nothing */
    assert_int_equal(tick(s, t + HOUR, 0, 0, &g), 0);
    tw_silence_free(s);
    tw_policy_free(p);

    p = load_text("equipment:\n  - {name: e1, addresses: [10.0.0.1]}\n"
                  "rules:\n  mirror_silent: {enabled: false}\n");
    s = tw_silence_new();
    assert_int_equal(tw_silence_bind(s, p), 0);
    assert_int_equal(tw_silence_gap_threshold_us(p), 0);
    assert_int_equal(tw_silence_gap(s, t, t + HOUR, collect, &g), 1); /* back only */
    assert_int_equal(g.a[2].kind, TW_ALERT_MIRROR_BACK);
    tw_silence_free(s);
    tw_policy_free(p);
}

/* Live: the received-packet count against the clock; the default is 60 s. */
static void test_mirror_live(void **state)
{
    (void)state;
    struct tw_policy *p = load_text("equipment:\n  - {name: e1, addresses: [10.0.0.1]}\n");
    struct tw_silence *s = tw_silence_new();
    struct got g = {0};
    const uint64_t t = MON + 10 * HOUR;
    struct tw_silence_clock c = {.now_us = t, .start_us = t, .packets = 0};

    assert_int_equal(tw_silence_bind(s, p), 0);
    tw_silence_tick(s, &c, collect, &g);
    c.now_us = t + 30 * SEC;
    c.packets = 10;
    tw_silence_tick(s, &c, collect, &g); /* last packet at +30 s */
    c.now_us = t + 89 * SEC;
    tw_silence_tick(s, &c, collect, &g);
    assert_int_equal(g.n, 0);
    c.now_us = t + 91 * SEC;
    tw_silence_tick(s, &c, collect, &g);
    c.now_us = t + 95 * SEC;
    tw_silence_tick(s, &c, collect, &g);
    assert_int_equal(g.n, 1);
    expect(&g, 0, TW_ALERT_MIRROR_SILENT, "", t + 90 * SEC, t + 90 * SEC);
    c.now_us = t + 100 * SEC;
    c.packets = 11;
    tw_silence_tick(s, &c, collect, &g);
    c.now_us = t + 101 * SEC;
    c.packets = 12;
    tw_silence_tick(s, &c, collect, &g);
    assert_int_equal(g.n, 2);
    expect(&g, 1, TW_ALERT_MIRROR_BACK, "", t + 100 * SEC, t + 90 * SEC);
    tw_silence_free(s);
    tw_policy_free(p);
}

/* The equipment's rules count once an equipment has expect_traffic; the mirror's always. */
static void test_configured(void **state)
{
    (void)state;
    struct tw_policy *p = load_text("equipment:\n  - {name: e1, addresses: [10.0.0.1]}\n");
    assert_int_equal(tw_policy_rule_count(p), 9);
    tw_policy_free(p);
    p = load_text(day_policy);
    assert_int_equal(tw_policy_rule_count(p), 11);
    tw_policy_free(p);
    p = load_text("silent_after: 90s\nequipment:\n  - {name: e1, addresses: [10.0.0.1]}\n"
                  "rules:\n  mirror_silent: {enabled: false}\n  mirror_back: {enabled: no}\n");
    assert_int_equal(tw_policy_rule_count(p), 7);
    tw_policy_free(p);
}

/* Holes found in read order: time going back makes none, a full queue counts drops. */
static void test_time_gaps(void **state)
{
    (void)state;
    static struct tw_time_gaps g;
    uint64_t a, b, t = MON;

    tw_time_gaps_see(&g, t, 60 * SEC);
    assert_int_equal(g.first_us, t);
    tw_time_gaps_see(&g, t + 59 * SEC, 60 * SEC);
    tw_time_gaps_see(&g, t + 10 * SEC, 60 * SEC); /* back: nothing */
    tw_time_gaps_see(&g, t + 119 * SEC, 60 * SEC);
    assert_int_equal(tw_time_gaps_pop(&g, &a, &b), 1);
    assert_int_equal(a, t + 59 * SEC);
    assert_int_equal(b, t + 119 * SEC);
    assert_int_equal(tw_time_gaps_pop(&g, &a, &b), 0);
    tw_time_gaps_see(&g, t + HOUR, 0); /* threshold 0: none looked for */
    assert_int_equal(tw_time_gaps_pop(&g, &a, &b), 0);
    for (unsigned i = 1; i <= TW_TIME_GAPS + 3; i++)
        tw_time_gaps_see(&g, t + HOUR + i * 2 * MIN, 60 * SEC);
    assert_int_equal(g.dropped, 3);
    for (unsigned i = 0; i < TW_TIME_GAPS; i++)
        assert_int_equal(tw_time_gaps_pop(&g, &a, &b), 1);
    assert_int_equal(b, t + HOUR + TW_TIME_GAPS * 2 * MIN);
    assert_int_equal(tw_time_gaps_pop(&g, &a, &b), 0);
    assert_int_equal(g.first_us, t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inside_hours),   cmocka_unit_test(test_outside_hours),
        cmocka_unit_test(test_across_midnight), cmocka_unit_test(test_report_lag),
        cmocka_unit_test(test_start_and_reload), cmocka_unit_test(test_mirror_gap),
        cmocka_unit_test(test_mirror_live),    cmocka_unit_test(test_configured),
        cmocka_unit_test(test_time_gaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
