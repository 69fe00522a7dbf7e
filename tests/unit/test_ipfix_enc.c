/* test_ipfix_enc.c - the IPFIX encoder (control/store/ipfix_enc.h): the bytes of the
 * template message and of a data set, sequence numbers, message sizes, the template re-send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/store/ipfix_enc.h"

#define MAX_MSGS 256

/* What the encoder handed out. */
struct sent {
    size_t n;
    uint8_t msg[MAX_MSGS][2048];
    size_t len[MAX_MSGS];
    uint32_t records[MAX_MSGS];
};

static void out(void *ctx, const uint8_t *msg, size_t len, uint32_t records)
{
    struct sent *s = ctx;

    assert_true(s->n < MAX_MSGS);
    assert_true(len <= sizeof(s->msg[0]));
    memcpy(s->msg[s->n], msg, len);
    s->len[s->n] = len;
    s->records[s->n] = records;
    s->n++;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A TLS flow to Google, 10.0.0.1:40000 -> 10.0.0.2:443 on VLAN 100, closed by FIN: 3 packets
 * and 300 bytes out, 2 packets and 2000 bytes back, from ...000.123 s to ...001.456 s. */
static void tls_record(struct tw_flow_record *r)
{
    memset(r, 0, sizeof(*r));
    r->first_seen_us = 1700000000123000ull;
    r->last_seen_us = 1700000001456999ull; /* milliseconds are cut, not rounded */
    r->c2s_packets = 3, r->c2s_bytes = 300;
    r->s2c_packets = 2, r->s2c_bytes = 2000;
    r->ip_version = 4, r->ip_proto = 6;
    r->src_ip[0] = 10, r->src_ip[3] = 1;
    r->dst_ip[0] = 10, r->dst_ip[3] = 2;
    r->src_port = 40000, r->dst_port = 443, r->vlan = 100;
    r->master_proto = 91, r->app_proto = 126; /* TLS.Google */
    snprintf(r->app, sizeof(r->app), "TLS.Google");
    r->event = TW_EVENT_END;
    r->end_reason = TW_END_TCP_CLOSE;
}

/* The first message: both templates, sequence number 0, observation domain 7. The export time
 * (bytes 4-7) is the wall clock and is not compared. */
static const uint8_t template_msg[] = {
    0x00, 0x0a, 0x00, 0xa4, /* version 10, length 164 */
    0, 0, 0, 0,             /* export time (not compared) */
    0x00, 0x00, 0x00, 0x00, /* sequence number: no data record before */
    0x00, 0x00, 0x00, 0x07, /* observation domain 7 */
    0x00, 0x02, 0x00, 0x94, /* template set, 148 bytes */
    0x01, 0x00, 0x00, 0x0f, /* template 256 (IPv4), 15 fields */
    0x00, 0x98, 0x00, 0x08, /*   flowStartMilliseconds, 8 */
    0x00, 0x99, 0x00, 0x08, /*   flowEndMilliseconds, 8 */
    0x00, 0x01, 0x00, 0x08, /*   octetDeltaCount, 8 */
    0x00, 0x02, 0x00, 0x08, /*   packetDeltaCount, 8 */
    0x80, 0x01, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79, /* reverse octetDeltaCount, PEN 29305 */
    0x80, 0x02, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79, /* reverse packetDeltaCount, PEN 29305 */
    0x00, 0x60, 0xff, 0xff, /*   applicationName (96), variable length */
    0x00, 0x08, 0x00, 0x04, /*   sourceIPv4Address, 4 */
    0x00, 0x0c, 0x00, 0x04, /*   destinationIPv4Address, 4 */
    0x00, 0x07, 0x00, 0x02, /*   sourceTransportPort, 2 */
    0x00, 0x0b, 0x00, 0x02, /*   destinationTransportPort, 2 */
    0x00, 0x3a, 0x00, 0x02, /*   vlanId (58), 2 */
    0x00, 0x04, 0x00, 0x01, /*   protocolIdentifier, 1 */
    0x00, 0x88, 0x00, 0x01, /*   flowEndReason (136), 1 */
    0x00, 0x5f, 0x00, 0x08, /*   applicationId (95), 8 */
    0x01, 0x01, 0x00, 0x0f, /* template 257 (IPv6), 15 fields: the same but the addresses */
    0x00, 0x98, 0x00, 0x08, 0x00, 0x99, 0x00, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x02, 0x00, 0x08,
    0x80, 0x01, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79, 0x80, 0x02, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79,
    0x00, 0x1b, 0x00, 0x10, /*   sourceIPv6Address (27), 16 */
    0x00, 0x1c, 0x00, 0x10, /*   destinationIPv6Address (28), 16 */
    0x00, 0x60, 0xff, 0xff, 0x00, 0x07, 0x00, 0x02, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x3a, 0x00, 0x02,
    0x00, 0x04, 0x00, 0x01, 0x00, 0x88, 0x00, 0x01, 0x00, 0x5f, 0x00, 0x08,
};

/* The record of tls_record() in a message of its own, export time 1700000000. */
static const uint8_t data_msg[] = {
    0x00, 0x0a, 0x00, 0x67, /* version 10, length 103 */
    0x65, 0x53, 0xf1, 0x00, /* export time 1700000000 */
    0x00, 0x00, 0x00, 0x00, /* sequence number 0 */
    0x00, 0x00, 0x00, 0x07, /* observation domain 7 */
    0x01, 0x00, 0x00, 0x57, /* data set of template 256, 87 bytes */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, /* start 1700000000123 ms */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x6d, 0xb0, /* end 1700000001456 ms */
    0, 0, 0, 0, 0, 0, 0x01, 0x2c,                   /* 300 bytes client to server */
    0, 0, 0, 0, 0, 0, 0, 0x03,                      /* 3 packets */
    0, 0, 0, 0, 0, 0, 0x07, 0xd0,                   /* 2000 bytes back (reverse) */
    0, 0, 0, 0, 0, 0, 0, 0x02,                      /* 2 packets back */
    0x0a, 'T', 'L', 'S', '.', 'G', 'o', 'o', 'g', 'l', 'e', /* applicationName, 10 bytes */
    0x0a, 0x00, 0x00, 0x01, /* 10.0.0.1 */
    0x0a, 0x00, 0x00, 0x02, /* 10.0.0.2 */
    0x9c, 0x40, 0x01, 0xbb, /* ports 40000, 443 */
    0x00, 0x64,             /* VLAN 100 */
    0x06,                   /* TCP */
    0x03,                   /* flowEndReason 3: end of flow detected */
    0x14, 0x00, 0x00, 0x8b, 0x30, 0x00, 0x00, 0x7e, /* applicationId: engine 20, PEN 35632, 126 */
};

static void test_template_and_data_bytes(void **state)
{
    static struct sent s;
    struct tw_flow_record r;
    char err[256];
    (void)state;

    memset(&s, 0, sizeof(s));
    struct tw_ipfix_enc *e = tw_ipfix_enc_open(7, 1400, out, &s, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(s.n, 1); /* the templates, before any record */
    assert_int_equal(s.len[0], sizeof(template_msg));
    assert_int_equal(s.records[0], 0);
    memset(s.msg[0] + 4, 0, 4);
    assert_memory_equal(s.msg[0], template_msg, sizeof(template_msg));

    tw_ipfix_enc_set_time(e, 1700000000);
    tls_record(&r);
    assert_int_equal(tw_ipfix_enc_add(e, &r, err, sizeof(err)), 0);
    assert_int_equal(tw_ipfix_enc_pending(e), 1);
    assert_int_equal(s.n, 1); /* still open */
    assert_int_equal(tw_ipfix_enc_flush(e, err, sizeof(err)), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.records[1], 1);
    assert_int_equal(s.len[1], sizeof(data_msg));
    assert_memory_equal(s.msg[1], data_msg, sizeof(data_msg));
    assert_int_equal(tw_ipfix_enc_flush(e, err, sizeof(err)), 0); /* nothing open: nothing */
    assert_int_equal(s.n, 2);
    tw_ipfix_enc_close(e);
}

/* Many records, IPv4 and IPv6 mixed: every message fits the MTU, the sequence number of each
 * is the count of data records before it (RFC 7011 section 3.1), the template re-send is a
 * message of both templates carrying the running sequence number. */
static void test_sequence_and_mtu(void **state)
{
    static struct sent s;
    struct tw_flow_record r;
    char err[256];
    uint32_t seq = 0;
    (void)state;

    memset(&s, 0, sizeof(s));
    struct tw_ipfix_enc *e = tw_ipfix_enc_open(1, 512, out, &s, err, sizeof(err));
    assert_non_null(e);
    tls_record(&r);
    for (int i = 0; i < 100; i++) {
        r.ip_version = i % 3 == 0 ? 6 : 4;
        r.src_port = (uint16_t)(1000 + i);
        assert_int_equal(tw_ipfix_enc_add(e, &r, err, sizeof(err)), 0);
        if (i == 60)
            assert_int_equal(tw_ipfix_enc_templates(e, err, sizeof(err)), 0);
    }
    assert_int_equal(tw_ipfix_enc_flush(e, err, sizeof(err)), 0);
    size_t templates = 0, records = 0;
    for (size_t i = 0; i < s.n; i++) {
        assert_true(s.len[i] <= 512);
        assert_int_equal(s.msg[i][0] << 8 | s.msg[i][1], 10);
        assert_int_equal((size_t)(s.msg[i][2] << 8 | s.msg[i][3]), s.len[i]);
        assert_int_equal(be32(s.msg[i] + 8), seq);
        seq += s.records[i];
        records += s.records[i];
        if (s.records[i] == 0) {
            templates++;
            assert_int_equal(s.msg[i][16] << 8 | s.msg[i][17], 2); /* a template set */
        }
    }
    assert_int_equal(records, 100);
    assert_int_equal(templates, 2); /* at open and the re-send */
    tw_ipfix_enc_close(e);
}

static void test_end_reason_and_application_id(void **state)
{
    struct tw_flow_record r;
    uint8_t id[8];
    (void)state;

    assert_int_equal(tw_ipfix_end_reason(TW_END_IDLE), 1);
    assert_int_equal(tw_ipfix_end_reason(TW_END_TCP_CLOSE), 3);
    assert_int_equal(tw_ipfix_end_reason(TW_END_EOF), 4);
    assert_int_equal(tw_ipfix_end_reason(TW_END_SHUTDOWN), 4);
    assert_int_equal(tw_ipfix_end_reason(TW_END_EVICTED), 5);

    /* plain DNS: nDPI gives the app id only (master 0): DNS = 5 */
    memset(&r, 0, sizeof(r));
    r.app_proto = 5;
    tw_ipfix_application_id(&r, id);
    assert_memory_equal(id, ((uint8_t[]){0x14, 0x00, 0x00, 0x8b, 0x30, 0x00, 0x00, 0x05}), 8);
    /* unknown: id 0 under the same engine and PEN */
    r.app_proto = 0;
    tw_ipfix_application_id(&r, id);
    assert_memory_equal(id, ((uint8_t[]){0x14, 0x00, 0x00, 0x8b, 0x30, 0x00, 0x00, 0x00}), 8);
}

static void test_bad_mtu(void **state)
{
    static struct sent s;
    char err[256];
    (void)state;

    assert_null(tw_ipfix_enc_open(1, 100, out, &s, err, sizeof(err)));
    assert_non_null(strstr(err, "message size 100"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_and_data_bytes),
        cmocka_unit_test(test_sequence_and_mtu),
        cmocka_unit_test(test_end_reason_and_application_id),
        cmocka_unit_test(test_bad_mtu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
