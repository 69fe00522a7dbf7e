/* test_netmatch.c - the longest-prefix table (tw_prefix_set, netmatch.h) against brute-force
 * scans over the same prefixes:
 *   - the policy's case: 1024 equipment x 1024 addresses, IPv4 and IPv6, each equipment's
 *     prefixes nested inside one another but apart from every other equipment's (the load
 *     rule); the table must name the same equipment as "the first equipment with an address
 *     that contains it" (what tw_policy_equipment_of scanned before the table);
 *   - the general case: prefixes of many values nested across values; the table must answer
 *     the value of the longest prefix that contains the address (the first one added when a
 *     prefix was added twice);
 *   - edge cases by hand: /0, /32, /128, families kept apart, no match.
 * Random inputs come from a fixed seed, so a failure repeats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/record/netmatch.h"

#define NEQ 1024
#define NADDR 1024
#define QUERIES 2000

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A prefix as two big-endian 64-bit halves and its masks, for a fast brute-force scan. */
struct pfx {
    uint64_t hi, lo, mhi, mlo;
    uint8_t bits;
    int32_t value;
};

/* The first bits bits of a 128-bit address as a mask (IPv4 is the top 32 bits of hi). */
static void masks(unsigned bits, uint64_t *mhi, uint64_t *mlo)
{
    *mhi = bits == 0 ? 0 : bits >= 64 ? ~0ULL : ~0ULL << (64 - bits);
    *mlo = bits <= 64 ? 0 : bits >= 128 ? ~0ULL : ~0ULL << (128 - bits);
}

static void to_bytes(uint64_t hi, uint64_t lo, uint8_t a[16])
{
    for (int i = 7; i >= 0; i--, hi >>= 8, lo >>= 8) {
        a[i] = (uint8_t)hi;
        a[8 + i] = (uint8_t)lo;
    }
}

static struct pfx make_pfx(uint64_t hi, uint64_t lo, unsigned bits, int v4, int32_t value)
{
    struct pfx p = {.bits = (uint8_t)bits, .value = value};

    masks(bits, &p.mhi, &p.mlo);
    if (v4) /* an IPv4 address is the first 4 bytes: the top 32 bits of hi, lo 0 */
        lo = 0, hi &= 0xffffffff00000000ULL;
    p.hi = hi & p.mhi;
    p.lo = lo & p.mlo;
    return p;
}

static int pfx_contains(const struct pfx *p, uint64_t hi, uint64_t lo)
{
    return (hi & p->mhi) == p->hi && (lo & p->mlo) == p->lo;
}

static void add_pfx(struct tw_prefix_set *s, const struct pfx *p, int v4)
{
    uint8_t a[16];

    to_bytes(p->hi, p->lo, a);
    assert_int_equal(tw_prefix_set_add(s, a, v4, p->bits, p->value), 0);
}

/* A query address: half of them inside a stored prefix (random host bits), the rest random
 * within the family's space of interest (top bits fixed by top/topbits). */
static void query_addr(const struct pfx *all, size_t n, int v4, uint64_t top, unsigned topbits,
                       uint64_t *hi, uint64_t *lo)
{
    uint64_t rh = rnd(), rl = v4 ? 0 : rnd();

    if (rnd() & 1) {
        const struct pfx *p = &all[rnd() % n];
        *hi = p->hi | (rh & ~p->mhi);
        *lo = p->lo | (rl & ~p->mlo);
    } else {
        uint64_t m = topbits ? ~0ULL << (64 - topbits) : 0;
        *hi = (top & m) | (rh & ~m);
        *lo = rl;
    }
    if (v4)
        *hi &= 0xffffffff00000000ULL;
}

/* The policy's shape: equipment i owns the region whose bits [topbits, topbits + 10) are i;
 * its addresses are prefixes inside it, every fourth one nested in the one before. */
static void equipment_case(int v4)
{
    const unsigned topbits = v4 ? 0 : 32, width = v4 ? 32 : 128;
    const uint64_t top = v4 ? 0 : 0x20010db800000000ULL; /* 2001:db8::/32 */
    size_t n = (size_t)NEQ * NADDR;
    struct pfx *all = malloc(n * sizeof(*all));
    struct tw_prefix_set *s = tw_prefix_set_new();

    assert_non_null(all);
    assert_non_null(s);
    for (size_t i = 0; i < NEQ; i++) {
        uint64_t region = top | (uint64_t)i << (64 - topbits - 10);
        for (size_t j = 0; j < NADDR; j++) {
            struct pfx *p = &all[i * NADDR + j];
            /* at least 6 bits longer than the region, so that the region is not covered */
            unsigned minb = topbits + 10, bits = minb + 6 + (unsigned)(rnd() % (width - minb - 5));
            uint64_t keep = ~0ULL << (64 - minb);
            if (j % 4 == 3 && all[i * NADDR + j - 1].bits < width) {
                /* nested: a longer prefix inside the previous one */
                const struct pfx *outer = &all[i * NADDR + j - 1];
                bits = outer->bits + 1 + (unsigned)(rnd() % (width - outer->bits));
                *p = make_pfx(outer->hi | (rnd() & ~outer->mhi), outer->lo | (rnd() & ~outer->mlo),
                              bits, v4, (int32_t)i);
            } else {
                *p = make_pfx(region | (rnd() & ~keep), rnd(), bits, v4, (int32_t)i);
            }
            add_pfx(s, p, v4);
        }
    }
    int hits = 0;
    for (int q = 0; q < QUERIES; q++) {
        uint64_t hi, lo;
        uint8_t a[16];
        int32_t want = -1;
        query_addr(all, n, v4, top, topbits, &hi, &lo);
        for (size_t k = 0; k < n && want < 0; k++) /* the first equipment, in order */
            if (pfx_contains(&all[k], hi, lo))
                want = all[k].value;
        to_bytes(hi, lo, a);
        assert_int_equal(tw_prefix_set_lookup(s, a, v4), want);
        assert_int_equal(tw_prefix_set_lookup(s, a, !v4), -1); /* the other family is empty */
        hits += want >= 0;
    }
    /* both answers were exercised */
    assert_true(hits > QUERIES / 4);
    assert_true(hits < QUERIES);
    tw_prefix_set_free(s);
    free(all);
}

static void test_equipment_v4(void **state)
{
    (void)state;
    equipment_case(1);
}

static void test_equipment_v6(void **state)
{
    (void)state;
    equipment_case(0);
}

/* Prefixes of 64 values in a small space (so they nest across values), lengths of every size,
 * some added twice with another value. */
static void nested_case(int v4)
{
    const unsigned width = v4 ? 32 : 128, topbits = v4 ? 8 : 40;
    const uint64_t top = v4 ? 0x0a00000000000000ULL : 0x20010db800000000ULL;
    size_t n = 20000;
    struct pfx *all = malloc(n * sizeof(*all));
    struct tw_prefix_set *s = tw_prefix_set_new();

    assert_non_null(all);
    assert_non_null(s);
    for (size_t k = 0; k < n; k++) {
        unsigned bits = (unsigned)(rnd() % (width + 1));
        uint64_t m = ~0ULL << (64 - topbits);
        if (k > 0 && k % 10 == 0) /* the same prefix again, another value: the first stays */
            all[k] = make_pfx(all[k - 1].hi, all[k - 1].lo, all[k - 1].bits, v4,
                              (int32_t)(rnd() % 64));
        else
            all[k] = make_pfx((top & m) | (rnd() & ~m), rnd(), bits < topbits ? topbits : bits,
                              v4, (int32_t)(rnd() % 64));
        add_pfx(s, &all[k], v4);
    }
    for (int q = 0; q < QUERIES; q++) {
        uint64_t hi, lo;
        uint8_t a[16];
        int32_t want = -1;
        int best = -1;
        query_addr(all, n, v4, top, topbits, &hi, &lo);
        for (size_t k = 0; k < n; k++) /* the longest; the first of equal ones */
            if (pfx_contains(&all[k], hi, lo) && (int)all[k].bits > best) {
                best = all[k].bits;
                want = all[k].value;
            }
        to_bytes(hi, lo, a);
        assert_int_equal(tw_prefix_set_lookup(s, a, v4), want);
    }
    tw_prefix_set_free(s);
    free(all);
}

static void test_nested_v4(void **state)
{
    (void)state;
    nested_case(1);
}

static void test_nested_v6(void **state)
{
    (void)state;
    nested_case(0);
}

static void test_edges(void **state)
{
    (void)state;
    struct tw_prefix_set *s = tw_prefix_set_new();
    uint8_t net[16], addr[16];
    uint8_t bits;
    int v4;

    assert_non_null(s);
    memset(addr, 0, sizeof(addr));
    assert_int_equal(tw_prefix_set_lookup(s, addr, 1), -1); /* empty */
    assert_int_equal(tw_cidr_parse("0.0.0.0/0", net, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_add(s, net, v4, bits, 1), 0);
    assert_int_equal(tw_cidr_parse("10.1.2.3", net, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_add(s, net, v4, bits, 2), 0);
    assert_int_equal(tw_cidr_parse("2001:db8::/32", net, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_add(s, net, v4, bits, 3), 0);
    assert_int_equal(tw_cidr_parse("2001:db8::1", net, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_add(s, net, v4, bits, 4), 0);

    assert_int_equal(tw_cidr_parse("10.1.2.3", addr, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_lookup(s, addr, 1), 2);
    assert_int_equal(tw_cidr_parse("10.1.2.4", addr, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_lookup(s, addr, 1), 1); /* only /0 */
    assert_int_equal(tw_cidr_parse("2001:db8::1", addr, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_lookup(s, addr, 0), 4);
    assert_int_equal(tw_cidr_parse("2001:db8::2", addr, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_lookup(s, addr, 0), 3);
    assert_int_equal(tw_cidr_parse("2001:db9::1", addr, &v4, &bits), 0);
    assert_int_equal(tw_prefix_set_lookup(s, addr, 0), -1); /* 0.0.0.0/0 is IPv4 only */
    /* out of range */
    assert_int_equal(tw_prefix_set_add(s, net, 1, 33, 5), -1);
    assert_int_equal(tw_prefix_set_add(s, net, 0, 129, 5), -1);
    assert_int_equal(tw_prefix_set_add(s, net, 0, 64, -1), -1);
    tw_prefix_set_free(s);
    tw_prefix_set_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_equipment_v4),
        cmocka_unit_test(test_equipment_v6),
        cmocka_unit_test(test_nested_v4),
        cmocka_unit_test(test_nested_v6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
