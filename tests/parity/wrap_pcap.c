/* wrap_pcap.c - rewrites a capture as a mirror would deliver it: every frame inside ERSPAN
 * type II or VXLAN, from a switch 192.0.2.1 to a sensor 192.0.2.2 (tests/parity/wrapped.py).
 *
 *   wrap_pcap erspan2|vxlan IN OUT     IN: pcap or pcapng; OUT: classic pcap, Ethernet
 *
 * Ethernet frames are carried as they are; raw IP, Linux cooked (v1, v2) and loopback frames
 * get a synthetic Ethernet header first (their ethertype, made-up addresses). Other link types
 * are refused (exit 3), so the caller counts the capture apart. The frame's captured and wire
 * lengths both grow by the same headers, so a snapped frame stays snapped and the inner frame
 * keeps its wire length:
 *
 *   Ethernet | IPv4 (proto 47) | GRE S=1 0x88be | ERSPAN II (ver 1, session 33) | frame
 *   Ethernet | IPv4 (proto 17) | UDP 49152 -> 4789 | VXLAN (I, VNI 4242)         | frame
 *
 * Written in C because it rewrites every capture of the nDPI corpus twice per parity run; libpcap
 * reads both file formats. Exit 0, 1 on a read or write error (said on stderr), 2 usage, 3 link
 * type not wrapped.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define OUTER_MAX (14 + 20 + 8 + 8 + 8)
#define FRAME_MAX (262144 + OUTER_MAX + 14)

static uint8_t buf[FRAME_MAX];

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The ethertype and the length of the link header of a non-Ethernet frame; 0 when refused. */
static uint16_t link_ethertype(int dlt, const uint8_t *f, uint32_t caplen, uint32_t *hdr)
{
    uint32_t af;

    switch (dlt) {
    case DLT_RAW: case 101: case 14: case 228: case 229: /* raw IP by its version nibble */
        *hdr = 0;
        if (dlt == 228)
            return 0x0800;
        if (dlt == 229)
            return 0x86dd;
        return caplen && (f[0] >> 4) == 6 ? 0x86dd : 0x0800;
    case DLT_LINUX_SLL:
        *hdr = 16;
        return caplen >= 16 ? (uint16_t)(f[14] << 8 | f[15]) : 0x0800;
    case 276: /* DLT_LINUX_SLL2 */
        *hdr = 20;
        return caplen >= 2 ? (uint16_t)(f[0] << 8 | f[1]) : 0x0800;
    case DLT_NULL: case DLT_LOOP:
        *hdr = 4;
        if (caplen < 4)
            return 0x0800;
        memcpy(&af, f, 4);
        if (dlt == DLT_LOOP)
            af = ntohl(af);
        if (af > 0xffff)
            af = __builtin_bswap32(af);
        return af == 2 ? 0x0800 : 0x86dd;
    default:
        return 0;
    }
}

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    int vxlan, rc;
    uint32_t seq = 0;

    if (argc != 4 || (strcmp(argv[1], "erspan2") != 0 && strcmp(argv[1], "vxlan") != 0)) {
        fprintf(stderr, "usage: wrap_pcap erspan2|vxlan IN OUT\n");
        return 2;
    }
    vxlan = argv[1][0] == 'v';
    pcap_t *in = pcap_open_offline(argv[2], err);
    if (!in) {
        fprintf(stderr, "wrap_pcap: %s\n", err);
        return 1;
    }
    int dlt = pcap_datalink(in);
    uint32_t dummy;
    if (dlt != DLT_EN10MB && !link_ethertype(dlt, (const uint8_t *)"", 0, &dummy)) {
        fprintf(stderr, "wrap_pcap: %s: link type %d not wrapped\n", argv[2], dlt);
        pcap_close(in);
        return 3;
    }
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, FRAME_MAX,
                                                        pcap_get_tstamp_precision(in));
    pcap_dumper_t *out = dead ? pcap_dump_open(dead, argv[3]) : NULL;
    if (!out) {
        fprintf(stderr, "wrap_pcap: %s: %s\n", argv[3], dead ? pcap_geterr(dead) : "no memory");
        return 1;
    }

    static const uint8_t eth_outer[14] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00};
    static const uint8_t eth_inner[12] = {0x02, 0, 0, 0, 0, 0x20, 0x02, 0, 0, 0, 0, 0x10};
    uint32_t olen = 14 + 20 + 8 + 8; /* Ethernet, IPv4, GRE with sequence or UDP, ERSPAN or VXLAN */

    while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
        uint32_t caplen = h->caplen, wire = h->len > h->caplen ? h->len : h->caplen, n = olen;
        if (caplen > 262144)
            caplen = 262144;
        if (dlt == DLT_EN10MB) {
            memcpy(buf + n, data, caplen);
            n += caplen;
        } else {
            uint32_t hdr;
            uint16_t et = link_ethertype(dlt, data, caplen, &hdr);
            if (hdr > caplen)
                hdr = caplen;
            memcpy(buf + n, eth_inner, 12);
            put16(buf + n + 12, et);
            memcpy(buf + n + 14, data + hdr, caplen - hdr);
            n += 14 + caplen - hdr;
            caplen += 14 - hdr;
            wire += 14 - hdr;
        }
        /* outer headers, lengths as on the wire (the whole inner frame) */
        uint32_t ip_total = 20 + 8 + 8 + wire;
        uint8_t *p = buf;
        memcpy(p, eth_outer, 14);
        p += 14;
        memset(p, 0, 20);
        p[0] = 0x45;
        put16(p + 2, (uint16_t)(ip_total > 0xffff ? 0xffff : ip_total));
        p[8] = 62;
        p[9] = vxlan ? 17 : 47;
        p[12] = 192, p[13] = 0, p[14] = 2, p[15] = 1;
        p[16] = 192, p[17] = 0, p[18] = 2, p[19] = 2;
        p += 20;
        if (vxlan) {
            put16(p, 49152);
            put16(p + 2, 4789);
            put16(p + 4, (uint16_t)(ip_total - 20 > 0xffff ? 0xffff : ip_total - 20));
            put16(p + 6, 0);
            p += 8;
            memset(p, 0, 8);
            p[0] = 0x08;
            p[4] = 0x00, p[5] = 0x10, p[6] = 0x92; /* VNI 4242 */
        } else {
            put16(p, 0x1000); /* S */
            put16(p + 2, 0x88be);
            p[4] = (uint8_t)(seq >> 24), p[5] = (uint8_t)(seq >> 16);
            p[6] = (uint8_t)(seq >> 8), p[7] = (uint8_t)seq;
            seq++;
            p += 8;
            memset(p, 0, 8);
            put16(p, 0x1000);     /* version 1, VLAN 0 */
            put16(p + 2, 33);     /* session 33 */
        }
        struct pcap_pkthdr oh = {.ts = h->ts, .caplen = n, .len = wire + olen};
        pcap_dump((u_char *)out, &oh, buf);
    }
    int bad = rc == PCAP_ERROR;
    if (bad) /* a cut capture ends early: the original run sees the same frames */
        fprintf(stderr, "wrap_pcap: %s: %s\n", argv[2], pcap_geterr(in));
    pcap_dump_close(out);
    pcap_close(dead);
    pcap_close(in);
    return 0;
}
