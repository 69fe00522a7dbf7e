/* test_flow_table.c - flow keys, the fixed-capacity flow table and its recency lists
 * (dataplane/flow_table.c). Packets are struct tw_packet values filled by hand, as tw_parse
 * would fill them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/flow_table.h"

#define S 1000000ULL

/* An IPv4 packet a.b.c.d:sport -> e.f.g.h:dport (addresses as 32-bit values). */
static struct tw_packet pkt4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                             uint8_t proto)
{
    struct tw_packet p;

    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.ip_proto = proto;
    p.src[0] = (uint8_t)(src >> 24), p.src[1] = (uint8_t)(src >> 16);
    p.src[2] = (uint8_t)(src >> 8), p.src[3] = (uint8_t)src;
    p.dst[0] = (uint8_t)(dst >> 24), p.dst[1] = (uint8_t)(dst >> 16);
    p.dst[2] = (uint8_t)(dst >> 8), p.dst[3] = (uint8_t)dst;
    p.src_port = sport;
    p.dst_port = dport;
    return p;
}

/* The reverse direction of p. */
static struct tw_packet reverse(const struct tw_packet *p)
{
    struct tw_packet r = *p;

    memcpy(r.src, p->dst, 16);
    memcpy(r.dst, p->src, 16);
    r.src_port = p->dst_port;
    r.dst_port = p->src_port;
    return r;
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* Key and hash of a packet. */
static uint32_t key_of(const struct tw_packet *p, struct tw_flow_key *k, int *from_a)
{
    int dummy;
    tw_flow_key_make(p, k, from_a ? from_a : &dummy);
    return tw_flow_key_hash(k);
}

/* Flow n of a family of distinct UDP flows 10.0.x.y:(1000+n) -> 192.0.2.1:53. */
static uint32_t key_n(unsigned n, struct tw_flow_key *k)
{
    struct tw_packet p = pkt4(IP(10, 0, (n >> 8) & 0xff, n & 0xff), (uint16_t)(1000 + n),
                              IP(192, 0, 2, 1), 53, 17);
    return key_of(&p, k, NULL);
}

static struct tw_flow *insert_n(struct tw_flow_table *t, unsigned n, uint64_t t_us)
{
    struct tw_flow_key k;
    uint32_t h = key_n(n, &k);
    struct tw_flow *f = tw_flow_table_insert(t, &k, h);

    assert_non_null(f);
    f->first_us = f->last_us = t_us;
    return f;
}

static struct tw_flow *find_n(struct tw_flow_table *t, unsigned n)
{
    struct tw_flow_key k;
    uint32_t h = key_n(n, &k);
    return tw_flow_table_find(t, &k, h);
}

/* ---- keys ----------------------------------------------------------------------------- */

static void test_key_symmetric(void **state)
{
    (void)state;
    /* TCP 10.0.0.1:40000 -> 10.0.0.2:443, and the answer */
    struct tw_packet c2s = pkt4(IP(10, 0, 0, 1), 40000, IP(10, 0, 0, 2), 443, 6);
    struct tw_packet s2c = reverse(&c2s);
    struct tw_flow_key k1, k2;
    int a1, a2;
    uint32_t h1 = key_of(&c2s, &k1, &a1), h2 = key_of(&s2c, &k2, &a2);

    assert_memory_equal(&k1, &k2, sizeof(k1));
    assert_int_equal(h1, h2);
    assert_int_not_equal(a1, a2);
    assert_int_equal(a1, 1); /* 10.0.0.1 sorts first */
    assert_int_equal(k1.port_a, 40000);
    assert_int_equal(k1.port_b, 443);
    assert_int_equal(k1.ip_proto, 6);
    assert_int_equal(k1.ip_version, 4);

    /* same address both ends (loopback): the ports decide, still symmetric */
    struct tw_packet lo = pkt4(IP(127, 0, 0, 1), 5000, IP(127, 0, 0, 1), 80, 6);
    struct tw_packet lo_r = reverse(&lo);
    h1 = key_of(&lo, &k1, &a1);
    h2 = key_of(&lo_r, &k2, &a2);
    assert_memory_equal(&k1, &k2, sizeof(k1));
    assert_int_equal(h1, h2);
    assert_int_not_equal(a1, a2);
    assert_int_equal(k1.port_a, 80);

    /* IPv6 [2001:db8::2]:53 -> [2001:db8::1]:5353 */
    struct tw_packet v6;
    memset(&v6, 0, sizeof(v6));
    v6.ip_version = 6;
    v6.ip_proto = 17;
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    memcpy(v6.src, a6, 16);
    memcpy(v6.dst, b6, 16);
    v6.src_port = 53;
    v6.dst_port = 5353;
    struct tw_packet v6r = reverse(&v6);
    h1 = key_of(&v6, &k1, &a1);
    h2 = key_of(&v6r, &k2, &a2);
    assert_memory_equal(&k1, &k2, sizeof(k1));
    assert_int_equal(h1, h2);
    assert_int_equal(a1, 0); /* ::2 sorts after ::1 */
    assert_int_equal(a2, 1);
}

static void test_key_differences(void **state)
{
    (void)state;
    struct tw_packet p4 = pkt4(IP(10, 0, 0, 1), 1234, IP(10, 0, 0, 2), 80, 6);
    struct tw_flow_key k4, k6, kv, kp, ku;

    uint32_t h4 = key_of(&p4, &k4, NULL);

    /* the same 16 address bytes as IPv6 (an IPv4 address is the first 4 bytes) */
    struct tw_packet p6 = p4;
    p6.ip_version = 6;
    uint32_t h6 = key_of(&p6, &k6, NULL);
    assert_memory_not_equal(&k4, &k6, sizeof(k4));
    assert_int_not_equal(h4, h6);

    /* the same flow on VLAN 10 */
    struct tw_packet pv = p4;
    pv.vlan = 10;
    uint32_t hv = key_of(&pv, &kv, NULL);
    assert_int_equal(kv.vlan, 10);
    assert_memory_not_equal(&k4, &kv, sizeof(k4));
    assert_int_not_equal(h4, hv);

    /* another port, another protocol */
    struct tw_packet pp = p4;
    pp.src_port = 1235;
    uint32_t hp = key_of(&pp, &kp, NULL);
    assert_int_not_equal(h4, hp);
    struct tw_packet pu = p4;
    pu.ip_proto = 17;
    uint32_t hu = key_of(&pu, &ku, NULL);
    assert_int_not_equal(h4, hu);

    /* they are different flows in one table */
    struct tw_flow_table *t = tw_flow_table_create(8);
    assert_non_null(t);
    struct tw_flow *f4 = tw_flow_table_insert(t, &k4, h4);
    struct tw_flow *f6 = tw_flow_table_insert(t, &k6, h6);
    struct tw_flow *fv = tw_flow_table_insert(t, &kv, hv);
    assert_true(f4 && f6 && fv && f4 != f6 && f4 != fv && f6 != fv);
    assert_ptr_equal(tw_flow_table_find(t, &k4, h4), f4);
    assert_ptr_equal(tw_flow_table_find(t, &k6, h6), f6);
    assert_ptr_equal(tw_flow_table_find(t, &kv, hv), fv);
    assert_null(tw_flow_table_find(t, &kp, hp));
    tw_flow_table_free(t);
}

/* The tunnel in the key: two VNIs or ERSPAN sessions are two flows, both directions of one
 * flow share the key; ids that differ per direction (GTP-U TEIDs, GRE keys) are not keyed. */
static void test_key_tunnels(void **state)
{
    (void)state;
    struct tw_packet p = pkt4(IP(10, 0, 0, 1), 1234, IP(10, 0, 0, 2), 80, 6);
    struct tw_flow_key k0, ka, kb, kr, kg1, kg2;
    int from_a;

    uint32_t h0 = key_of(&p, &k0, NULL);
    p.tunnel = TW_TUNNEL_VXLAN;
    p.tunnel_id = 5001;
    uint32_t ha = key_of(&p, &ka, NULL);
    struct tw_packet r = reverse(&p);
    uint32_t hr = key_of(&r, &kr, &from_a);
    p.tunnel_id = 5002;
    uint32_t hb = key_of(&p, &kb, NULL);
    assert_int_equal(ka.tunnel_id, 5001);
    assert_int_equal(ka.tunnel, TW_TUNNEL_VXLAN);
    assert_memory_equal(&ka, &kr, sizeof(ka));
    assert_int_equal(ha, hr);
    assert_memory_not_equal(&ka, &kb, sizeof(ka));
    assert_int_not_equal(ha, hb);
    assert_int_not_equal(h0, ha);

    /* GTP-U: the TEID of each direction differs, the flow is one */
    p.tunnel = TW_TUNNEL_GTPU;
    p.tunnel_id = 0x1111;
    key_of(&p, &kg1, NULL);
    r = reverse(&p);
    r.tunnel_id = 0x2222;
    key_of(&r, &kg2, NULL);
    assert_int_equal(kg1.tunnel_id, 0);
    assert_memory_equal(&kg1, &kg2, sizeof(kg1));

    /* flow ids: outside tunnels as before the tunnel fields existed (the 40 first bytes) */
    struct tw_flow f;
    memset(&f, 0, sizeof(f));
    f.key = k0;
    f.first_us = 1;
    uint64_t id0 = tw_flow_id(&f);
    f.key = ka;
    assert_int_not_equal(tw_flow_id(&f), id0);
}

/* ---- table ---------------------------------------------------------------------------- */

static void test_create_bad(void **state)
{
    (void)state;
    errno = 0;
    assert_null(tw_flow_table_create(0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(tw_flow_table_create(TW_FLOW_NONE));
    assert_int_equal(errno, EINVAL);
    tw_flow_table_free(NULL); /* allowed */
}

static void test_insert_find_remove(void **state)
{
    (void)state;
    struct tw_flow_table *t = tw_flow_table_create(16);
    struct tw_packet p = pkt4(IP(10, 0, 0, 1), 40000, IP(10, 0, 0, 2), 443, 6);
    struct tw_packet r = reverse(&p);
    struct tw_flow_key k, kr;
    uint32_t h = key_of(&p, &k, NULL), hr = key_of(&r, &kr, NULL);

    assert_non_null(t);
    assert_int_equal(tw_flow_table_capacity(t), 16);
    assert_int_equal(tw_flow_table_count(t), 0);
    assert_null(tw_flow_table_find(t, &k, h));
    assert_null(tw_flow_table_oldest(t));

    struct tw_flow *f = tw_flow_table_insert(t, &k, h);
    assert_non_null(f);
    assert_int_equal(f->state, TW_FLOW_ACTIVE);
    assert_memory_equal(&f->key, &k, sizeof(k));
    assert_int_equal(f->c2s_packets + f->s2c_packets + f->c2s_bytes + f->s2c_bytes, 0);
    assert_null(f->dpi);
    assert_int_equal(tw_flow_table_count(t), 1);
    /* found from either direction */
    assert_ptr_equal(tw_flow_table_find(t, &k, h), f);
    assert_ptr_equal(tw_flow_table_find(t, &kr, hr), f);
    assert_ptr_equal(tw_flow_table_oldest(t), f);

    tw_flow_table_remove(t, f);
    assert_int_equal(tw_flow_table_count(t), 0);
    assert_null(tw_flow_table_find(t, &k, h));
    assert_null(tw_flow_table_oldest(t));
    assert_null(tw_flow_table_next_expired(t, UINT64_MAX, 0, 0));
    tw_flow_table_free(t);
}

static void test_capacity(void **state)
{
    (void)state;
    /* 5 is not a power of two: the bucket array rounds up, the capacity does not */
    struct tw_flow_table *t = tw_flow_table_create(5);
    struct tw_flow_key k;
    uint32_t h;

    assert_non_null(t);
    for (unsigned i = 0; i < 5; i++)
        insert_n(t, i, i);
    assert_int_equal(tw_flow_table_count(t), 5);
    h = key_n(5, &k);
    assert_null(tw_flow_table_insert(t, &k, h));
    assert_null(tw_flow_table_insert(t, &k, h));
    assert_int_equal(tw_flow_table_count(t), 5);
    for (unsigned i = 0; i < 5; i++)
        assert_non_null(find_n(t, i));
    assert_null(find_n(t, 5));

    /* room again after a removal */
    tw_flow_table_remove(t, find_n(t, 2));
    assert_non_null(tw_flow_table_insert(t, &k, h));
    assert_null(tw_flow_table_insert(t, &k, key_n(6, &k)));
    tw_flow_table_free(t);

    /* capacity 1 */
    t = tw_flow_table_create(1);
    assert_non_null(t);
    insert_n(t, 0, 0);
    h = key_n(1, &k);
    assert_null(tw_flow_table_insert(t, &k, h));
    tw_flow_table_free(t);
}

static void test_oldest_and_touch(void **state)
{
    (void)state;
    struct tw_flow_table *t = tw_flow_table_create(8);
    struct tw_flow *f[4];

    assert_non_null(t);
    for (unsigned i = 0; i < 4; i++)
        f[i] = insert_n(t, i, i * S);
    assert_ptr_equal(tw_flow_table_oldest(t), f[0]);

    /* touching the oldest makes the next one oldest */
    tw_flow_table_touch(t, f[0]);
    assert_ptr_equal(tw_flow_table_oldest(t), f[1]);
    /* touching the newest changes nothing; touching a middle one moves it to the end */
    tw_flow_table_touch(t, f[0]);
    assert_ptr_equal(tw_flow_table_oldest(t), f[1]);
    tw_flow_table_touch(t, f[2]);
    assert_ptr_equal(tw_flow_table_oldest(t), f[1]);
    /* order now: 1, 3, 0, 2 */
    static const unsigned order[] = {1, 3, 0, 2};
    for (unsigned i = 0; i < 4; i++) {
        assert_ptr_equal(tw_flow_table_oldest(t), f[order[i]]);
        tw_flow_table_remove(t, f[order[i]]);
    }
    assert_null(tw_flow_table_oldest(t));
    tw_flow_table_free(t);
}

static void test_set_closing(void **state)
{
    (void)state;
    struct tw_flow_table *t = tw_flow_table_create(8);
    struct tw_flow *f[3];

    assert_non_null(t);
    for (unsigned i = 0; i < 3; i++)
        f[i] = insert_n(t, i, i * S);

    tw_flow_table_set_closing(t, f[0]);
    assert_int_equal(f[0]->state, TW_FLOW_CLOSING);
    /* the active list no longer holds it: the oldest active flow is f[1] */
    assert_ptr_equal(tw_flow_table_oldest(t), f[1]);
    tw_flow_table_set_closing(t, f[0]); /* again: no change */
    assert_int_equal(f[0]->state, TW_FLOW_CLOSING);
    assert_int_equal(tw_flow_table_count(t), 3);
    assert_ptr_equal(tw_flow_table_find(t, &f[0]->key, tw_flow_key_hash(&f[0]->key)), f[0]);

    /* touch keeps a closing flow in the closing list */
    tw_flow_table_set_closing(t, f[2]);
    tw_flow_table_touch(t, f[0]);
    assert_int_equal(f[0]->state, TW_FLOW_CLOSING);

    /* with the active list empty, the oldest closing flow is the victim: f[2], then f[0] */
    tw_flow_table_remove(t, f[1]);
    assert_ptr_equal(tw_flow_table_oldest(t), f[2]);
    tw_flow_table_remove(t, f[2]);
    assert_ptr_equal(tw_flow_table_oldest(t), f[0]);
    tw_flow_table_remove(t, f[0]);
    assert_null(tw_flow_table_oldest(t));
    assert_int_equal(tw_flow_table_count(t), 0);
    tw_flow_table_free(t);
}

static void test_expiry(void **state)
{
    (void)state;
    const uint64_t idle = 30 * S, close = 5 * S;
    struct tw_flow_table *t = tw_flow_table_create(16);
    struct tw_flow *f[4];

    assert_non_null(t);
    /* flows last seen at 100 s, 101 s, 102 s, 103 s; f[1] and f[3] are closing */
    for (unsigned i = 0; i < 4; i++) {
        f[i] = insert_n(t, i, (100 + i) * S);
    }
    tw_flow_table_set_closing(t, f[1]);
    tw_flow_table_set_closing(t, f[3]);

    /* the rule itself: strictly more than the timeout */
    assert_false(tw_flow_expired(f[0], 130 * S, idle, close));
    assert_true(tw_flow_expired(f[0], 130 * S + 1, idle, close));
    assert_false(tw_flow_expired(f[1], 106 * S, idle, close));
    assert_true(tw_flow_expired(f[1], 106 * S + 1, idle, close));
    assert_false(tw_flow_expired(f[0], 50 * S, idle, close)); /* time before last_us */

    /* nothing yet at 105 s */
    assert_null(tw_flow_table_next_expired(t, 105 * S, idle, close));
    /* at 107 s: the closing f[1] (close timeout), not the active f[0] (idle timeout) */
    assert_ptr_equal(tw_flow_table_next_expired(t, 107 * S, idle, close), f[1]);
    tw_flow_table_remove(t, f[1]);
    assert_null(tw_flow_table_next_expired(t, 107 * S, idle, close));
    /* at 109 s: f[3] closing */
    assert_ptr_equal(tw_flow_table_next_expired(t, 109 * S, idle, close), f[3]);
    tw_flow_table_remove(t, f[3]);

    /* at 200 s every active flow is idle: they come oldest first */
    assert_ptr_equal(tw_flow_table_next_expired(t, 200 * S, idle, close), f[0]);
    tw_flow_table_remove(t, f[0]);
    assert_ptr_equal(tw_flow_table_next_expired(t, 200 * S, idle, close), f[2]);
    tw_flow_table_remove(t, f[2]);
    assert_null(tw_flow_table_next_expired(t, 200 * S, idle, close));
    tw_flow_table_free(t);
}

static void test_expiry_order_after_touch(void **state)
{
    (void)state;
    const uint64_t idle = 10 * S;
    struct tw_flow_table *t = tw_flow_table_create(64);
    struct tw_flow *f[40];

    assert_non_null(t);
    for (unsigned i = 0; i < 40; i++)
        f[i] = insert_n(t, i, i * S);
    /* every even flow sees a packet at 50 s, in descending order */
    for (int i = 38; i >= 0; i -= 2) {
        f[i]->last_us = 50 * S + (uint64_t)(38 - i);
        tw_flow_table_touch(t, f[i]);
    }
    /* at 55 s: the odd flows (last seen 1..39 s) expire, oldest first, then nothing */
    for (unsigned i = 1; i < 40; i += 2) {
        struct tw_flow *x = tw_flow_table_next_expired(t, 55 * S, idle, idle);
        assert_ptr_equal(x, f[i]);
        tw_flow_table_remove(t, x);
    }
    assert_null(tw_flow_table_next_expired(t, 55 * S, idle, idle));
    /* at 100 s the even ones, in the order they were touched: 38, 36, ..., 0 */
    for (int i = 38; i >= 0; i -= 2) {
        struct tw_flow *x = tw_flow_table_next_expired(t, 100 * S, idle, idle);
        assert_ptr_equal(x, f[i]);
        tw_flow_table_remove(t, x);
    }
    assert_int_equal(tw_flow_table_count(t), 0);
    tw_flow_table_free(t);
}

/* Checks that exactly the flows chosen[i] with present[i] set are found, with their keys. */
static void check_present(struct tw_flow_table *t, const unsigned *chosen, const int *present,
                          unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct tw_flow *x = find_n(t, chosen[i]);
        if (!present[i]) {
            assert_null(x);
            continue;
        }
        assert_non_null(x);
        struct tw_flow_key k;
        key_n(chosen[i], &k);
        assert_memory_equal(&x->key, &k, sizeof(k));
    }
}

/* Picks n flow numbers whose hashes fall in the first `buckets` buckets of a table of
 * `nb` buckets, so that they chain. */
static void pick_colliding(unsigned *chosen, unsigned n, uint32_t nb, uint32_t buckets)
{
    struct tw_flow_key k;
    unsigned got = 0;

    for (unsigned i = 0; got < n && i < 1000000; i++)
        if ((key_n(i, &k) & (nb - 1)) < buckets)
            chosen[got++] = i;
    assert_int_equal(got, n);
}

/* Removing from the head, middle and tail of a bucket chain leaves every other flow
 * findable. Flows are picked so that their hashes collide. */
static void test_collisions(void **state)
{
    (void)state;
    unsigned chosen[64];
    int present[64];

    /* capacity 8 (8 buckets), all 8 flows in bucket 0: one chain of 8. New entries go to
     * the chain head, so flow 7 is the head and flow 0 the tail. */
    static const unsigned orders[][8] = {
        {3, 4, 0, 7, 1, 6, 2, 5}, /* middle, middle, tail, head, ... */
        {7, 6, 5, 4, 3, 2, 1, 0}, /* always the head */
        {0, 1, 2, 3, 4, 5, 6, 7}, /* always the tail */
    };
    pick_colliding(chosen, 8, 8, 1);
    for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
        struct tw_flow_table *t = tw_flow_table_create(8);
        assert_non_null(t);
        for (unsigned i = 0; i < 8; i++) {
            insert_n(t, chosen[i], i);
            present[i] = 1;
        }
        check_present(t, chosen, present, 8);
        for (unsigned r = 0; r < 8; r++) {
            tw_flow_table_remove(t, find_n(t, chosen[orders[o][r]]));
            present[orders[o][r]] = 0;
            check_present(t, chosen, present, 8);
            /* a flow inserted into the damaged chain is found too */
            if (r == 3) {
                insert_n(t, chosen[orders[o][0]], 0);
                present[orders[o][0]] = 1;
                check_present(t, chosen, present, 8);
                tw_flow_table_remove(t, find_n(t, chosen[orders[o][0]]));
                present[orders[o][0]] = 0;
            }
        }
        assert_int_equal(tw_flow_table_count(t), 0);
        tw_flow_table_free(t);
    }

    /* capacity 64 with every flow in buckets 0 and 1: two chains of about 32 */
    struct tw_flow_table *t = tw_flow_table_create(64);
    assert_non_null(t);
    pick_colliding(chosen, 64, 64, 2);
    for (unsigned i = 0; i < 64; i++) {
        insert_n(t, chosen[i], i);
        present[i] = 1;
    }
    static const unsigned gone[] = {63, 0, 31, 32, 17, 62, 1, 40, 41, 42, 5};
    for (size_t g = 0; g < sizeof(gone) / sizeof(gone[0]); g++) {
        struct tw_flow *f = find_n(t, chosen[gone[g]]);
        assert_non_null(f);
        tw_flow_table_remove(t, f);
        present[gone[g]] = 0;
        check_present(t, chosen, present, 64);
    }
    assert_int_equal(tw_flow_table_count(t), 64 - 11);
    tw_flow_table_free(t);
}

/* A small table (7 flows, 8 buckets) under churn: random inserts and removes of 20 keys,
 * checked against a model. */
static void test_churn(void **state)
{
    (void)state;
    enum { CAP = 7, KEYS = 20 };
    struct tw_flow_table *t = tw_flow_table_create(CAP);
    int in[KEYS] = {0};
    unsigned count = 0;
    uint64_t x = 12345;

    assert_non_null(t);
    for (unsigned step = 0; step < 20000; step++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned n = (unsigned)(x >> 33) % KEYS;
        struct tw_flow *f = find_n(t, n);
        assert_int_equal(f != NULL, in[n]);
        if (f) {
            tw_flow_table_remove(t, f);
            in[n] = 0;
            count--;
        } else {
            struct tw_flow_key k;
            uint32_t h = key_n(n, &k);
            f = tw_flow_table_insert(t, &k, h);
            if (count == CAP) {
                assert_null(f);
            } else {
                assert_non_null(f);
                in[n] = 1;
                count++;
            }
        }
        assert_int_equal(tw_flow_table_count(t), count);
    }
    tw_flow_table_free(t);
}

static void test_reuse(void **state)
{
    (void)state;
    struct tw_flow_table *t = tw_flow_table_create(3);
    struct tw_flow *f0, *f1, *f2, *g;

    assert_non_null(t);
    f0 = insert_n(t, 0, 0);
    f1 = insert_n(t, 1, 0);
    f2 = insert_n(t, 2, 0);
    f1->c2s_packets = 99;
    f1->server_name[0] = 'x';
    tw_flow_table_set_closing(t, f1);

    /* a freed entry is handed out again, reset */
    tw_flow_table_remove(t, f1);
    g = insert_n(t, 3, 5 * S);
    assert_ptr_equal(g, f1);
    assert_int_equal(g->c2s_packets, 0);
    assert_int_equal(g->server_name[0], 0);
    assert_int_equal(g->state, TW_FLOW_ACTIVE);
    assert_null(find_n(t, 1));
    assert_ptr_equal(find_n(t, 3), g);
    /* the reused entry is the newest */
    tw_flow_table_remove(t, f0);
    assert_ptr_equal(tw_flow_table_oldest(t), f2);

    /* empty it and refill: every entry comes back, no more */
    tw_flow_table_remove(t, f2);
    tw_flow_table_remove(t, g);
    assert_int_equal(tw_flow_table_count(t), 0);
    struct tw_flow *h[3];
    for (unsigned i = 0; i < 3; i++)
        h[i] = insert_n(t, 10 + i, 0);
    assert_true(h[0] != h[1] && h[1] != h[2] && h[0] != h[2]);
    for (unsigned i = 0; i < 3; i++)
        assert_true(h[i] == f0 || h[i] == f1 || h[i] == f2);
    struct tw_flow_key k;
    assert_null(tw_flow_table_insert(t, &k, key_n(20, &k)));
    tw_flow_table_free(t);
}

static void test_flow_id(void **state)
{
    (void)state;
    struct tw_flow_table *t = tw_flow_table_create(4);
    struct tw_flow *f;
    uint64_t id1, id2, id3, id4;

    assert_non_null(t);
    f = insert_n(t, 0, 1000 * S);
    f->client_is_a = 1;
    id1 = tw_flow_id(f);
    assert_int_equal(tw_flow_id(f), id1); /* stable */
    /* counters and timestamps after the first do not change it */
    f->c2s_packets = 10;
    f->last_us = 2000 * S;
    assert_int_equal(tw_flow_id(f), id1);

    /* the same flow created again at the same time (a replay) has the same id */
    tw_flow_table_remove(t, f);
    f = insert_n(t, 0, 1000 * S);
    f->client_is_a = 1;
    assert_int_equal(tw_flow_id(f), id1);

    /* the same key, a different first packet time: another id */
    f->first_us = 1000 * S + 1;
    id2 = tw_flow_id(f);
    assert_int_not_equal(id1, id2);
    /* the other end as client: another id */
    f->first_us = 1000 * S;
    f->client_is_a = 0;
    id3 = tw_flow_id(f);
    assert_int_not_equal(id1, id3);
    /* another key at the same time */
    struct tw_flow *g = insert_n(t, 1, 1000 * S);
    g->client_is_a = 1;
    id4 = tw_flow_id(g);
    assert_int_not_equal(id1, id4);
    tw_flow_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_symmetric),
        cmocka_unit_test(test_key_differences),
        cmocka_unit_test(test_key_tunnels),
        cmocka_unit_test(test_create_bad),
        cmocka_unit_test(test_insert_find_remove),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_oldest_and_touch),
        cmocka_unit_test(test_set_closing),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_expiry_order_after_touch),
        cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_flow_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
