/* test_inventory.c - the equipment inventory a sensor publishes (tw:{S}:inventory): the text
 * the sensor builds from its policy (control/policy/inventory.c) read back by the query tool's
 * checked parser (control/query/inventory.c), and hostile texts refused by that parser. */
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
#include "control/query/inventory.h"

static struct tw_policy *load_text(const char *text)
{
    char path[] = "/tmp/tw-inventory-test.XXXXXX", err[512];
    int fd = mkstemp(path);
    struct tw_policy *p;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    p = tw_policy_load(path, err, sizeof(err));
    if (p == NULL)
        fail_msg("policy should load: %s", err);
    unlink(path);
    return p;
}

/* The policy's names, vendors (quotes, UTF-8) and addresses (a host, CIDRs of both
 * families, written with host bits) come back as the policy says them. */
static void test_round_trip(void **state)
{
    struct tw_policy *p = load_text("equipment:\n"
                                    "  - name: atm-01\n"
                                    "    vendor: \"Vendor \\\"A\\\" 银行\"\n"
                                    "    addresses: [10.20.120.5, 10.20.7.9/24, \"2001:db8:1::7/48\"]\n"
                                    "  - name: srv.02\n"
                                    "    addresses: [\"2001:db8:2::1\"]\n");
    struct tq_inventory inv;
    const char *why = NULL;
    char *json, t[64];
    size_t len;
    const struct tq_equipment *e;
    uint8_t a[16] = {10, 20, 7, 200};
    (void)state;

    assert_int_equal(tw_policy_inventory_json(p, 1772442000123456ULL, &json, &len), 0);
    assert_int_equal(strlen(json), len);
    if (tq_inventory_parse(json, len, &inv, &why) != 0)
        fail_msg("%s: %s", json, why);
    assert_string_equal(inv.policy_sha256, tw_policy_sha256(p));
    assert_int_equal(inv.since_us, 1772442000123456ULL);
    assert_int_equal(inv.neq, 2);
    e = tq_inventory_find(&inv, "atm-01");
    assert_non_null(e);
    assert_string_equal(e->vendor, "Vendor \"A\" 银行");
    assert_int_equal(e->nnets, 3);
    tq_net_text(&e->nets[0], t, sizeof(t));
    assert_string_equal(t, "10.20.120.5");
    tq_net_text(&e->nets[1], t, sizeof(t));
    assert_string_equal(t, "10.20.7.0/24");
    tq_net_text(&e->nets[2], t, sizeof(t));
    assert_string_equal(t, "2001:db8:1::/48");
    assert_true(tq_nets_contain(e->nets, e->nnets, a, 1));
    a[2] = 8; /* 10.20.8.200: outside */
    assert_false(tq_nets_contain(e->nets, e->nnets, a, 1));
    e = tq_inventory_find(&inv, "srv.02");
    assert_non_null(e);
    assert_string_equal(e->vendor, "");
    assert_null(tq_inventory_find(&inv, "srv"));
    tq_inventory_free(&inv);
    free(json);
    tw_policy_free(p);

    /* no policy: an empty inventory, which reads as one */
    assert_int_equal(tw_policy_inventory_json(NULL, 5000000, &json, &len), 0);
    assert_int_equal(tq_inventory_parse(json, len, &inv, &why), 0);
    assert_int_equal(inv.neq, 0);
    assert_string_equal(inv.policy_sha256, "");
    tq_inventory_free(&inv);
    free(json);
}

/* An IPv4 net never holds an IPv6 address with the same first bytes, nor the reverse. */
static void test_families(void **state)
{
    struct tq_net n[1] = {{.addr = {10, 0, 0, 0}, .v4 = 1, .bits = 8}};
    uint8_t a[16] = {10, 1, 2, 3};
    (void)state;

    assert_true(tq_nets_contain(n, 1, a, 1));
    assert_false(tq_nets_contain(n, 1, a, 0));
    assert_false(tq_nets_contain(n, 0, a, 1));
}

/* What anyone who can write the key could put there: each refused, with nothing kept. */
static void test_hostile(void **state)
{
#define SHA "\"policy_sha256\":\"\",\"since\":1"
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{" SHA ",\"equipment\":[]} trailing",
        "{\"since\":1,\"equipment\":[]}",
        "{\"policy_sha256\":\"xyz\",\"since\":1,\"equipment\":[]}",
        "{\"policy_sha256\":\"\",\"since\":-1,\"equipment\":[]}",
        "{\"policy_sha256\":\"\",\"since\":\"1\",\"equipment\":[]}",
        "{" SHA "}",
        "{" SHA ",\"equipment\":{}}",
        "{" SHA ",\"equipment\":[1]}",
        "{" SHA ",\"equipment\":[{\"vendor\":\"\",\"addresses\":[]}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"a b\",\"vendor\":\"\",\"addresses\":[]}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"../x\",\"vendor\":\"\",\"addresses\":[]}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"x\\u0000y\",\"vendor\":\"\",\"addresses\":[]}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"x\",\"vendor\":7,\"addresses\":[]}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"x\",\"vendor\":\"\",\"addresses\":\"10.0.0.1\"}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"x\",\"vendor\":\"\",\"addresses\":[\"10.0.0.0/33\"]}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"x\",\"vendor\":\"\",\"addresses\":[\"<b>\"]}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"x\",\"vendor\":\"\",\"addresses\":[10]}]}",
        "{" SHA ",\"equipment\":[{\"name\":\"x\",\"vendor\":\"\",\"addresses\":[]},"
        "{\"name\":\"x\",\"vendor\":\"\",\"addresses\":[]}]}",
    };
    struct tq_inventory inv;
    const char *why;
    char name[80], *big;
    size_t o = 0;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (tq_inventory_parse(bad[i], strlen(bad[i]), &inv, &why) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(why);
        assert_int_equal(inv.neq, 0);
        assert_null(inv.eq);
    }
    /* a name of 64 characters: one more than any policy's */
    memset(name, 'a', 64);
    name[64] = '\0';
    big = malloc(200000);
    assert_non_null(big);
    o = (size_t)sprintf(big, "{" SHA ",\"equipment\":[{\"name\":\"%s\",\"vendor\":\"\",\"addresses\":[]}]}",
                        name);
    assert_int_equal(tq_inventory_parse(big, o, &inv, &why), -1);
    /* more addresses than a policy may hold */
    o = (size_t)sprintf(big, "{" SHA ",\"equipment\":[{\"name\":\"x\",\"vendor\":\"\",\"addresses\":[");
    for (int i = 0; i <= TQ_INV_MAX_ADDRESSES; i++)
        o += (size_t)sprintf(big + o, "%s\"10.0.%d.%d\"", i ? "," : "", i / 256, i % 256);
    o += (size_t)sprintf(big + o, "]}]}");
    assert_int_equal(tq_inventory_parse(big, o, &inv, &why), -1);
    assert_string_equal(why, "an equipment without a valid address list");
    free(big);
#undef SHA
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
