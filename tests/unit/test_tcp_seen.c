/* test_tcp_seen.c - the sequence arithmetic of the upstream-loss estimate
 * (dataplane/tcp_seen.c): segments and acknowledgements as numbers, one direction at a time.
 * Direction 0 sends data, direction 1 acknowledges it; seg() and ack() are one segment each.
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
#include "dataplane/tcp_seen.h"

struct run {
    struct tw_tcp_seen t;
    struct tw_tcp_gap g;
    int started[2];
};

/* Direction 0 sends [seq, seq + len) (no ACK). */
static void seg(struct run *r, uint32_t seq, uint32_t len)
{
    tw_tcp_seen_segment(&r->t, 0, !r->started[0], seq, len, 0, 0, &r->g);
    r->started[0] = 1;
}

/* Direction 1 acknowledges x (a pure ACK, its own stream at sequence 1). */
static void ack(struct run *r, uint32_t x)
{
    tw_tcp_seen_segment(&r->t, 1, !r->started[1], 1, 0, r->started[0], x, &r->g);
    r->started[1] = 1;
}

#define GAP(r, want) assert_int_equal((r)->g.gap_bytes, (want))
#define ACKED(r, want) assert_int_equal((r)->g.acked_bytes, (want))

static void test_no_loss(void **state)
{
    (void)state;
    struct run r = {0};

    seg(&r, 1000, 1); /* SYN */
    ack(&r, 1001);
    for (uint32_t i = 0; i < 10; i++) {
        seg(&r, 1001 + 100 * i, 100);
        if (i % 2)
            ack(&r, 1001 + 100 * (i + 1));
    }
    seg(&r, 2001, 1); /* FIN */
    ack(&r, 2002);
    GAP(&r, 0);
    ACKED(&r, 1002);
}

/* A segment never seen, acknowledged at once or after later segments were seen. */
static void test_holes(void **state)
{
    (void)state;
    struct run r = {0};

    seg(&r, 0, 100);
    ack(&r, 200); /* [100, 200) never seen */
    GAP(&r, 100);
    seg(&r, 300, 100); /* [200, 300) missing, [300, 400) seen */
    seg(&r, 500, 100); /* [400, 500) missing */
    ack(&r, 600);
    GAP(&r, 300);
    ACKED(&r, 600);
}

/* The ACK lags the data: a hole is counted when its acknowledgement arrives, never twice,
 * and the total is exact once everything is acknowledged. */
static void test_lagging_acks(void **state)
{
    (void)state;
    struct run r = {0};

    seg(&r, 0, 100);
    seg(&r, 100, 100);
    /* [200, 300) lost upstream */
    seg(&r, 300, 100);
    seg(&r, 400, 100);
    ack(&r, 200);
    GAP(&r, 0); /* [0, 200) all seen: the seen bytes above 200 fit in [300, 500) */
    ack(&r, 300);
    GAP(&r, 100); /* the hole, when its acknowledgement arrives */
    ack(&r, 400);
    ack(&r, 500);
    GAP(&r, 100);
    ACKED(&r, 500);

    /* several holes: the partial ACK covers seen bytes only, the rest is counted at the end */
    struct run q = {0};
    seg(&q, 0, 100);
    seg(&q, 200, 100); /* [100, 200) lost */
    seg(&q, 300, 100);
    seg(&q, 500, 100); /* [400, 500) lost */
    ack(&q, 100);
    GAP(&q, 0);
    ack(&q, 300); /* a guess: the seen bytes lie above, so [200, 300) counts early */
    assert_true(q.g.gap_bytes <= 200);
    ack(&q, 600);
    GAP(&q, 200); /* exact once all is acknowledged */
    ACKED(&q, 600);
}

/* A hole filled by a retransmission (loss before the mirror) is not upstream loss; a
 * copy of the latest segment or a retransmission of seen data adds nothing either. */
static void test_retransmissions(void **state)
{
    (void)state;
    struct run r = {0};

    seg(&r, 0, 100);
    seg(&r, 200, 100); /* [100, 200) missing for now */
    ack(&r, 100);
    ack(&r, 100);      /* duplicate ACKs */
    seg(&r, 100, 100); /* the retransmission fills it */
    ack(&r, 300);
    GAP(&r, 0);
    ACKED(&r, 300);

    seg(&r, 300, 100);
    seg(&r, 300, 100); /* the same segment again (a SPAN copy, dedup off) */
    seg(&r, 250, 150); /* overlapping old and seen data */
    seg(&r, 500, 100); /* [400, 500) missing */
    seg(&r, 500, 100); /* a copy of the latest: must not count as a fill */
    ack(&r, 600);
    GAP(&r, 100);
    ACKED(&r, 600);
}

/* Sequence numbers wrap past 2^32. */
static void test_wrap(void **state)
{
    (void)state;
    struct run r = {0};
    uint32_t s = UINT32_MAX - 249; /* 250 bytes before the wrap */

    seg(&r, s, 100);
    seg(&r, s + 100, 100);
    /* [s + 200, s + 300) lost: it spans the wrap */
    seg(&r, s + 300, 100);
    ack(&r, s + 400);
    GAP(&r, 100);
    ACKED(&r, 400);
    assert_true(tw_seq_diff(5, UINT32_MAX - 5) > 0);
    assert_true(tw_seq_diff(UINT32_MAX - 5, 5) < 0);
}

/* The first segment seen mid-stream starts the direction; what came before is unknown. An
 * ACK from before it counts nothing; one of more than 2^30, or more than 16 MiB beyond all
 * seen, is ignored. */
static void test_mid_stream_and_nonsense(void **state)
{
    (void)state;
    struct run r = {0};

    ack(&r, 5000); /* direction 0 has not started: nothing to say */
    ACKED(&r, 0);
    seg(&r, 3000000000u, 100);
    ack(&r, 2999999000u); /* before the first byte seen */
    ack(&r, 3000000100u);
    GAP(&r, 0);
    ACKED(&r, 100);
    ack(&r, 3000000100u + (1u << 30) + 1); /* nonsense */
    GAP(&r, 0);
    ACKED(&r, 100);
    ack(&r, 3000000100u + (1u << 24) + 1); /* more than 16 MiB beyond all seen */
    GAP(&r, 0);
    ACKED(&r, 100);
    ack(&r, 3000000100u + (1u << 24)); /* 16 MiB: a burst the mirror lost */
    GAP(&r, 1u << 24);
    ACKED(&r, 100 + (1u << 24));
    /* a jump of more than 2^30 restarts the direction (ports reused without a SYN seen) */
    seg(&r, 100, 50);
    ack(&r, 150);
    GAP(&r, 1u << 24);
    ACKED(&r, 150 + (1u << 24));
}

/* The same through a parsed packet: SYN and FIN take one number, a RST's ACK is ignored. */
static void test_packet(void **state)
{
    (void)state;
    /* IPv4 + TCP, 10.0.0.1:12345 -> 10.0.0.2:80: seq 0xfffffff0, ack 0x10, flags set below */
    uint8_t ip[40] = {
        0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        0x30, 0x39, 0x00, 0x50, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10, 0x50, 0, 0xff, 0xff,
        0, 0, 0, 0,
    };
    struct tw_packet p;
    struct tw_tcp_seen t;

    memset(&t, 0, sizeof(t));
    struct tw_tcp_gap g = {0, 0};

    ip[33] = TW_TCP_SYN;
    assert_int_equal(tw_parse(ip, sizeof(ip), sizeof(ip), TW_LINK_RAW, &TW_NO_TUNNELS, &p), TW_C_PARSED);
    tw_tcp_seen_packet(&t, 0, 1, 0, &p, &g);
    assert_int_equal(t.end[0], 0xfffffff1u);
    ip[33] = TW_TCP_FIN | TW_TCP_ACK;
    ip[27] = 0xf1;
    tw_parse(ip, sizeof(ip), sizeof(ip), TW_LINK_RAW, &TW_NO_TUNNELS, &p);
    tw_tcp_seen_packet(&t, 0, 0, 0, &p, &g);
    assert_int_equal(t.end[0], 0xfffffff2u);
    /* the other direction acknowledges with RST|ACK: not counted; with ACK: counted */
    ip[27] = 0x10; /* its seq */
    ip[28] = 0xff, ip[29] = 0xff, ip[30] = 0xff, ip[31] = 0xf2; /* ack */
    ip[33] = TW_TCP_RST | TW_TCP_ACK;
    tw_parse(ip, sizeof(ip), sizeof(ip), TW_LINK_RAW, &TW_NO_TUNNELS, &p);
    tw_tcp_seen_packet(&t, 1, 1, 1, &p, &g);
    assert_int_equal(g.acked_bytes, 0);
    ip[33] = TW_TCP_ACK;
    tw_parse(ip, sizeof(ip), sizeof(ip), TW_LINK_RAW, &TW_NO_TUNNELS, &p);
    tw_tcp_seen_packet(&t, 1, 0, 1, &p, &g);
    assert_int_equal(g.acked_bytes, 2);
    assert_int_equal(g.gap_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_loss),         cmocka_unit_test(test_holes),
        cmocka_unit_test(test_lagging_acks),    cmocka_unit_test(test_retransmissions),
        cmocka_unit_test(test_wrap),            cmocka_unit_test(test_mid_stream_and_nonsense),
        cmocka_unit_test(test_packet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
