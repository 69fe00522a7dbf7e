/* test_sign_key.c - the evidence's Ed25519 key files (control/evidence/sign_key.c): a key
 * made by keygen signs and its .pub verifies; a wrong key, a changed byte and a secret file
 * others may read are refused; keygen never overwrites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/evidence/sign_key.h"

static char dir[64];

static void path_of(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static void test_keygen_sign_verify(void **state)
{
    char sk[128], pub[160], err[256], fpr[TW_SIGN_FPR_LEN + 1];
    struct tw_sign_key k;
    uint8_t pk[TW_SIGN_PK_LEN], sig[TW_SIGN_SIG_LEN];
    struct stat st;
    static const char msg[] = "seal 1..2048";

    (void)state;
    path_of(sk, sizeof(sk), "a.key");
    snprintf(pub, sizeof(pub), "%s.pub", sk);
    assert_int_equal(tw_sign_keygen(sk, err, sizeof(err)), 0);
    assert_int_equal(stat(sk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(pub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(tw_sign_key_load(sk, &k, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_pub_load(pub, pk, fpr, err, sizeof(err)), 0);
    assert_memory_equal(pk, k.pk, sizeof(pk));
    assert_string_equal(fpr, k.fpr);
    assert_int_equal(strlen(fpr), TW_SIGN_FPR_LEN);
    tw_sign(&k, msg, sizeof(msg), sig);
    assert_int_equal(tw_sign_verify(pk, msg, sizeof(msg), sig), 0);
    sig[7] ^= 1;
    assert_int_equal(tw_sign_verify(pk, msg, sizeof(msg), sig), -1);
    sig[7] ^= 1;
    assert_int_equal(tw_sign_verify(pk, "seal 1..2049", sizeof(msg), sig), -1);
    /* never overwritten */
    assert_int_equal(tw_sign_keygen(sk, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "File exists"));
    tw_sign_key_wipe(&k);
}

static void test_wrong_key_fails(void **state)
{
    char a[128], b[128], bpub[160], err[256];
    struct tw_sign_key ka;
    uint8_t pkb[TW_SIGN_PK_LEN], sig[TW_SIGN_SIG_LEN];

    (void)state;
    path_of(a, sizeof(a), "w1.key");
    path_of(b, sizeof(b), "w2.key");
    snprintf(bpub, sizeof(bpub), "%s.pub", b);
    assert_int_equal(tw_sign_keygen(a, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_keygen(b, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_key_load(a, &ka, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_pub_load(bpub, pkb, NULL, err, sizeof(err)), 0);
    tw_sign(&ka, "x", 1, sig);
    assert_int_equal(tw_sign_verify(pkb, "x", 1, sig), -1);
    tw_sign_key_wipe(&ka);
}

static void test_refusals(void **state)
{
    char sk[128], err[256];
    struct tw_sign_key k;
    uint8_t pk[TW_SIGN_PK_LEN];
    FILE *f;

    (void)state;
    path_of(sk, sizeof(sk), "open.key");
    assert_int_equal(tw_sign_keygen(sk, err, sizeof(err)), 0);
    assert_int_equal(chmod(sk, 0640), 0);
    assert_int_equal(tw_sign_key_load(sk, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mode 0640 is too open"));
    /* a public key is not a secret key, and the other way round */
    char pub[160];
    snprintf(pub, sizeof(pub), "%s.pub", sk);
    assert_int_equal(chmod(pub, 0600), 0);
    assert_int_equal(tw_sign_key_load(pub, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a tapwatch secret key"));
    assert_int_equal(chmod(sk, 0600), 0);
    assert_int_equal(tw_sign_pub_load(sk, pk, NULL, err, sizeof(err)), -1);
    /* a short key, bad base64, a missing file */
    path_of(sk, sizeof(sk), "short.key");
    assert_non_null(f = fopen(sk, "w"));
    fputs("tapwatch ed25519 secret key v1\nAAAA\n", f);
    fclose(f);
    assert_int_equal(chmod(sk, 0600), 0);
    assert_int_equal(tw_sign_key_load(sk, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not 64 bytes of base64"));
    assert_int_equal(tw_sign_pub_load("/nonexistent/x.pub", pk, NULL, err, sizeof(err)), -1);
}

static void test_hex(void **state)
{
    uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
    char hex[7];

    (void)state;
    tw_hex(in, 3, hex);
    assert_string_equal(hex, "00abff");
    assert_int_equal(tw_unhex(hex, out, 3), 0);
    assert_memory_equal(in, out, 3);
    assert_int_equal(tw_unhex("00abf", out, 3), -1);
    assert_int_equal(tw_unhex("00abzz", out, 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_sign_verify),
        cmocka_unit_test(test_wrong_key_fails),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_hex),
    };
    char cmd[96];
    int rc;

    snprintf(dir, sizeof(dir), "/tmp/tw-sk.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
