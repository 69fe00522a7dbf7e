/* test_audit_entry.c - the query audit trail's entry codec (control/evidence/audit_entry.c):
 * the canonical bytes are exactly the documented ones, a sealed entry checks with its key and
 * fails with a changed field, another key, a changed signature or hash; unsigned entries say
 * so; values that hold ':' and newlines cannot be shifted from one field into the next. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/evidence/audit_entry.h"

static char dir[64];

static void base(struct tw_audit_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->f[TW_AF_V] = "1";
    e->f[TW_AF_SEQ] = "7";
    e->f[TW_AF_PREV] = TW_AUDIT_ZERO_HASH;
    e->f[TW_AF_KIND] = "query";
    e->f[TW_AF_TIME] = "1700000000123456";
    e->f[TW_AF_REDIS_USER] = "regulator";
    e->f[TW_AF_OS_USER] = "alice(1000)";
    e->f[TW_AF_HOST] = "h1";
    e->f[TW_AF_PID] = "42";
    e->f[TW_AF_SUBCOMMAND] = "flows";
    e->f[TW_AF_ARGS] = "[\"flows\",\"--host\",\"10.0.0.1\"]";
    e->f[TW_AF_SENSORS] = "A/s1";
}

static void load_key(struct tw_sign_key *k, const char *name)
{
    char path[128], err[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(tw_sign_keygen(path, err, sizeof(err)), 0);
    assert_int_equal(tw_sign_key_load(path, k, err, sizeof(err)), 0);
}

static void test_canonical_bytes(void **state)
{
    struct tw_audit_entry e;
    char *c;
    size_t n;
    /* the documented form: header, then name:len:value\n for each of the 16 signed fields,
     * absent ones as empty values */
    static const char want[] =
        "tapwatch audit v1\n"
        "v:1:1\n"
        "seq:1:7\n"
        "prev:64:" TW_AUDIT_ZERO_HASH "\n"
        "kind:5:query\n"
        "time:16:1700000000123456\n"
        "ref:0:\n"
        "redis_user:9:regulator\n"
        "os_user:11:alice(1000)\n"
        "host:2:h1\n"
        "pid:2:42\n"
        "subcommand:5:flows\n"
        "args:29:[\"flows\",\"--host\",\"10.0.0.1\"]\n"
        "sensors:4:A/s1\n"
        "rows:0:\n"
        "exit:0:\n"
        "key:0:\n";

    (void)state;
    base(&e);
    assert_int_equal(tw_audit_canonical(&e, &c, &n), 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(c, want, n);
    free(c);
}

static void test_field_names(void **state)
{
    (void)state;
    for (int i = 0; i < TW_AF_COUNT; i++) {
        const char *name = tw_audit_field_name((enum tw_audit_field)i);
        assert_int_equal(tw_audit_field_of(name, strlen(name)), i);
    }
    assert_int_equal(tw_audit_field_of("seqx", 4), -1);
    assert_int_equal(tw_audit_field_of("seq", 2), -1);
}

static void test_signed_checks(void **state)
{
    struct tw_sign_key k1, k2;
    struct tw_audit_entry e;
    uint8_t pks[2][TW_SIGN_PK_LEN];
    char fprs[2][TW_SIGN_FPR_LEN + 1], sig[TW_AUDIT_SIG_HEX + 1], hash[TW_AUDIT_HASH_HEX + 1];
    int which;

    (void)state;
    load_key(&k1, "k1");
    load_key(&k2, "k2");
    memcpy(pks[0], k2.pk, TW_SIGN_PK_LEN);
    memcpy(fprs[0], k2.fpr, sizeof(fprs[0]));
    memcpy(pks[1], k1.pk, TW_SIGN_PK_LEN);
    memcpy(fprs[1], k1.fpr, sizeof(fprs[1]));
    base(&e);
    assert_int_equal(tw_audit_seal(&e, &k1), 0);
    assert_string_equal(e.f[TW_AF_KEY], k1.fpr);
    assert_int_equal(strlen(e.f[TW_AF_SIG]), TW_AUDIT_SIG_HEX);
    /* with both keys: signed by the second */
    assert_int_equal(tw_audit_check(&e, (const uint8_t(*)[32])pks, (const char(*)[17])fprs, 2,
                                    &which), TW_AUDIT_OK);
    assert_int_equal(which, 1);
    /* with k2 only: a key none of those given */
    assert_int_equal(tw_audit_check(&e, (const uint8_t(*)[32])pks, (const char(*)[17])fprs, 1,
                                    &which), TW_AUDIT_UNKNOWN_KEY);
    assert_int_equal(which, -1);
    /* a field changed: the stored hash no longer matches */
    e.f[TW_AF_ROWS] = "3";
    assert_int_equal(tw_audit_check(&e, (const uint8_t(*)[32])pks, (const char(*)[17])fprs, 2,
                                    &which), TW_AUDIT_ALTERED);
    /* ... and the hash recomputed by whoever changed it: the signature fails */
    assert_int_equal(tw_audit_hash(&e, hash), 0);
    e.f[TW_AF_HASH] = hash;
    assert_int_equal(tw_audit_check(&e, (const uint8_t(*)[32])pks, (const char(*)[17])fprs, 2,
                                    &which), TW_AUDIT_BAD_SIG);
    /* a signature byte flipped */
    base(&e);
    assert_int_equal(tw_audit_seal(&e, &k1), 0);
    memcpy(sig, e.sig_hex, sizeof(sig));
    sig[10] = sig[10] == '0' ? '1' : '0';
    e.f[TW_AF_SIG] = sig;
    assert_int_equal(tw_audit_check(&e, (const uint8_t(*)[32])pks, (const char(*)[17])fprs, 2,
                                    &which), TW_AUDIT_BAD_SIG);
    /* the key field pointed at k2 (a forger claiming another key): k2 rejects the signature */
    base(&e);
    assert_int_equal(tw_audit_seal(&e, &k1), 0);
    e.f[TW_AF_KEY] = k2.fpr;
    assert_int_equal(tw_audit_check(&e, (const uint8_t(*)[32])pks, (const char(*)[17])fprs, 2,
                                    &which), TW_AUDIT_ALTERED);
    tw_sign_key_wipe(&k1);
    tw_sign_key_wipe(&k2);
}

static void test_unsigned_and_malformed(void **state)
{
    struct tw_audit_entry e;
    int which;

    (void)state;
    base(&e);
    assert_int_equal(tw_audit_seal(&e, NULL), 0);
    assert_string_equal(e.f[TW_AF_SIG], "");
    assert_string_equal(e.f[TW_AF_KEY], "");
    assert_int_equal(tw_audit_check(&e, NULL, NULL, 0, &which), TW_AUDIT_UNSIGNED);
    e.f[TW_AF_SEQ] = "7a";
    assert_int_equal(tw_audit_check(&e, NULL, NULL, 0, &which), TW_AUDIT_MALFORMED);
    base(&e);
    assert_int_equal(tw_audit_seal(&e, NULL), 0);
    e.f[TW_AF_PREV] = "abc";
    assert_int_equal(tw_audit_check(&e, NULL, NULL, 0, &which), TW_AUDIT_MALFORMED);
    base(&e);
    assert_int_equal(tw_audit_seal(&e, NULL), 0);
    e.f[TW_AF_V] = "2";
    assert_int_equal(tw_audit_check(&e, NULL, NULL, 0, &which), TW_AUDIT_MALFORMED);
}

/* Text moved across a field boundary changes the bytes: "a\nb:1:x" in host cannot pass for
 * host "a" followed by another field. */
static void test_no_field_shift(void **state)
{
    struct tw_audit_entry a, b;
    char ha[TW_AUDIT_HASH_HEX + 1], hb[TW_AUDIT_HASH_HEX + 1];

    (void)state;
    base(&a);
    base(&b);
    a.f[TW_AF_HOST] = "h1\npid:2:42";
    a.f[TW_AF_PID] = "";
    b.f[TW_AF_HOST] = "h1";
    b.f[TW_AF_PID] = "42";
    assert_int_equal(tw_audit_hash(&a, ha), 0);
    assert_int_equal(tw_audit_hash(&b, hb), 0);
    assert_string_not_equal(ha, hb);
}

static int setup(void **state)
{
    char err[128];

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tw-audit-entry.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    return tw_sign_init(err, sizeof(err));
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_bytes),
        cmocka_unit_test(test_field_names),
        cmocka_unit_test(test_signed_checks),
        cmocka_unit_test(test_unsigned_and_malformed),
        cmocka_unit_test(test_no_field_shift),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
