/* test_dedup.c - duplicate suppression (dataplane/dedup.c) from byte arrays.
 *
 * Each packet is a raw IP packet (link type RAW) parsed by tw_parse, as the worker does it;
 * a SPAN copy is the same bytes with what a second observation point changes altered. The
 * checksums are not computed: the signature must not look at the IPv4 header checksum, and
 * the TCP/UDP checksums are simply bytes that the copy keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/counters.h"
#include "dataplane/dedup.h"
#include "dataplane/parse.h"

/* IPv4 + TCP + 8 payload bytes, 48 bytes: 10.0.0.1:12345 -> 10.0.0.2:80, PSH|ACK. */
static const uint8_t IP4_TCP[] = {
    0x45, 0x00, 0x00, 0x30, /* version 4, IHL 5, TOS 0, total length 48 */
    0x12, 0x34, 0x40, 0x00, /* id 0x1234, DF, offset 0 */
    0x40, 0x06, 0xab, 0xcd, /* TTL 64, protocol 6 (TCP), header checksum */
    0x0a, 0x00, 0x00, 0x01, /* source 10.0.0.1 */
    0x0a, 0x00, 0x00, 0x02, /* destination 10.0.0.2 */
    0x30, 0x39, 0x00, 0x50, /* TCP: source port 12345, destination port 80 */
    0x00, 0x00, 0x10, 0x00, /* sequence number 4096 */
    0x00, 0x00, 0x20, 0x00, /* acknowledgement number 8192 */
    0x50, 0x18, 0xff, 0xff, /* data offset 5 (20 bytes), flags PSH|ACK, window */
    0x5a, 0x5a, 0x00, 0x00, /* checksum 0x5a5a, urgent pointer */
    'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', /* payload, 8 bytes */
};

/* IPv6 + UDP + 4 payload bytes, 52 bytes: [2001:db8::1]:40000 -> [2001:db8::2]:53. */
static const uint8_t IP6_UDP[] = {
    0x60, 0x01, 0x23, 0x45, /* version 6, traffic class 0, flow label 0x12345 */
    0x00, 0x0c, 0x11, 0x40, /* payload length 12, next header 17 (UDP), hop limit 64 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* source 2001:db8::1 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, /* dest 2001:db8::2 */
    0x9c, 0x40, 0x00, 0x35, /* UDP: source port 40000, destination port 53 */
    0x00, 0x0c, 0x77, 0x77, /* UDP length 12, checksum 0x7777 */
    0xde, 0xad, 0xbe, 0xef, /* payload, 4 bytes */
};

/* IPv6 + hop-by-hop options (8 bytes) + UDP + 4 payload bytes: the L4 header is not at 40. */
static const uint8_t IP6_HBH_UDP[] = {
    0x60, 0x00, 0x00, 0x00, /* version 6, flow label 0 */
    0x00, 0x14, 0x00, 0x40, /* payload length 20, next header 0 (hop-by-hop), hop limit 64 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* source 2001:db8::1 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, /* dest 2001:db8::2 */
    0x11, 0x00, 0x01, 0x04, 0, 0, 0, 0, /* hop-by-hop: next 17 (UDP), length 0, PadN 4 */
    0x9c, 0x40, 0x00, 0x35, /* UDP: source port 40000, destination port 53 */
    0x00, 0x0c, 0x77, 0x77, /* UDP length 12, checksum 0x7777 */
    0xde, 0xad, 0xbe, 0xef, /* payload, 4 bytes */
};

struct pkt {
    uint8_t b[128];
    uint32_t len;
    struct tw_packet p;
};

static void make(struct pkt *k, const uint8_t *bytes, uint32_t len)
{
    memcpy(k->b, bytes, len);
    k->len = len;
}

static void parse(struct pkt *k)
{
    assert_int_equal(tw_parse(k->b, k->len, k->len, TW_LINK_RAW, &TW_NO_TUNNELS, &k->p), TW_C_PARSED);
}

static struct tw_dedup *table(uint64_t window_us)
{
    struct tw_dedup *d = tw_dedup_create(window_us);
    assert_non_null(d);
    return d;
}

/* What a second observation point changes leaves the signature alone. */
static void test_copy_is_same_ipv4(void **state)
{
    (void)state;
    struct tw_dedup *d = table(100);
    struct pkt a, b;

    make(&a, IP4_TCP, sizeof(IP4_TCP));
    make(&b, IP4_TCP, sizeof(IP4_TCP));
    b.b[1] = 0x03;  /* TOS: ECN CE set by a router */
    b.b[8] = 0x3f;  /* TTL 63 */
    b.b[10] = 0x11; /* another header checksum */
    b.b[11] = 0x22;
    parse(&a);
    parse(&b);
    assert_true(tw_dedup_signature(d, &a.p) == tw_dedup_signature(d, &b.p));
    assert_int_equal(tw_dedup_seen(d, &a.p, 1000), 0);
    assert_int_equal(tw_dedup_seen(d, &b.p, 1020), 1);
    tw_dedup_free(d);
}

static void test_copy_is_same_ipv6(void **state)
{
    (void)state;
    struct tw_dedup *d = table(100);
    struct pkt a, b;

    make(&a, IP6_UDP, sizeof(IP6_UDP));
    make(&b, IP6_UDP, sizeof(IP6_UDP));
    b.b[0] = 0x6f;  /* traffic class 0xf0... */
    b.b[1] = 0x01;  /* ...keeping the flow label */
    b.b[7] = 0x3f;  /* hop limit 63 */
    parse(&a);
    parse(&b);
    assert_true(tw_dedup_signature(d, &a.p) == tw_dedup_signature(d, &b.p));
    tw_dedup_free(d);
}

/* Each field a copy keeps is part of the signature: change one, and it is another packet. */
static void test_fields_that_count(void **state)
{
    (void)state;
    struct tw_dedup *d = table(100);
    /* byte, bits flipped (keeping the packet parseable), what it is */
    static const struct { unsigned off; uint8_t flip; const char *what; } v4[] = {
        {4, 1, "IPv4 id"}, {3, 0x1f, "total length (47)"}, {6, 0x20, "flags (MF)"},
        {15, 1, "source address"}, {19, 1, "destination address"}, {21, 1, "source port"},
        {23, 1, "destination port"}, {27, 1, "sequence"}, {31, 1, "acknowledgement"},
        {33, 1, "TCP flags"}, {35, 1, "window"}, {36, 1, "TCP checksum"}, {40, 1, "payload"},
        {43, 1, "payload, fourth byte"},
    };
    static const struct { unsigned off; uint8_t flip; const char *what; } v6[] = {
        {3, 1, "flow label"}, {23, 1, "source address"}, {39, 1, "destination address"},
        {41, 1, "source port"}, {46, 1, "UDP checksum"}, {51, 1, "payload"},
    };
    struct pkt a, b;

    make(&a, IP4_TCP, sizeof(IP4_TCP));
    parse(&a);
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        make(&b, IP4_TCP, sizeof(IP4_TCP));
        b.b[v4[i].off] ^= v4[i].flip;
        parse(&b);
        if (tw_dedup_signature(d, &a.p) == tw_dedup_signature(d, &b.p))
            fail_msg("IPv4: a different %s gives the same signature", v4[i].what);
    }
    make(&a, IP6_UDP, sizeof(IP6_UDP));
    parse(&a);
    for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
        make(&b, IP6_UDP, sizeof(IP6_UDP));
        b.b[v6[i].off] ^= v6[i].flip;
        parse(&b);
        if (tw_dedup_signature(d, &a.p) == tw_dedup_signature(d, &b.p))
            fail_msg("IPv6: a different %s gives the same signature", v6[i].what);
    }
    /* the L4 header is found behind IPv6 extension headers */
    make(&a, IP6_HBH_UDP, sizeof(IP6_HBH_UDP));
    parse(&a);
    assert_int_equal(a.p.l4_off, 48);
    make(&b, IP6_HBH_UDP, sizeof(IP6_HBH_UDP));
    b.b[sizeof(IP6_HBH_UDP) - 1] ^= 1;
    parse(&b);
    assert_true(tw_dedup_signature(d, &a.p) != tw_dedup_signature(d, &b.p));
    tw_dedup_free(d);
}

/* The window counts from the first sighting, by packet time; the edge is inside. */
static void test_window(void **state)
{
    (void)state;
    struct tw_dedup *d = table(100);
    struct pkt a;

    make(&a, IP4_TCP, sizeof(IP4_TCP));
    parse(&a);
    assert_int_equal(tw_dedup_seen(d, &a.p, 5000), 0);
    assert_int_equal(tw_dedup_seen(d, &a.p, 5100), 1); /* exactly the window: a copy */
    assert_int_equal(tw_dedup_seen(d, &a.p, 5101), 0); /* a copy does not extend it */
    assert_int_equal(tw_dedup_seen(d, &a.p, 5150), 1); /* the last kept one is the new first */
    assert_int_equal(tw_dedup_seen(d, &a.p, 60000), 0); /* a retransmission much later */
    tw_dedup_free(d);
}

/* A packet cut by the snap length: the signature covers the captured bytes only, and a
 * copy cut at the same length still matches. A copy cut shorter is another packet (the
 * bytes hashed differ), which keeps both: never a false drop. */
static void test_snapped(void **state)
{
    (void)state;
    struct tw_dedup *d = table(100);
    struct tw_packet p, q;
    uint8_t buf[sizeof(IP4_TCP)];

    memcpy(buf, IP4_TCP, sizeof(buf));
    assert_int_equal(tw_parse(buf, 44, sizeof(buf), TW_LINK_RAW, &TW_NO_TUNNELS, &p), TW_C_PARSED);
    buf[8] = 1; /* TTL */
    assert_int_equal(tw_parse(buf, 44, sizeof(buf), TW_LINK_RAW, &TW_NO_TUNNELS, &q), TW_C_PARSED);
    assert_true(tw_dedup_signature(d, &p) == tw_dedup_signature(d, &q));
    assert_int_equal(tw_parse(buf, 42, sizeof(buf), TW_LINK_RAW, &TW_NO_TUNNELS, &q), TW_C_PARSED);
    assert_true(tw_dedup_signature(d, &p) != tw_dedup_signature(d, &q));
    tw_dedup_free(d);
}

/* More distinct packets than the table holds: each bucket keeps its 4 newest, nothing is
 * allocated, and a packet whose entry was replaced is simply kept again. */
static void test_full_table(void **state)
{
    (void)state;
    struct tw_dedup *d = table(1000000);
    struct pkt a;
    unsigned dups = 0, n = 4 * TW_DEDUP_BUCKETS * 4;

    make(&a, IP4_TCP, sizeof(IP4_TCP));
    for (unsigned i = 0; i < n; i++) {
        a.b[26] = (uint8_t)(i >> 8);
        a.b[27] = (uint8_t)i;
        a.b[25] = (uint8_t)(i >> 16);
        parse(&a);
        dups += (unsigned)tw_dedup_seen(d, &a.p, 1000 + i);
    }
    assert_int_equal(dups, 0); /* all distinct */
    /* the newest ones are still there */
    for (unsigned i = n - 100; i < n; i++) {
        a.b[26] = (uint8_t)(i >> 8);
        a.b[27] = (uint8_t)i;
        a.b[25] = (uint8_t)(i >> 16);
        parse(&a);
        dups += (unsigned)tw_dedup_seen(d, &a.p, 1000 + n);
    }
    assert_true(dups >= 95); /* a bucket may have taken 5 of the last 100 */
    tw_dedup_free(d);
}

static void test_create(void **state)
{
    (void)state;
    assert_null(tw_dedup_create(0));
    tw_dedup_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_is_same_ipv4), cmocka_unit_test(test_copy_is_same_ipv6),
        cmocka_unit_test(test_fields_that_count), cmocka_unit_test(test_window),
        cmocka_unit_test(test_snapped),           cmocka_unit_test(test_full_table),
        cmocka_unit_test(test_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
