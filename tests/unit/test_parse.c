/* test_parse.c - the L2-L4 decoder (dataplane/parse.c) from byte arrays.
 *
 * Frames are built by concatenating small named byte arrays (a link header, shims, one IP
 * packet); each array says what its bytes are. IP and TCP/UDP checksums are left at zero:
 * the decoder does not verify them. Every truncation and noise test hands tw_parse a heap
 * buffer of exactly caplen bytes, so under ASan a read past the captured length is reported.
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
#include "dataplane/parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every tunnel opened (the defaults); set by main. Tests of the switches use their own. */
static struct tw_parse_settings SETTINGS;
#define P(a) (const uint8_t *)(a), sizeof(a)

/* ---- byte arrays ---------------------------------------------------------------------- */

/* IPv4 + TCP + 8 payload bytes, 48 bytes: 10.0.0.1:12345 -> 10.0.0.2:80, PSH|ACK. */
static const uint8_t IP4_TCP[] = {
    0x45, 0x00, 0x00, 0x30, /* version 4, IHL 5, TOS 0, total length 48 */
    0x12, 0x34, 0x00, 0x00, /* id 0x1234, no flags, offset 0 */
    0x40, 0x06, 0x00, 0x00, /* TTL 64, protocol 6 (TCP), checksum (unchecked) */
    0x0a, 0x00, 0x00, 0x01, /* source 10.0.0.1 */
    0x0a, 0x00, 0x00, 0x02, /* destination 10.0.0.2 */
    0x30, 0x39, 0x00, 0x50, /* TCP: source port 12345, destination port 80 */
    0x00, 0x00, 0x00, 0x01, /* sequence number */
    0x00, 0x00, 0x00, 0x00, /* acknowledgement number */
    0x50, 0x18, 0xff, 0xff, /* data offset 5 (20 bytes), flags PSH|ACK, window */
    0x00, 0x00, 0x00, 0x00, /* checksum, urgent pointer */
    'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', /* payload, 8 bytes */
};

/* IPv6 + UDP + 4 payload bytes, 52 bytes: [2001:db8::1]:40000 -> [2001:db8::2]:53. */
static const uint8_t IP6_UDP[] = {
    0x60, 0x00, 0x00, 0x00, /* version 6, traffic class 0, flow label 0 */
    0x00, 0x0c, 0x11, 0x40, /* payload length 12, next header 17 (UDP), hop limit 64 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* source 2001:db8::1 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, /* dest 2001:db8::2 */
    0x9c, 0x40, 0x00, 0x35, /* UDP: source port 40000, destination port 53 */
    0x00, 0x0c, 0x00, 0x00, /* UDP length 12, checksum */
    0xde, 0xad, 0xbe, 0xef, /* payload, 4 bytes */
};

static const uint8_t V4_SRC[16] = {10, 0, 0, 1};
static const uint8_t V4_DST[16] = {10, 0, 0, 2};
static const uint8_t V6_SRC[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};
static const uint8_t V6_DST[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02};

/* Ethernet II: dst 00:11:22:33:44:55, src 66:77:88:99:aa:bb, ethertype 0x0800 (IPv4). */
static const uint8_t ETH_V4[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00};
/* Ethernet II, ethertype 0x86dd (IPv6). */
static const uint8_t ETH_V6[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                 0x88, 0x99, 0xaa, 0xbb, 0x86, 0xdd};
/* Ethernet II, ethertype 0x8100 (802.1Q tag follows). */
static const uint8_t ETH_VLAN[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0x81, 0x00};
/* Ethernet II, ethertype 0x88a8 (802.1ad service tag follows). */
static const uint8_t ETH_QINQ[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0x88, 0xa8};
/* Ethernet II, ethertype 0x9100 (pre-standard QinQ tag follows). */
static const uint8_t ETH_9100[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0x91, 0x00};
/* Ethernet II, ethertype 0x8847 (MPLS unicast label stack follows). */
static const uint8_t ETH_MPLS[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0x88, 0x47};
/* Ethernet II, ethertype 0x8864 (PPPoE session follows). */
static const uint8_t ETH_PPPOE[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xaa, 0xbb, 0x88, 0x64};
/* Ethernet II, ethertype 0x0806 (ARP), then an ARP request who-has 10.0.0.2 tell 10.0.0.1. */
static const uint8_t ETH_ARP[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,             /* Ethernet/IPv4, request */
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x0a, 0x00, 0x00, 0x01, /* sender MAC, IP */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02, /* target MAC, IP */
};
/* 802.3: dst, src, length 56 (<= 1500, so a length not an ethertype), then LLC DSAP/SSAP
 * 0xaa 0xaa control 0x03 (SNAP), OUI 00:00:00, ethertype 0x0800. */
static const uint8_t ETH_LLC_SNAP[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                       0x88, 0x99, 0xaa, 0xbb, 0x00, 0x38, 0xaa, 0xaa,
                                       0x03, 0x00, 0x00, 0x00, 0x08, 0x00};
/* 802.3 with LLC 0x42 0x42 0x03 (spanning tree BPDU), then zeroed BPDU bytes. */
static const uint8_t ETH_LLC_STP[] = {
    0x01, 0x80, 0xc2, 0x00, 0x00, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x26,
    0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* 802.1Q tag: PCP 5, DEI 0, VLAN id 100 (TCI 0xa064), inner ethertype 0x0800. */
static const uint8_t TAG100_V4[] = {0xa0, 0x64, 0x08, 0x00};
/* 802.1Q tag: VLAN id 100, inner ethertype 0x86dd. */
static const uint8_t TAG100_V6[] = {0x00, 0x64, 0x86, 0xdd};
/* 802.1ad service tag: VLAN id 200, next tag 0x8100. */
static const uint8_t STAG200_TO_8100[] = {0x00, 0xc8, 0x81, 0x00};
/* 802.1Q customer tag: VLAN id 300 (0x12c) with DEI set, inner ethertype 0x0800. */
static const uint8_t CTAG300_V4[] = {0x11, 0x2c, 0x08, 0x00};
/* 802.1Q tag: VLAN id 4094 (0xffe), next ethertype 0x8100 (another tag). */
static const uint8_t TAG4094_TO_8100[] = {0x0f, 0xfe, 0x81, 0x00};
/* 0x9100 outer tag: VLAN id 7, next tag 0x8100. */
static const uint8_t TAG7_TO_8100[] = {0x00, 0x07, 0x81, 0x00};
/* 0x9100 tag: VLAN id 7, inner ethertype 0x0800. */
static const uint8_t TAG7_V4[] = {0x00, 0x07, 0x08, 0x00};

/* MPLS label 16, EXP 0, bottom of stack, TTL 64: (16 << 12) | (1 << 8) | 64. */
static const uint8_t MPLS_BOTTOM[] = {0x00, 0x01, 0x01, 0x40};
/* Three labels: 16 and 17 not bottom, 18 bottom of stack; TTL 64 each. */
static const uint8_t MPLS_3[] = {0x00, 0x01, 0x00, 0x40, 0x00, 0x01, 0x10, 0x40,
                                 0x00, 0x01, 0x21, 0x40};
/* MPLS label 16, not bottom of stack (repeated to build over-deep stacks). */
static const uint8_t MPLS_MORE[] = {0x00, 0x01, 0x00, 0x40};
/* Pseudowire control word (first nibble 0): Ethernet over MPLS, not IP. */
static const uint8_t PW_CONTROL_WORD[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33};

/* PPPoE session: version 1 type 1 (0x11), code 0, session 0x1234, length 50 (PPP protocol
 * + 48 bytes of IPv4), PPP protocol 0x0021 (IPv4). */
static const uint8_t PPPOE_V4[] = {0x11, 0x00, 0x12, 0x34, 0x00, 0x32, 0x00, 0x21};
/* PPPoE session, length 54, PPP protocol 0x0057 (IPv6). */
static const uint8_t PPPOE_V6[] = {0x11, 0x00, 0x12, 0x34, 0x00, 0x36, 0x00, 0x57};
/* PPPoE session, PPP protocol 0xc021 (LCP), then an LCP echo request. */
static const uint8_t PPPOE_LCP[] = {0x11, 0x00, 0x12, 0x34, 0x00, 0x0a, 0xc0, 0x21,
                                    0x09, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00};

/* ---- helpers -------------------------------------------------------------------------- */

/* Concatenates (pointer, size_t length) pairs, ended by NULL, into out. Returns the length. */
static size_t cat(uint8_t *out, size_t cap, ...)
{
    va_list ap;
    size_t len = 0;
    const uint8_t *p;

    va_start(ap, cap);
    while ((p = va_arg(ap, const uint8_t *)) != NULL) {
        size_t n = va_arg(ap, size_t);
        assert_true(len + n <= cap);
        memcpy(out + len, p, n);
        len += n;
    }
    va_end(ap);
    return len;
}

#define assert_rc(got, want, what)                                                           \
    do {                                                                                     \
        int got_ = (got), want_ = (want);                                                    \
        if (got_ != want_)                                                                   \
            fail_msg("%s: got %s, want %s", (what), tw_counter_name((unsigned)got_),          \
                     tw_counter_name((unsigned)want_));                                      \
    } while (0)

/* Parses a complete (not snapped) frame and asserts it decodes. */
static struct tw_packet parse_ok(const uint8_t *f, size_t len, int linktype, const char *what)
{
    struct tw_packet pkt;

    assert_rc(tw_parse(f, (uint32_t)len, (uint32_t)len, linktype, &SETTINGS, &pkt), TW_C_PARSED, what);
    assert_int_equal(pkt.snapped, 0);
    assert_true(pkt.l3 >= f && pkt.l3 + pkt.l3_len == f + len);
    return pkt;
}

static int parse_rc(const uint8_t *f, size_t len, int linktype)
{
    struct tw_packet pkt;
    return tw_parse(f, (uint32_t)len, (uint32_t)len, linktype, &SETTINGS, &pkt);
}

/* The fields of IP4_TCP. */
static void check_ip4_tcp(const struct tw_packet *p)
{
    assert_int_equal(p->ip_version, 4);
    assert_int_equal(p->ip_proto, 6);
    assert_memory_equal(p->src, V4_SRC, 16);
    assert_memory_equal(p->dst, V4_DST, 16);
    assert_int_equal(p->src_port, 12345);
    assert_int_equal(p->dst_port, 80);
    assert_int_equal(p->tcp_flags, TW_TCP_PSH | TW_TCP_ACK);
    assert_int_equal(p->payload_len, 8);
    assert_int_equal(p->l3_len, sizeof(IP4_TCP));
    assert_int_equal(p->first_fragment, 0);
}

/* The fields of IP6_UDP. */
static void check_ip6_udp(const struct tw_packet *p)
{
    assert_int_equal(p->ip_version, 6);
    assert_int_equal(p->ip_proto, 17);
    assert_memory_equal(p->src, V6_SRC, 16);
    assert_memory_equal(p->dst, V6_DST, 16);
    assert_int_equal(p->src_port, 40000);
    assert_int_equal(p->dst_port, 53);
    assert_int_equal(p->tcp_flags, 0);
    assert_int_equal(p->payload_len, 4);
    assert_int_equal(p->l3_len, sizeof(IP6_UDP));
}

/* ---- L2 ------------------------------------------------------------------------------- */

static void test_ethernet_ipv4_tcp(void **state)
{
    (void)state;
    uint8_t f[128];
    size_t n = cat(f, sizeof(f), P(ETH_V4), P(IP4_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "eth/ipv4/tcp");

    check_ip4_tcp(&p);
    assert_ptr_equal(p.l3, f + 14);
    assert_int_equal(p.vlan, 0);

    n = cat(f, sizeof(f), P(ETH_V6), P(IP6_UDP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "eth/ipv6/udp");
    check_ip6_udp(&p);
    assert_ptr_equal(p.l3, f + 14);
}

static void test_ethernet_padding(void **state)
{
    (void)state;
    /* a 60-byte minimum frame: ETH + IP4 header + 8-byte UDP, then 18 bytes of padding that
     * the IP total length (28) leaves out */
    static const uint8_t ip4_udp_short[] = {
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, /* IPv4, total 28 */
        0x40, 0x11, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, /* TTL 64, UDP, src 10.0.0.1 */
        0x0a, 0x00, 0x00, 0x02,                         /* dst 10.0.0.2 */
        0x04, 0x00, 0x04, 0x01, 0x00, 0x08, 0x00, 0x00, /* UDP 1024 -> 1025, length 8 */
    };
    static const uint8_t padding[18] = {0};
    uint8_t f[128];
    size_t n = cat(f, sizeof(f), P(ETH_V4), P(ip4_udp_short), P(padding), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "padded");

    assert_int_equal(n, 60);
    assert_int_equal(p.ip_proto, 17);
    assert_int_equal(p.src_port, 1024);
    assert_int_equal(p.dst_port, 1025);
    assert_int_equal(p.payload_len, 0);
}

static void test_llc_snap(void **state)
{
    (void)state;
    uint8_t f[128];
    size_t n = cat(f, sizeof(f), P(ETH_LLC_SNAP), P(IP4_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "llc/snap");

    check_ip4_tcp(&p);
    assert_ptr_equal(p.l3, f + 22);

    /* LLC that is not SNAP (spanning tree) carries no ethertype */
    assert_rc(parse_rc(ETH_LLC_STP, sizeof(ETH_LLC_STP), TW_LINK_ETHERNET), TW_C_DROP_NOT_IP,
              "stp");
}

static void test_vlan_8021q(void **state)
{
    (void)state;
    uint8_t f[128];
    size_t n = cat(f, sizeof(f), P(ETH_VLAN), P(TAG100_V4), P(IP4_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "vlan");

    check_ip4_tcp(&p);
    assert_int_equal(p.vlan, 100); /* PCP bits masked off */
    assert_ptr_equal(p.l3, f + 18);

    n = cat(f, sizeof(f), P(ETH_VLAN), P(TAG100_V6), P(IP6_UDP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "vlan/ipv6");
    check_ip6_udp(&p);
    assert_int_equal(p.vlan, 100);
}

static void test_qinq(void **state)
{
    (void)state;
    uint8_t f[128];
    /* 0x88a8 service tag 200, then 0x8100 customer tag 300 */
    size_t n = cat(f, sizeof(f), P(ETH_QINQ), P(STAG200_TO_8100), P(CTAG300_V4), P(IP4_TCP),
                   NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "qinq");

    check_ip4_tcp(&p);
    assert_int_equal(p.vlan, 300); /* innermost id (DEI bit masked off) */
    assert_ptr_equal(p.l3, f + 22);

    /* 0x8100 over 0x8100 (double 802.1Q) */
    n = cat(f, sizeof(f), P(ETH_VLAN), P(TAG4094_TO_8100), P(CTAG300_V4), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "8100/8100");
    assert_int_equal(p.vlan, 300);
}

static void test_vlan_9100(void **state)
{
    (void)state;
    uint8_t f[128];
    /* a single 0x9100 tag, VLAN 7 */
    size_t n = cat(f, sizeof(f), P(ETH_9100), P(TAG7_V4), P(IP4_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "9100");

    check_ip4_tcp(&p);
    assert_int_equal(p.vlan, 7);

    /* 0x9100 outer VLAN 7, 0x8100 inner VLAN 300 */
    n = cat(f, sizeof(f), P(ETH_9100), P(TAG7_TO_8100), P(CTAG300_V4), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "9100/8100");
    check_ip4_tcp(&p);
    assert_int_equal(p.vlan, 300);
}

static void test_vlan_too_deep(void **state)
{
    (void)state;
    uint8_t f[256];
    size_t n;

    /* TW_MAX_VLAN_TAGS tags decode; one more, and 20, are too deep */
    for (unsigned tags = 1; tags <= 20; tags++) {
        n = cat(f, sizeof(f), P(ETH_VLAN), NULL);
        for (unsigned i = 1; i < tags; i++)
            n += cat(f + n, sizeof(f) - n, P(TAG4094_TO_8100), NULL);
        n += cat(f + n, sizeof(f) - n, P(TAG100_V4), P(IP4_TCP), NULL);
        char what[32];
        snprintf(what, sizeof(what), "%u tags", tags);
        if (tags <= TW_MAX_VLAN_TAGS) {
            struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, what);
            assert_int_equal(p.vlan, 100);
        } else {
            assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_L2_TOO_DEEP, what);
        }
    }
}

static void test_mpls(void **state)
{
    (void)state;
    uint8_t f[256];
    /* one label, bottom of stack, IPv4 found by its version nibble */
    size_t n = cat(f, sizeof(f), P(ETH_MPLS), P(MPLS_BOTTOM), P(IP4_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "mpls 1");

    check_ip4_tcp(&p);
    assert_ptr_equal(p.l3, f + 18);

    /* three labels, IPv4 */
    n = cat(f, sizeof(f), P(ETH_MPLS), P(MPLS_3), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "mpls 3");
    check_ip4_tcp(&p);
    assert_ptr_equal(p.l3, f + 26);

    /* three labels, IPv6 */
    n = cat(f, sizeof(f), P(ETH_MPLS), P(MPLS_3), P(IP6_UDP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "mpls 3 v6");
    check_ip6_udp(&p);

    /* VLAN then MPLS multicast (0x8848) */
    static const uint8_t tag_to_mpls_mc[] = {0x00, 0x0a, 0x88, 0x48}; /* VLAN 10, 0x8848 */
    n = cat(f, sizeof(f), P(ETH_VLAN), P(tag_to_mpls_mc), P(MPLS_BOTTOM), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "vlan/mpls mc");
    assert_int_equal(p.vlan, 10);
    check_ip4_tcp(&p);

    /* Ethernet pseudowire (control word): with decap.mpls_pw off it is not IP; on, this
     * frame is cut inside the inner Ethernet header (test_mpls_pw has the whole frame) */
    n = cat(f, sizeof(f), P(ETH_MPLS), P(MPLS_BOTTOM), P(PW_CONTROL_WORD), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_TUNNEL_TRUNCATED, "pseudowire");
    struct tw_parse_settings no_pw = SETTINGS;
    no_pw.decap = 0;
    struct tw_packet pw;
    assert_rc(tw_parse(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &no_pw, &pw),
              TW_C_DROP_NOT_IP, "pseudowire, decap off");

    /* 17 labels without a bottom of stack: too deep */
    n = cat(f, sizeof(f), P(ETH_MPLS), NULL);
    for (unsigned i = 0; i < 17; i++)
        n += cat(f + n, sizeof(f) - n, P(MPLS_MORE), NULL);
    n += cat(f + n, sizeof(f) - n, P(MPLS_BOTTOM), P(IP4_TCP), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_L2_TOO_DEEP, "17 labels");
}

static void test_pppoe(void **state)
{
    (void)state;
    uint8_t f[128];
    size_t n = cat(f, sizeof(f), P(ETH_PPPOE), P(PPPOE_V4), P(IP4_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "pppoe v4");

    check_ip4_tcp(&p);
    assert_ptr_equal(p.l3, f + 22);

    n = cat(f, sizeof(f), P(ETH_PPPOE), P(PPPOE_V6), P(IP6_UDP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "pppoe v6");
    check_ip6_udp(&p);

    /* LCP inside PPPoE is not IP */
    n = cat(f, sizeof(f), P(ETH_PPPOE), P(PPPOE_LCP), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_NOT_IP, "pppoe lcp");
}

static void test_not_ip(void **state)
{
    (void)state;
    assert_rc(parse_rc(ETH_ARP, sizeof(ETH_ARP), TW_LINK_ETHERNET), TW_C_DROP_NOT_IP, "arp");

    /* ethertype IPv4 but a version 6 header; ethertype IPv6 with a version 4 header */
    uint8_t f[128];
    size_t n = cat(f, sizeof(f), P(ETH_V4), P(IP6_UDP), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_IP_BAD_VERSION, "v4 type, v6 hdr");
    n = cat(f, sizeof(f), P(ETH_V6), P(IP4_TCP), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_IP_BAD_VERSION, "v6 type, v4 hdr");

    /* raw IP with version nibble 5 */
    uint8_t raw[sizeof(IP4_TCP)];
    memcpy(raw, IP4_TCP, sizeof(raw));
    raw[0] = 0x55;
    assert_rc(parse_rc(raw, sizeof(raw), TW_LINK_RAW), TW_C_DROP_NOT_IP, "version 5");
}

/* ---- link types ----------------------------------------------------------------------- */

/* Linux cooked v1, 16 bytes: packet type 0 (to us), ARPHRD 1 (Ethernet), address length 6,
 * address padded to 8, protocol. */
static const uint8_t SLL_V4[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x66, 0x77,
                                 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00, 0x08, 0x00};
static const uint8_t SLL_V6[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x66, 0x77,
                                 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00, 0x86, 0xdd};
/* Linux cooked v1 over a VLAN: protocol 0x8100, the tag follows the header. */
static const uint8_t SLL_VLAN[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00, 0x81, 0x00};
/* Linux cooked v2, 20 bytes: protocol, reserved, ifindex 2, ARPHRD 1, packet type 0,
 * address length 6, address padded to 8. */
static const uint8_t SLL2_V4[] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
                                  0x00, 0x06, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00};
static const uint8_t SLL2_V6[] = {0x86, 0xdd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
                                  0x00, 0x06, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00};
/* BSD loopback (DLT_NULL): 4-byte address family in the writer's byte order. */
static const uint8_t NULL_AF2_LE[] = {0x02, 0x00, 0x00, 0x00};  /* AF_INET, little-endian */
static const uint8_t NULL_AF2_BE[] = {0x00, 0x00, 0x00, 0x02};  /* AF_INET, big-endian */
static const uint8_t NULL_AF24_LE[] = {0x18, 0x00, 0x00, 0x00}; /* AF_INET6 NetBSD/OpenBSD */
static const uint8_t NULL_AF24_BE[] = {0x00, 0x00, 0x00, 0x18};
static const uint8_t NULL_AF28_LE[] = {0x1c, 0x00, 0x00, 0x00}; /* AF_INET6 FreeBSD */
static const uint8_t NULL_AF28_BE[] = {0x00, 0x00, 0x00, 0x1c};
static const uint8_t NULL_AF30_LE[] = {0x1e, 0x00, 0x00, 0x00}; /* AF_INET6 macOS */
static const uint8_t NULL_AF30_BE[] = {0x00, 0x00, 0x00, 0x1e};
static const uint8_t NULL_AF10_LE[] = {0x0a, 0x00, 0x00, 0x00}; /* AF_INET6 Linux */
static const uint8_t NULL_AF7_LE[] = {0x07, 0x00, 0x00, 0x00};  /* AF 7 (not IP) */
/* PPP in HDLC-like framing: address 0xff, control 0x03, protocol 0x0021 (IPv4). */
static const uint8_t PPP_HDLC_V4[] = {0xff, 0x03, 0x00, 0x21};
/* PPP with address/control compressed away: protocol 0x0057 (IPv6) only. */
static const uint8_t PPP_BARE_V6[] = {0x00, 0x57};
/* PPP, protocol 0xc021 (LCP), then a 4-byte LCP header. */
static const uint8_t PPP_LCP[] = {0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x04};
/* Cisco HDLC: address 0x0f (unicast), control 0, ethertype 0x0800 / 0x86dd. */
static const uint8_t CHDLC_V4[] = {0x0f, 0x00, 0x08, 0x00};
static const uint8_t CHDLC_V6[] = {0x8f, 0x00, 0x86, 0xdd}; /* address 0x8f: broadcast */
static const uint8_t NOTHING[] = {0};                      /* raw links: no header */

struct link_case {
    const char *what;
    int linktype;
    const uint8_t *hdr;
    size_t hlen;
    int v6;
};

static const struct link_case LINKS[] = {
    {"ethernet v4", TW_LINK_ETHERNET, P(ETH_V4), 0},
    {"ethernet v6", TW_LINK_ETHERNET, P(ETH_V6), 1},
    {"sll v4", TW_LINK_LINUX_SLL, P(SLL_V4), 0},
    {"sll v6", TW_LINK_LINUX_SLL, P(SLL_V6), 1},
    {"sll2 v4", TW_LINK_LINUX_SLL2, P(SLL2_V4), 0},
    {"sll2 v6", TW_LINK_LINUX_SLL2, P(SLL2_V6), 1},
    {"raw(101) v4", TW_LINK_RAW, NOTHING, 0, 0},
    {"raw(101) v6", TW_LINK_RAW, NOTHING, 0, 1},
    {"raw(12) v4", TW_LINK_RAW_ALT, NOTHING, 0, 0},
    {"raw(14) v6", TW_LINK_RAW_ALT2, NOTHING, 0, 1},
    {"ipv4(228)", TW_LINK_IPV4, NOTHING, 0, 0},
    {"ipv6(229)", TW_LINK_IPV6, NOTHING, 0, 1},
    {"null af2 le", TW_LINK_NULL, P(NULL_AF2_LE), 0},
    {"null af2 be", TW_LINK_NULL, P(NULL_AF2_BE), 0},
    {"null af24 le", TW_LINK_NULL, P(NULL_AF24_LE), 1},
    {"null af24 be", TW_LINK_NULL, P(NULL_AF24_BE), 1},
    {"null af28 le", TW_LINK_NULL, P(NULL_AF28_LE), 1},
    {"null af28 be", TW_LINK_NULL, P(NULL_AF28_BE), 1},
    {"null af30 le", TW_LINK_NULL, P(NULL_AF30_LE), 1},
    {"null af30 be", TW_LINK_NULL, P(NULL_AF30_BE), 1},
    {"null af10 le", TW_LINK_NULL, P(NULL_AF10_LE), 1},
    {"loop af2 be", TW_LINK_LOOP, P(NULL_AF2_BE), 0},
    {"loop af2 le", TW_LINK_LOOP, P(NULL_AF2_LE), 0},
    {"loop af24 be", TW_LINK_LOOP, P(NULL_AF24_BE), 1},
    {"loop af28 le", TW_LINK_LOOP, P(NULL_AF28_LE), 1},
    {"loop af30 be", TW_LINK_LOOP, P(NULL_AF30_BE), 1},
    {"ppp hdlc v4", TW_LINK_PPP, P(PPP_HDLC_V4), 0},
    {"ppp bare v6", TW_LINK_PPP, P(PPP_BARE_V6), 1},
    {"c_hdlc v4", TW_LINK_C_HDLC, P(CHDLC_V4), 0},
    {"c_hdlc v6", TW_LINK_C_HDLC, P(CHDLC_V6), 1},
};

static void test_link_types(void **state)
{
    (void)state;
    uint8_t f[128];

    for (size_t i = 0; i < N(LINKS); i++) {
        const struct link_case *c = &LINKS[i];
        size_t n = c->v6 ? cat(f, sizeof(f), c->hdr, c->hlen, P(IP6_UDP), NULL)
                         : cat(f, sizeof(f), c->hdr, c->hlen, P(IP4_TCP), NULL);
        struct tw_packet p = parse_ok(f, n, c->linktype, c->what);
        assert_ptr_equal(p.l3, f + c->hlen);
        if (c->v6)
            check_ip6_udp(&p);
        else
            check_ip4_tcp(&p);
        assert_true(tw_linktype_supported(c->linktype));
        /* the link header alone, and one byte short of it */
        assert_true(tw_counter_is_drop((unsigned)parse_rc(f, c->hlen, c->linktype)));
        if (c->hlen)
            assert_rc(parse_rc(f, c->hlen - 1, c->linktype), TW_C_DROP_TOO_SHORT, c->what);
    }

    /* SLL carrying a VLAN tag */
    size_t n = cat(f, sizeof(f), P(SLL_VLAN), P(TAG100_V4), P(IP4_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_LINUX_SLL, "sll vlan");
    assert_int_equal(p.vlan, 100);
    check_ip4_tcp(&p);

    /* loopback with a family that is not IP; PPP LCP */
    n = cat(f, sizeof(f), P(NULL_AF7_LE), P(IP4_TCP), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_NULL), TW_C_DROP_NOT_IP, "null af7");
    assert_rc(parse_rc(PPP_LCP, sizeof(PPP_LCP), TW_LINK_PPP), TW_C_DROP_NOT_IP, "ppp lcp");

    /* a link type the decoder does not know (147, user 0) */
    n = cat(f, sizeof(f), P(ETH_V4), P(IP4_TCP), NULL);
    assert_false(tw_linktype_supported(147));
    assert_rc(parse_rc(f, n, 147), TW_C_DROP_NOT_IP, "linktype 147");

    char name[32];
    assert_string_equal(tw_linktype_name(TW_LINK_ETHERNET, name, sizeof(name)), "Ethernet");
    assert_string_equal(tw_linktype_name(TW_LINK_LINUX_SLL2, name, sizeof(name)),
                        "Linux cooked v2");
    assert_string_equal(tw_linktype_name(147, name, sizeof(name)), "LINKTYPE 147");
}

/* ---- IPv4 ----------------------------------------------------------------------------- */

static void test_ipv4_options(void **state)
{
    (void)state;
    /* IPv4 with IHL 6: a router alert option, then TCP 10.0.0.1:12345 -> 10.0.0.2:80, SYN */
    static const uint8_t ip4_opt_tcp[] = {
        0x46, 0x00, 0x00, 0x2c, /* version 4, IHL 6 (24 bytes), total length 44 */
        0x00, 0x01, 0x40, 0x00, /* id 1, DF */
        0x40, 0x06, 0x00, 0x00, /* TTL 64, TCP */
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
        0x94, 0x04, 0x00, 0x00, /* option: router alert (type 148, length 4, value 0) */
        0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, /* data offset 5, SYN */
    };
    struct tw_packet p = parse_ok(ip4_opt_tcp, sizeof(ip4_opt_tcp), TW_LINK_RAW, "options");

    assert_int_equal(p.ip_proto, 6);
    assert_int_equal(p.src_port, 12345);
    assert_int_equal(p.dst_port, 80);
    assert_int_equal(p.tcp_flags, TW_TCP_SYN);
    assert_int_equal(p.payload_len, 0);
    assert_int_equal(p.first_fragment, 0); /* DF is not a fragment */
}

static void test_ipv4_fragments(void **state)
{
    (void)state;
    uint8_t f[sizeof(IP4_TCP)];
    struct tw_packet p;

    /* first fragment: MF set, offset 0: ports are there */
    memcpy(f, IP4_TCP, sizeof(f));
    f[6] = 0x20; /* flags MF */
    f[7] = 0x00;
    p = parse_ok(f, sizeof(f), TW_LINK_RAW, "first fragment");
    assert_int_equal(p.first_fragment, 1);
    assert_int_equal(p.src_port, 12345);
    assert_int_equal(p.dst_port, 80);

    /* middle fragment: MF, offset 185 (1480 bytes) */
    f[6] = 0x20;
    f[7] = 0xb9;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_FRAGMENT, "middle fragment");
    /* last fragment: no MF, offset 185 */
    f[6] = 0x00;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_FRAGMENT, "last fragment");
    /* the highest offset bit alone (offset 4096) */
    f[6] = 0x10;
    f[7] = 0x00;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_FRAGMENT, "offset 4096");
    /* DF only: not a fragment */
    f[6] = 0x40;
    p = parse_ok(f, sizeof(f), TW_LINK_RAW, "df");
    assert_int_equal(p.first_fragment, 0);
}

static void test_ipv4_bad_values(void **state)
{
    (void)state;
    uint8_t f[sizeof(IP4_TCP)];

    /* IHL 4 (16 bytes) and IHL 0 */
    memcpy(f, IP4_TCP, sizeof(f));
    f[0] = 0x44;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_BAD_HEADER_LEN, "ihl 4");
    f[0] = 0x40;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_BAD_HEADER_LEN, "ihl 0");

    /* IHL 15 (60 bytes) in a 48-byte frame: header beyond the capture */
    f[0] = 0x4f;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_TRUNCATED, "ihl 15");

    /* total length 19, below the 20-byte header; and 0 (TSO-style) */
    memcpy(f, IP4_TCP, sizeof(f));
    f[2] = 0x00;
    f[3] = 0x13;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_BAD_TOTAL_LEN, "total 19");
    f[3] = 0x00;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_BAD_TOTAL_LEN, "total 0");
    /* total length 49, one more than captured (not snapped) */
    f[3] = 0x31;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_IP_BAD_TOTAL_LEN, "total 49");
    /* total 20: the IP length leaves no room for TCP */
    f[3] = 0x14;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_L4_TRUNCATED, "total 20");
    /* total 39: 19 bytes of TCP */
    f[3] = 0x27;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_L4_TRUNCATED, "total 39");
}

/* ---- L4 ------------------------------------------------------------------------------- */

static void test_tcp(void **state)
{
    (void)state;
    uint8_t f[sizeof(IP4_TCP)];
    static const uint8_t flags[] = {TW_TCP_SYN, TW_TCP_SYN | TW_TCP_ACK, TW_TCP_FIN | TW_TCP_ACK,
                                    TW_TCP_RST, TW_TCP_RST | TW_TCP_ACK, 0xff, 0};

    memcpy(f, IP4_TCP, sizeof(f));
    for (size_t i = 0; i < N(flags); i++) {
        f[33] = flags[i];
        struct tw_packet p = parse_ok(f, sizeof(f), TW_LINK_RAW, "flags");
        assert_int_equal(p.tcp_flags, flags[i]);
    }

    /* data offset 7: 8 bytes of options, leaving 0 payload bytes */
    memcpy(f, IP4_TCP, sizeof(f));
    f[32] = 0x70;
    struct tw_packet p = parse_ok(f, sizeof(f), TW_LINK_RAW, "doff 7");
    assert_int_equal(p.payload_len, 0);
    /* data offset 6: 4 bytes of options, 4 payload bytes */
    f[32] = 0x60;
    p = parse_ok(f, sizeof(f), TW_LINK_RAW, "doff 6");
    assert_int_equal(p.payload_len, 4);

    /* data offset 4 and 0: below the 20-byte header */
    f[32] = 0x40;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_TCP_BAD_OFFSET, "doff 4");
    f[32] = 0x00;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_TCP_BAD_OFFSET, "doff 0");
    /* data offset 8 (32 bytes) > 28 bytes of TCP per the IP length */
    f[32] = 0x80;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_TCP_BAD_OFFSET, "doff 8");
    /* data offset 15 (60 bytes) */
    f[32] = 0xf0;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_RAW), TW_C_DROP_TCP_BAD_OFFSET, "doff 15");
}

static void test_udp(void **state)
{
    (void)state;
    /* IPv4 UDP 10.0.0.1:5353 -> 224.0.0.251:5353 with 3 payload bytes */
    static const uint8_t ip4_udp[] = {
        0x45, 0x00, 0x00, 0x1f, 0x00, 0x01, 0x00, 0x00, /* IPv4, total 31 */
        0x01, 0x11, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, /* TTL 1, UDP, 10.0.0.1 */
        0xe0, 0x00, 0x00, 0xfb,                         /* 224.0.0.251 */
        0x14, 0xe9, 0x14, 0xe9, 0x00, 0x0b, 0x00, 0x00, /* 5353 -> 5353, length 11 */
        0x01, 0x02, 0x03,                               /* payload */
    };
    struct tw_packet p = parse_ok(ip4_udp, sizeof(ip4_udp), TW_LINK_IPV4, "udp");

    assert_int_equal(p.ip_proto, 17);
    assert_int_equal(p.src_port, 5353);
    assert_int_equal(p.dst_port, 5353);
    assert_int_equal(p.payload_len, 3);
    assert_int_equal(p.tcp_flags, 0);

    /* UDP header cut by the IP length (total 27: 7 bytes of UDP) */
    uint8_t f[sizeof(ip4_udp)];
    memcpy(f, ip4_udp, sizeof(f));
    f[3] = 27;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_IPV4), TW_C_DROP_L4_TRUNCATED, "udp 7");
}

static void test_icmp_and_other(void **state)
{
    (void)state;
    /* IPv4 ICMP echo request 10.0.0.1 -> 10.0.0.2, id 0x1234, seq 1, 4 data bytes */
    static const uint8_t ip4_icmp[] = {
        0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, /* IPv4, total 32 */
        0x40, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, /* TTL 64, ICMP */
        0x0a, 0x00, 0x00, 0x02,
        0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01, /* echo request, id, seq */
        0x61, 0x62, 0x63, 0x64,                         /* data */
    };
    struct tw_packet p = parse_ok(ip4_icmp, sizeof(ip4_icmp), TW_LINK_RAW, "icmp");
    assert_int_equal(p.ip_proto, 1);
    assert_int_equal(p.src_port, 0);
    assert_int_equal(p.dst_port, 0);
    assert_int_equal(p.tcp_flags, 0);
    assert_int_equal(p.payload_len, 4);

    /* IPv6 ICMPv6 echo request 2001:db8::1 -> 2001:db8::2, 8-byte header, no data */
    static const uint8_t ip6_icmp6[] = {
        0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3a, 0x40, /* payload 8, next 58, hop 64 */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
        0x80, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01, /* echo request, id, seq */
    };
    p = parse_ok(ip6_icmp6, sizeof(ip6_icmp6), TW_LINK_RAW, "icmpv6");
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.ip_proto, 58);
    assert_int_equal(p.src_port, 0);
    assert_int_equal(p.dst_port, 0);
    assert_int_equal(p.payload_len, 0);

    /* IPv4 GRE (47): 4-byte GRE header carrying ethertype 0x0800, 8 more bytes */
    static const uint8_t ip4_gre[] = {
        0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, /* IPv4, total 32 */
        0x40, 0x2f, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, /* TTL 64, GRE, 192.0.2.1 */
        0xc0, 0x00, 0x02, 0x02,                         /* 192.0.2.2 */
        0x00, 0x00, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, /* GRE, 8 bytes of "IPv4" */
    };
    struct tw_parse_settings no_decap = SETTINGS;
    no_decap.decap = 0; /* with decap.gre on, these 8 bytes are a cut inner IPv4 header */
    assert_rc(tw_parse(ip4_gre, sizeof(ip4_gre), sizeof(ip4_gre), TW_LINK_RAW, &no_decap, &p),
              TW_C_PARSED, "gre");
    assert_rc(parse_rc(ip4_gre, sizeof(ip4_gre), TW_LINK_RAW), TW_C_DROP_IP_TRUNCATED, "gre decap");
    assert_int_equal(p.ip_proto, 47);
    assert_int_equal(p.src_port, 0);
    assert_int_equal(p.dst_port, 0);
    assert_int_equal(p.tcp_flags, 0);
    assert_int_equal(p.payload_len, 12);
}

/* ---- IPv6 ----------------------------------------------------------------------------- */

/* IPv6 with hop-by-hop, routing, destination options and fragment headers, then TCP
 * [2001:db8::1]:40001 -> [2001:db8::2]:443 SYN with 8 payload bytes. 100 bytes. */
static const uint8_t IP6_EXT_TCP[] = {
    0x60, 0x00, 0x00, 0x00,
    0x00, 0x3c, 0x00, 0x40, /* payload length 60, next header 0 (hop-by-hop), hop 64 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, /* HBH: next 43, len 0 (8), PadN 4 */
    0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* routing: next 60, len 0, type 0,
                                                       segments left 0 */
    0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, /* dest options: next 44, PadN 4 */
    0x06, 0x00, 0x00, 0x01, 0x00, 0x00, 0xab, 0xcd, /* fragment: next 6, offset 0, M=1 */
    0x9c, 0x41, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x01, /* TCP 40001 -> 443, seq */
    0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xff, 0xff, /* ack, data offset 5, SYN, window */
    0x00, 0x00, 0x00, 0x00,                         /* checksum, urgent */
    1, 2, 3, 4, 5, 6, 7, 8,                         /* payload */
};
#define IP6_EXT_FRAG_OFF 66 /* offset of the fragment header's offset/M field */

static void test_ipv6_ext_headers(void **state)
{
    (void)state;
    uint8_t f[160];
    size_t n = cat(f, sizeof(f), P(ETH_V6), P(IP6_EXT_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "ipv6 ext");

    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.ip_proto, 6);
    assert_int_equal(p.src_port, 40001);
    assert_int_equal(p.dst_port, 443);
    assert_int_equal(p.tcp_flags, TW_TCP_SYN);
    assert_int_equal(p.payload_len, 8);
    assert_int_equal(p.first_fragment, 1);
    assert_memory_equal(p.src, V6_SRC, 16);
    assert_ptr_equal(p.l3, f + 14);

    /* non-first fragment: offset 1 (8 bytes), M=1 */
    f[14 + IP6_EXT_FRAG_OFF + 0] = 0x00;
    f[14 + IP6_EXT_FRAG_OFF + 1] = 0x09;
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_IP_FRAGMENT, "v6 offset 1");
    /* last fragment: offset 1000, M=0 */
    f[14 + IP6_EXT_FRAG_OFF + 0] = 0x1f;
    f[14 + IP6_EXT_FRAG_OFF + 1] = 0x40;
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_IP_FRAGMENT, "v6 last");
    /* an atomic fragment (offset 0, M=0): decodes, not a first fragment */
    f[14 + IP6_EXT_FRAG_OFF + 0] = 0x00;
    f[14 + IP6_EXT_FRAG_OFF + 1] = 0x00;
    p = parse_ok(f, n, TW_LINK_ETHERNET, "atomic");
    assert_int_equal(p.first_fragment, 0);
    assert_int_equal(p.src_port, 40001);

    /* hop-by-hop of length 1 (16 bytes) and AH (length 4: (4 + 2) * 4 = 24 bytes) */
    static const uint8_t ip6_hbh16_ah_udp[] = {
        0x60, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x40, /* payload 48, next 0 */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
        0x33, 0x01, 0x01, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* HBH: next 51, PadN 12 */
        0x11, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, /* AH: next 17, len 4, SPI 256 */
        0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, /* sequence 1, 12-byte ICV */
        0, 0, 0, 0,
        0x00, 0x35, 0x9c, 0x40, 0x00, 0x08, 0x00, 0x00, /* UDP 53 -> 40000, length 8 */
    };
    p = parse_ok(ip6_hbh16_ah_udp, sizeof(ip6_hbh16_ah_udp), TW_LINK_IPV6, "hbh16/ah");
    assert_int_equal(p.ip_proto, 17);
    assert_int_equal(p.src_port, 53);
    assert_int_equal(p.dst_port, 40000);
    assert_int_equal(p.payload_len, 0);
}

static void test_ipv6_bad_ext(void **state)
{
    (void)state;
    uint8_t f[sizeof(IP6_EXT_TCP)];

    /* hop-by-hop claims length 10 (88 bytes), past the 60-byte payload */
    memcpy(f, IP6_EXT_TCP, sizeof(f));
    f[41] = 10;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_IPV6), TW_C_DROP_IPV6_BAD_EXT, "hbh 88");

    /* routing header claims 255 (2048 bytes) */
    memcpy(f, IP6_EXT_TCP, sizeof(f));
    f[49] = 255;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_IPV6), TW_C_DROP_IPV6_BAD_EXT, "routing 2048");

    /* payload length 16: the chain (hop-by-hop, routing, then dest options) runs past the end
     * of the IP payload, though bytes are captured there */
    memcpy(f, IP6_EXT_TCP, sizeof(f));
    f[5] = 16;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_IPV6), TW_C_DROP_IPV6_BAD_EXT, "plen 16");

    /* the chain runs past the captured bytes: the whole packet ends after hop-by-hop, which
     * says another extension header (routing) follows */
    static const uint8_t ip6_hbh_only[] = {
        0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x40, /* payload 8, next 0 */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
        0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, /* HBH: next 43 (routing), PadN 4 */
    };
    assert_rc(parse_rc(ip6_hbh_only, sizeof(ip6_hbh_only), TW_LINK_IPV6),
              TW_C_DROP_IPV6_BAD_EXT, "hbh then nothing");

    /* 17 destination-options headers in a row: longer than the decoder follows */
    uint8_t g[40 + 17 * 8 + 8];
    memcpy(g, ip6_hbh_only, 40);
    g[4] = 0;
    g[5] = 17 * 8 + 8;
    g[6] = 60;
    for (unsigned i = 0; i < 17; i++) {
        static const uint8_t dst_opts[] = {0x3c, 0x00, 0x01, 0x04, 0, 0, 0, 0}; /* next 60 */
        memcpy(g + 40 + 8 * i, dst_opts, 8);
    }
    g[40 + 16 * 8] = 17; /* the last one says UDP */
    static const uint8_t udp[] = {0x00, 0x35, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00};
    memcpy(g + 40 + 17 * 8, udp, 8);
    assert_rc(parse_rc(g, sizeof(g), TW_LINK_IPV6), TW_C_DROP_IPV6_BAD_EXT, "17 headers");
    /* 16 of them are followed */
    memmove(g + 40 + 8, g + 40 + 16, sizeof(g) - 40 - 16);
    g[5] = 16 * 8 + 8;
    struct tw_packet p = parse_ok(g, sizeof(g) - 8, TW_LINK_IPV6, "16 headers");
    assert_int_equal(p.ip_proto, 17);
    assert_int_equal(p.dst_port, 53);

    /* payload length beyond the captured bytes (not snapped) */
    memcpy(f, IP6_EXT_TCP, sizeof(f));
    f[5] = 61;
    assert_rc(parse_rc(f, sizeof(f), TW_LINK_IPV6), TW_C_DROP_IP_BAD_TOTAL_LEN, "plen 61");
}

/* ---- IP in IP ------------------------------------------------------------------------- */

/* Outer IPv4 192.0.2.1 -> 192.0.2.2, protocol 4 (IPv4), total 20 + 48 (IP4_TCP). */
static const uint8_t OUTER4_4[] = {0x45, 0x00, 0x00, 0x44, 0x00, 0x01, 0x00, 0x00,
                                   0x40, 0x04, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
                                   0xc0, 0x00, 0x02, 0x02};
/* Outer IPv4, protocol 41 (IPv6), total 20 + 52 (IP6_UDP). */
static const uint8_t OUTER4_6[] = {0x45, 0x00, 0x00, 0x48, 0x00, 0x01, 0x00, 0x00,
                                   0x40, 0x29, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
                                   0xc0, 0x00, 0x02, 0x02};
/* Outer IPv6 2001:db8:ffff::1 -> ::2, next header 4 (IPv4), payload 48 (IP4_TCP). */
static const uint8_t OUTER6_4[] = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x30, 0x04, 0x40,
    0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
};
/* Outer IPv6, next header 41 (IPv6), payload 52 (IP6_UDP). */
static const uint8_t OUTER6_6[] = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x34, 0x29, 0x40,
    0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
};

static void test_ip_in_ip(void **state)
{
    (void)state;
    uint8_t f[256];
    struct tw_packet p;
    size_t n;

    n = cat(f, sizeof(f), P(ETH_V4), P(OUTER4_4), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "4in4");
    check_ip4_tcp(&p); /* the inner packet is the flow */
    assert_ptr_equal(p.l3, f + 34);

    n = cat(f, sizeof(f), P(ETH_V4), P(OUTER4_6), P(IP6_UDP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "6in4");
    check_ip6_udp(&p);
    assert_ptr_equal(p.l3, f + 34);

    n = cat(f, sizeof(f), P(ETH_V6), P(OUTER6_4), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "4in6");
    check_ip4_tcp(&p); /* the IPv6 outer address bytes are gone */
    assert_ptr_equal(p.l3, f + 54);

    n = cat(f, sizeof(f), P(ETH_V6), P(OUTER6_6), P(IP6_UDP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "6in6");
    check_ip6_udp(&p);

    /* the tunnel ends where the outer header does: the inner header is cut */
    n = cat(f, sizeof(f), P(ETH_V4), P(OUTER4_4), NULL);
    f[14 + 3] = 20; /* outer total length 20 */
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_IP_TRUNCATED, "empty tunnel");
}

/* TW_MAX_IP_NESTING (3) IP headers decode: the outer packet, a tunnel, and a tunnel inside
 * it. A third level of tunnelling (four IP headers) is TW_C_DROP_TUNNEL_TOO_DEEP. */
static void test_tunnel_depth(void **state)
{
    (void)state;
    /* IPv4 192.0.2.1 -> 192.0.2.2, protocol 4, total 20 + 68 (OUTER4_4 + IP4_TCP) */
    static const uint8_t outer4_4_88[] = {0x45, 0x00, 0x00, 0x58, 0x00, 0x01, 0x00, 0x00,
                                          0x40, 0x04, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
                                          0xc0, 0x00, 0x02, 0x02};
    /* IPv6 next header 4, payload 88 (outer4_4_88's total) */
    static const uint8_t outer6_4_88[] = {
        0x60, 0x00, 0x00, 0x00, 0x00, 0x58, 0x04, 0x40,
        0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    };
    uint8_t f[256];
    size_t n;

    /* 4in4in4: three IP headers */
    n = cat(f, sizeof(f), P(outer4_4_88), P(OUTER4_4), P(IP4_TCP), NULL);
    struct tw_packet p = parse_ok(f, n, TW_LINK_RAW, "4in4in4");
    check_ip4_tcp(&p);
    assert_ptr_equal(p.l3, f + 40);
    assert_int_equal(TW_MAX_IP_NESTING, 3);

    /* 4in4in4in6: four IP headers */
    n = cat(f, sizeof(f), P(outer6_4_88), P(outer4_4_88), P(OUTER4_4), P(IP4_TCP), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_RAW), TW_C_DROP_TUNNEL_TOO_DEEP, "4 headers");

    /* 6in4in4in4: four IP headers ending in IPv6 */
    static const uint8_t outer4_4_112[] = {0x45, 0x00, 0x00, 0x70, 0x00, 0x01, 0x00, 0x00,
                                           0x40, 0x04, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
                                           0xc0, 0x00, 0x02, 0x02}; /* total 112 */
    static const uint8_t outer4_4_92[] = {0x45, 0x00, 0x00, 0x5c, 0x00, 0x01, 0x00, 0x00,
                                          0x40, 0x04, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
                                          0xc0, 0x00, 0x02, 0x02}; /* total 92 */
    n = cat(f, sizeof(f), P(outer4_4_112), P(outer4_4_92), P(OUTER4_6), P(IP6_UDP), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_RAW), TW_C_DROP_TUNNEL_TOO_DEEP, "6in4in4in4");
}

/* ---- truncation ----------------------------------------------------------------------- */

/* Parses the first caplen bytes of frame from a heap copy of exactly caplen bytes, so that
 * ASan reports any read past the captured length. */
static int parse_cut(const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype,
                     struct tw_packet *pkt)
{
    uint8_t *copy = malloc(caplen ? caplen : 1);
    assert_non_null(copy);
    memcpy(copy, frame, caplen);
    int rc = tw_parse(copy, caplen, wirelen, linktype, &SETTINGS, pkt);
    /* what the packet points at must lie inside the captured bytes */
    if (rc == TW_C_PARSED)
        assert_true(pkt->l3 >= copy && pkt->l3 + pkt->l3_len <= copy + caplen);
    pkt->l3 = pkt->l3 ? frame + (pkt->l3 - copy) : NULL;
    free(copy);
    return rc;
}

/* Expected counter for each cut: [from, to) -> rc. */
struct cut_rule {
    uint32_t from, to;
    int rc;
};

static void check_cuts(const char *what, const uint8_t *frame, uint32_t len, int linktype,
                       int snapped, const struct cut_rule *rules, size_t nrules)
{
    struct tw_packet p;
    char msg[96];

    for (uint32_t cut = 0; cut < len; cut++) {
        int want = -1;
        for (size_t r = 0; r < nrules; r++)
            if (cut >= rules[r].from && cut < rules[r].to)
                want = rules[r].rc;
        assert_int_not_equal(want, -1);
        int rc = parse_cut(frame, cut, snapped ? len : cut, linktype, &p);
        snprintf(msg, sizeof(msg), "%s, caplen %u%s", what, cut, snapped ? " (snapped)" : "");
        assert_rc(rc, want, msg);
        if (rc != TW_C_PARSED)
            assert_true(tw_counter_is_drop((unsigned)rc));
        else
            assert_int_equal(p.snapped, 1);
    }
    assert_rc(parse_cut(frame, len, len, linktype, &p), TW_C_PARSED, what);
}

static void test_truncate_vlan_ipv4_tcp(void **state)
{
    (void)state;
    /* IPv4 with IHL 6 (NOP NOP NOP EOL options), TCP 12345 -> 80 PSH|ACK, 8 payload bytes */
    static const uint8_t ip4_opt_tcp_payload[] = {
        0x46, 0x00, 0x00, 0x34, 0x00, 0x01, 0x00, 0x00, /* IHL 6, total 52 */
        0x40, 0x06, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
        0x01, 0x01, 0x01, 0x00,                         /* options: NOP NOP NOP EOL */
        0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
        'G', 'E', 'T', ' ', '/', ' ', 'H', 'T',
    };
    uint8_t f[128];
    /* Ethernet 0-13, 802.1Q tag 14-17, IPv4 18-41, TCP 42-61, payload 62-69 */
    uint32_t n = (uint32_t)cat(f, sizeof(f), P(ETH_VLAN), P(TAG100_V4), P(ip4_opt_tcp_payload),
                               NULL);
    assert_int_equal(n, 70);

    static const struct cut_rule unsnapped[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 18, TW_C_DROP_L2_TRUNCATED},
        {18, 42, TW_C_DROP_IP_TRUNCATED},      /* fixed header, then the options */
        {42, 70, TW_C_DROP_IP_BAD_TOTAL_LEN},  /* IP says 52 bytes, fewer were captured */
    };
    check_cuts("vlan/ipv4/tcp", f, n, TW_LINK_ETHERNET, 0, unsnapped, N(unsnapped));

    static const struct cut_rule snapped[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 18, TW_C_DROP_L2_TRUNCATED},
        {18, 42, TW_C_DROP_IP_TRUNCATED},
        {42, 62, TW_C_DROP_L4_TRUNCATED}, /* the snap length cut the TCP header */
        {62, 70, TW_C_PARSED},            /* only payload is missing */
    };
    check_cuts("vlan/ipv4/tcp", f, n, TW_LINK_ETHERNET, 1, snapped, N(snapped));

    /* the IP total length follows the cut (a short datagram, not a short capture): the TCP
     * header is cut by the IP length itself */
    for (uint32_t cut = 42; cut <= n; cut++) {
        uint8_t g[128];
        struct tw_packet p;
        memcpy(g, f, cut);
        g[18 + 2] = 0;
        g[18 + 3] = (uint8_t)(cut - 18);
        int rc = parse_cut(g, cut, cut, TW_LINK_ETHERNET, &p);
        assert_rc(rc, cut < 62 ? TW_C_DROP_L4_TRUNCATED : TW_C_PARSED, "ip length = cut");
        if (rc == TW_C_PARSED) {
            assert_int_equal(p.payload_len, cut - 62);
            assert_int_equal(p.snapped, 0);
        }
    }
}

static void test_truncate_ipv6_ext_udp(void **state)
{
    (void)state;
    /* IPv6, hop-by-hop (8 bytes), destination options (length 1: 16 bytes), UDP 40000 -> 53,
     * 4 payload bytes */
    static const uint8_t ip6_ext_udp[] = {
        0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x40, /* payload 36, next 0 */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
        0x3c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,             /* HBH: next 60 */
        0x11, 0x01, 0x01, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* dest opts: next 17 */
        0x9c, 0x40, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00,             /* UDP, length 12 */
        0xde, 0xad, 0xbe, 0xef,
    };
    uint8_t f[128];
    /* Ethernet 0-13, IPv6 14-53, HBH 54-61, dest options 62-77, UDP 78-85, payload 86-89 */
    uint32_t n = (uint32_t)cat(f, sizeof(f), P(ETH_V6), P(ip6_ext_udp), NULL);
    assert_int_equal(n, 90);

    static const struct cut_rule unsnapped[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 54, TW_C_DROP_IP_TRUNCATED},
        {54, 90, TW_C_DROP_IP_BAD_TOTAL_LEN}, /* payload length 36, fewer captured */
    };
    check_cuts("ipv6/ext/udp", f, n, TW_LINK_ETHERNET, 0, unsnapped, N(unsnapped));

    static const struct cut_rule snapped[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 54, TW_C_DROP_IP_TRUNCATED},
        {54, 70, TW_C_DROP_IPV6_BAD_EXT}, /* an extension header's first 8 bytes are cut */
        /* the option bytes of dest options are not read: the next header, UDP, is what is
         * missing */
        {70, 86, TW_C_DROP_L4_TRUNCATED},
        {86, 90, TW_C_PARSED},
    };
    check_cuts("ipv6/ext/udp", f, n, TW_LINK_ETHERNET, 1, snapped, N(snapped));
}

static void test_truncate_shims(void **state)
{
    (void)state;
    uint8_t f[128];
    uint32_t n;

    /* QinQ: tags at 14-17 and 18-21, IPv4 from 22 */
    n = (uint32_t)cat(f, sizeof(f), P(ETH_QINQ), P(STAG200_TO_8100), P(CTAG300_V4), P(IP4_TCP),
                      NULL);
    static const struct cut_rule qinq[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 22, TW_C_DROP_L2_TRUNCATED},
        {22, 42, TW_C_DROP_IP_TRUNCATED},
        {42, 70, TW_C_DROP_IP_BAD_TOTAL_LEN},
    };
    check_cuts("qinq", f, n, TW_LINK_ETHERNET, 0, qinq, N(qinq));

    /* MPLS: three labels at 14-25, IPv4 from 26 */
    n = (uint32_t)cat(f, sizeof(f), P(ETH_MPLS), P(MPLS_3), P(IP4_TCP), NULL);
    static const struct cut_rule mpls[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 26, TW_C_DROP_L2_TRUNCATED},
        {26, 46, TW_C_DROP_IP_TRUNCATED},
        {46, 74, TW_C_DROP_IP_BAD_TOTAL_LEN},
    };
    check_cuts("mpls", f, n, TW_LINK_ETHERNET, 0, mpls, N(mpls));

    /* PPPoE: header and PPP protocol at 14-21, IPv4 from 22 */
    n = (uint32_t)cat(f, sizeof(f), P(ETH_PPPOE), P(PPPOE_V4), P(IP4_TCP), NULL);
    static const struct cut_rule pppoe[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 22, TW_C_DROP_L2_TRUNCATED},
        {22, 42, TW_C_DROP_IP_TRUNCATED},
        {42, 70, TW_C_DROP_IP_BAD_TOTAL_LEN},
    };
    check_cuts("pppoe", f, n, TW_LINK_ETHERNET, 0, pppoe, N(pppoe));

    /* 802.3 LLC/SNAP: LLC 14-16, SNAP 17-21, IPv4 from 22 */
    n = (uint32_t)cat(f, sizeof(f), P(ETH_LLC_SNAP), P(IP4_TCP), NULL);
    static const struct cut_rule snap[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 22, TW_C_DROP_L2_TRUNCATED},
        {22, 42, TW_C_DROP_IP_TRUNCATED},
        {42, 70, TW_C_DROP_IP_BAD_TOTAL_LEN},
    };
    check_cuts("llc/snap", f, n, TW_LINK_ETHERNET, 0, snap, N(snap));

    /* IP-in-IP: outer IPv4 14-33, inner 34-53 */
    n = (uint32_t)cat(f, sizeof(f), P(ETH_V4), P(OUTER4_4), P(IP4_TCP), NULL);
    static const struct cut_rule tun[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 34, TW_C_DROP_IP_TRUNCATED},
        {34, 82, TW_C_DROP_IP_BAD_TOTAL_LEN}, /* the outer length is checked first */
    };
    check_cuts("4in4", f, n, TW_LINK_ETHERNET, 0, tun, N(tun));
    static const struct cut_rule tun_snapped[] = {
        {0, 14, TW_C_DROP_TOO_SHORT},
        {14, 54, TW_C_DROP_IP_TRUNCATED}, /* outer, then inner header */
        {54, 74, TW_C_DROP_L4_TRUNCATED},
        {74, 82, TW_C_PARSED},
    };
    check_cuts("4in4", f, n, TW_LINK_ETHERNET, 1, tun_snapped, N(tun_snapped));
}

/* Every fixture frame, cut at every length: never decoded while a needed byte is missing
 * (the IP length always covers the last byte here), always a drop counter. */
static void test_truncate_all_fixtures(void **state)
{
    (void)state;
    uint8_t f[160];
    struct tw_packet p;

    for (size_t i = 0; i < N(LINKS); i++) {
        const struct link_case *c = &LINKS[i];
        uint32_t n = (uint32_t)(c->v6 ? cat(f, sizeof(f), c->hdr, c->hlen, P(IP6_UDP), NULL)
                                      : cat(f, sizeof(f), c->hdr, c->hlen, P(IP4_TCP), NULL));
        for (uint32_t cut = 0; cut < n; cut++) {
            int rc = parse_cut(f, cut, cut, c->linktype, &p);
            if (rc == TW_C_PARSED || !tw_counter_is_drop((unsigned)rc))
                fail_msg("%s cut at %u: %s", c->what, cut, tw_counter_name((unsigned)rc));
            rc = parse_cut(f, cut, n, c->linktype, &p);
            assert_true(rc == TW_C_PARSED || tw_counter_is_drop((unsigned)rc));
        }
    }
}

static void test_snapped(void **state)
{
    (void)state;
    uint8_t f[128];
    size_t n = cat(f, sizeof(f), P(ETH_V4), P(IP4_TCP), NULL);
    struct tw_packet p;

    /* cut right after the TCP header; the wire length is the whole frame */
    assert_rc(parse_cut(f, 14 + 40, (uint32_t)n, TW_LINK_ETHERNET, &p), TW_C_PARSED, "snap");
    assert_int_equal(p.snapped, 1);
    assert_int_equal(p.payload_len, 8); /* per the IP length, not the capture */
    assert_int_equal(p.l3_len, 40);     /* what was captured */
    assert_int_equal(p.src_port, 12345);
    assert_int_equal(p.tcp_flags, TW_TCP_PSH | TW_TCP_ACK);

    /* a 1500-byte packet cut at 96 bytes by tcpdump -s 96 */
    uint8_t g[96];
    memcpy(g, f, 54);
    memset(g + 54, 'x', sizeof(g) - 54);
    g[14 + 2] = 0x05;
    g[14 + 3] = 0xce; /* total length 1486 */
    assert_rc(parse_cut(g, sizeof(g), 1500, TW_LINK_ETHERNET, &p), TW_C_PARSED, "snap 96");
    assert_int_equal(p.snapped, 1);
    assert_int_equal(p.payload_len, 1486 - 40);

    /* IPv6 + UDP snapped after the UDP header */
    n = cat(f, sizeof(f), P(ETH_V6), P(IP6_UDP), NULL);
    assert_rc(parse_cut(f, 14 + 48, (uint32_t)n, TW_LINK_ETHERNET, &p), TW_C_PARSED, "snap v6");
    assert_int_equal(p.snapped, 1);
    assert_int_equal(p.payload_len, 4);
    assert_int_equal(p.dst_port, 53);

    /* a complete frame with caplen == wirelen is not snapped */
    assert_rc(parse_cut(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &p), TW_C_PARSED, "full");
    assert_int_equal(p.snapped, 0);
}

/* ---- the sender's MAC ------------------------------------------------------------------ */

static const uint8_t OUTER_MAC[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}; /* ETH_V4's source */
static const uint8_t INNER_MAC[6] = {0x02, 0x00, 0x00, 0x0a, 0x09, 0x07};

/* Asserts the packet's sender MAC is want (NULL: none). */
static void check_mac(const struct tw_packet *p, const uint8_t *want, const char *what)
{
    const uint8_t *mac = tw_packet_src_mac(p);

    if (want == NULL && mac != NULL)
        fail_msg("%s: a MAC where none belongs to the sender", what);
    if (want != NULL && (mac == NULL || memcmp(mac, want, 6) != 0))
        fail_msg("%s: %s", what, mac ? "another MAC than the sender's" : "no MAC");
}

/* forward: the tunnel headers and tunnel_frame are below */
static size_t tunnel_frame(uint8_t *f, size_t cap, int v6, uint8_t proto, uint16_t dport,
                           const uint8_t *hdr, size_t hlen, const uint8_t *inner, size_t ilen,
                           size_t *at);
static const uint8_t GRE_V4[4], VXLAN_12345[8], ERSPAN2[16], GENEVE_IP4[8], GTPU[8];

/* The plain frame's source MAC; inside a tunnel carrying Ethernet the carried frame's
 * (02:00:00:0a:09:07, not the outer 66:77:88:99:aa:bb); none behind a tunnel or IP-in-IP
 * carrying IP, nor for raw IP; a Linux cooked header's address when it is Ethernet's. */
static void test_src_mac(void **state)
{
    uint8_t f[256], inner[14 + sizeof(IP4_TCP)], sll[16];
    size_t n, at;
    (void)state;

    n = cat(f, sizeof(f), P(ETH_V4), P(IP4_TCP), NULL);
    check_mac(&(struct tw_packet){0}, NULL, "zeroed packet");
    struct tw_packet p = parse_ok(f, n, TW_LINK_ETHERNET, "eth");
    check_mac(&p, OUTER_MAC, "plain ethernet");
    n = cat(f, sizeof(f), P(ETH_QINQ), P(STAG200_TO_8100), P(CTAG300_V4), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "qinq");
    check_mac(&p, OUTER_MAC, "qinq");
    p = parse_ok(IP4_TCP, sizeof(IP4_TCP), TW_LINK_RAW, "raw");
    check_mac(&p, NULL, "raw ip");

    memcpy(inner, ETH_V4, 14);
    memcpy(inner + 6, INNER_MAC, 6);
    memcpy(inner + 14, IP4_TCP, sizeof(IP4_TCP));
    n = tunnel_frame(f, sizeof(f), 0, 17, 4789, P(VXLAN_12345), P(inner), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "vxlan");
    check_ip4_tcp(&p);
    check_mac(&p, INNER_MAC, "vxlan inner frame");
    n = tunnel_frame(f, sizeof(f), 1, 47, 0, P(ERSPAN2), P(inner), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "erspan2");
    check_mac(&p, INNER_MAC, "erspan2 inner frame");
    n = cat(f, sizeof(f), P(ETH_MPLS), P(MPLS_BOTTOM), PW_CONTROL_WORD, (size_t)4, P(inner), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "mpls pw");
    check_mac(&p, INNER_MAC, "pseudowire inner frame");

    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(GRE_V4), P(IP4_TCP), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "gre ipv4");
    check_ip4_tcp(&p);
    check_mac(&p, NULL, "gre carrying ip");
    n = tunnel_frame(f, sizeof(f), 0, 17, 6081, P(GENEVE_IP4), P(IP4_TCP), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "geneve ipv4");
    check_mac(&p, NULL, "geneve carrying ip");
    n = tunnel_frame(f, sizeof(f), 0, 17, 2152, P(GTPU), P(IP4_TCP), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "gtpu");
    check_mac(&p, NULL, "gtp-u");
    n = cat(f, sizeof(f), P(ETH_V4), P(OUTER4_4), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "4in4");
    check_ip4_tcp(&p);
    check_mac(&p, NULL, "ip-in-ip");

    n = cat(f, sizeof(f), P(SLL_V4), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_LINUX_SLL, "sll");
    check_mac(&p, OUTER_MAC, "linux cooked v1");
    n = cat(f, sizeof(f), P(SLL2_V4), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_LINUX_SLL2, "sll2");
    check_mac(&p, OUTER_MAC, "linux cooked v2");
    memcpy(sll, SLL_V4, 16);
    sll[3] = 0x00; /* ARPHRD 0x200 (a tunnel device): its address is no Ethernet MAC */
    sll[2] = 0x02;
    n = cat(f, sizeof(f), P(sll), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_LINUX_SLL, "sll tunnel device");
    check_mac(&p, NULL, "linux cooked, not Ethernet");
}

/* ---- tunnels -------------------------------------------------------------------------- */

/* Tunnel headers. The outer IP and UDP headers are written by tunnel_frame (lengths to fit),
 * the inner packet is IP4_TCP, alone or behind ETH_V4 (INNER_ETH below). */

/* GRE, no options, protocol 0x0800 (IPv4). */
static const uint8_t GRE_V4[] = {0x00, 0x00, 0x08, 0x00};
/* GRE with key (K) and sequence (S): key 1234, sequence 1, protocol IPv4. */
static const uint8_t GRE_KEY_SEQ_V4[] = {0x30, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0xd2,
                                         0x00, 0x00, 0x00, 0x01};
/* GRE with checksum (C): checksum + reserved1, protocol 0x86dd (IPv6). */
static const uint8_t GRE_CSUM_V6[] = {0x80, 0x00, 0x86, 0xdd, 0x00, 0x00, 0x00, 0x00};
/* GRE with key 7, protocol 0x6558 (transparent Ethernet bridging). */
static const uint8_t GRE_TEB_KEY7[] = {0x20, 0x00, 0x65, 0x58, 0x00, 0x00, 0x00, 0x07};
/* GRE version 1 (PPTP enhanced GRE, protocol 0x880b): not opened. */
static const uint8_t GRE_V1[] = {0x30, 0x01, 0x88, 0x0b, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01};
/* ERSPAN II: GRE with sequence (S), protocol 0x88be; then version 1, VLAN 100,
 * cos/en/t 0, session 300 (0x12c), reserved/index 0. */
static const uint8_t ERSPAN2[] = {0x10, 0x00, 0x88, 0xbe, 0x00, 0x00, 0x00, 0x01,
                                  0x10, 0x64, 0x01, 0x2c, 0x00, 0x00, 0x00, 0x00};
/* ERSPAN III: GRE with sequence, protocol 0x22eb; version 2, VLAN 100, session 7,
 * timestamp, SGT 0, P/FT(0 = Ethernet)/HW 0, D/Gra/O 0. */
static const uint8_t ERSPAN3[] = {0x10, 0x00, 0x22, 0xeb, 0x00, 0x00, 0x00, 0x01,
                                  0x20, 0x64, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78,
                                  0x00, 0x00, 0x00, 0x00};
/* ERSPAN III with O set: the 8-byte platform-specific sub-header follows (platform 3). */
static const uint8_t ERSPAN3_PLAT[] = {0x10, 0x00, 0x22, 0xeb, 0x00, 0x00, 0x00, 0x01,
                                       0x20, 0x64, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78,
                                       0x00, 0x00, 0x00, 0x01, /* O = 1 */
                                       0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
/* ERSPAN III with frame type 2 (IP, not Ethernet): not opened, stays a GRE flow. */
static const uint8_t ERSPAN3_FT_IP[] = {0x10, 0x00, 0x22, 0xeb, 0x00, 0x00, 0x00, 0x01,
                                        0x20, 0x64, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78,
                                        0x00, 0x00, 0x08, 0x00};
/* VXLAN: flags I (0x08), VNI 12345 (0x003039). */
static const uint8_t VXLAN_12345[] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x30, 0x39, 0x00};
/* VXLAN without the I flag: not VXLAN. */
static const uint8_t VXLAN_NO_I[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x39, 0x00};
/* Geneve: version 0, option length 2 (8 bytes), protocol 0x6558, VNI 42; one option:
 * class 0x0102, type 0x80, length 1 (4 bytes of data). */
static const uint8_t GENEVE_OPT[] = {0x02, 0x00, 0x65, 0x58, 0x00, 0x00, 0x2a, 0x00,
                                     0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef};
/* Geneve carrying IPv4 directly (protocol 0x0800), VNI 43, no options. */
static const uint8_t GENEVE_IP4[] = {0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x2b, 0x00};
/* GTP-U: version 1, PT 1, no options; G-PDU (255), length (unchecked), TEID 0x11223344. */
static const uint8_t GTPU[] = {0x30, 0xff, 0x00, 0x30, 0x11, 0x22, 0x33, 0x44};
/* GTP-U with E: sequence 0, N-PDU 0, next 0x85 (PDU session container, 4 bytes: length 1,
 * QFI 9, next 0x40), then a UDP port extension (length 1, port 2152, next 0). */
static const uint8_t GTPU_EXT[] = {0x34, 0xff, 0x00, 0x38, 0x11, 0x22, 0x33, 0x44,
                                   0x00, 0x00, 0x00, 0x85, 0x01, 0x00, 0x09, 0x40,
                                   0x01, 0x08, 0x68, 0x00};
/* GTP-U with an extension of length 0: the chain is broken. */
static const uint8_t GTPU_EXT0[] = {0x34, 0xff, 0x00, 0x38, 0x11, 0x22, 0x33, 0x44,
                                    0x00, 0x00, 0x00, 0x85, 0x00, 0x00, 0x09, 0x00};
/* GTP-U echo request (type 1): a GTP control message, not opened. */
static const uint8_t GTPU_ECHO[] = {0x32, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x01, 0x00, 0x00};
/* The inner frame of Ethernet-carrying tunnels: ETH_V4 + IP4_TCP (62 bytes), built once. */
static uint8_t INNER_ETH[14 + sizeof(IP4_TCP)];

/* Writes an outer IPv4 (192.0.2.1 -> 192.0.2.2) or IPv6 header of protocol proto with
 * plen payload bytes at h. Returns its length. */
static size_t put_outer(uint8_t *h, int v6, uint8_t proto, size_t plen)
{
    if (v6) {
        static const uint8_t ip6[40] = {0x60, 0, 0, 0, 0, 0, 0, 0x40,
                                        0x20, 0x01, 0x0d, 0xb8, [23] = 0x01,
                                        0x20, 0x01, 0x0d, 0xb8, [39] = 0x02};
        memcpy(h, ip6, 40);
        h[4] = (uint8_t)(plen >> 8);
        h[5] = (uint8_t)plen;
        h[6] = proto;
        return 40;
    }
    static const uint8_t ip4[20] = {0x45, 0, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0,
                                    0xc0, 0, 2, 1, 0xc0, 0, 2, 2};
    memcpy(h, ip4, 20);
    h[2] = (uint8_t)((plen + 20) >> 8);
    h[3] = (uint8_t)(plen + 20);
    h[9] = proto;
    return 20;
}

/* Ethernet + outer IP + [UDP to dport when proto is 17] + hdr + inner. Sets *at to the
 * offset of hdr. Returns the frame length. */
static size_t tunnel_frame(uint8_t *f, size_t cap, int v6, uint8_t proto, uint16_t dport,
                           const uint8_t *hdr, size_t hlen, const uint8_t *inner, size_t ilen,
                           size_t *at)
{
    size_t udp = proto == 17 ? 8 : 0;
    size_t n = cat(f, cap, v6 ? ETH_V6 : ETH_V4, sizeof(ETH_V4), NULL);

    n += put_outer(f + n, v6, proto, udp + hlen + ilen);
    if (udp) {
        size_t ulen = 8 + hlen + ilen;
        const uint8_t h[8] = {0xc3, 0x50, (uint8_t)(dport >> 8), (uint8_t)dport,
                              (uint8_t)(ulen >> 8), (uint8_t)ulen, 0, 0};
        n += cat(f + n, cap - n, P(h), NULL);
    }
    *at = n;
    return n + cat(f + n, cap - n, hdr, hlen, inner, ilen, NULL);
}

/* One tunnel kind as the decoder must see it: the inner IP4_TCP flow, the tunnel's name and
 * id, and the bytes counted (outer_len: 0 when the tunnel carries IP). Then every snapped cut
 * inside the tunnel header (and inside the inner Ethernet header) is drop_tunnel_truncated,
 * and every cut elsewhere a named drop or a packet, read from a buffer of exactly caplen. */
static void check_tunnel(const char *what, const uint8_t *f, size_t n, size_t at, size_t hlen,
                         int eth, unsigned kind, uint32_t id)
{
    struct tw_packet p;
    char msg[96];

    p = parse_ok(f, n, TW_LINK_ETHERNET, what);
    check_ip4_tcp(&p);
    assert_int_equal(p.tunnel, kind);
    assert_int_equal(p.tunnel_id, id);
    assert_int_equal(p.outer_len, eth ? at + hlen : 0);
    size_t end = at + hlen + (eth ? 14 : 0) + (kind == TW_TUNNEL_GTPU); /* GTP-U: 1st IP byte */
    for (size_t cut = 0; cut < n; cut++) {
        int rc = parse_cut(f, (uint32_t)cut, (uint32_t)n, TW_LINK_ETHERNET, &p);
        snprintf(msg, sizeof(msg), "%s, caplen %zu (snapped)", what, cut);
        /* MPLS: nothing after the labels is an IP truncation, as before (no nibble to read) */
        if (cut >= at + (kind == TW_TUNNEL_MPLS_PW) && cut < end)
            assert_rc(rc, TW_C_DROP_TUNNEL_TRUNCATED, msg);
        else if (rc != TW_C_PARSED && !tw_counter_is_drop((unsigned)rc))
            fail_msg("%s: %d", msg, rc);
        rc = parse_cut(f, (uint32_t)cut, (uint32_t)cut, TW_LINK_ETHERNET, &p);
        if (rc != TW_C_PARSED && !tw_counter_is_drop((unsigned)rc))
            fail_msg("%s not snapped: %d", msg, rc);
    }
}

static void test_gre(void **state)
{
    uint8_t f[256];
    size_t n, at;
    struct tw_packet p;
    (void)state;

    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(GRE_V4), P(IP4_TCP), &at);
    check_tunnel("gre ipv4", f, n, at, sizeof(GRE_V4), 0, TW_TUNNEL_GRE, 0);
    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(GRE_KEY_SEQ_V4), P(IP4_TCP), &at);
    check_tunnel("gre key seq", f, n, at, sizeof(GRE_KEY_SEQ_V4), 0, TW_TUNNEL_GRE, 1234);
    n = tunnel_frame(f, sizeof(f), 1, 47, 0, P(GRE_TEB_KEY7), P(INNER_ETH), &at);
    check_tunnel("gre teb over ipv6", f, n, at, sizeof(GRE_TEB_KEY7), 1, TW_TUNNEL_GRE, 7);

    /* GRE with checksum carrying IPv6 */
    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(GRE_CSUM_V6), P(IP6_UDP), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "gre csum ipv6");
    check_ip6_udp(&p);
    assert_int_equal(p.tunnel, TW_TUNNEL_GRE);

    /* PPTP's GRE version 1 stays a GRE flow */
    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(GRE_V1), P(IP4_TCP), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "gre v1");
    assert_int_equal(p.ip_proto, 47);
    assert_int_equal(p.tunnel, TW_TUNNEL_NONE);

    /* decap.gre off: the GRE flow of before */
    struct tw_parse_settings off = SETTINGS;
    off.decap &= ~(uint32_t)TW_DECAP_GRE;
    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(GRE_KEY_SEQ_V4), P(IP4_TCP), &at);
    assert_rc(tw_parse(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &off, &p), TW_C_PARSED, "gre off");
    assert_int_equal(p.ip_proto, 47);
    assert_int_equal(p.tunnel, TW_TUNNEL_NONE);
    assert_int_equal(p.outer_len, 0);
}

static void test_erspan(void **state)
{
    uint8_t f[256];
    size_t n, at;
    struct tw_packet p;
    (void)state;

    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(ERSPAN2), P(INNER_ETH), &at);
    check_tunnel("erspan2", f, n, at, sizeof(ERSPAN2), 1, TW_TUNNEL_ERSPAN2, 300);
    assert_int_equal(parse_ok(f, n, TW_LINK_ETHERNET, "erspan2").vlan, 0); /* inner frame's */
    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(ERSPAN3), P(INNER_ETH), &at);
    check_tunnel("erspan3", f, n, at, sizeof(ERSPAN3), 1, TW_TUNNEL_ERSPAN3, 7);
    n = tunnel_frame(f, sizeof(f), 1, 47, 0, P(ERSPAN3_PLAT), P(INNER_ETH), &at);
    check_tunnel("erspan3 platform", f, n, at, sizeof(ERSPAN3_PLAT), 1, TW_TUNNEL_ERSPAN3, 7);

    /* frame type IP: left as GRE */
    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(ERSPAN3_FT_IP), P(IP4_TCP), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "erspan3 ft ip");
    assert_int_equal(p.ip_proto, 47);

    /* decap.erspan off (GRE on): the GRE flow */
    struct tw_parse_settings off = SETTINGS;
    off.decap &= ~(uint32_t)TW_DECAP_ERSPAN;
    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(ERSPAN2), P(INNER_ETH), &at);
    assert_rc(tw_parse(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &off, &p), TW_C_PARSED, "erspan off");
    assert_int_equal(p.ip_proto, 47);
    assert_int_equal(p.tunnel, TW_TUNNEL_NONE);
}

static void test_vxlan_geneve(void **state)
{
    uint8_t f[256];
    size_t n, at;
    struct tw_packet p;
    (void)state;

    n = tunnel_frame(f, sizeof(f), 0, 17, 4789, P(VXLAN_12345), P(INNER_ETH), &at);
    check_tunnel("vxlan", f, n, at, sizeof(VXLAN_12345), 1, TW_TUNNEL_VXLAN, 12345);
    n = tunnel_frame(f, sizeof(f), 1, 17, 6081, P(GENEVE_OPT), P(INNER_ETH), &at);
    check_tunnel("geneve options", f, n, at, sizeof(GENEVE_OPT), 1, TW_TUNNEL_GENEVE, 42);
    n = tunnel_frame(f, sizeof(f), 0, 17, 6081, P(GENEVE_IP4), P(IP4_TCP), &at);
    check_tunnel("geneve ipv4", f, n, at, sizeof(GENEVE_IP4), 0, TW_TUNNEL_GENEVE, 43);

    /* no I flag: a UDP flow to 4789 */
    n = tunnel_frame(f, sizeof(f), 0, 17, 4789, P(VXLAN_NO_I), P(INNER_ETH), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "vxlan no I");
    assert_int_equal(p.dst_port, 4789);
    assert_int_equal(p.tunnel, TW_TUNNEL_NONE);

    /* another port: a UDP flow; with that port configured: VXLAN */
    n = tunnel_frame(f, sizeof(f), 0, 17, 8472, P(VXLAN_12345), P(INNER_ETH), &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "vxlan 8472 not configured");
    assert_int_equal(p.dst_port, 8472);
    struct tw_parse_settings s = SETTINGS;
    s.vxlan_ports[1] = 8472;
    assert_rc(tw_parse(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &s, &p), TW_C_PARSED, "8472");
    check_ip4_tcp(&p);
    assert_int_equal(p.tunnel, TW_TUNNEL_VXLAN);

    /* switches off */
    s = SETTINGS;
    s.decap &= ~(uint32_t)(TW_DECAP_VXLAN | TW_DECAP_GENEVE);
    n = tunnel_frame(f, sizeof(f), 0, 17, 4789, P(VXLAN_12345), P(INNER_ETH), &at);
    assert_rc(tw_parse(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &s, &p), TW_C_PARSED, "vxlan off");
    assert_int_equal(p.dst_port, 4789);
    n = tunnel_frame(f, sizeof(f), 0, 17, 6081, P(GENEVE_IP4), P(IP4_TCP), &at);
    assert_rc(tw_parse(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &s, &p), TW_C_PARSED, "geneve off");
    assert_int_equal(p.dst_port, 6081);
}

static void test_gtpu(void **state)
{
    uint8_t f[256];
    size_t n, at;
    struct tw_packet p;
    (void)state;

    n = tunnel_frame(f, sizeof(f), 0, 17, 2152, P(GTPU), P(IP4_TCP), &at);
    check_tunnel("gtpu", f, n, at, sizeof(GTPU), 0, TW_TUNNEL_GTPU, 0x11223344);
    n = tunnel_frame(f, sizeof(f), 1, 17, 2152, P(GTPU_EXT), P(IP4_TCP), &at);
    check_tunnel("gtpu extensions", f, n, at, sizeof(GTPU_EXT), 0, TW_TUNNEL_GTPU, 0x11223344);

    n = tunnel_frame(f, sizeof(f), 0, 17, 2152, P(GTPU_EXT0), P(IP4_TCP), &at);
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_TUNNEL_BAD_HEADER, "gtpu ext length 0");
    n = tunnel_frame(f, sizeof(f), 0, 17, 2152, P(GTPU_ECHO), NULL, 0, &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "gtpu echo");
    assert_int_equal(p.dst_port, 2152);
    assert_int_equal(p.tunnel, TW_TUNNEL_NONE);

    struct tw_parse_settings s = SETTINGS;
    s.decap &= ~(uint32_t)TW_DECAP_GTPU;
    n = tunnel_frame(f, sizeof(f), 0, 17, 2152, P(GTPU), P(IP4_TCP), &at);
    assert_rc(tw_parse(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &s, &p), TW_C_PARSED, "gtpu off");
    assert_int_equal(p.dst_port, 2152);
}

static void test_mpls_pw(void **state)
{
    uint8_t f[256];
    size_t n;
    struct tw_packet p;
    (void)state;

    /* label 16 (bottom), control word 0, then the Ethernet frame */
    n = cat(f, sizeof(f), P(ETH_MPLS), P(MPLS_BOTTOM), PW_CONTROL_WORD, (size_t)4, P(INNER_ETH),
            NULL);
    check_tunnel("mpls pw", f, n, 18, 4, 1, TW_TUNNEL_MPLS_PW, 16);
    /* the label stack before: cut there is an L2 truncation, as before */
    p = parse_ok(f, n, TW_LINK_ETHERNET, "mpls pw");
    assert_int_equal(p.outer_len, 22);

    struct tw_parse_settings s = SETTINGS;
    s.decap &= ~(uint32_t)TW_DECAP_MPLS_PW;
    assert_rc(tw_parse(f, (uint32_t)n, (uint32_t)n, TW_LINK_ETHERNET, &s, &p), TW_C_DROP_NOT_IP,
              "mpls pw off");
}

/* The PPP protocol field compressed to one byte (RFC 1661 6.5), in PPPoE and on PPP links. */
static void test_ppp_compressed(void **state)
{
    uint8_t f[256];
    size_t n;
    struct tw_packet p;
    (void)state;

    static const uint8_t pppoe_v4_short[] = {0x11, 0x00, 0x12, 0x34, 0x00, 0x31, 0x21};
    n = cat(f, sizeof(f), P(ETH_PPPOE), P(pppoe_v4_short), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "pppoe compressed");
    check_ip4_tcp(&p);
    assert_ptr_equal(p.l3, f + 21);
    static const uint8_t pppoe_v6_short[] = {0x11, 0x00, 0x12, 0x34, 0x00, 0x35, 0x57};
    n = cat(f, sizeof(f), P(ETH_PPPOE), P(pppoe_v6_short), P(IP6_UDP), NULL);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "pppoe compressed v6");
    check_ip6_udp(&p);
    /* cut inside the PPPoE header: L2 truncated */
    for (size_t cut = 14; cut < 21; cut++)
        assert_rc(parse_cut(f, (uint32_t)cut, (uint32_t)n, TW_LINK_ETHERNET, &p),
                  TW_C_DROP_L2_TRUNCATED, "pppoe compressed cut");

    static const uint8_t ppp_hdlc_short[] = {0xff, 0x03, 0x21};
    n = cat(f, sizeof(f), P(ppp_hdlc_short), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_PPP, "ppp compressed");
    check_ip4_tcp(&p);
    static const uint8_t ppp_bare_short[] = {0x21};
    n = cat(f, sizeof(f), P(ppp_bare_short), P(IP4_TCP), NULL);
    p = parse_ok(f, n, TW_LINK_PPP, "ppp compressed, no address/control");
    check_ip4_tcp(&p);
}

/* Tunnels in tunnels: the outermost names the flow; the Ethernet frame counted is the
 * innermost one; a third tunnel is too deep. */
static void test_nested_tunnels(void **state)
{
    uint8_t f[512], vx[256], er[256];
    size_t n, at, nvx, ner;
    struct tw_packet p;
    (void)state;

    /* VXLAN inside GRE (IPv4 inside GRE, key 1234) */
    nvx = tunnel_frame(vx, sizeof(vx), 0, 17, 4789, P(VXLAN_12345), P(INNER_ETH), &at);
    n = tunnel_frame(f, sizeof(f), 0, 47, 0, P(GRE_KEY_SEQ_V4), vx + 14, nvx - 14, &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "vxlan in gre");
    check_ip4_tcp(&p);
    assert_int_equal(p.tunnel, TW_TUNNEL_GRE);
    assert_int_equal(p.tunnel_id, 1234);
    assert_int_equal(p.outer_len, n - sizeof(INNER_ETH));

    /* ERSPAN II inside VXLAN */
    ner = tunnel_frame(er, sizeof(er), 0, 47, 0, P(ERSPAN2), P(INNER_ETH), &at);
    n = tunnel_frame(f, sizeof(f), 0, 17, 4789, P(VXLAN_12345), er, ner, &at);
    p = parse_ok(f, n, TW_LINK_ETHERNET, "erspan in vxlan");
    check_ip4_tcp(&p);
    assert_int_equal(p.tunnel, TW_TUNNEL_VXLAN);
    assert_int_equal(p.tunnel_id, 12345);
    assert_int_equal(p.outer_len, n - sizeof(INNER_ETH));

    /* ERSPAN II inside VXLAN inside GRE: three tunnels */
    uint8_t g[512];
    size_t ng = tunnel_frame(g, sizeof(g), 0, 47, 0, P(GRE_V4), f + 14, n - 14, &at);
    assert_rc(parse_rc(g, ng, TW_LINK_ETHERNET), TW_C_DROP_TUNNEL_TOO_DEEP, "three tunnels");

    /* Ethernet over MPLS inside Ethernet over MPLS inside Ethernet over MPLS */
    n = cat(f, sizeof(f), P(ETH_MPLS), P(MPLS_BOTTOM), PW_CONTROL_WORD, (size_t)4, P(ETH_MPLS),
            P(MPLS_BOTTOM), PW_CONTROL_WORD, (size_t)4, P(ETH_MPLS), P(MPLS_BOTTOM),
            PW_CONTROL_WORD, (size_t)4, P(INNER_ETH), NULL);
    assert_rc(parse_rc(f, n, TW_LINK_ETHERNET), TW_C_DROP_TUNNEL_TOO_DEEP, "pw in pw in pw");
}

/* ---- noise ---------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* What any decoded packet must satisfy, whatever the input. */
static void check_sane(int rc, const struct tw_packet *p, const uint8_t *f, uint32_t caplen,
                       uint32_t wirelen)
{
    if (rc != TW_C_PARSED) {
        if (!tw_counter_is_drop((unsigned)rc))
            fail_msg("tw_parse returned %d (%s)", rc, tw_counter_name((unsigned)rc));
        return;
    }
    assert_true(p->ip_version == 4 || p->ip_version == 6);
    assert_true(p->l3 >= f && p->l3 + p->l3_len <= f + caplen);
    assert_int_equal(p->snapped, caplen < wirelen);
    assert_true(p->outer_len < caplen && p->tunnel < TW_TUNNEL__COUNT);
    if (p->ip_proto != 6)
        assert_int_equal(p->tcp_flags, 0);
    if (p->ip_proto != 6 && p->ip_proto != 17)
        assert_true(p->src_port == 0 && p->dst_port == 0);
    if (p->ip_version == 4)
        for (unsigned i = 4; i < 16; i++)
            assert_true(p->src[i] == 0 && p->dst[i] == 0);
    /* the sender's MAC, when there is one, is 6 bytes of the frame before the IP header */
    const uint8_t *mac = tw_packet_src_mac(p);
    if (mac != NULL)
        assert_true(mac >= f && mac + 6 <= p->l3);
}

/* Feeds a frame to tw_parse at every caplen 0..len, not snapped and snapped. The bytes sit
 * at the end of a heap buffer of exactly len bytes, so reading past caplen is out of
 * bounds for ASan. */
static void cut_everywhere(const uint8_t *frame, uint32_t len, int linktype, uint8_t *heap)
{
    struct tw_packet p;

    for (uint32_t cut = 0; cut <= len; cut++) {
        uint8_t *at = heap + len - cut;
        memmove(at, frame, cut);
        int rc = tw_parse(at, cut, cut, linktype, &SETTINGS, &p);
        check_sane(rc, &p, at, cut, cut);
        uint32_t wire = cut + (uint32_t)(rng() % 1600);
        rc = tw_parse(at, cut, wire, linktype, &SETTINGS, &p);
        check_sane(rc, &p, at, cut, wire);
    }
}

static const int NOISE_LINKS[] = {
    TW_LINK_ETHERNET, TW_LINK_LINUX_SLL, TW_LINK_LINUX_SLL2, TW_LINK_RAW,  TW_LINK_IPV4,
    TW_LINK_IPV6,     TW_LINK_NULL,      TW_LINK_LOOP,       TW_LINK_PPP,  TW_LINK_C_HDLC,
    TW_LINK_RAW_ALT,  TW_LINK_RAW_ALT2,  147,
};

/* 10000 frames of random bytes at random lengths, over every link type. */
static void test_noise_random(void **state)
{
    (void)state;
    uint8_t frame[256];

    rng_state = 0x7461707761746368ULL; /* fixed seed: "tapwatch" */
    for (unsigned i = 0; i < 10000; i++) {
        uint32_t len = (uint32_t)(rng() % sizeof(frame));
        for (uint32_t b = 0; b < len; b++)
            frame[b] = (uint8_t)rng();
        uint8_t *heap = malloc(len ? len : 1);
        assert_non_null(heap);
        cut_everywhere(frame, len, NOISE_LINKS[i % N(NOISE_LINKS)], heap);
        free(heap);
    }
}

/* 10000 valid frames with a few random bytes changed: noise that gets past the first
 * headers and into the IP, extension and L4 paths. */
static void test_noise_mutated(void **state)
{
    (void)state;
    uint8_t base[13][160];
    uint32_t base_len[13];
    uint8_t frame[160];
    unsigned nb = 0;
    size_t at;

    base_len[nb++] = (uint32_t)cat(base[0], 160, P(ETH_VLAN), P(TAG100_V4), P(IP4_TCP), NULL);
    base_len[nb++] = (uint32_t)cat(base[1], 160, P(ETH_V6), P(IP6_EXT_TCP), NULL);
    base_len[nb++] = (uint32_t)cat(base[2], 160, P(ETH_MPLS), P(MPLS_3), P(IP6_UDP), NULL);
    base_len[nb++] = (uint32_t)cat(base[3], 160, P(ETH_PPPOE), P(PPPOE_V4), P(IP4_TCP), NULL);
    base_len[nb++] = (uint32_t)cat(base[4], 160, P(ETH_V4), P(OUTER4_6), P(IP6_UDP), NULL);
    base_len[nb++] = (uint32_t)cat(base[5], 160, P(ETH_V6), P(OUTER6_4), P(IP4_TCP), NULL);
    base_len[nb++] = (uint32_t)cat(base[6], 160, P(ETH_QINQ), P(STAG200_TO_8100),
                                   P(CTAG300_V4), P(IP4_TCP), NULL);
    base_len[nb++] = (uint32_t)cat(base[7], 160, P(ETH_LLC_SNAP), P(IP4_TCP), NULL);
    /* tunnels: ERSPAN III with sub-header, VXLAN, Geneve with options, GTP-U extensions, PW */
    base_len[nb++] = (uint32_t)tunnel_frame(base[8], 160, 0, 47, 0, P(ERSPAN3_PLAT), P(INNER_ETH), &at);
    base_len[nb++] = (uint32_t)tunnel_frame(base[9], 160, 0, 17, 4789, P(VXLAN_12345), P(INNER_ETH), &at);
    base_len[nb++] = (uint32_t)tunnel_frame(base[10], 160, 0, 17, 6081, P(GENEVE_OPT), P(INNER_ETH), &at);
    base_len[nb++] = (uint32_t)tunnel_frame(base[11], 160, 0, 17, 2152, P(GTPU_EXT), P(IP4_TCP), &at);
    base_len[nb++] = (uint32_t)cat(base[12], 160, P(ETH_MPLS), P(MPLS_BOTTOM), PW_CONTROL_WORD,
                                   (size_t)4, P(INNER_ETH), NULL);

    rng_state = 0x6e6f697365ULL; /* fixed seed */
    for (unsigned i = 0; i < 10000; i++) {
        unsigned b = (unsigned)(rng() % nb);
        uint32_t len = base_len[b];
        memcpy(frame, base[b], len);
        for (unsigned k = 1 + (unsigned)(rng() % 6); k; k--) {
            uint32_t at = (uint32_t)(rng() % len);
            /* half the time a small nudge to a length-like byte, else any value */
            frame[at] = rng() & 1 ? (uint8_t)(frame[at] + (int)(rng() % 5) - 2) : (uint8_t)rng();
        }
        /* sometimes drop or keep a random tail */
        if (rng() % 4 == 0)
            len = (uint32_t)(rng() % (len + 1));
        uint8_t *heap = malloc(len ? len : 1);
        assert_non_null(heap);
        cut_everywhere(frame, len, TW_LINK_ETHERNET, heap);
        free(heap);
    }
}

int main(void)
{
    tw_parse_settings_default(&SETTINGS);
    memcpy(INNER_ETH, ETH_V4, 14);
    memcpy(INNER_ETH + 14, IP4_TCP, sizeof(IP4_TCP));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_ipv4_tcp),
        cmocka_unit_test(test_ethernet_padding),
        cmocka_unit_test(test_llc_snap),
        cmocka_unit_test(test_vlan_8021q),
        cmocka_unit_test(test_qinq),
        cmocka_unit_test(test_vlan_9100),
        cmocka_unit_test(test_vlan_too_deep),
        cmocka_unit_test(test_mpls),
        cmocka_unit_test(test_pppoe),
        cmocka_unit_test(test_not_ip),
        cmocka_unit_test(test_link_types),
        cmocka_unit_test(test_ipv4_options),
        cmocka_unit_test(test_ipv4_fragments),
        cmocka_unit_test(test_ipv4_bad_values),
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_udp),
        cmocka_unit_test(test_icmp_and_other),
        cmocka_unit_test(test_ipv6_ext_headers),
        cmocka_unit_test(test_ipv6_bad_ext),
        cmocka_unit_test(test_ip_in_ip),
        cmocka_unit_test(test_tunnel_depth),
        cmocka_unit_test(test_truncate_vlan_ipv4_tcp),
        cmocka_unit_test(test_truncate_ipv6_ext_udp),
        cmocka_unit_test(test_truncate_shims),
        cmocka_unit_test(test_truncate_all_fixtures),
        cmocka_unit_test(test_snapped),
        cmocka_unit_test(test_gre),
        cmocka_unit_test(test_erspan),
        cmocka_unit_test(test_vxlan_geneve),
        cmocka_unit_test(test_src_mac),
        cmocka_unit_test(test_gtpu),
        cmocka_unit_test(test_mpls_pw),
        cmocka_unit_test(test_ppp_compressed),
        cmocka_unit_test(test_nested_tunnels),
        cmocka_unit_test(test_noise_random),
        cmocka_unit_test(test_noise_mutated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
