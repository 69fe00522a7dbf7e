/* test_key_set.c - key rotation (control/evidence/statement.c: the key_rotation statement,
 * control/query/key_set.c: the keys a reader trusts): a rotation's text names both keys after
 * `key`, both sign it; a valid rotation admits the new key from its `from` and retires the old
 * one there; a rotation signed by one key only, naming a retired or untrusted previous key, of
 * another sensor, or not JSON admits nothing; one said again changes nothing; a key not given
 * is a note; seals and statements are checked against the key accepted at their time. Keys
 * come from fixed seeds, so every run signs the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "control/evidence/seal.h"
#include "control/evidence/statement.h"
#include "control/query/key_set.h"

#define T_ROT1 1796224100000000ULL /* old -> new */
#define T_ROT2 1796224200000000ULL /* new -> third */

static void make_key(struct tw_sign_key *k, uint8_t seed_byte)
{
    uint8_t seed[crypto_sign_SEEDBYTES];

    assert_int_equal(tw_sign_init(NULL, 0), 0);
    memset(seed, seed_byte, sizeof(seed));
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    tw_sign_fingerprint(k->pk, k->fpr);
}

/* A rotation from old to nk at t_us, as the sensor stores it: text, sig, sig_previous. */
struct stored {
    char text[TW_STATEMENT_JSON_MAX];
    size_t len;
    char sig[2 * TW_SIGN_SIG_LEN + 1], sigp[2 * TW_SIGN_SIG_LEN + 1];
};

static void rotation(struct stored *o, const char *sensor, const struct tw_sign_key *nk,
                     const struct tw_sign_key *old, uint64_t t_us)
{
    struct tw_statement st;
    int n;

    memset(&st, 0, sizeof(st));
    st.run_us = t_us - 10;
    st.n = 1;
    st.interval_s = 60;
    st.from_us = st.to_us = t_us;
    st.seq_first = st.seq_last = TW_SEQ_NONE;
    assert_int_equal(tw_statement_sign_rotation(&st, sensor, nk, old), 0);
    n = tw_statement_to_json(&st, sensor, o->text, sizeof(o->text));
    assert_true(n > 0);
    o->len = (size_t)n;
    tw_hex(st.sig, sizeof(st.sig), o->sig);
    tw_hex(st.rot.sig_previous, sizeof(st.rot.sig_previous), o->sigp);
}

/* An interval statement signed by k, ending at to_us. */
static void plain(struct stored *o, const struct tw_sign_key *k, uint64_t to_us)
{
    struct tw_statement st;
    int n;

    memset(&st, 0, sizeof(st));
    st.kind = TW_ST_INTERVAL;
    st.from_us = to_us - 1000000;
    st.to_us = to_us;
    st.seq_first = st.seq_last = TW_SEQ_NONE;
    assert_int_equal(tw_statement_sign(&st, "s1", k), 0);
    n = tw_statement_to_json(&st, "s1", o->text, sizeof(o->text));
    assert_true(n > 0);
    o->len = (size_t)n;
    tw_hex(st.sig, sizeof(st.sig), o->sig);
    o->sigp[0] = '\0';
}

static int offer(struct tq_key_set *ks, const struct stored *r, const char *sigp)
{
    char why[256];

    return tq_key_set_rotation(ks, "s1", r->text, r->len, r->sig, sigp, why, sizeof(why));
}

static void test_rotation_text(void **state)
{
    struct tw_sign_key old, nk;
    struct stored r;
    char tail[128];

    (void)state;
    make_key(&old, 1);
    make_key(&nk, 2);
    rotation(&r, "s1", &nk, &old, T_ROT1);
    /* an instant with no drops, both fingerprints at the end, key first */
    assert_non_null(strstr(r.text, "\"kind\":\"key_rotation\""));
    assert_non_null(strstr(r.text, "\"from\":1796224100.000000,\"to\":1796224100.000000,"));
    assert_non_null(strstr(r.text, "\"dropped_by_reason\":{},"));
    snprintf(tail, sizeof(tail), ",\"key\":\"%s\",\"previous_key\":\"%s\"}", nk.fpr, old.fpr);
    assert_int_equal(strcmp(r.text + r.len - strlen(tail), tail), 0);
    /* the same bytes, signed by each key */
    assert_int_equal(tw_statement_check_sig(r.text, r.len, r.sig, nk.pk), 1);
    assert_int_equal(tw_statement_check_sig(r.text, r.len, r.sigp, old.pk), 1);
    assert_int_equal(tw_statement_check_sig(r.text, r.len, r.sigp, nk.pk), -1);
    assert_int_equal(tw_statement_kind_from_name("key_rotation"), TW_ST_KEY_ROTATION);
    /* the other kinds name no previous key */
    plain(&r, &nk, T_ROT1);
    assert_null(strstr(r.text, "previous_key"));
}

static void test_admit_and_retire(void **state)
{
    struct tw_sign_key old, nk, third;
    struct tq_key_set ks;
    struct stored r1, r2;

    (void)state;
    make_key(&old, 1);
    make_key(&nk, 2);
    make_key(&third, 3);
    memset(&ks, 0, sizeof(ks));
    assert_int_equal(tq_key_set_add(&ks, old.pk), 0);
    assert_int_equal(tq_key_set_add(&ks, nk.pk), 0);
    assert_int_equal(tq_key_set_add(&ks, third.pk), 0);
    assert_int_equal(tq_key_set_add(&ks, nk.pk), -1); /* given twice */
    /* before any rotation: the first key always, the others never */
    assert_non_null(tq_key_set_signer(&ks, old.fpr, T_ROT2 + 1));
    assert_null(tq_key_set_signer(&ks, nk.fpr, T_ROT2 + 1));
    rotation(&r1, "s1", &nk, &old, T_ROT1);
    assert_int_equal(offer(&ks, &r1, r1.sigp), TQ_ROT_ADMITTED);
    assert_non_null(tq_key_set_signer(&ks, old.fpr, T_ROT1 - 1));
    assert_null(tq_key_set_signer(&ks, old.fpr, T_ROT1));     /* retired */
    assert_null(tq_key_set_signer(&ks, nk.fpr, T_ROT1 - 1));  /* not yet */
    assert_non_null(tq_key_set_signer(&ks, nk.fpr, T_ROT1));
    /* said again (previous_key left in the configuration): nothing changes */
    rotation(&r2, "s1", &nk, &old, T_ROT1 + 50000000);
    assert_int_equal(offer(&ks, &r2, r2.sigp), TQ_ROT_KNOWN);
    assert_null(tq_key_set_signer(&ks, old.fpr, T_ROT1 + 60000000));
    /* the retired old key cannot rotate to anything afterwards */
    rotation(&r2, "s1", &third, &old, T_ROT2);
    assert_int_equal(offer(&ks, &r2, r2.sigp), TQ_ROT_BAD);
    assert_null(tq_key_set_signer(&ks, third.fpr, T_ROT2));
    /* the new key can: a chain of two rotations */
    rotation(&r2, "s1", &third, &nk, T_ROT2);
    assert_int_equal(offer(&ks, &r2, r2.sigp), TQ_ROT_ADMITTED);
    assert_non_null(tq_key_set_signer(&ks, nk.fpr, T_ROT2 - 1));
    assert_null(tq_key_set_signer(&ks, nk.fpr, T_ROT2));
    assert_non_null(tq_key_set_signer(&ks, third.fpr, T_ROT2));
    assert_null(tq_key_set_signer(&ks, "0123456789abcdef", T_ROT2));
}

static void test_forged(void **state)
{
    struct tw_sign_key old, nk, mallory;
    struct tq_key_set ks;
    struct stored r;
    char why[256];

    (void)state;
    make_key(&old, 1);
    make_key(&nk, 2);
    make_key(&mallory, 9);
    memset(&ks, 0, sizeof(ks));
    assert_int_equal(tq_key_set_add(&ks, old.pk), 0);
    assert_int_equal(tq_key_set_add(&ks, nk.pk), 0);
    rotation(&r, "s1", &nk, &old, T_ROT1);
    /* signed by the new key only: no sig_previous, or its own signature in its place */
    assert_int_equal(offer(&ks, &r, ""), TQ_ROT_BAD);
    assert_int_equal(offer(&ks, &r, NULL), TQ_ROT_BAD);
    assert_int_equal(offer(&ks, &r, r.sig), TQ_ROT_BAD);
    assert_null(tq_key_set_signer(&ks, nk.fpr, T_ROT1));
    /* the old key's part signed by another key (a third key posing as the old one) */
    rotation(&r, "s1", &nk, &mallory, T_ROT1);
    assert_int_equal(offer(&ks, &r, r.sigp), TQ_ROT_NOTE); /* names a key not given */
    assert_null(tq_key_set_signer(&ks, nk.fpr, T_ROT1));
    /* a rotation to a key not given is a note, and admits nothing */
    rotation(&r, "s1", &mallory, &old, T_ROT1);
    assert_int_equal(tq_key_set_rotation(&ks, "s1", r.text, r.len, r.sig, r.sigp, why,
                                         sizeof(why)), TQ_ROT_NOTE);
    assert_non_null(strstr(why, mallory.fpr));
    assert_null(tq_key_set_signer(&ks, mallory.fpr, T_ROT1));
    assert_non_null(tq_key_set_signer(&ks, old.fpr, T_ROT1)); /* and retires nothing */
    /* a text changed after signing, another sensor's, not JSON, not a rotation */
    rotation(&r, "s1", &nk, &old, T_ROT1);
    r.text[r.len - 3] ^= 1;
    assert_int_equal(offer(&ks, &r, r.sigp), TQ_ROT_NOTE); /* previous_key no longer given */
    rotation(&r, "s1", &nk, &old, T_ROT1);
    char *p = strstr(r.text, "\"packets_received\":0");
    p[19] = '7';
    assert_int_equal(offer(&ks, &r, r.sigp), TQ_ROT_BAD);
    rotation(&r, "s2", &nk, &old, T_ROT1);
    assert_int_equal(offer(&ks, &r, r.sigp), TQ_ROT_BAD);
    assert_int_equal(tq_key_set_rotation(&ks, "s1", "{\"kind\":", 9, r.sig, r.sigp, why,
                                         sizeof(why)), TQ_ROT_BAD);
    plain(&r, &nk, T_ROT1);
    assert_int_equal(offer(&ks, &r, r.sig), TQ_ROT_BAD);
    assert_null(tq_key_set_signer(&ks, nk.fpr, T_ROT1));
    /* the keys given newest first: the rotation names a key trusted already */
    memset(&ks, 0, sizeof(ks));
    assert_int_equal(tq_key_set_add(&ks, nk.pk), 0);
    assert_int_equal(tq_key_set_add(&ks, old.pk), 0);
    rotation(&r, "s1", &nk, &old, T_ROT1);
    assert_int_equal(offer(&ks, &r, r.sigp), TQ_ROT_BAD);
    assert_null(tq_key_set_signer(&ks, old.fpr, 1));
}

static void test_statements_and_seals(void **state)
{
    struct tw_sign_key old, nk;
    struct tq_key_set ks;
    struct stored rot, r;
    struct tw_seal seal;
    char line[TW_SEAL_TEXT_MAX];

    (void)state;
    make_key(&old, 1);
    make_key(&nk, 2);
    memset(&ks, 0, sizeof(ks));
    assert_int_equal(tq_key_set_add(&ks, old.pk), 0);
    assert_int_equal(tq_key_set_add(&ks, nk.pk), 0);
    rotation(&rot, "s1", &nk, &old, T_ROT1);
    /* not admitted yet: the new key's statements are BAD */
    plain(&r, &nk, T_ROT1 + 5);
    assert_int_equal(tq_key_set_check_statement(&ks, r.text, r.len, r.sig, ""), -1);
    assert_int_equal(offer(&ks, &rot, rot.sigp), TQ_ROT_ADMITTED);
    assert_int_equal(tq_key_set_check_statement(&ks, r.text, r.len, r.sig, ""), 1);
    assert_int_equal(tq_key_set_check_statement(&ks, r.text, r.len, "", ""), 0);
    /* the rotation itself: verified with both signatures only */
    assert_int_equal(tq_key_set_check_statement(&ks, rot.text, rot.len, rot.sig, rot.sigp), 1);
    assert_int_equal(tq_key_set_check_statement(&ks, rot.text, rot.len, rot.sig, ""), -1);
    assert_int_equal(tq_key_set_check_statement(&ks, rot.text, rot.len, rot.sig, rot.sig), -1);
    /* the old key: before the rotation yes, after it no */
    plain(&r, &old, T_ROT1 - 1);
    assert_int_equal(tq_key_set_check_statement(&ks, r.text, r.len, r.sig, ""), 1);
    plain(&r, &old, T_ROT1 + 1);
    assert_int_equal(tq_key_set_check_statement(&ks, r.text, r.len, r.sig, ""), -1);
    /* seals: the key their `key` names, at their time */
    memset(&seal, 0, sizeof(seal));
    snprintf(seal.sensor, sizeof(seal.sensor), "s1");
    snprintf(seal.run, sizeof(seal.run), "000661a800a20889");
    seal.no = seal.first = seal.last = 1;
    seal.time_us = T_ROT1 + 1000;
    assert_true(tw_seal_sign(&seal, &nk, line, sizeof(line)) > 0);
    assert_int_equal(tq_key_set_check_seal(&ks, &seal), 0);
    seal.time_us = T_ROT1 - 1000; /* a seal of the new key before its rotation */
    assert_true(tw_seal_sign(&seal, &nk, line, sizeof(line)) > 0);
    assert_int_equal(tq_key_set_check_seal(&ks, &seal), -1);
    assert_true(tw_seal_sign(&seal, &old, line, sizeof(line)) > 0);
    assert_int_equal(tq_key_set_check_seal(&ks, &seal), 0);
    seal.sig[0] ^= 1;
    assert_int_equal(tq_key_set_check_seal(&ks, &seal), -1);
    seal.time_us = T_ROT1 + 1000; /* the retired old key after the rotation */
    assert_true(tw_seal_sign(&seal, &old, line, sizeof(line)) > 0);
    assert_int_equal(tq_key_set_check_seal(&ks, &seal), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation_text),
        cmocka_unit_test(test_admit_and_retire),
        cmocka_unit_test(test_forged),
        cmocka_unit_test(test_statements_and_seals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
