/* test_statements.c - completeness statements (control/evidence/statement.c,
 * control/plane/statements.c): the canonical text of a known statement, byte for byte; a
 * signed statement verifies over exactly that text and fails once a byte of it changes or
 * under another key; an unsigned one says so; the interval's counters are the differences of
 * the run's totals; the clock watch sees a step of the wall clock against the monotonic one
 * and nothing below the threshold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "control/evidence/statement.h"
#include "control/plane/statements.h"
#include "dataplane/counters.h"

static void make_key(struct tw_sign_key *k)
{
    assert_int_equal(tw_sign_init(NULL, 0), 0);
    crypto_sign_keypair(k->pk, k->sk);
    tw_sign_fingerprint(k->pk, k->fpr);
}

static void sample(struct tw_statement *st)
{
    memset(st, 0, sizeof(*st));
    st->run_us = 0x661a800a20889ULL;
    st->n = 3;
    st->kind = TW_ST_INTERVAL;
    st->interval_s = 60;
    st->from_us = 1796224053283070ULL;
    st->to_us = 1796224113283071ULL;
    st->received = 1000;
    st->parsed = 990;
    st->dropped = 10;
    st->drops[1] = 10; /* the second drop counter: drop_not_ip */
    st->imissed = 2;
    st->tcp_gap_bytes = 5;
    st->tcp_acked_bytes = 500;
    st->flows_started = 7;
    st->flows_ended = 6;
    st->records_from = 10;
    st->records_to = 20;
    st->alerts_from = 1;
    st->alerts_to = 2;
    st->seq_first = st->seq_last = st->seq = TW_SEQ_NONE;
    st->gap_records = 1;
    st->records_lost = 305;
    memset(st->config_sha, 0xab, 32);
    st->has_config = 1;
    st->clock_synced = 1;
    st->clock_offset_us = -12;
    st->clock_maxerror_us = 3000;
    st->clock_esterror_us = 40;
}

static void test_canonical_text(void **state)
{
    struct tw_statement st;
    char text[TW_STATEMENT_JSON_MAX];
    static const char want[] =
        "{\"v\":1,\"sensor\":\"bank/s1\",\"run\":\"000661a800a20889\",\"n\":3,\"kind\":\"interval\","
        "\"interval\":60,\"from\":1796224053.283070,\"to\":1796224113.283071,"
        "\"packets_received\":1000,\"packets_parsed\":990,\"packets_dropped\":10,"
        "\"dropped_by_reason\":{\"drop_not_ip\":10},\"imissed\":2,\"ierrors\":0,\"rx_nombuf\":0,"
        "\"tcp_gap_bytes\":5,\"tcp_acked_bytes\":500,\"tcp_flows_one_way\":0,"
        "\"tcp_flows_ended\":0,\"flows_started\":7,\"flows_ended\":6,\"records_from\":10,"
        "\"records_to\":20,\"alerts_from\":1,\"alerts_to\":2,\"seq_first\":null,"
        "\"seq_last\":null,\"seq\":null,\"gap_records\":1,\"records_lost\":305,"
        "\"config_sha256\":\"abababababababababababababababababababababababababababababababab\","
        "\"policy_sha256\":\"\",\"geoip_sha256\":\"\",\"clock_synced\":true,"
        "\"clock_offset_us\":-12,\"clock_maxerror_us\":3000,\"clock_esterror_us\":40,"
        "\"clock_step_us\":0,\"key\":\"\"}";

    (void)state;
    sample(&st);
    assert_int_equal(tw_statement_sign(&st, "bank/s1", NULL), 0);
    assert_int_equal(st.is_signed, 0);
    assert_int_equal(tw_statement_to_json(&st, "bank/s1", text, sizeof(text)), strlen(want));
    assert_string_equal(text, want);
    /* seq numbers the chain fills are numbers then */
    st.seq_first = 5;
    st.seq_last = 9;
    st.seq = 10;
    assert_true(tw_statement_to_json(&st, "bank/s1", text, sizeof(text)) > 0);
    assert_non_null(strstr(text, "\"seq_first\":5,\"seq_last\":9,\"seq\":10,"));
    /* a name that would change the text's meaning is refused; a small buffer too */
    assert_int_equal(tw_statement_to_json(&st, "s\"1", text, sizeof(text)), -1);
    assert_int_equal(tw_statement_to_json(&st, "s1", text, 100), -1);
    /* the worst statement fits: every drop counter and number at their largest */
    memset(&st, 0xff, sizeof(st));
    st.kind = TW_ST_CLOCK_STEP;
    st.is_signed = 1;
    memset(st.key, 'f', TW_SIGN_FPR_LEN);
    st.key[TW_SIGN_FPR_LEN] = '\0';
    assert_true(tw_statement_to_json(&st, "b123456789012345678901234567890/s12345678901234567890",
                                     text, sizeof(text)) > 0);
}

static void test_sign_verify(void **state)
{
    struct tw_statement st;
    struct tw_sign_key k, other;
    char text[TW_STATEMENT_JSON_MAX], sig[2 * TW_SIGN_SIG_LEN + 1];
    int n;

    (void)state;
    make_key(&k);
    make_key(&other);
    sample(&st);
    assert_int_equal(tw_statement_sign(&st, "s1", &k), 0);
    assert_int_equal(st.is_signed, 1);
    assert_string_equal(st.key, k.fpr);
    n = tw_statement_to_json(&st, "s1", text, sizeof(text));
    assert_true(n > 0);
    assert_non_null(strstr(text, k.fpr)); /* the key's fingerprint is signed too */
    tw_hex(st.sig, sizeof(st.sig), sig);
    assert_int_equal(tw_statement_check_sig(text, (size_t)n, sig, k.pk), 1);
    assert_int_equal(tw_statement_check_sig(text, (size_t)n, sig, other.pk), -1);
    assert_int_equal(tw_statement_check_sig(text, (size_t)n, "", k.pk), 0);
    assert_int_equal(tw_statement_check_sig(text, (size_t)n, "12ab", k.pk), -1);
    /* one byte of the stored text changed: the statement fails */
    char *p = strstr(text, "\"packets_dropped\":10");
    assert_non_null(p);
    p[19] = '1';
    p[18] = '0'; /* 10 -> 01 */
    assert_int_equal(tw_statement_check_sig(text, (size_t)n, sig, k.pk), -1);
    tw_sign_key_wipe(&k);
    tw_sign_key_wipe(&other);
}

static void test_fill_differences(void **state)
{
    struct tw_statement_totals prev, cur;
    struct tw_statement st;

    (void)state;
    memset(&prev, 0, sizeof(prev));
    memset(&cur, 0, sizeof(cur));
    prev.received = 100;
    cur.received = 250;
    prev.records = 40;
    cur.records = 55;
    prev.alerts = 3;
    cur.alerts = 3;
    prev.drops[4] = 1;
    cur.drops[4] = 6;
    prev.imissed = 9; /* a source whose counter went back (re-attached): 0, not a wrap */
    cur.imissed = 2;
    prev.gap_records = 1;
    cur.gap_records = 2;
    memset(&st, 0, sizeof(st));
    tw_statement_fill(&st, &prev, &cur);
    assert_int_equal(st.received, 150);
    assert_int_equal(st.records_from, 40);
    assert_int_equal(st.records_to, 55);
    assert_int_equal(st.alerts_from, 3);
    assert_int_equal(st.alerts_to, 3);
    assert_int_equal(st.drops[4], 5);
    assert_int_equal(st.imissed, 0);
    assert_int_equal(st.gap_records, 1);
}

static void test_clock_step(void **state)
{
    struct tw_clock_watch w = {0};
    int64_t step = 0;
    uint64_t wall = 1796224053000000ULL, mono = 5000000;

    (void)state;
    assert_int_equal(tw_clock_watch_step(&w, wall, mono, TW_CLOCK_STEP_US, &step), 0); /* primes */
    /* a second on both clocks, with 0.3 s of slew: no step */
    wall += 1300000;
    mono += 1000000;
    assert_int_equal(tw_clock_watch_step(&w, wall, mono, TW_CLOCK_STEP_US, &step), 0);
    assert_int_equal(step, 300000);
    /* the wall clock jumps 90 s forward */
    wall += 91000000;
    mono += 1000000;
    assert_int_equal(tw_clock_watch_step(&w, wall, mono, TW_CLOCK_STEP_US, &step), 1);
    assert_int_equal(step, 90000000);
    /* then 2 s back */
    wall -= 1000000;
    mono += 1000000;
    assert_int_equal(tw_clock_watch_step(&w, wall, mono, TW_CLOCK_STEP_US, &step), 1);
    assert_int_equal(step, -2000000);
    /* the kernel's state reads (whatever it is here) */
    int synced;
    int64_t off;
    uint64_t maxerr, esterr;
    assert_int_equal(tw_clock_sync_state(&synced, &off, &maxerr, &esterr), 0);
    assert_true(synced == 0 || synced == 1);
}

static void test_kind_names(void **state)
{
    (void)state;
    for (unsigned k = 0; k < TW_ST__COUNT; k++)
        assert_int_equal(tw_statement_kind_from_name(tw_statement_kind_name(k)), (int)k);
    assert_int_equal(tw_statement_kind_from_name("nope"), -1);
    /* every drop counter has a place in a statement */
    unsigned drops = 0;
    for (unsigned i = 0; i < TW_C__COUNT; i++)
        drops += (unsigned)tw_counter_is_drop(i);
    assert_true(drops <= TW_STATEMENT_DROPS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_text),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_fill_differences),
        cmocka_unit_test(test_clock_step),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
