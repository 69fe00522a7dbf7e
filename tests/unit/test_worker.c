/* test_worker.c - the worker's flow logic end to end (dataplane/worker.c): frames go in
 * through tw_worker_packet, flow records come out of the event ring. No capture file and no
 * NIC: DPDK is only started (--no-huge, no PCI) for the ring. nDPI is the real library.
 *
 * Frames are Ethernet + IPv4 + UDP or TCP, built by the helpers below; IP and L4 checksums
 * are left at zero (neither the decoder nor nDPI checks them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/worker.h"

#define S 1000000ULL
#define T0 (1700000000ULL * S) /* an epoch time in microseconds */
#define RING_SIZE 1024
#define REC sizeof(struct tw_flow_record)

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define CLIENT IP(10, 0, 0, 2)
#define SERVER IP(10, 0, 0, 1) /* sorts before the client: the key's end a is the server */

static struct rte_ring *ring;

/* ---- frames --------------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Ethernet II (dst 00:11:22:33:44:55, src 66:77:88:99:aa:bb, type 0x0800) and a 20-byte
 * IPv4 header (TTL 64, no fragmentation) for l4_len bytes of protocol proto. Returns 34. */
static size_t eth_ip4(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t l4_len)
{
    static const uint8_t eth[14] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                    0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00};
    uint8_t *ip = f + 14;

    memcpy(f, eth, 14);
    memset(ip, 0, 20);
    ip[0] = 0x45;                              /* version 4, IHL 5 */
    put16(ip + 2, (uint16_t)(20 + l4_len));    /* total length */
    put16(ip + 4, 1);                          /* id */
    ip[8] = 64;                                /* TTL */
    ip[9] = proto;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    return 34;
}

/* Ethernet + IPv4 + UDP src:sport -> dst:dport carrying payload. Returns the frame length. */
static size_t udp_frame(uint8_t *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                        const uint8_t *payload, size_t plen)
{
    size_t off = eth_ip4(f, src, dst, 17, 8 + plen);
    put16(f + off, sport);
    put16(f + off + 2, dport);
    put16(f + off + 4, (uint16_t)(8 + plen)); /* UDP length */
    put16(f + off + 6, 0);                    /* checksum */
    if (plen)
        memcpy(f + off + 8, payload, plen);
    return off + 8 + plen;
}

/* Ethernet + IPv4 + TCP (20-byte header, the given flags) with plen bytes of 'x'. */
static size_t tcp_frame(uint8_t *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                        uint8_t flags, size_t plen)
{
    size_t off = eth_ip4(f, src, dst, 6, 20 + plen);
    uint8_t *t = f + off;

    memset(t, 0, 20);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, 1000); /* sequence */
    put32(t + 8, (flags & TW_TCP_ACK) ? 2000 : 0);
    t[12] = 0x50; /* data offset 5 */
    t[13] = flags;
    put16(t + 14, 65535); /* window */
    memset(t + 20, 'x', plen);
    return off + 20 + plen;
}

/* ---- worker and events ---------------------------------------------------------------- */

static struct tw_flow_record ev[4 * RING_SIZE];
static unsigned nev;
static uint64_t last_seq;

static void start(struct tw_worker *w, uint32_t capacity, uint64_t idle_us, uint64_t active_us,
                  uint64_t close_us, int evict)
{
    struct tw_worker_params p = {
        .capacity = capacity,
        .idle_us = idle_us,
        .active_us = active_us,
        .close_us = close_us,
        .evict_when_full = evict,
        .lossless = 0,
        .burst = 32,
    };
    struct tw_flow_record junk;

    while (rte_ring_sc_dequeue_elem(ring, &junk, REC) == 0) /* left by a failed test */
        ;
    assert_int_equal(tw_worker_prepare(w, 3, &p), 0);
    w->events = ring;
    nev = 0;
    last_seq = 0;
}

/* Moves every queued event into ev[] (appending) and checks what holds for every record.
 * Returns the number of events taken. */
static unsigned drain(void)
{
    unsigned got = 0, n;

    while ((n = rte_ring_sc_dequeue_burst_elem(ring, ev + nev, REC,
                                               (unsigned)(sizeof(ev) / REC) - nev, NULL)) > 0) {
        for (unsigned i = nev; i < nev + n; i++) {
            const struct tw_flow_record *r = &ev[i];
            assert_true(r->last_seen_us >= r->first_seen_us);
            assert_true(r->seq > last_seq); /* in order, none lost */
            assert_int_equal(r->seq, last_seq + 1);
            last_seq = r->seq;
            assert_int_equal(r->worker, 3);
            assert_true(r->event >= TW_EVENT_CLASSIFIED && r->event <= TW_EVENT_END);
            assert_true((r->event == TW_EVENT_END) == (r->end_reason != TW_END_NONE));
            assert_int_equal(r->server_name[sizeof(r->server_name) - 1], 0);
            assert_int_equal(r->app[sizeof(r->app) - 1], 0);
        }
        nev += n;
        got += n;
        assert_true(nev < sizeof(ev) / REC);
    }
    return got;
}

/* The idx-th event of the given kind (and end reason, for END), or NULL. */
static const struct tw_flow_record *nth_event(unsigned kind, unsigned reason, unsigned idx)
{
    for (unsigned i = 0; i < nev; i++)
        if (ev[i].event == kind && (kind != TW_EVENT_END || ev[i].end_reason == reason))
            if (idx-- == 0)
                return &ev[i];
    return NULL;
}

static unsigned count_events(unsigned kind, unsigned reason)
{
    unsigned n = 0;
    while (nth_event(kind, reason, n))
        n++;
    return n;
}

static uint64_t ended(const struct tw_worker *w)
{
    return w->counters.v[TW_C_FLOWS_END_IDLE] + w->counters.v[TW_C_FLOWS_END_TCP_CLOSE] +
           w->counters.v[TW_C_FLOWS_END_EVICTED] + w->counters.v[TW_C_FLOWS_END_EOF] +
           w->counters.v[TW_C_FLOWS_END_SHUTDOWN];
}

/* received = parsed + drops; created = ended + in the table. */
static void check_accounting(const struct tw_worker *w)
{
    uint64_t drops = 0;

    for (unsigned i = 0; i < TW_C__COUNT; i++)
        if (tw_counter_is_drop(i))
            drops += w->counters.v[i];
    assert_int_equal(w->counters.v[TW_C_RECEIVED], w->counters.v[TW_C_PARSED] + drops);
    assert_int_equal(w->counters.v[TW_C_FLOWS_CREATED],
                     ended(w) + tw_flow_table_count(w->flows));
    assert_int_equal(w->counters.v[TW_C_EVENTS_RING_DROPPED], 0);
}

static void finish(struct tw_worker *w)
{
    check_accounting(w);
    tw_worker_fini(w);
}

/* One UDP packet of flow n (10.1.x.y:(2000+n) -> 192.0.2.1:9999), 10 payload bytes. */
static void send_udp_n(struct tw_worker *w, unsigned n, uint64_t ts)
{
    static const uint8_t payload[10] = "0123456789";
    uint8_t f[128];
    size_t len = udp_frame(f, IP(10, 1, (n >> 8) & 0xff, n & 0xff), (uint16_t)(2000 + n),
                           IP(192, 0, 2, 1), 9999, payload, sizeof(payload));
    tw_worker_packet(w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, ts);
}

static void send_tcp(struct tw_worker *w, int from_client, uint8_t flags, size_t plen,
                     uint64_t ts)
{
    uint8_t f[256];
    size_t len = from_client ? tcp_frame(f, CLIENT, 40000, SERVER, 8080, flags, plen)
                             : tcp_frame(f, SERVER, 8080, CLIENT, 40000, flags, plen);
    tw_worker_packet(w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, ts);
}

/* ---- group setup ---------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    char *argv[] = {"test", "--no-huge", "-m", "64", "--no-pci", "--no-shconf",
                    "--log-level", "*:error", "-l", "0"};
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));

    if (rte_eal_init(argc, argv) < 0) {
        fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
        return -1;
    }
    ring = rte_ring_create_elem("tw_test_events", REC, RING_SIZE, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ring) {
        fprintf(stderr, "rte_ring_create_elem: %s\n", rte_strerror(rte_errno));
        rte_eal_cleanup();
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    rte_ring_free(ring);
    ring = NULL;
    rte_eal_cleanup();
    return 0;
}

/* ---- tests ---------------------------------------------------------------------------- */

/* Tunnels: a VXLAN flow counts the inner Ethernet frame's bytes and names its VNI; a GTP-U
 * connection whose two directions carry different TEIDs stays one flow (carrying IP, it counts
 * the frame as received) and keeps the first packet's TEID. */
static void test_tunnel_bytes(void **state)
{
    (void)state;
    struct tw_worker w;
    uint8_t inner[128], payload[192], f[256];
    size_t ilen, len;

    start(&w, 64, 60 * S, 0, 10 * S, 1);
    tw_parse_settings_default(&w.p.parse);
    static const uint8_t vxlan[8] = {0x08, 0, 0, 0, 0x00, 0x13, 0x89, 0}; /* I, VNI 5001 */
    memcpy(payload, vxlan, 8);
    ilen = tcp_frame(inner, CLIENT, 40000, SERVER, 80, TW_TCP_SYN, 0);
    memcpy(payload + 8, inner, ilen);
    len = udp_frame(f, 0xc0000201, 49152, 0xc0000202, 4789, payload, 8 + ilen);
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0);
    ilen = tcp_frame(inner, SERVER, 80, CLIENT, 40000, TW_TCP_SYN | TW_TCP_ACK, 6);
    memcpy(payload + 8, inner, ilen);
    len = udp_frame(f, 0xc0000201, 49152, 0xc0000202, 4789, payload, 8 + ilen);
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0 + 1000);

    /* GTP-U G-PDU, TEID 0x100 one way and 0x200 the other, carrying IPv4 + UDP */
    static const uint8_t gtp[8] = {0x30, 0xff, 0, 0, 0, 0, 0x01, 0x00};
    size_t glen[2];
    for (int dir = 0; dir < 2; dir++) {
        memcpy(payload, gtp, 8);
        payload[6] = dir ? 0x02 : 0x01;
        uint8_t dns[4] = {1, 2, 3, 4};
        ilen = udp_frame(inner, dir ? SERVER : CLIENT, dir ? 53 : 5353, dir ? CLIENT : SERVER,
                         dir ? 5353 : 53, dns, sizeof(dns));
        memcpy(payload + 8, inner + 14, ilen - 14); /* the IP packet */
        len = udp_frame(f, 0xc0000201, 2152, 0xc0000202, 2152, payload, 8 + ilen - 14);
        glen[dir] = len;
        tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0 + 2000 + dir);
    }
    assert_int_equal(tw_flow_table_count(w.flows), 2);
    tw_worker_flush(&w, TW_END_EOF);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_EOF), 2);
    for (unsigned i = 0; i < 2; i++) {
        const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_EOF, i);
        if (r->ip_proto == 6) {
            assert_int_equal(r->tunnel, TW_TUNNEL_VXLAN);
            assert_int_equal(r->tunnel_id, 5001);
            assert_int_equal(r->c2s_bytes, 54);      /* the inner frame: 14 + 20 + 20 */
            assert_int_equal(r->s2c_bytes, 54 + 6);
        } else {
            assert_int_equal(r->tunnel, TW_TUNNEL_GTPU);
            assert_int_equal(r->tunnel_id, 0x100);   /* the first packet's TEID */
            assert_int_equal(r->c2s_packets, 1);
            assert_int_equal(r->s2c_packets, 1);
            assert_int_equal(r->c2s_bytes, glen[0]); /* the frame as received */
            assert_int_equal(r->s2c_bytes, glen[1]);
        }
    }
    finish(&w);
}

/* The record's src_mac is the client's (the first packet's sender's) source MAC, taken from
 * its first frame: not the server's, not a later frame's; inside VXLAN the inner frame's; none
 * behind a tunnel carrying IP (GTP-U). */
static void test_client_mac(void **state)
{
    (void)state;
    struct tw_worker w;
    uint8_t inner[128], payload[192], f[256];
    size_t ilen, len;
    static const uint8_t client_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    static const uint8_t server_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
    static const uint8_t later_mac[6] = {0x02, 0, 0, 0, 0, 0x03};
    static const uint8_t inner_mac[6] = {0x02, 0, 0, 0, 0, 0x04};

    start(&w, 64, 60 * S, 0, 10 * S, 1);
    tw_parse_settings_default(&w.p.parse);
    /* plain: client 10.0.0.2 (first sender), server answers, client again from another MAC */
    len = tcp_frame(f, CLIENT, 40000, SERVER, 80, TW_TCP_SYN, 0);
    memcpy(f + 6, client_mac, 6);
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0);
    len = tcp_frame(f, SERVER, 80, CLIENT, 40000, TW_TCP_SYN | TW_TCP_ACK, 0);
    memcpy(f + 6, server_mac, 6);
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0 + 1000);
    len = tcp_frame(f, CLIENT, 40000, SERVER, 80, TW_TCP_ACK, 0);
    memcpy(f + 6, later_mac, 6);
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0 + 2000);

    /* VXLAN: the outer frame's MAC is the VTEP's, the inner one the client's */
    static const uint8_t vxlan[8] = {0x08, 0, 0, 0, 0x00, 0x13, 0x89, 0}; /* I, VNI 5001 */
    memcpy(payload, vxlan, 8);
    ilen = tcp_frame(inner, CLIENT, 40001, SERVER, 443, TW_TCP_SYN, 0);
    memcpy(inner + 6, inner_mac, 6);
    memcpy(payload + 8, inner, ilen);
    len = udp_frame(f, 0xc0000201, 49152, 0xc0000202, 4789, payload, 8 + ilen);
    memcpy(f + 6, server_mac, 6);
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0 + 3000);

    /* GTP-U G-PDU carrying IPv4 + UDP: no Ethernet header of the client's */
    static const uint8_t gtp[8] = {0x30, 0xff, 0, 0, 0, 0, 0x01, 0x00};
    uint8_t dns[4] = {1, 2, 3, 4};
    memcpy(payload, gtp, 8);
    ilen = udp_frame(inner, CLIENT, 5353, SERVER, 53, dns, sizeof(dns));
    memcpy(payload + 8, inner + 14, ilen - 14);
    len = udp_frame(f, 0xc0000201, 2152, 0xc0000202, 2152, payload, 8 + ilen - 14);
    memcpy(f + 6, client_mac, 6);
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0 + 4000);

    tw_worker_flush(&w, TW_END_EOF);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_EOF), 3);
    for (unsigned i = 0; i < 3; i++) {
        const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_EOF, i);
        if (r->dst_port == 80) {
            assert_int_equal(r->has_src_mac, 1);
            assert_memory_equal(r->src_mac, client_mac, 6);
        } else if (r->dst_port == 443) {
            assert_int_equal(r->tunnel, TW_TUNNEL_VXLAN);
            assert_int_equal(r->has_src_mac, 1);
            assert_memory_equal(r->src_mac, inner_mac, 6);
        } else {
            assert_int_equal(r->tunnel, TW_TUNNEL_GTPU);
            assert_int_equal(r->has_src_mac, 0);
            static const uint8_t zero[6];
            assert_memory_equal(r->src_mac, zero, 6);
        }
    }
    finish(&w);
}

static void test_both_directions(void **state)
{
    (void)state;
    struct tw_worker w;
    uint8_t f[256];
    size_t len;

    start(&w, 64, 60 * S, 0, 10 * S, 1);
    /* client 10.0.0.2:40000 -> server 10.0.0.1:8080; wire lengths differ from the capture
     * (snapped frames) to show that bytes count the wire length */
    len = tcp_frame(f, CLIENT, 40000, SERVER, 8080, TW_TCP_SYN, 0);
    tw_worker_packet(&w, f, (uint32_t)len, 100, TW_LINK_ETHERNET, T0);
    len = tcp_frame(f, SERVER, 8080, CLIENT, 40000, TW_TCP_SYN | TW_TCP_ACK, 0);
    tw_worker_packet(&w, f, (uint32_t)len, 200, TW_LINK_ETHERNET, T0 + 1000);
    len = tcp_frame(f, CLIENT, 40000, SERVER, 8080, TW_TCP_ACK, 0);
    tw_worker_packet(&w, f, (uint32_t)len, 300, TW_LINK_ETHERNET, T0 + 2000);
    len = tcp_frame(f, CLIENT, 40000, SERVER, 8080, TW_TCP_ACK | TW_TCP_PSH, 10);
    tw_worker_packet(&w, f, (uint32_t)len, 400, TW_LINK_ETHERNET, T0 + 3000);
    len = tcp_frame(f, SERVER, 8080, CLIENT, 40000, TW_TCP_ACK, 0);
    tw_worker_packet(&w, f, (uint32_t)len, 500, TW_LINK_ETHERNET, T0 + 4000);

    assert_int_equal(tw_flow_table_count(w.flows), 1);
    assert_int_equal(w.counters.v[TW_C_FLOWS_CREATED], 1);
    assert_int_equal(w.counters.v[TW_C_PARSED], 5);
    tw_worker_flush(&w, TW_END_EOF);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_EOF), 1);
    const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_EOF, 0);

    static const uint8_t client[16] = {10, 0, 0, 2}, server[16] = {10, 0, 0, 1};
    assert_memory_equal(r->src_ip, client, 16); /* the first sender, though it sorts last */
    assert_memory_equal(r->dst_ip, server, 16);
    assert_int_equal(r->src_port, 40000);
    assert_int_equal(r->dst_port, 8080);
    assert_int_equal(r->c2s_packets, 3);
    assert_int_equal(r->c2s_bytes, 100 + 300 + 400);
    assert_int_equal(r->s2c_packets, 2);
    assert_int_equal(r->s2c_bytes, 200 + 500);
    assert_int_equal(r->c2s_tcp_flags, TW_TCP_SYN | TW_TCP_ACK | TW_TCP_PSH);
    assert_int_equal(r->s2c_tcp_flags, TW_TCP_SYN | TW_TCP_ACK);
    assert_int_equal(r->first_seen_us, T0);
    assert_int_equal(r->last_seen_us, T0 + 4000);
    assert_int_equal(r->ip_version, 4);
    assert_int_equal(r->ip_proto, 6);
    assert_int_equal(r->vlan, 0);
    assert_int_equal(r->detection_done, 1);
    assert_int_not_equal(r->flow_id, 0);
    assert_int_equal(tw_flow_table_count(w.flows), 0);
    assert_int_equal(w.counters.v[TW_C_DPI_PACKETS], 0); /* snapped frames skip nDPI */
    finish(&w);
}

static void test_idle_split_by_packet(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 64, 10 * S, 0, 5 * S, 1);
    send_udp_n(&w, 1, T0);
    send_udp_n(&w, 1, T0 + 10 * S); /* exactly the idle timeout: same flow */
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_IDLE), 0);
    send_udp_n(&w, 1, T0 + 20 * S + 1); /* silent for more than 10 s: a new flow */
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_IDLE), 1);
    const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_IDLE, 0);
    assert_int_equal(r->c2s_packets, 2);
    assert_int_equal(r->s2c_packets, 0);
    assert_int_equal(r->first_seen_us, T0);
    assert_int_equal(r->last_seen_us, T0 + 10 * S);
    uint64_t first_id = r->flow_id;
    assert_int_equal(w.counters.v[TW_C_FLOWS_END_IDLE], 1);
    assert_int_equal(w.counters.v[TW_C_FLOWS_CREATED], 2);
    assert_int_equal(tw_flow_table_count(w.flows), 1);

    tw_worker_flush(&w, TW_END_EOF);
    drain();
    r = nth_event(TW_EVENT_END, TW_END_EOF, 0);
    assert_non_null(r);
    assert_int_equal(r->c2s_packets, 1);
    assert_int_equal(r->first_seen_us, T0 + 20 * S + 1);
    assert_int_not_equal(r->flow_id, first_id); /* same key, another first time */
    finish(&w);
}

static void test_idle_expire(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 64, 10 * S, 0, 5 * S, 1);
    send_udp_n(&w, 1, T0);
    send_udp_n(&w, 2, T0 + 5 * S);
    tw_worker_expire(&w);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_IDLE), 0);
    assert_int_equal(w.active_flows, 2);

    /* another flow moves time to 12 s: flow 1 (last seen 0 s) ends, flow 2 does not */
    send_udp_n(&w, 3, T0 + 12 * S);
    tw_worker_expire(&w);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_IDLE), 1);
    const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_IDLE, 0);
    assert_int_equal(r->src_port, 2001);
    assert_int_equal(r->last_seen_us, T0);
    assert_int_equal(w.active_flows, 2);

    /* at 30 s both remaining flows are idle: ended oldest first */
    send_udp_n(&w, 4, T0 + 30 * S);
    tw_worker_expire(&w);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_IDLE), 3);
    assert_int_equal(nth_event(TW_EVENT_END, TW_END_IDLE, 1)->src_port, 2002);
    assert_int_equal(nth_event(TW_EVENT_END, TW_END_IDLE, 2)->src_port, 2003);
    assert_int_equal(w.active_flows, 1);
    assert_int_equal(w.counters.v[TW_C_FLOWS_END_IDLE], 3);
    finish(&w);
}

static void test_active_timeout(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 64, 60 * S, 5 * S, 10 * S, 1);
    /* one packet a second for 12 s: updates at 5 s and 10 s */
    for (unsigned t = 0; t <= 12; t++)
        send_udp_n(&w, 1, T0 + t * S);
    drain();
    assert_int_equal(count_events(TW_EVENT_UPDATE, 0), 2);
    assert_int_equal(w.counters.v[TW_C_FLOW_UPDATES], 2);
    const struct tw_flow_record *u1 = nth_event(TW_EVENT_UPDATE, 0, 0);
    const struct tw_flow_record *u2 = nth_event(TW_EVENT_UPDATE, 0, 1);
    assert_int_equal(u1->end_reason, TW_END_NONE);
    assert_int_equal(u1->c2s_packets, 6);
    assert_int_equal(u1->last_seen_us, T0 + 5 * S);
    assert_int_equal(u2->c2s_packets, 11);
    assert_int_equal(u2->last_seen_us, T0 + 10 * S);
    assert_int_equal(u1->flow_id, u2->flow_id);
    assert_int_equal(u1->first_seen_us, T0);
    assert_int_equal(tw_flow_table_count(w.flows), 1); /* the flow goes on */

    tw_worker_flush(&w, TW_END_EOF);
    drain();
    const struct tw_flow_record *e = nth_event(TW_EVENT_END, TW_END_EOF, 0);
    assert_non_null(e);
    assert_int_equal(e->c2s_packets, 13);
    assert_int_equal(e->flow_id, u1->flow_id);
    finish(&w);
}

static void test_tcp_close(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 64, 60 * S, 0, 2 * S, 1);
    send_tcp(&w, 1, TW_TCP_SYN, 0, T0);
    send_tcp(&w, 0, TW_TCP_SYN | TW_TCP_ACK, 0, T0 + 1000);
    send_tcp(&w, 1, TW_TCP_ACK, 0, T0 + 2000);
    send_tcp(&w, 1, TW_TCP_FIN | TW_TCP_ACK, 0, T0 + 3000);
    /* FIN one way only: silence past the close timeout ends nothing */
    send_udp_n(&w, 1, T0 + 5 * S);
    tw_worker_expire(&w);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_TCP_CLOSE), 0);

    send_tcp(&w, 0, TW_TCP_FIN | TW_TCP_ACK, 0, T0 + 6 * S);
    send_tcp(&w, 1, TW_TCP_ACK, 0, T0 + 6 * S + 1000);
    /* closing now; within the close timeout nothing ends */
    send_udp_n(&w, 1, T0 + 7 * S);
    tw_worker_expire(&w);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_TCP_CLOSE), 0);
    /* 3 s of silence > close timeout 2 s (but < idle 60 s) */
    send_udp_n(&w, 1, T0 + 9 * S + 1001);
    tw_worker_expire(&w);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_TCP_CLOSE), 1);
    const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_TCP_CLOSE, 0);
    assert_int_equal(r->ip_proto, 6);
    assert_int_equal(r->c2s_packets, 4);
    assert_int_equal(r->s2c_packets, 2);
    assert_int_equal(r->c2s_tcp_flags, TW_TCP_SYN | TW_TCP_ACK | TW_TCP_FIN);
    assert_int_equal(r->s2c_tcp_flags, TW_TCP_SYN | TW_TCP_ACK | TW_TCP_FIN);
    assert_int_equal(r->last_seen_us, T0 + 6 * S + 1000);
    assert_int_equal(w.counters.v[TW_C_FLOWS_END_TCP_CLOSE], 1);
    /* the UDP flow is still there */
    assert_int_equal(tw_flow_table_count(w.flows), 1);
    finish(&w);
}

static void test_rst(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 64, 60 * S, 0, 2 * S, 1);
    send_tcp(&w, 1, TW_TCP_SYN, 0, T0);
    send_tcp(&w, 0, TW_TCP_RST | TW_TCP_ACK, 0, T0 + 1000);
    /* a late packet on the closing flow stays in it (not SYN) */
    send_tcp(&w, 1, TW_TCP_ACK, 0, T0 + 1 * S);
    assert_int_equal(w.counters.v[TW_C_FLOWS_CREATED], 1);
    send_udp_n(&w, 1, T0 + 2 * S);
    tw_worker_expire(&w);
    drain();
    for (unsigned i = 0; i < nev; i++) /* nothing ended yet */
        assert_int_not_equal(ev[i].event, TW_EVENT_END);
    assert_int_equal(w.counters.v[TW_C_FLOWS_END_TCP_CLOSE], 0);

    send_udp_n(&w, 1, T0 + 3 * S + 1);
    tw_worker_expire(&w);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_TCP_CLOSE), 1);
    const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_TCP_CLOSE, 0);
    assert_int_equal(r->s2c_tcp_flags, TW_TCP_RST | TW_TCP_ACK);
    assert_int_equal(r->c2s_packets, 2);
    assert_int_equal(r->s2c_packets, 1);

    /* a closing flow that sees a packet after the close timeout ends as tcp_close too */
    send_tcp(&w, 1, TW_TCP_SYN, 0, T0 + 10 * S);
    send_tcp(&w, 0, TW_TCP_RST, 0, T0 + 10 * S + 1);
    send_tcp(&w, 1, TW_TCP_ACK, 0, T0 + 13 * S);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_TCP_CLOSE), 2);
    assert_int_equal(nth_event(TW_EVENT_END, TW_END_TCP_CLOSE, 1)->c2s_packets, 1);
    finish(&w);
}

static void test_syn_on_closing_flow(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 64, 60 * S, 0, 30 * S, 1);
    send_tcp(&w, 1, TW_TCP_SYN, 0, T0);
    send_tcp(&w, 0, TW_TCP_SYN | TW_TCP_ACK, 0, T0 + 1);
    send_tcp(&w, 1, TW_TCP_FIN | TW_TCP_ACK, 0, T0 + 2);
    send_tcp(&w, 0, TW_TCP_FIN | TW_TCP_ACK, 0, T0 + 3);
    /* a retransmitted SYN/ACK does not start a connection */
    send_tcp(&w, 0, TW_TCP_SYN | TW_TCP_ACK, 0, T0 + 4);
    drain();
    assert_int_equal(w.counters.v[TW_C_FLOWS_CREATED], 1);
    assert_int_equal(count_events(TW_EVENT_END, TW_END_TCP_CLOSE), 0);

    /* the client reuses its port at once, well within the close timeout */
    send_tcp(&w, 1, TW_TCP_SYN, 0, T0 + 1 * S);
    drain();
    assert_int_equal(w.counters.v[TW_C_FLOWS_CREATED], 2);
    assert_int_equal(count_events(TW_EVENT_END, TW_END_TCP_CLOSE), 1);
    const struct tw_flow_record *old = nth_event(TW_EVENT_END, TW_END_TCP_CLOSE, 0);
    assert_int_equal(old->c2s_packets, 2);
    assert_int_equal(old->s2c_packets, 3);
    assert_int_equal(old->last_seen_us, T0 + 4);
    uint64_t old_id = old->flow_id;

    send_tcp(&w, 0, TW_TCP_SYN | TW_TCP_ACK, 0, T0 + 1 * S + 1);
    tw_worker_flush(&w, TW_END_EOF);
    drain();
    const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_EOF, 0);
    assert_non_null(r);
    assert_int_equal(r->first_seen_us, T0 + 1 * S);
    assert_int_equal(r->c2s_packets, 1);
    assert_int_equal(r->s2c_packets, 1);
    assert_int_equal(r->c2s_tcp_flags, TW_TCP_SYN);
    assert_int_equal(r->src_port, 40000);
    assert_int_not_equal(r->flow_id, old_id);
    finish(&w);
}

static void test_evict_when_full(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 4, 60 * S, 0, 10 * S, 1);
    for (unsigned n = 0; n < 4; n++)
        send_udp_n(&w, n, T0 + n * S);
    send_udp_n(&w, 0, T0 + 4 * S); /* flow 0 is now the most recent; flow 1 the oldest */
    drain();
    assert_int_equal(nev, 0);

    send_udp_n(&w, 4, T0 + 5 * S);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_EVICTED), 1);
    const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_EVICTED, 0);
    assert_int_equal(r->src_port, 2001);
    assert_int_equal(r->c2s_packets, 1);
    assert_int_equal(tw_flow_table_count(w.flows), 4);
    check_accounting(&w);

    /* many more flows: each new one evicts the oldest, in order */
    for (unsigned n = 5; n < 105; n++)
        send_udp_n(&w, n, T0 + n * S);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_EVICTED), 101);
    assert_int_equal(nth_event(TW_EVENT_END, TW_END_EVICTED, 1)->src_port, 2002);
    assert_int_equal(nth_event(TW_EVENT_END, TW_END_EVICTED, 2)->src_port, 2003);
    assert_int_equal(nth_event(TW_EVENT_END, TW_END_EVICTED, 3)->src_port, 2000);
    assert_int_equal(w.counters.v[TW_C_FLOWS_END_EVICTED], 101);
    assert_int_equal(w.counters.v[TW_C_FLOWS_CREATED], 105);
    assert_int_equal(w.counters.v[TW_C_DROP_FLOW_TABLE_FULL], 0);
    assert_int_equal(w.counters.v[TW_C_PARSED], 106);
    check_accounting(&w); /* created 105 = ended 101 + active 4 */
    finish(&w);
}

static void test_no_evict_when_full(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 2, 60 * S, 0, 10 * S, 0);
    send_udp_n(&w, 0, T0);
    send_udp_n(&w, 1, T0 + 1);
    send_udp_n(&w, 2, T0 + 2); /* no room: dropped */
    send_udp_n(&w, 3, T0 + 3); /* no room: dropped */
    send_udp_n(&w, 0, T0 + 4); /* known flows still count */
    drain();
    assert_int_equal(nev, 0);
    assert_int_equal(w.counters.v[TW_C_DROP_FLOW_TABLE_FULL], 2);
    assert_int_equal(w.counters.v[TW_C_FLOWS_CREATED], 2);
    assert_int_equal(w.counters.v[TW_C_RECEIVED], 5);
    assert_int_equal(w.counters.v[TW_C_PARSED], 3);
    check_accounting(&w);

    /* once a flow has ended there is room again */
    send_udp_n(&w, 1, T0 + 100 * S); /* idle: ends flow 1, and starts it anew */
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_IDLE), 1);
    assert_int_equal(w.counters.v[TW_C_DROP_FLOW_TABLE_FULL], 2);
    tw_worker_flush(&w, TW_END_EOF);
    drain();
    const struct tw_flow_record *r = nth_event(TW_EVENT_END, TW_END_EOF, 0);
    assert_int_equal(r->src_port, 2000);
    assert_int_equal(r->c2s_packets, 2);
    finish(&w);
}

static void test_flush(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 64, 60 * S, 0, 10 * S, 1);
    for (unsigned n = 0; n < 10; n++)
        send_udp_n(&w, n, T0 + n);
    send_tcp(&w, 1, TW_TCP_SYN, 0, T0 + 20);
    send_tcp(&w, 0, TW_TCP_RST, 0, T0 + 21); /* one flow in the closing list */
    tw_worker_expire(&w);
    assert_int_equal(w.active_flows, 11);
    tw_worker_flush(&w, TW_END_EOF);
    drain();
    /* every flow ends: the active ones by end of input, oldest first; then the closing
     * one, which ended by its close (worker.c: "a connection that already closed ended by
     * its close, whatever stops the run now") */
    assert_int_equal(count_events(TW_EVENT_END, TW_END_EOF), 10);
    assert_int_equal(count_events(TW_EVENT_END, TW_END_TCP_CLOSE), 1);
    assert_int_equal(nev, 11 + count_events(TW_EVENT_CLASSIFIED, 0));
    assert_int_equal(w.counters.v[TW_C_FLOWS_END_EOF], 10);
    assert_int_equal(w.counters.v[TW_C_FLOWS_END_TCP_CLOSE], 1);
    assert_int_equal(tw_flow_table_count(w.flows), 0);
    assert_int_equal(w.active_flows, 0);
    for (unsigned n = 0; n < 10; n++)
        assert_int_equal(nth_event(TW_EVENT_END, TW_END_EOF, n)->src_port, 2000 + n);
    assert_int_equal(nth_event(TW_EVENT_END, TW_END_TCP_CLOSE, 0)->ip_proto, 6);
    assert_ptr_equal(nth_event(TW_EVENT_END, TW_END_TCP_CLOSE, 0), &ev[nev - 1]);
    /* every flow says detection is over */
    for (unsigned i = 0; i < nev; i++)
        assert_int_equal(ev[i].detection_done, 1);
    check_accounting(&w);

    /* a second flush has nothing to do; shutdown counts apart */
    tw_worker_flush(&w, TW_END_EOF);
    assert_int_equal(drain(), 0);
    send_udp_n(&w, 1, T0 + 100);
    tw_worker_flush(&w, TW_END_SHUTDOWN);
    drain();
    assert_int_equal(count_events(TW_EVENT_END, TW_END_SHUTDOWN), 1);
    assert_int_equal(w.counters.v[TW_C_FLOWS_END_SHUTDOWN], 1);
    finish(&w);
}

static void test_ts_backwards(void **state)
{
    (void)state;
    struct tw_worker w;

    start(&w, 64, 60 * S, 0, 10 * S, 1);
    send_udp_n(&w, 1, T0 + 10 * S);
    send_udp_n(&w, 1, T0 + 5 * S);  /* back 5 s */
    send_udp_n(&w, 2, T0 + 3 * S);  /* back again, and a new flow */
    send_udp_n(&w, 1, T0 + 12 * S);
    send_udp_n(&w, 2, T0 + 11 * S); /* back 1 s */
    assert_int_equal(w.counters.v[TW_C_TS_BACKWARDS], 3);
    assert_int_equal(w.now_us, T0 + 12 * S);
    tw_worker_flush(&w, TW_END_EOF);
    drain(); /* checks last_seen >= first_seen on every record */
    assert_int_equal(count_events(TW_EVENT_END, TW_END_EOF), 2);
    const struct tw_flow_record *f1 = nth_event(TW_EVENT_END, TW_END_EOF, 0);
    const struct tw_flow_record *f2 = nth_event(TW_EVENT_END, TW_END_EOF, 1);
    if (f1->src_port != 2001) {
        const struct tw_flow_record *x = f1;
        f1 = f2;
        f2 = x;
    }
    assert_int_equal(f1->first_seen_us, T0 + 10 * S);
    assert_int_equal(f1->last_seen_us, T0 + 12 * S);
    assert_int_equal(f1->c2s_packets, 3);
    /* flow 2 started "at 3 s", taken as the latest time seen, 10 s */
    assert_int_equal(f2->first_seen_us, T0 + 10 * S);
    assert_int_equal(f2->last_seen_us, T0 + 12 * S);
    assert_int_equal(w.counters.v[TW_C_PARSED], 5);
    finish(&w);
}

static void test_accounting_mixed(void **state)
{
    (void)state;
    struct tw_worker w;
    uint8_t f[256];
    size_t len;

    start(&w, 4, 60 * S, 0, 10 * S, 0);
    uint64_t ts = T0;

    /* good: UDP and TCP */
    send_udp_n(&w, 1, ts++);
    send_tcp(&w, 1, TW_TCP_SYN, 0, ts++);
    /* 10 bytes: shorter than Ethernet */
    len = udp_frame(f, CLIENT, 1, SERVER, 2, NULL, 0);
    tw_worker_packet(&w, f, 10, 10, TW_LINK_ETHERNET, ts++);
    /* ARP (ethertype 0x0806): not IP */
    f[12] = 0x08, f[13] = 0x06;
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, ts++);
    /* IHL 3 */
    len = udp_frame(f, CLIENT, 1, SERVER, 2, NULL, 0);
    f[14] = 0x43;
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, ts++);
    /* IPv4 header cut (caplen 30) */
    len = udp_frame(f, CLIENT, 1, SERVER, 2, NULL, 0);
    tw_worker_packet(&w, f, 30, 30, TW_LINK_ETHERNET, ts++);
    /* IP total length beyond the frame */
    f[16] = 0x05;
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, ts++);
    /* non-first fragment */
    len = udp_frame(f, CLIENT, 1, SERVER, 2, NULL, 0);
    f[14 + 7] = 0x10;
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, ts++);
    /* first fragment: counted as parsed, and as a first fragment */
    len = udp_frame(f, CLIENT, 1, SERVER, 2, NULL, 0);
    f[14 + 6] = 0x20;
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, ts++);
    /* TCP data offset 2 */
    len = tcp_frame(f, CLIENT, 1, SERVER, 2, TW_TCP_ACK, 0);
    f[34 + 12] = 0x20;
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, ts++);
    /* an unsupported link type */
    len = udp_frame(f, CLIENT, 1, SERVER, 2, NULL, 0);
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, 147, ts++);
    /* the same frame as raw IP (linktype 101), after the Ethernet header: good */
    tw_worker_packet(&w, f + 14, (uint32_t)len - 14, (uint32_t)len - 14, TW_LINK_RAW, ts++);
    /* two more flows: the table (capacity 4) is full for the second */
    send_udp_n(&w, 2, ts++);
    send_udp_n(&w, 3, ts++);
    /* a zero-length frame */
    tw_worker_packet(&w, f, 0, 0, TW_LINK_ETHERNET, ts++);

    assert_int_equal(w.counters.v[TW_C_RECEIVED], 15);
    assert_int_equal(w.counters.v[TW_C_PARSED], 5);
    assert_int_equal(w.counters.v[TW_C_DROP_TOO_SHORT], 2);
    assert_int_equal(w.counters.v[TW_C_DROP_NOT_IP], 2);
    assert_int_equal(w.counters.v[TW_C_DROP_IP_BAD_HEADER_LEN], 1);
    assert_int_equal(w.counters.v[TW_C_DROP_IP_TRUNCATED], 1);
    assert_int_equal(w.counters.v[TW_C_DROP_IP_BAD_TOTAL_LEN], 1);
    assert_int_equal(w.counters.v[TW_C_DROP_IP_FRAGMENT], 1);
    assert_int_equal(w.counters.v[TW_C_DROP_TCP_BAD_OFFSET], 1);
    assert_int_equal(w.counters.v[TW_C_DROP_FLOW_TABLE_FULL], 1);
    assert_int_equal(w.counters.v[TW_C_IPV4_FIRST_FRAGMENT], 1);
    check_accounting(&w);
    tw_worker_flush(&w, TW_END_EOF);
    drain();
    check_accounting(&w);
    finish(&w);
}

/* DNS query: id 0x1a2b, RD, one question www.example.com A IN. */
static const uint8_t DNS_QUERY[] = {
    0x1a, 0x2b, 0x01, 0x00, /* id, flags: standard query, recursion desired */
    0x00, 0x01, 0x00, 0x00, /* 1 question, 0 answers */
    0x00, 0x00, 0x00, 0x00, /* 0 authority, 0 additional */
    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
    0x00, 0x01, 0x00, 0x01, /* type A, class IN */
};
/* DNS response: same id, QR RD RA, the question, one answer www.example.com A 93.184.216.34
 * TTL 3600 (name as a pointer to offset 12). */
static const uint8_t DNS_RESPONSE[] = {
    0x1a, 0x2b, 0x81, 0x80, /* id, flags: response, RD, RA, no error */
    0x00, 0x01, 0x00, 0x01, /* 1 question, 1 answer */
    0x00, 0x00, 0x00, 0x00,
    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
    0x00, 0x01, 0x00, 0x01,
    0xc0, 0x0c,             /* name: pointer to the question */
    0x00, 0x01, 0x00, 0x01, /* type A, class IN */
    0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */
    0x00, 0x04, 93, 184, 216, 34,
};

static void test_dns_classified(void **state)
{
    (void)state;
    struct tw_worker w;
    uint8_t f[256];
    size_t len;

    start(&w, 64, 60 * S, 0, 10 * S, 1);
    /* 10.0.0.2:33333 -> 192.0.2.53:53 and back (a documentation address: a resolver nDPI
     * knows by address, such as 8.8.8.8, would print as "DNS.Google") */
    len = udp_frame(f, CLIENT, 33333, IP(192, 0, 2, 53), 53, DNS_QUERY, sizeof(DNS_QUERY));
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0);
    len = udp_frame(f, IP(192, 0, 2, 53), 53, CLIENT, 33333, DNS_RESPONSE, sizeof(DNS_RESPONSE));
    tw_worker_packet(&w, f, (uint32_t)len, (uint32_t)len, TW_LINK_ETHERNET, T0 + 20000);
    drain();
    assert_int_equal(w.counters.v[TW_C_DPI_PACKETS], 2);
    assert_int_equal(count_events(TW_EVENT_CLASSIFIED, 0), 1);
    const struct tw_flow_record *c = nth_event(TW_EVENT_CLASSIFIED, 0, 0);
    assert_string_equal(c->app, "DNS");
    assert_string_equal(c->server_name, "www.example.com");
    assert_int_equal(c->detection_done, 1);
    assert_int_equal(c->dst_port, 53);
    assert_int_equal(w.counters.v[TW_C_FLOWS_CLASSIFIED], 1);

    tw_worker_flush(&w, TW_END_EOF);
    drain();
    const struct tw_flow_record *e = nth_event(TW_EVENT_END, TW_END_EOF, 0);
    assert_non_null(e);
    assert_string_equal(e->app, "DNS");
    assert_string_equal(e->server_name, "www.example.com");
    assert_int_equal(e->c2s_packets, 1);
    assert_int_equal(e->s2c_packets, 1);
    assert_int_equal(e->c2s_bytes, 42 + sizeof(DNS_QUERY));
    assert_int_equal(e->s2c_bytes, 42 + sizeof(DNS_RESPONSE));
    assert_int_equal(e->flow_id, c->flow_id);
    assert_int_equal(tw_classify_in_use(w.dpi), 0); /* the nDPI state went back */
    finish(&w);
}

/* struct tw_worker is declared 64-byte aligned (its counters sit on their own cache lines);
 * calloc gives 16. Every array tw_worker_alloc returns, of any length, starts on a line. */
static void test_alloc_aligned(void **state)
{
    struct tw_worker *keep[16];

    (void)state;
    for (unsigned i = 0; i < 16; i++) {
        keep[i] = tw_worker_alloc(i % 4 + 1);
        assert_non_null(keep[i]);
        assert_int_equal((uintptr_t)keep[i] % 64, 0);
        assert_int_equal((uintptr_t)&keep[i][i % 4].counters % 64, 0);
        assert_int_equal(keep[i][i % 4].done, 0); /* zeroed */
    }
    for (unsigned i = 0; i < 16; i++)
        tw_worker_free(keep[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_directions),
        cmocka_unit_test(test_client_mac),
        cmocka_unit_test(test_idle_split_by_packet),
        cmocka_unit_test(test_idle_expire),
        cmocka_unit_test(test_active_timeout),
        cmocka_unit_test(test_tcp_close),
        cmocka_unit_test(test_rst),
        cmocka_unit_test(test_syn_on_closing_flow),
        cmocka_unit_test(test_evict_when_full),
        cmocka_unit_test(test_no_evict_when_full),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_ts_backwards),
        cmocka_unit_test(test_accounting_mixed),
        cmocka_unit_test(test_tunnel_bytes),
        cmocka_unit_test(test_dns_classified),
        cmocka_unit_test(test_alloc_aligned),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
