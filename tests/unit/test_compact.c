/* test_compact.c - the compact store format's codec (control/record/compact.c).
 *
 * What it shows: a record block and an index slice written by tw_cx_pack come back through
 * tw_cx_unpack, tw_cx_block_split and tw_cx_slice_next as they went in; what came from Redis
 * altered is refused, not trusted: a wrong prefix, an unknown version (one line naming it), a
 * truncated frame, lengths past the end of the block, a bad posting kind. The postings a
 * record has (tw_cx_record_postings, what the writer indexes and verify checks): each end's
 * address and port once, in every hour spanned, the newest max_hours only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/record/compact.h"

static long pack(char what, const void *raw, size_t n, uint8_t *out, size_t cap)
{
    return tw_cx_pack(what, raw, n, out, cap, 1, NULL);
}

static void test_block_roundtrip(void **state)
{
    /* count 2, then "{}" (len 2) and "{\"a\":1}" (len 7) */
    static const uint8_t raw[] = {0, 2, 0, 2, '{', '}', 0, 7, '{', '"', 'a', '"', ':', '1', '}'};
    uint8_t packed[256], *back;
    size_t backlen;
    uint32_t *off;
    uint16_t *len;
    char err[128];
    long z = pack('R', raw, sizeof(raw), packed, sizeof(packed));

    (void)state;
    assert_true(z > 4);
    assert_memory_equal(packed, "TWR\x03", 4);
    assert_int_equal(tw_cx_unpack('R', packed, (size_t)z, &back, &backlen, err, sizeof(err)), 0);
    assert_int_equal(backlen, sizeof(raw));
    assert_int_equal(tw_cx_block_split(back, backlen, &off, &len), 2);
    assert_int_equal(len[1], 7);
    assert_memory_equal(back + off[1], "{\"a\":1}", 7);
    free(off);
    free(len);
    free(back);
    /* a slice is not a block */
    assert_int_equal(tw_cx_unpack('X', packed, (size_t)z, &back, &backlen, err, sizeof(err)), -1);
}

static void test_refusals(void **state)
{
    static const uint8_t raw[] = {0, 1, 0, 2, '{', '}'};
    uint8_t packed[256], *back;
    size_t backlen;
    char err[128];
    long z = pack('R', raw, sizeof(raw), packed, sizeof(packed));

    (void)state;
    packed[3] = 9; /* a version from the future */
    assert_int_equal(tw_cx_unpack('R', packed, (size_t)z, &back, &backlen, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown compact format version 9 (this tool reads versions 2 to 3)");
    assert_null(back);
    packed[3] = 1; /* before the compact format */
    assert_int_equal(tw_cx_unpack('R', packed, (size_t)z, &back, &backlen, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown compact format version 1 (this tool reads versions 2 to 3)");
    packed[3] = 2; /* version 2 (before the quiet slices) is read */
    assert_int_equal(tw_cx_unpack('R', packed, (size_t)z, &back, &backlen, err, sizeof(err)), 0);
    assert_int_equal(backlen, sizeof(raw));
    free(back);
    /* cut short */
    assert_int_equal(tw_cx_unpack('R', packed, (size_t)z - 3, &back, &backlen, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "corrupt"));
    assert_int_equal(tw_cx_unpack('R', "TW", 2, &back, &backlen, err, sizeof(err)), -1);
}

static void test_frame_field_and_version(void **state)
{
    char field[TW_CX_FIELD_LEN + 1];
    static const uint8_t v2[] = {'T', 'W', 'R', 2, 0};

    (void)state;
    tw_cx_frame_field(field, "0123456789abcdef00000007", 0x3ff);
    assert_string_equal(field, "0123456789abcdef00000007:03ff");
    assert_int_equal(strlen(field), TW_CX_FIELD_LEN);
    assert_int_equal(tw_cx_version(v2, sizeof(v2)), 2);
    assert_int_equal(tw_cx_version("TX", 2), -1);
    assert_int_equal(tw_cx_version("XW\x03\x03", 4), -1);
}

static void test_block_split_bounds(void **state)
{
    uint32_t *off;
    uint16_t *len;
    /* count 2 but one record; a length past the end; bytes after the last record */
    static const uint8_t short_count[] = {0, 2, 0, 2, '{', '}'};
    static const uint8_t long_len[] = {0, 1, 0xff, 0xff, '{', '}'};
    static const uint8_t trailing[] = {0, 1, 0, 2, '{', '}', 'x'};

    (void)state;
    assert_int_equal(tw_cx_block_split(short_count, sizeof(short_count), &off, &len), -1);
    assert_int_equal(tw_cx_block_split(long_len, sizeof(long_len), &off, &len), -1);
    assert_int_equal(tw_cx_block_split(trailing, sizeof(trailing), &off, &len), -1);
    assert_int_equal(tw_cx_block_split((const uint8_t *)"", 1, &off, &len), -1);
}

static void test_slice(void **state)
{
    /* group n4 0a0102 with 2 postings, then group t with 1 posting:
     *   kind vlen value   n     ordinal back  last_seen_us (8)          detail */
    static const uint8_t raw[] = {
        1, 3, 10, 1, 2,   0, 2,
        0, 5, 0, 0,       0, 0, 0, 0, 0, 0, 1, 0,   7,
        0, 6, 0, 1,       0, 0, 0, 0, 0, 0, 2, 0,   9,
        0, 0,             0, 1,
        0, 7, 0, 0,       0, 0, 0, 0, 0, 0, 3, 0,
    };
    struct tw_cx_cursor c = {0};
    struct tw_cx_posting p;

    (void)state;
    assert_int_equal(tw_cx_slice_next(raw, sizeof(raw), &c, &p), 1);
    assert_int_equal(p.kind, TW_POST_NET4);
    assert_memory_equal(p.value, "\x0a\x01\x02", 3);
    assert_int_equal(p.ordinal, 5);
    assert_int_equal(p.last_seen_us, 256);
    assert_int_equal(p.detail[0], 7);
    assert_int_equal(tw_cx_slice_next(raw, sizeof(raw), &c, &p), 1);
    assert_int_equal(p.back, 1);
    assert_int_equal(p.detail[0], 9);
    assert_int_equal(tw_cx_slice_next(raw, sizeof(raw), &c, &p), 1);
    assert_int_equal(p.kind, TW_POST_TIME);
    assert_int_equal(p.ordinal, 7);
    assert_int_equal(tw_cx_slice_next(raw, sizeof(raw), &c, &p), 0);
    /* cut inside the last posting; a kind that does not exist */
    memset(&c, 0, sizeof(c));
    while (tw_cx_slice_next(raw, sizeof(raw) - 1, &c, &p) == 1)
        ;
    assert_int_equal(tw_cx_slice_next(raw, sizeof(raw) - 1, &c, &p), -1);
    static const uint8_t bad_kind[] = {9, 0, 0, 0};
    memset(&c, 0, sizeof(c));
    assert_int_equal(tw_cx_slice_next(bad_kind, sizeof(bad_kind), &c, &p), -1);
    /* a value length past the end */
    static const uint8_t bad_vlen[] = {4, 200, 'a'};
    memset(&c, 0, sizeof(c));
    assert_int_equal(tw_cx_slice_next(bad_vlen, sizeof(bad_vlen), &c, &p), -1);
}

struct seen {
    unsigned n[TW_POST__COUNT];
    uint64_t first_h, last_h;
    uint16_t back_max;
    uint16_t ports[8];
    unsigned nports;
};

static int count(void *arg, uint64_t hour, enum tw_post_kind kind, const uint8_t *value,
                 size_t vlen, const uint8_t *detail, uint16_t back, uint64_t last_us)
{
    struct seen *s = arg;

    (void)value, (void)vlen, (void)last_us;
    if (s->n[TW_POST_TIME] + s->n[TW_POST_NET4] + s->n[TW_POST_PORT] == 0 || hour < s->first_h)
        s->first_h = hour;
    if (hour > s->last_h)
        s->last_h = hour;
    if (back > s->back_max)
        s->back_max = back;
    s->n[kind]++;
    if (kind == TW_POST_PORT && s->nports < 8)
        s->ports[s->nports++] = (uint16_t)(detail[0] << 8 | detail[1]);
    return 0;
}

static void test_record_postings(void **state)
{
    struct tw_flow_record r;
    struct seen s;
    uint64_t h0 = 492345;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.ip_version = 4;
    memcpy(r.src_ip, "\x0a\x01\x02\x03", 4);
    memcpy(r.dst_ip, "\x0a\x01\x02\x04", 4);
    r.src_port = 40000;
    r.dst_port = 443;
    r.first_seen_us = h0 * TW_US_PER_HOUR + 10;
    r.last_seen_us = (h0 + 2) * TW_US_PER_HOUR + 10; /* three hours */
    memset(&s, 0, sizeof(s));
    assert_int_equal(tw_cx_record_postings(&r, 100, count, &s), 0);
    assert_int_equal(s.n[TW_POST_TIME], 3);
    assert_int_equal(s.n[TW_POST_NET4], 6); /* both ends, one /24: two postings an hour */
    assert_int_equal(s.n[TW_POST_PORT], 6);
    assert_int_equal(s.first_h, h0);
    assert_int_equal(s.last_h, h0 + 2);
    assert_int_equal(s.back_max, 2);
    assert_int_equal(s.ports[0], 40000);
    assert_int_equal(s.ports[1], 443);
    /* max_hours 2: the newest two hours only */
    memset(&s, 0, sizeof(s));
    tw_cx_record_postings(&r, 2, count, &s);
    assert_int_equal(s.n[TW_POST_TIME], 2);
    assert_int_equal(s.first_h, h0 + 1);
    /* the same address and port at both ends: once; no port: none */
    memcpy(r.dst_ip, r.src_ip, 16);
    r.dst_port = r.src_port;
    r.last_seen_us = r.first_seen_us;
    memset(&s, 0, sizeof(s));
    tw_cx_record_postings(&r, 100, count, &s);
    assert_int_equal(s.n[TW_POST_NET4], 1);
    assert_int_equal(s.n[TW_POST_PORT], 1);
    r.src_port = r.dst_port = 0;
    memset(&s, 0, sizeof(s));
    tw_cx_record_postings(&r, 100, count, &s);
    assert_int_equal(s.n[TW_POST_PORT], 0);
    assert_int_equal(s.n[TW_POST_TIME], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_roundtrip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_block_split_bounds),
        cmocka_unit_test(test_frame_field_and_version),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_record_postings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
