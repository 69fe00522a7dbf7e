/* test_reassembly.c - the IP reassembler (dataplane/reassembly.c) from byte arrays.
 *
 * Each fragment is a raw IP frame built here (a 20-byte IPv4 header, or a 40-byte IPv6
 * header and an 8-byte fragment header, then a slice of the datagram's payload), decoded by
 * tw_parse as the worker does, then handed to tw_reasm_add. Checksums are left at zero:
 * nothing verifies them. Every test also checks the accounting: each frame handed in is
 * merged, carries the datagram, is a named drop, or is still held.
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
#include "dataplane/reassembly.h"

/* A UDP datagram's payload, 48 bytes: UDP 40000 -> 53, length 48, then 40 bytes 'a'..'z'... */
static uint8_t UDP_DGRAM[48];
/* A TCP datagram's payload, 40 bytes: TCP 12345 -> 80, SYN, data offset 5, then 20 bytes. */
static uint8_t TCP_DGRAM[40];

static void init_datagrams(void)
{
    static const uint8_t udp[8] = {0x9c, 0x40, 0x00, 0x35, 0x00, 0x30, 0x00, 0x00};
    static const uint8_t tcp[20] = {0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,
                                    0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
    memcpy(UDP_DGRAM, udp, 8);
    for (unsigned i = 8; i < sizeof(UDP_DGRAM); i++)
        UDP_DGRAM[i] = (uint8_t)('a' + i % 26);
    memcpy(TCP_DGRAM, tcp, 20);
    for (unsigned i = 20; i < sizeof(TCP_DGRAM); i++)
        TCP_DGRAM[i] = (uint8_t)('A' + i % 26);
}

/* Raw IPv4 fragment 10.0.0.1 -> 10.0.0.2, protocol proto, identification id: a 20-byte
 * header, then len bytes of data placed at byte offset off of the datagram. */
static size_t frag4(uint8_t *out, const uint8_t *data, unsigned off, unsigned len, int more,
                    uint16_t id, uint8_t proto)
{
    uint16_t total = (uint16_t)(20 + len), fo = (uint16_t)((more ? 0x2000 : 0) | off / 8);
    uint8_t h[20] = {0x45, 0, (uint8_t)(total >> 8), (uint8_t)total, (uint8_t)(id >> 8),
                     (uint8_t)id, (uint8_t)(fo >> 8), (uint8_t)fo, 64, proto, 0, 0,
                     10, 0, 0, 1, 10, 0, 0, 2};
    memcpy(out, h, 20);
    memcpy(out + 20, data, len);
    return 20 + len;
}

/* Raw IPv6 fragment 2001:db8::1 -> 2001:db8::2: the fixed header (next header 44), the
 * fragment header (next header nh, offset, M, id), then len bytes of data. */
static size_t frag6(uint8_t *out, const uint8_t *data, unsigned off, unsigned len, int more,
                    uint32_t id, uint8_t nh)
{
    uint16_t plen = (uint16_t)(8 + len), fo = (uint16_t)(off | (more ? 1 : 0));
    uint8_t h[48] = {0x60, 0, 0, 0, (uint8_t)(plen >> 8), (uint8_t)plen, 44, 64,
                     0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                     0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
                     nh, 0, (uint8_t)(fo >> 8), (uint8_t)fo,
                     (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    memcpy(out, h, 48);
    memcpy(out + 48, data, len);
    return 48 + len;
}

struct fixture {
    struct tw_reasm *r;
    struct tw_counters c;
    uint64_t frames;    /* handed in */
    uint64_t completed; /* frames that carried a datagram */
    struct tw_packet out;
    uint32_t out_wire;
    int out_rc;
    uint8_t frame[70000];
};

static struct fixture *make(uint32_t datagrams, uint32_t fragments, uint64_t timeout_us)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct tw_reasm_params p = {datagrams, fragments, timeout_us, NULL};
    assert_non_null(f);
    f->r = tw_reasm_create(&p);
    assert_non_null(f->r);
    return f;
}

static void done(struct fixture *f)
{
    /* every frame accounted for: carried a datagram, merged, dropped by name, or held */
    uint64_t drops = 0;
    for (unsigned i = 0; i < TW_C__COUNT; i++)
        if (tw_counter_is_drop(i))
            drops += f->c.v[i];
    assert_int_equal(f->frames, f->completed + f->c.v[TW_C_FRAGMENTS_MERGED] + drops +
                                    tw_reasm_held(f->r));
    assert_int_equal(f->completed, f->c.v[TW_C_FRAG_REASSEMBLED]);
    tw_reasm_free(f->r);
    free(f);
}

/* Decodes the frame in f->frame as the worker would and hands it over. Returns what
 * tw_reasm_add returned. */
static int add(struct fixture *f, size_t n, uint32_t wire, uint64_t ts, int linktype)
{
    struct tw_packet pkt;
    tw_parse(f->frame, (uint32_t)n, wire, linktype, &TW_NO_TUNNELS, &pkt);
    assert_int_equal(pkt.fragment, 1);
    f->frames++;
    int rc = tw_reasm_add(f->r, &pkt, wire, ts, &f->c, &f->out, &f->out_wire, &f->out_rc);
    f->completed += (unsigned)rc;
    return rc;
}

static int add4(struct fixture *f, const uint8_t *dgram, unsigned off, unsigned len, int more,
                uint16_t id, uint64_t ts)
{
    size_t n = frag4(f->frame, dgram + off, off, len, more, id, 17);
    return add(f, n, (uint32_t)n, ts, TW_LINK_RAW);
}

static void test_v4_in_order(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    assert_int_equal(add4(f, UDP_DGRAM, 0, 16, 1, 7, 1000), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 16, 16, 1, 7, 1001), 0);
    assert_int_equal(tw_reasm_held(f->r), 2);
    assert_int_equal(add4(f, UDP_DGRAM, 32, 16, 0, 7, 1002), 1);
    assert_int_equal(f->out_rc, TW_C_PARSED);
    assert_int_equal(f->out.ip_version, 4);
    assert_int_equal(f->out.ip_proto, 17);
    assert_int_equal(f->out.src_port, 40000);
    assert_int_equal(f->out.dst_port, 53);
    assert_int_equal(f->out.payload_len, 40);
    assert_int_equal(f->out.fragment, 0);
    assert_int_equal(f->out_wire, 3 * 20 + 48); /* the fragments' frames summed */
    assert_int_equal(f->out.l3_len, 20 + 48);
    assert_memory_equal(f->out.l3 + 20, UDP_DGRAM, 48);
    assert_int_equal(f->out.l3[6] | f->out.l3[7], 0); /* no longer a fragment */
    assert_int_equal(f->c.v[TW_C_FRAGMENTS_MERGED], 2);
    assert_int_equal(tw_reasm_held(f->r), 0);
    done(f);
}

static void test_v4_reversed_interleaved(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    /* two datagrams (ids 1 and 2), last fragment first, interleaved */
    assert_int_equal(add4(f, UDP_DGRAM, 32, 16, 0, 1, 1), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 32, 16, 0, 2, 2), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 16, 16, 1, 1, 3), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 16, 16, 1, 2, 4), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 0, 16, 1, 2, 5), 1);
    assert_memory_equal(f->out.l3 + 20, UDP_DGRAM, 48);
    assert_int_equal(add4(f, UDP_DGRAM, 0, 16, 1, 1, 6), 1);
    assert_memory_equal(f->out.l3 + 20, UDP_DGRAM, 48);
    assert_int_equal(f->c.v[TW_C_FRAGMENTS_MERGED], 4);
    done(f);
}

static void test_v6(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    size_t n = frag6(f->frame, UDP_DGRAM + 24, 24, 24, 0, 0xabcdef01, 17);
    assert_int_equal(add(f, n, (uint32_t)n, 10, TW_LINK_RAW), 0);
    n = frag6(f->frame, UDP_DGRAM, 0, 24, 1, 0xabcdef01, 17);
    assert_int_equal(add(f, n, (uint32_t)n, 11, TW_LINK_RAW), 1);
    assert_int_equal(f->out_rc, TW_C_PARSED);
    assert_int_equal(f->out.ip_version, 6);
    assert_int_equal(f->out.ip_proto, 17);
    assert_int_equal(f->out.src_port, 40000);
    assert_int_equal(f->out.payload_len, 40);
    assert_int_equal(f->out.l3[6], 17); /* the fragment header is gone */
    assert_memory_equal(f->out.l3 + 40, UDP_DGRAM, 48);
    assert_int_equal(f->out_wire, 2 * 48 + 48);
    done(f);
}

/* A first fragment of 8 bytes: the TCP header is cut (tw_parse says so), the datagram is
 * whole once the second comes. */
static void test_tiny_first(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    struct tw_packet pkt;
    size_t n = frag4(f->frame, TCP_DGRAM, 0, 8, 1, 3, 6);
    assert_int_equal(tw_parse(f->frame, (uint32_t)n, (uint32_t)n, TW_LINK_RAW, &TW_NO_TUNNELS, &pkt),
                     TW_C_DROP_L4_TRUNCATED);
    assert_int_equal(add(f, n, (uint32_t)n, 1, TW_LINK_RAW), 0);
    n = frag4(f->frame, TCP_DGRAM + 8, 8, 32, 0, 3, 6);
    assert_int_equal(add(f, n, (uint32_t)n, 2, TW_LINK_RAW), 1);
    assert_int_equal(f->out_rc, TW_C_PARSED);
    assert_int_equal(f->out.ip_proto, 6);
    assert_int_equal(f->out.src_port, 12345);
    assert_int_equal(f->out.dst_port, 80);
    assert_int_equal(f->out.tcp_flags, TW_TCP_SYN);
    assert_int_equal(f->out.payload_len, 20);
    done(f);
}

/* Overlaps: the bytes held first are kept; the overlap is counted, and so is the
 * difference. */
static void test_overlap_first_wins(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    uint8_t other[48];
    memset(other, 'X', sizeof(other));
    assert_int_equal(add4(f, UDP_DGRAM, 0, 24, 1, 5, 1), 0);
    /* 16..32 with other bytes: 16..24 already held */
    assert_int_equal(add4(f, other, 16, 16, 1, 5, 2), 0);
    assert_int_equal(f->c.v[TW_C_FRAG_OVERLAP], 1);
    assert_int_equal(f->c.v[TW_C_FRAG_OVERLAP_DIFFERS], 1);
    /* a duplicate of the first: overlap, same bytes */
    assert_int_equal(add4(f, UDP_DGRAM, 0, 24, 1, 5, 3), 0);
    assert_int_equal(f->c.v[TW_C_FRAG_OVERLAP], 2);
    assert_int_equal(f->c.v[TW_C_FRAG_OVERLAP_DIFFERS], 1);
    assert_int_equal(add4(f, UDP_DGRAM, 32, 16, 0, 5, 4), 1);
    assert_memory_equal(f->out.l3 + 20, UDP_DGRAM, 24); /* first kept */
    assert_memory_equal(f->out.l3 + 20 + 24, other + 24, 8);
    assert_memory_equal(f->out.l3 + 20 + 32, UDP_DGRAM + 32, 16);
    assert_int_equal(f->c.v[TW_C_FRAGMENTS_MERGED], 3);
    done(f);
}

/* Teardrop: a last fragment that ends inside bytes already held. The datagram is given
 * up, its later fragments too. */
static void test_teardrop(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    assert_int_equal(add4(f, UDP_DGRAM, 0, 32, 1, 9, 1), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 8, 4, 0, 9, 2), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_INCONSISTENT], 2);
    assert_int_equal(add4(f, UDP_DGRAM, 32, 16, 0, 9, 3), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_INCONSISTENT], 3);
    /* two different ends */
    assert_int_equal(add4(f, UDP_DGRAM, 32, 16, 0, 10, 4), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 32, 8, 0, 10, 5), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_INCONSISTENT], 5);
    /* a middle fragment that is not a multiple of 8 */
    assert_int_equal(add4(f, UDP_DGRAM, 0, 12, 1, 11, 6), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_INCONSISTENT], 6);
    assert_int_equal(tw_reasm_held(f->r), 0);
    done(f);
}

static void test_too_many(void **state)
{
    (void)state;
    struct fixture *f = make(8, 4, 30000000);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(add4(f, UDP_DGRAM, i * 8, 8, 1, 12, i), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 32, 8, 1, 12, 5), 0); /* the fifth */
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TOO_MANY], 5);
    assert_int_equal(add4(f, UDP_DGRAM, 40, 8, 0, 12, 6), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TOO_MANY], 6);
    done(f);
}

/* 40 fragments of one datagram (a 64 KiB UDP datagram is 45 over Ethernet): reassembled. */
static void test_forty(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    static uint8_t big[40 * 8];
    memcpy(big, UDP_DGRAM, 8);
    big[4] = (uint8_t)(sizeof(big) >> 8);
    big[5] = (uint8_t)sizeof(big);
    for (unsigned i = 39; i > 0; i--)
        assert_int_equal(add4(f, big, i * 8, 8, i != 39, 13, 40 - i), 0);
    assert_int_equal(add4(f, big, 0, 8, 1, 13, 41), 1);
    assert_int_equal(f->out.payload_len, sizeof(big) - 8);
    assert_int_equal(f->c.v[TW_C_FRAGMENTS_MERGED], 39);
    done(f);
}

static void test_too_large(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    static uint8_t zeros[64];
    assert_int_equal(add4(f, UDP_DGRAM, 0, 16, 1, 14, 1), 0);
    /* offset 65512 + 8 bytes = 65520 > 65535 - 20 */
    size_t n = frag4(f->frame, zeros, 65512, 8, 0, 14, 17);
    assert_int_equal(add(f, n, (uint32_t)n, 2, TW_LINK_RAW), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TOO_LARGE], 2);
    /* IPv6: 65528 + 16 */
    n = frag6(f->frame, zeros, 65528, 16, 0, 15, 17);
    assert_int_equal(add(f, n, (uint32_t)n, 3, TW_LINK_RAW), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TOO_LARGE], 3);
    done(f);
}

/* Ten times the table in datagrams that never end: the table fills, the rest is refused,
 * then the held ones time out (on packet time), and the table takes new ones again. */
static void test_table_full_then_timeout(void **state)
{
    (void)state;
    struct fixture *f = make(4, 64, 1000000);
    for (unsigned i = 0; i < 40; i++)
        assert_int_equal(add4(f, UDP_DGRAM, 0, 16, 1, (uint16_t)(100 + i), 10 + i), 0);
    assert_int_equal(tw_reasm_held(f->r), 4);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TABLE_FULL], 36);
    tw_reasm_expire(f->r, 1000010, &f->c); /* not yet: exactly the timeout */
    assert_int_equal(tw_reasm_held(f->r), 4);
    tw_reasm_expire(f->r, 1000012, &f->c); /* the two begun at 10 and 11 */
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TIMEOUT], 2);
    assert_int_equal(add4(f, UDP_DGRAM, 0, 16, 1, 300, 1000013), 0);
    assert_int_equal(add4(f, UDP_DGRAM, 0, 16, 1, 301, 1000014), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TABLE_FULL], 36);
    /* a new datagram when full expires what timed out by its own time */
    assert_int_equal(add4(f, UDP_DGRAM, 0, 16, 1, 200, 5000000), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TIMEOUT], 6);
    assert_int_equal(tw_reasm_held(f->r), 1);
    /* its second half after the timeout: the first half is dropped, the second held */
    assert_int_equal(add4(f, UDP_DGRAM, 16, 32, 0, 200, 7000000), 0);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_TIMEOUT], 7);
    tw_reasm_flush(f->r, &f->c);
    assert_int_equal(f->c.v[TW_C_DROP_FRAG_UNFINISHED], 1);
    done(f);
}

/* What lay outside the fragmented header (the VLAN) comes from the first fragment; a
 * fragment cut by the snap length makes the datagram snapped (no DPI on it). */
static void test_outer_and_snapped(void **state)
{
    (void)state;
    struct fixture *f = make(8, 64, 30000000);
    static const uint8_t eth_vlan[18] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                         0x81, 0x00, 0x00, 0x2a, 0x08, 0x00}; /* VLAN 42 */
    memcpy(f->frame, eth_vlan, 18);
    size_t n = 18 + frag4(f->frame + 18, UDP_DGRAM, 0, 24, 1, 20, 17);
    assert_int_equal(add(f, n, (uint32_t)n, 1, TW_LINK_ETHERNET), 0);
    memcpy(f->frame, eth_vlan, 18);
    n = 18 + frag4(f->frame + 18, UDP_DGRAM + 24, 24, 24, 0, 20, 17);
    /* captured 10 bytes short of the wire */
    assert_int_equal(add(f, n - 10, (uint32_t)n, 2, TW_LINK_ETHERNET), 1);
    assert_int_equal(f->out.vlan, 42);
    assert_int_equal(f->out.snapped, 1);
    assert_int_equal(f->out_wire, 2 * (18 + 20 + 24));
    done(f);
}

/* Random fragments of a few datagrams, random offsets, lengths, flags, duplicates: never a
 * crash (ASan), every frame accounted for. */
static void test_random(void **state)
{
    (void)state;
    struct fixture *f = make(4, 8, 1000);
    static uint8_t data[2048];
    unsigned seed = 12345;
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    for (unsigned i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned off = (seed >> 8) % 64 * 8, len = (seed >> 16) % 9 * 8 + ((seed >> 3) & 1);
        int more = (seed >> 5) & 1;
        uint16_t id = (uint16_t)((seed >> 20) % 6);
        size_t n = frag4(f->frame, data + off, off, len, more, id, 17);
        if (!more && off == 0)
            continue; /* not a fragment */
        add(f, n, (uint32_t)n, i, TW_LINK_RAW);
    }
    tw_reasm_flush(f->r, &f->c);
    assert_int_equal(tw_reasm_held(f->r), 0);
    done(f);
}

static void test_create_bounds(void **state)
{
    (void)state;
    struct tw_reasm_params p = {0, 64, 1, NULL};
    assert_null(tw_reasm_create(&p));
    p.datagrams = 4;
    p.fragments = 1;
    assert_null(tw_reasm_create(&p));
}

int main(void)
{
    init_datagrams();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_in_order),
        cmocka_unit_test(test_v4_reversed_interleaved),
        cmocka_unit_test(test_v6),
        cmocka_unit_test(test_tiny_first),
        cmocka_unit_test(test_overlap_first_wins),
        cmocka_unit_test(test_teardrop),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_forty),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_table_full_then_timeout),
        cmocka_unit_test(test_outer_and_snapped),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_create_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
