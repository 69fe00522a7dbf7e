/* test_pcap_map.c - the in-place pcap reader (dataplane/pcap_map.c) against libpcap.
 *
 * Each case builds a capture in memory, reads it with libpcap (as tapwatch did before the
 * mapping) and with pcap_map, and requires the same records (time, lengths, bytes) and the
 * same ending (clean, or the same error text). A few values are also checked outright, so
 * that the test still means something if libpcap itself changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "dataplane/pcap_map.h"

struct cap {
    uint8_t buf[8192];
    size_t len;
    int big_endian;
};

static void put32(struct cap *c, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        c->buf[c->len++] = (uint8_t)(c->big_endian ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put16(struct cap *c, uint16_t v)
{
    c->buf[c->len++] = (uint8_t)(c->big_endian ? v >> 8 : v);
    c->buf[c->len++] = (uint8_t)(c->big_endian ? v : v >> 8);
}

static void header(struct cap *c, int big_endian, int nsec, uint16_t major, uint16_t minor,
                   uint32_t snaplen)
{
    memset(c, 0, sizeof(*c));
    c->big_endian = big_endian;
    put32(c, nsec ? 0xa1b23c4d : 0xa1b2c3d4);
    put16(c, major);
    put16(c, minor);
    put32(c, 0);
    put32(c, 0);
    put32(c, snaplen);
    put32(c, 1); /* Ethernet */
}

/* A record whose header says caplen/len and whose body holds `body` bytes (0xA0 + i). */
static void record(struct cap *c, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len,
                   uint32_t body)
{
    put32(c, sec);
    put32(c, frac);
    put32(c, caplen);
    put32(c, len);
    for (uint32_t i = 0; i < body; i++)
        c->buf[c->len++] = (uint8_t)(0xa0 + i);
}

struct outcome {
    int records;
    int end;              /* 0 clean end, -1 error */
    uint32_t caplen[8];
    uint32_t wire_len[8];
    uint64_t ts_us[8];
    char err[PCAP_ERRBUF_SIZE];
};

/* Reads c with libpcap and with pcap_map; asserts they agree; returns what they read. */
static struct outcome read_both(const struct cap *c)
{
    char perr[PCAP_ERRBUF_SIZE];
    struct outcome o;
    struct pcap_pkthdr *h;
    const u_char *data;
    struct tw_pcap_format fmt;
    struct tw_pcap_map map;
    struct tw_pcap_rec r;
    int rc;

    memset(&o, 0, sizeof(o));
    FILE *fp = fmemopen((void *)(uintptr_t)c->buf, c->len, "rb");
    assert_non_null(fp);
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
    assert_non_null(p);
    assert_int_equal(tw_pcap_map_format(p, c->buf, &fmt), 0);
    tw_pcap_map_buffer(&map, c->buf, c->len, &fmt);
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        assert_int_equal(tw_pcap_map_next(&map, &r), 1);
        assert_int_equal(r.caplen, h->caplen);
        assert_int_equal(r.wire_len, h->len);
        assert_int_equal(r.ts_us, (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec);
        assert_memory_equal(r.data, data, h->caplen);
        assert_true(o.records < 8);
        o.caplen[o.records] = r.caplen;
        o.wire_len[o.records] = r.wire_len;
        o.ts_us[o.records] = r.ts_us;
        o.records++;
    }
    o.end = tw_pcap_map_next(&map, &r);
    if (rc == PCAP_ERROR_BREAK) {
        assert_int_equal(o.end, 0);
    } else {
        assert_int_equal(o.end, -1);
        assert_string_equal(map.err, pcap_geterr(p));
        snprintf(o.err, sizeof(o.err), "%s", map.err);
    }
    pcap_close(p);
    return o;
}

static void test_plain(void **state)
{
    struct cap c;
    (void)state;
    header(&c, 0, 0, 2, 4, 65535);
    record(&c, 1700000000, 123456, 60, 60, 60);
    record(&c, 1700000001, 0, 14, 1514, 14);
    record(&c, 1700000002, 999999, 0, 0, 0);
    struct outcome o = read_both(&c);
    assert_int_equal(o.records, 3);
    assert_int_equal(o.end, 0);
    assert_int_equal(o.ts_us[0], 1700000000123456ULL);
    assert_int_equal(o.caplen[1], 14);
    assert_int_equal(o.wire_len[1], 1514);
}

/* Byte-swapped files zero-extend 32-bit times (libpcap swaps through unsigned), native
 * files sign-extend them: both readers must do the same with a time past 2038. */
static void test_byte_order_and_time_extension(void **state)
{
    struct cap c;
    (void)state;
    for (int be = 0; be <= 1; be++) {
        header(&c, be, 0, 2, 4, 65535);
        record(&c, 0x80000001u, 5, 20, 20, 20);
        record(&c, 1, 0xfffffff0u, 20, 20, 20);
        struct outcome o = read_both(&c);
        assert_int_equal(o.records, 2);
    }
}

static void test_nanoseconds(void **state)
{
    struct cap c;
    (void)state;
    header(&c, 0, 1, 2, 4, 65535);
    record(&c, 10, 999999999, 20, 20, 20);
    struct outcome o = read_both(&c);
    assert_int_equal(o.ts_us[0], 10999999ULL);
}

/* Before version 2.3 the length fields were the other way round; 2.3 is ambiguous. */
static void test_swapped_lengths(void **state)
{
    struct cap c;
    (void)state;
    header(&c, 0, 0, 2, 2, 65535);
    record(&c, 1, 0, 100, 30, 30); /* caplen 30, len 100 once swapped */
    struct outcome o = read_both(&c);
    assert_int_equal(o.caplen[0], 30);
    assert_int_equal(o.wire_len[0], 100);

    header(&c, 0, 0, 2, 3, 65535);
    record(&c, 1, 0, 100, 30, 30); /* caplen > len: swapped */
    record(&c, 2, 0, 30, 100, 30); /* caplen <= len: as written */
    o = read_both(&c);
    assert_int_equal(o.records, 2);
    assert_int_equal(o.caplen[0], 30);
    assert_int_equal(o.caplen[1], 30);
}

/* A record longer than the file's snapshot length is cut to it; the rest is skipped. */
static void test_snapped_record(void **state)
{
    struct cap c;
    (void)state;
    header(&c, 0, 0, 2, 4, 64);
    record(&c, 1, 0, 100, 100, 100);
    record(&c, 2, 0, 40, 40, 40);
    struct outcome o = read_both(&c);
    assert_int_equal(o.records, 2);
    assert_int_equal(o.caplen[0], 64);
    assert_int_equal(o.caplen[1], 40);
}

static void test_damaged_ends(void **state)
{
    struct cap c;
    struct outcome o;
    (void)state;

    header(&c, 0, 0, 2, 4, 65535); /* absurd captured length */
    record(&c, 1, 0, 20, 20, 20);
    record(&c, 2, 0, 262145, 262145, 0);
    o = read_both(&c);
    assert_int_equal(o.records, 1);
    assert_non_null(strstr(o.err, "262145"));

    header(&c, 0, 0, 2, 4, 65535); /* cut inside a record header */
    record(&c, 1, 0, 20, 20, 20);
    c.len += 7;
    o = read_both(&c);
    assert_int_equal(o.records, 1);
    assert_non_null(strstr(o.err, "truncated"));

    header(&c, 0, 0, 2, 4, 65535); /* cut inside the packet bytes */
    record(&c, 1, 0, 20, 20, 20);
    record(&c, 2, 0, 50, 50, 10);
    o = read_both(&c);
    assert_int_equal(o.records, 1);
    assert_non_null(strstr(o.err, "truncated"));

    header(&c, 0, 0, 2, 4, 64); /* a snapped record cut before, then after, the snapshot */
    record(&c, 1, 0, 100, 100, 30);
    o = read_both(&c);
    assert_int_equal(o.records, 0);
    header(&c, 0, 0, 2, 4, 64);
    record(&c, 1, 0, 100, 100, 80);
    o = read_both(&c);
    assert_int_equal(o.records, 0);
    assert_non_null(strstr(o.err, "truncated"));

    header(&c, 0, 0, 2, 4, 65535); /* no records at all: a clean end */
    o = read_both(&c);
    assert_int_equal(o.records, 0);
    assert_int_equal(o.end, 0);
}

/* A real mapping: records come from the file, rewind starts again (pages given back stay
 * readable: test_pcap_pager.c). */
static void test_file_mapping(void **state)
{
    char perr[PCAP_ERRBUF_SIZE];
    static struct cap c;
    struct tw_pcap_format fmt;
    struct tw_pcap_map map;
    struct tw_pcap_rec r;
    (void)state;

    header(&c, 0, 0, 2, 4, 65535);
    for (uint32_t i = 0; i < 40; i++)
        record(&c, 100 + i, 0, 150, 150, 150);
    int fd = memfd_create("test_pcap_map", 0);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, c.buf, c.len), (ssize_t)c.len);
    FILE *fp = fmemopen(c.buf, c.len, "rb");
    pcap_t *p = pcap_fopen_offline(fp, perr);
    assert_non_null(p);
    assert_int_equal(tw_pcap_map_format(p, c.buf, &fmt), 0);
    pcap_close(p);
    assert_int_equal(tw_pcap_map_file(&map, fd, c.len, &fmt), 0);
    close(fd); /* the mapping outlives the descriptor */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < 40; i++) {
            assert_int_equal(tw_pcap_map_next(&map, &r), 1);
            assert_int_equal(r.ts_us, (100 + i) * 1000000ULL);
            assert_int_equal(r.data[149], (uint8_t)(0xa0 + 149));
        }
        assert_int_equal(tw_pcap_map_next(&map, &r), 0);
        tw_pcap_map_rewind(&map);
    }
    tw_pcap_map_close(&map);
}

/* pcapng is not a classic pcap file: it stays with libpcap. */
static void test_pcapng_refused(void **state)
{
    static const uint8_t ng[4] = {0x0a, 0x0d, 0x0d, 0x0a};
    char perr[PCAP_ERRBUF_SIZE];
    struct cap c;
    struct tw_pcap_format fmt;
    (void)state;

    header(&c, 0, 0, 2, 4, 65535);
    FILE *fp = fmemopen(c.buf, c.len, "rb");
    pcap_t *p = pcap_fopen_offline(fp, perr);
    assert_non_null(p);
    assert_int_equal(tw_pcap_map_format(p, ng, &fmt), -1);
    pcap_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_byte_order_and_time_extension),
        cmocka_unit_test(test_nanoseconds),
        cmocka_unit_test(test_swapped_lengths),
        cmocka_unit_test(test_snapped_record),
        cmocka_unit_test(test_damaged_ends),
        cmocka_unit_test(test_file_mapping),
        cmocka_unit_test(test_pcapng_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
