/* test_evidence_chain.c - the evidence chain and seal codec (control/evidence/chain.c,
 * seal.c): the JSON tag goes on and comes back off; a seal's chain value depends on every
 * byte, kind, number, the order, the item boundaries and what came before; field lists are length-prefixed; a seal line signs, parses back to the
 * same fields, verifies, and fails with another key or any changed byte; non-canonical
 * spellings are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/evidence/chain.h"
#include "control/evidence/seal.h"
#include "control/evidence/sign_key.h"
#include "control/evidence/witness.h"
#include "control/evidence/statement.h"
#include "control/store/evidence_log.h"

static void test_json_tag(void **state)
{
    char out[128], run[17];
    uint64_t seq;
    static const char rec[] = "{\"flow_id\":\"00ff\",\"c2s_bytes\":12}";
    int n;

    (void)state;
    n = tw_chain_json_tag(rec, strlen(rec), 42, "000661a8049aa9c0", out, sizeof(out));
    assert_true(n > 0);
    out[n] = '\0';
    assert_string_equal(out, "{\"flow_id\":\"00ff\",\"c2s_bytes\":12,\"seq\":42,"
                             "\"run\":\"000661a8049aa9c0\"}");
    assert_int_equal(tw_chain_json_untag(out, (size_t)n, &seq, run), 0);
    assert_int_equal(seq, 42);
    assert_string_equal(run, "000661a8049aa9c0");
    /* the empty object has no comma; an untagged text or one not ending in '}' is refused */
    n = tw_chain_json_tag("{}", 2, 1, "0000000000000001", out, sizeof(out));
    out[n] = '\0';
    assert_string_equal(out, "{\"seq\":1,\"run\":\"0000000000000001\"}");
    assert_int_equal(tw_chain_json_untag(rec, strlen(rec), &seq, run), -1);
    assert_int_equal(tw_chain_json_tag("[1]", 3, 1, "0000000000000001", out, sizeof(out)), -1);
    assert_int_equal(tw_chain_json_tag(rec, strlen(rec), 1, "0000000000000001", out, 20), -1);
    /* the largest number fits the tag (TW_CHAIN_TAG_MAX) and comes back */
    n = tw_chain_json_tag(rec, strlen(rec), UINT64_MAX, "ffffffffffffffff", out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal(tw_chain_json_untag(out, (size_t)n, &seq, run), 0);
    assert_true(seq == UINT64_MAX);
        /* a run that is not 16 lowercase hex digits, a number that is not digits */
    static const char bad1[] = "{\"seq\":1,\"run\":\"000661A8049AA9C0\"}";
    static const char bad2[] = "{\"seq\":x,\"run\":\"000661a8049aa9c0\"}";
    assert_int_equal(tw_chain_json_untag(bad1, strlen(bad1), &seq, run), -1);
    assert_int_equal(tw_chain_json_untag(bad2, strlen(bad2), &seq, run), -1);
}

/* The chain value of items (kind, seq, text) after prev. */
static void chain_of(const uint8_t *prev, const char *kinds, const uint64_t *seqs,
                     const char *const *texts, int n, uint8_t out[TW_CHAIN_HASH_LEN])
{
    struct tw_chain c = {0};

    assert_int_equal(tw_chain_begin(&c, prev), 0);
    for (int i = 0; i < n; i++)
        tw_chain_add(&c, kinds[i], seqs[i], texts[i], strlen(texts[i]));
    tw_chain_end(&c, out);
    tw_chain_free(&c);
}

static void test_chain(void **state)
{
    uint8_t h0[TW_CHAIN_HASH_LEN], a[TW_CHAIN_HASH_LEN], b[TW_CHAIN_HASH_LEN];
    const uint64_t s12[] = {1, 2}, s22[] = {2, 2};
    const char *xy[] = {"{\"x\":1}", "{\"y\":2}"}, *yx[] = {"{\"y\":2}", "{\"x\":1}"};
    const char *xz[] = {"{\"x\":1}", "{\"y\":3}"};
    /* the boundary between items counts: "ab"+"c" is not "a"+"bc" */
    const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"};

    (void)state;
    tw_chain_start("s1", "000661a8049aa9c0", h0);
    tw_chain_start("s2", "000661a8049aa9c0", a);
    assert_memory_not_equal(h0, a, sizeof(a)); /* a sensor's chain is its own */
    chain_of(h0, "rr", s12, xy, 2, a);
    chain_of(h0, "rr", s12, xy, 2, b);
    assert_memory_equal(a, b, sizeof(a)); /* deterministic */
    chain_of(h0, "rr", s12, xz, 2, b);
    assert_memory_not_equal(a, b, sizeof(a)); /* a byte */
    chain_of(h0, "ra", s12, xy, 2, b);
    assert_memory_not_equal(a, b, sizeof(a)); /* a kind */
    chain_of(h0, "rr", s22, xy, 2, b);
    assert_memory_not_equal(a, b, sizeof(a)); /* a number */
    chain_of(h0, "rr", s12, yx, 2, b);
    assert_memory_not_equal(a, b, sizeof(a)); /* the order */
    chain_of(h0, "rr", s12, xy, 1, b);
    assert_memory_not_equal(a, b, sizeof(a)); /* one left out */
    chain_of(a, "rr", s12, xy, 2, b);
    assert_memory_not_equal(a, b, sizeof(a)); /* what came before */
    chain_of(h0, "rr", s12, ab_c, 2, a);
    chain_of(h0, "rr", s12, a_bc, 2, b);
    assert_memory_not_equal(a, b, sizeof(a));
}

static void test_fields(void **state)
{
    const char *fv[] = {"kind", "risky_flow", "detail", ""};
    size_t lens[] = {4, 10, 6, 0};
    uint8_t out[64];
    /* 00000004 "kind" 0000000a "risky_flow" 00000006 "detail" 00000000 */
    static const uint8_t want[] = {0, 0, 0, 4, 'k', 'i', 'n', 'd', 0, 0, 0, 10, 'r', 'i', 's',
                                   'k', 'y', '_', 'f', 'l', 'o', 'w', 0, 0, 0, 6, 'd', 'e', 't',
                                   'a', 'i', 'l', 0, 0, 0, 0};

    (void)state;
    assert_int_equal(tw_chain_fields(fv, lens, 2, out, sizeof(out)), sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(tw_chain_fields(fv, lens, 2, out, 20), -1);
}

static char dir[64];

/* The witness's entries (witness.h): the seal's field, SHA-256 of the line as stored, the
 * value's text and its parsing back from what a hostile witness field may hold. */
static void test_witness_entry(void **state)
{
    char sk[128], err[256], line[TW_SEAL_TEXT_MAX], field[TW_WITNESS_FIELD_MAX],
        sfield[TW_SEAL_FIELD_LEN + 1], value[TW_WITNESS_VALUE_MAX], hex[65];
    struct tw_sign_key k;
    struct tw_seal s = {0};
    struct tw_witness_entry e, p;
    uint8_t h[TW_CHAIN_HASH_LEN];
    int n;

    (void)state;
    /* SHA-256("abc"), FIPS 180-2's example */
    tw_witness_line_hash("abc", 3, h);
    tw_hex(h, sizeof(h), hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    snprintf(sk, sizeof(sk), "%s/wk", dir);
    assert_int_equal(tw_sign_keygen(sk, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_key_load(sk, &k, err, sizeof(err)), 0);
    snprintf(s.sensor, sizeof(s.sensor), "s1");
    snprintf(s.run, sizeof(s.run), "000661a8049aa9c0");
    s.no = 42;
    s.first = 1;
    s.last = 9;
    s.time_us = 1796224119981231ULL;
    n = tw_seal_sign(&s, &k, line, sizeof(line));
    assert_true(n > 0);
    assert_int_equal(tw_witness_from_line(line, (size_t)n, &e), 0);
    assert_int_equal(tw_witness_from_line("tws1 nothing", 12, &p), -1);
    tw_witness_line_hash(line, (size_t)n, h);
    assert_memory_equal(e.hash, h, sizeof(h));
    tw_witness_field(&e, field);
    tw_seal_field(&s, sfield);
    assert_string_equal(field, sfield); /* the same field as in tw:{S}:seals */
    tw_witness_value(&e, value);
    tw_hex(h, sizeof(h), hex);
    assert_int_equal(strncmp(value, hex, 64), 0);
    assert_string_equal(value + 64, " 1796224119981231");
    assert_int_equal(tw_witness_parse(field, strlen(field), value, strlen(value), &p), 0);
    assert_int_equal(p.no, 42);
    assert_int_equal(p.time_us, 1796224119981231ULL);
    assert_memory_equal(p.hash, e.hash, sizeof(h));
    /* the run's end marker */
    struct tw_witness_entry end = {.run = "000661a8049aa9c0", .no = 0, .last = 42};
    tw_witness_field(&end, field);
    tw_witness_value(&end, value);
    assert_string_equal(field, "000661a8049aa9c0:end");
    assert_string_equal(value, "42");
    assert_int_equal(tw_witness_parse(field, strlen(field), value, strlen(value), &p), 0);
    assert_int_equal(p.no, 0);
    assert_int_equal(p.last, 42);
    /* not entries: what anyone with the sensor's witness password could add */
    static const char *const bad[][2] = {
        {"000661a8049aa9c0:end", "0"}, {"000661a8049aa9c0:end", "4x"},
        {"000661a8049aa9c0:00000000", "x"}, {"000661A8049AA9C0:0000002a", "x"},
        {"000661a8049aa9c0:2a", "x"}, {"000661a8049aa9c0-0000002a", "x"}, {"", ""},
        {"000661a8049aa9c0:0000002a", "00 1"},
        {"000661a8049aa9c0:0000002a",
         "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD 1"},
        {"000661a8049aa9c0:0000002a",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad x"},
        {"000661a8049aa9c0:0000002a",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "},
        {"000661a8049aa9c0:0000002a",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 123456789012345678901"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tw_witness_parse(bad[i][0], strlen(bad[i][0]), bad[i][1], strlen(bad[i][1]), &p) == 0)
            fail_msg("taken as a witness entry: %s = %s", bad[i][0], bad[i][1]);
    tw_sign_key_wipe(&k);
}

static void test_seal(void **state)
{
    char sk[128], other[128], err[256], line[TW_SEAL_TEXT_MAX], field[TW_SEAL_FIELD_LEN + 1];
    struct tw_sign_key k, k2;
    struct tw_seal s = {0}, p;
    uint8_t h1[TW_CHAIN_HASH_LEN], h2[TW_CHAIN_HASH_LEN];
    int n;

    (void)state;
    snprintf(sk, sizeof(sk), "%s/k", dir);
    snprintf(other, sizeof(other), "%s/o", dir);
    assert_int_equal(tw_sign_keygen(sk, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_keygen(other, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_key_load(sk, &k, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_key_load(other, &k2, err, sizeof(err)), 0);
    snprintf(s.sensor, sizeof(s.sensor), "bank/s1");
    snprintf(s.run, sizeof(s.run), "000661a8049aa9c0");
    s.no = 3;
    s.first = 100;
    s.last = 2147;
    memset(s.prev_chain, 0x11, sizeof(s.prev_chain));
    memset(s.chain, 0x22, sizeof(s.chain));
    memset(s.prev_seal, 0x33, sizeof(s.prev_seal));
    s.time_us = 1796224119981231ULL;
    s.ttl_s = 604800;
    s.keep_s = 15552000;
    s.nlong = 2;
    s.lng[0] = 120;
    s.lng[1] = 2000;
    n = tw_seal_sign(&s, &k, line, sizeof(line));
    assert_true(n > 0 && (size_t)n == strlen(line));
    assert_int_equal(strncmp(line, "tws1 sensor=bank/s1 run=000661a8049aa9c0 no=3 first=100 "
                                   "last=2147 prev_chain=1111", 70), 0);
    assert_int_equal(tw_seal_parse(line, (size_t)n, &p), 0);
    assert_int_equal(p.no, 3);
    assert_int_equal(p.first, 100);
    assert_int_equal(p.last, 2147);
    assert_int_equal(p.ttl_s, 604800);
    assert_int_equal(p.keep_s, 15552000);
    assert_int_equal(p.nlong, 2);
    assert_int_equal(p.lng[1], 2000);
    assert_non_null(strstr(line, " keep=15552000 long=120,2000 key="));
    assert_string_equal(p.key, k.fpr);
    assert_memory_equal(p.chain, s.chain, sizeof(s.chain));
    assert_int_equal(tw_seal_verify(&p, k.pk), 0);
    assert_int_equal(tw_seal_verify(&p, k2.pk), -1); /* another key */
    tw_seal_field(&p, field);
    assert_string_equal(field, "000661a8049aa9c0:00000003");
    tw_seal_hash(&p, h1);
    /* any changed byte: the line no longer parses, or no longer verifies */
    for (int i = 0; i < n; i++) {
        char bad[TW_SEAL_TEXT_MAX];
        struct tw_seal q;
        memcpy(bad, line, (size_t)n);
        bad[i] = bad[i] == '1' ? '2' : '1';
        if (tw_seal_parse(bad, (size_t)n, &q) == 0)
            assert_int_equal(tw_seal_verify(&q, k.pk), -1);
    }
    /* a non-canonical spelling (a leading zero) is refused even though it means the same */
    char alt[TW_SEAL_TEXT_MAX];
    const char *at = strstr(line, " no=3 ");
    snprintf(alt, sizeof(alt), "%.*s no=03 %s", (int)(at - line), line, at + 6);
    assert_int_equal(tw_seal_parse(alt, strlen(alt), &p), -1);
    /* expiry: a record (not listed) after ttl, a listed item (alert) only after keep */
    uint64_t t = p.time_us;
    assert_int_equal(tw_seal_item_expired(&p, 121, t + 604799ULL * 1000000), 0);
    assert_int_equal(tw_seal_item_expired(&p, 121, t + 604801ULL * 1000000), 1);
    assert_int_equal(tw_seal_item_expired(&p, 120, t + 604801ULL * 1000000), 0);
    assert_int_equal(tw_seal_item_expired(&p, 2000, t + 15552001ULL * 1000000), 1);
        /* a list out of order, or with an empty entry, is refused */
    static const char *const bad_lists[] = {"long=2000,120 ", "long=120,,2000 ", "long= "};
    for (size_t b = 0; b < 3; b++) {
        char alt2[TW_SEAL_TEXT_MAX];
        const char *l = strstr(line, "long=120,2000 ");
        snprintf(alt2, sizeof(alt2), "%.*s%s%s", (int)(l - line), line, bad_lists[b],
                 l + strlen("long=120,2000 "));
        assert_int_equal(tw_seal_parse(alt2, strlen(alt2), &p), -1);
    }
        /* the hash changes with the chain it names */
    s.chain[0] ^= 1;
    assert_true(tw_seal_sign(&s, &k, line, sizeof(line)) > 0);
    assert_int_equal(tw_seal_parse(line, strlen(line), &p), 0);
    tw_seal_hash(&p, h2);
    assert_memory_not_equal(h1, h2, sizeof(h1));
    assert_int_equal(tw_seal_sign(&s, &k, line, 100), -1); /* too small */
    tw_sign_key_wipe(&k);
    tw_sign_key_wipe(&k2);
}

/* Statements in the sensor's log (evidence_log.c, statements.h's seams): the run and the
 * numbers are filled before signing (seq_first..seq_last the items since the previous
 * statement, seq its own), the text is chained under kind 's' and listed as long-lived, and a
 * seal over a record and two statements hashes exactly those stored bytes. */
static void test_statement_items(void **state)
{
    char sk[96], err[256], field[TW_SEAL_FIELD_LEN + 1];
    struct tw_statement a, b;
    struct tw_seal seal;
    struct tw_chain ch = {0};
    uint8_t h0[TW_CHAIN_HASH_LEN], h[TW_CHAIN_HASH_LEN];
    static const char rec[] = "{\"flow_id\":\"f\"}";
    char tagged[128], ta[] = "{\"statement\":\"a\"}", tb[] = "{\"statement\":\"b\"}";

    (void)state;
    snprintf(sk, sizeof(sk), "%s/ev", dir);
    assert_int_equal(tw_sign_keygen(sk, err, sizeof(err)), 0);
    struct tw_evlog_params p = {.sensor = "s1", .key_path = sk, .hot_window_s = 60,
                                .retention_s = 3600};
    struct tw_evlog *ev = tw_evlog_open(&p, err, sizeof(err));
    assert_non_null(ev);
    /* the start statement, before any item: no item in its interval */
    memset(&a, 0, sizeof(a));
    tw_evlog_statement_seq(ev, &a);
    assert_int_equal(a.run_us, tw_evlog_run_id(ev));
    assert_int_equal(a.seq_first, 1);
    assert_int_equal(a.seq_last, 0);
    assert_int_equal(a.seq, 1);
    tw_evlog_statement_append(ev, &a, ta, strlen(ta));
    /* a record, then the next statement: seq_first..seq_last is the record */
    int n = tw_evlog_append_json(ev, TW_ITEM_RECORD, rec, strlen(rec), tagged, sizeof(tagged),
                                 NULL);
    assert_true(n > 0);
    memset(&b, 0, sizeof(b));
    tw_evlog_statement_seq(ev, &b);
    assert_int_equal(b.seq_first, 2);
    assert_int_equal(b.seq_last, 2);
    assert_int_equal(b.seq, 3);
    tw_evlog_statement_append(ev, &b, tb, strlen(tb));
    assert_int_equal(tw_evlog_next_seq(ev), 4);
    tw_evlog_seal(ev, 0);
    assert_int_equal(tw_evlog_unsent(ev), 1);
    const char *line = tw_evlog_line(ev, 0, field);
    assert_int_equal(tw_seal_parse(line, strlen(line), &seal), 0);
    assert_int_equal(seal.first, 1);
    assert_int_equal(seal.last, 3);
    assert_int_equal(seal.nlong, 2); /* the statements live redis.retention */
    assert_int_equal(seal.lng[0], 1);
    assert_int_equal(seal.lng[1], 3);
    tw_chain_start("s1", tw_evlog_run(ev), h0);
    assert_int_equal(tw_chain_begin(&ch, h0), 0);
    tw_chain_add(&ch, TW_ITEM_STATEMENT, 1, ta, strlen(ta));
    tw_chain_add(&ch, TW_ITEM_RECORD, 2, tagged, (size_t)n);
    tw_chain_add(&ch, TW_ITEM_STATEMENT, 3, tb, strlen(tb));
    tw_chain_end(&ch, h);
    tw_chain_free(&ch);
    assert_memory_equal(h, seal.chain, sizeof(h));
    tw_evlog_close(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_tag),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_witness_entry),
        cmocka_unit_test(test_statement_items),
    };
    char cmd[96];
    int rc;

    snprintf(dir, sizeof(dir), "/tmp/tw-chain.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
