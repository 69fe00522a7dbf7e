/* parse.c - L2 to L4 decoding (see parse.h). Every read is preceded by a length check
 * against the captured length; nothing here trusts a length field from the frame. */
#include "parse.h"

#include <stdio.h>
#include <string.h>

#include "counters.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_VLAN 0x8100
#define ETH_P_QINQ 0x88a8
#define ETH_P_QINQ_OLD 0x9100
#define ETH_P_MPLS_UC 0x8847
#define ETH_P_MPLS_MC 0x8848
#define ETH_P_PPPOE_SESSION 0x8864
#define ETH_P_TEB 0x6558        /* transparent Ethernet bridging: an Ethernet frame follows */
#define ETH_P_ERSPAN2 0x88be
#define ETH_P_ERSPAN3 0x22eb
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define MAX_GTPU_EXT 16
#define NOT_TUNNEL (-1)          /* the packet stays a flow of the outer protocol */
#define MAX_MPLS_LABELS 16
#define MAX_IPV6_EXT 16

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | be24(p + 1);
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int tw_linktype_supported(int linktype)
{
    switch (linktype) {
    case TW_LINK_NULL: case TW_LINK_ETHERNET: case TW_LINK_PPP: case TW_LINK_RAW:
    case TW_LINK_C_HDLC: case TW_LINK_LOOP: case TW_LINK_LINUX_SLL: case TW_LINK_IPV4:
    case TW_LINK_IPV6: case TW_LINK_LINUX_SLL2: case TW_LINK_RAW_ALT: case TW_LINK_RAW_ALT2:
        return 1;
    default:
        return 0;
    }
}

const char *tw_linktype_name(int linktype, char *buf, unsigned len)
{
    static const struct { int type; const char *name; } names[] = {
        {TW_LINK_NULL, "BSD loopback"}, {TW_LINK_ETHERNET, "Ethernet"},
        {TW_LINK_PPP, "PPP"}, {TW_LINK_RAW, "raw IP"}, {TW_LINK_C_HDLC, "Cisco HDLC"},
        {TW_LINK_LOOP, "OpenBSD loopback"}, {TW_LINK_LINUX_SLL, "Linux cooked v1"},
        {TW_LINK_IPV4, "raw IPv4"}, {TW_LINK_IPV6, "raw IPv6"},
        {TW_LINK_LINUX_SLL2, "Linux cooked v2"}, {TW_LINK_RAW_ALT, "raw IP"},
        {TW_LINK_RAW_ALT2, "raw IP"},
    };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].type == linktype) {
            snprintf(buf, len, "%s", names[i].name);
            return buf;
        }
    snprintf(buf, len, "LINKTYPE %d", linktype);
    return buf;
}

void tw_parse_settings_default(struct tw_parse_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->decap = TW_DECAP_ALL;
    s->vxlan_ports[0] = 4789;
    s->geneve_ports[0] = 6081;
    s->gtpu_port = TW_GTPU_PORT;
}

/* PPP protocol field, two bytes or compressed to one (RFC 1661 6.5: an odd first byte is
 * the whole field). Sets *used to its length; returns the ethertype, 0 when not IP. */
static uint16_t ppp_protocol(const uint8_t *p, uint32_t avail, uint32_t *used)
{
    uint16_t proto;

    if (avail >= 1 && (p[0] & 1)) {
        proto = p[0];
        *used = 1;
    } else if (avail >= 2) {
        proto = be16(p);
        *used = 2;
    } else {
        *used = 0;
        return 0;
    }
    return proto == PPP_IPV4 ? ETH_P_IPV4 : proto == PPP_IPV6 ? ETH_P_IPV6 : 0;
}

/* Counts one more tunnel opened; the first (outermost) names the flow's tunnel. Returns
 * TW_C_PARSED, or the drop when tunnels nest deeper than the IP nesting limit allows. */
static inline int enter_tunnel(struct tw_packet *pkt, unsigned *tunnels, unsigned kind,
                               uint32_t id)
{
    if (++*tunnels >= TW_MAX_IP_NESTING)
        return TW_C_DROP_TUNNEL_TOO_DEEP;
    if (!pkt->tunnel) {
        pkt->tunnel = (uint8_t)kind;
        pkt->tunnel_id = id;
    }
    return TW_C_PARSED;
}

/* Maps a raw-IP frame to an ethertype by the version nibble; 0 when neither. */
static uint16_t ethertype_of_ip(const uint8_t *p, uint32_t avail)
{
    if (avail < 1)
        return 0;
    return (p[0] >> 4) == 4 ? ETH_P_IPV4 : (p[0] >> 4) == 6 ? ETH_P_IPV6 : 0;
}

/* Address families used by loopback captures for IPv6 on the BSDs, macOS and Linux. */
static uint16_t ethertype_of_af(uint32_t af)
{
    if (af == 2)
        return ETH_P_IPV4;
    if (af == 10 || af == 24 || af == 28 || af == 30)
        return ETH_P_IPV6;
    return 0;
}

/* Decodes the link header: sets *off to the first byte after it, *type to the ethertype
 * that follows and *mac to the offset of the sender's MAC (left alone when the header has
 * none). Returns TW_C_PARSED or a drop counter.
 *
 *   Linux cooked v1: type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
 *   Linux cooked v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) type(1) addr len(1) addr(8)
 * The cooked address is the frame's source MAC (both directions) when ARPHRD is Ethernet. */
static int parse_link(const uint8_t *f, uint32_t caplen, int linktype, uint32_t *off,
                      uint16_t *type, uint32_t *mac)
{
    uint32_t af;

    switch (linktype) {
    case TW_LINK_ETHERNET:
        if (caplen < 14)
            return TW_C_DROP_TOO_SHORT;
        *type = be16(f + 12);
        *off = 14;
        *mac = 6;
        if (*type <= 1500) { /* 802.3 length: only LLC/SNAP carries an ethertype */
            if (caplen < 17)
                return TW_C_DROP_L2_TRUNCATED; /* LLC header cut */
            if (f[14] != 0xaa || f[15] != 0xaa || f[16] != 0x03)
                return TW_C_DROP_NOT_IP;
            if (caplen < 22)
                return TW_C_DROP_L2_TRUNCATED; /* SNAP header cut */
            *type = be16(f + 20);
            *off = 22;
        }
        return TW_C_PARSED;
    case TW_LINK_LINUX_SLL: /* 16 bytes, protocol in the last two */
        if (caplen < 16)
            return TW_C_DROP_TOO_SHORT;
        *type = be16(f + 14);
        *off = 16;
        if (be16(f + 2) == 1 && be16(f + 4) == 6)
            *mac = 6;
        return TW_C_PARSED;
    case TW_LINK_LINUX_SLL2: /* 20 bytes, protocol first */
        if (caplen < 20)
            return TW_C_DROP_TOO_SHORT;
        *type = be16(f);
        *off = 20;
        if (be16(f + 8) == 1 && f[11] == 6)
            *mac = 12;
        return TW_C_PARSED;
    case TW_LINK_NULL: /* address family in the writer's byte order */
    case TW_LINK_LOOP: /* address family in network order */
        if (caplen < 4)
            return TW_C_DROP_TOO_SHORT;
        af = linktype == TW_LINK_LOOP ? (uint32_t)be16(f + 2) | (uint32_t)be16(f) << 16 : le32(f);
        if (af > 0xffff) /* written on a host of the other byte order */
            af = __builtin_bswap32(af);
        *type = ethertype_of_af(af);
        *off = 4;
        return TW_C_PARSED;
    case TW_LINK_RAW: case TW_LINK_RAW_ALT: case TW_LINK_RAW_ALT2:
        *off = 0;
        *type = ethertype_of_ip(f, caplen);
        return caplen ? TW_C_PARSED : TW_C_DROP_TOO_SHORT;
    case TW_LINK_IPV4:
        *off = 0;
        *type = ETH_P_IPV4;
        return TW_C_PARSED;
    case TW_LINK_IPV6:
        *off = 0;
        *type = ETH_P_IPV6;
        return TW_C_PARSED;
    case TW_LINK_PPP: /* optional HDLC address/control, then a 16-bit protocol */
    case TW_LINK_C_HDLC: /* address, control, ethertype */
        if (caplen < 4)
            return TW_C_DROP_TOO_SHORT;
        if (linktype == TW_LINK_C_HDLC) {
            *type = be16(f + 2);
            *off = 4;
            return TW_C_PARSED;
        }
        *off = (f[0] == 0xff && f[1] == 0x03) ? 2 : 0;
        *type = ppp_protocol(f + *off, caplen - *off, &af);
        *off += af;
        return TW_C_PARSED;
    default:
        return TW_C_DROP_NOT_IP;
    }
}

/* Follows VLAN tags, MPLS labels and PPPoE to an IP ethertype, or to ETH_P_TEB when an
 * MPLS pseudowire carries an Ethernet frame at *off.
 *
 *   bottom label (S=1) ─> 0000 flags frg length sequence (control word, RFC 4385) ─> Ethernet
 *                     └─> 0100 ... IPv4 | 0110 ... IPv6
 */
static int parse_l2_shims(const uint8_t *f, uint32_t caplen, uint32_t *off, uint16_t *type,
                          const struct tw_parse_settings *s, unsigned *tunnels,
                          struct tw_packet *pkt)
{
    unsigned tags = 0, labels = 0;
    uint32_t label = 0, used;

    for (;;) {
        switch (*type) {
        case ETH_P_VLAN: case ETH_P_QINQ: case ETH_P_QINQ_OLD:
            if (++tags > TW_MAX_VLAN_TAGS)
                return TW_C_DROP_L2_TOO_DEEP;
            if (caplen < *off + 4)
                return TW_C_DROP_L2_TRUNCATED;
            pkt->vlan = be16(f + *off) & 0x0fff;
            *type = be16(f + *off + 2);
            *off += 4;
            break;
        case ETH_P_MPLS_UC: case ETH_P_MPLS_MC:
            for (;;) {
                if (++labels > MAX_MPLS_LABELS)
                    return TW_C_DROP_L2_TOO_DEEP;
                if (caplen < *off + 4)
                    return TW_C_DROP_L2_TRUNCATED;
                int bottom = f[*off + 2] & 1;
                label = be32(f + *off) >> 12;
                *off += 4;
                if (bottom)
                    break;
            }
            if (*off >= caplen) /* cut right after the label stack */
                return TW_C_DROP_IP_TRUNCATED;
            if ((f[*off] >> 4) == 0 && (s->decap & TW_DECAP_MPLS_PW)) {
                if (caplen < *off + 4)
                    return TW_C_DROP_TUNNEL_TRUNCATED; /* control word cut */
                int rc = enter_tunnel(pkt, tunnels, TW_TUNNEL_MPLS_PW, label);
                if (rc != TW_C_PARSED)
                    return rc;
                *off += 4;
                *type = ETH_P_TEB;
                return TW_C_PARSED;
            }
            *type = ethertype_of_ip(f + *off, caplen - *off);
            return *type ? TW_C_PARSED : TW_C_DROP_NOT_IP;
        case ETH_P_PPPOE_SESSION: /* ver/type, code, session, length, PPP protocol (1 or 2) */
            if (caplen < *off + 7)
                return TW_C_DROP_L2_TRUNCATED;
            *type = ppp_protocol(f + *off + 6, caplen - *off - 6, &used);
            if (!used)
                return TW_C_DROP_L2_TRUNCATED;
            *off += 6 + used;
            return *type ? TW_C_PARSED : TW_C_DROP_NOT_IP;
        case ETH_P_IPV4: case ETH_P_IPV6:
            return TW_C_PARSED;
        default:
            return TW_C_DROP_NOT_IP;
        }
    }
}

/* Keeps what reassembly needs of the outermost fragment met (see parse.h). */
static void note_fragment(struct tw_packet *pkt, const uint8_t *ip, const uint8_t *data,
                          uint32_t caplen, uint32_t len, uint32_t offset, int more, uint32_t id,
                          uint8_t proto)
{
    pkt->fragment = 1;
    pkt->frag_ip = ip;
    pkt->frag_data = data;
    pkt->frag_len = (uint16_t)len;
    pkt->frag_caplen = (uint16_t)(caplen < len ? caplen : len);
    pkt->frag_offset = (uint16_t)offset;
    pkt->frag_more = (uint8_t)(more != 0);
    pkt->frag_id = id;
    pkt->frag_proto = proto;
}

/* IPv6 extension headers: walks from the fixed header to the upper-layer protocol.
 * *proto is the next-header value on entry and the upper-layer protocol on return;
 * *l4off and *l4len advance past each header. */
static int skip_ipv6_ext(const uint8_t *ip, uint32_t cap, uint32_t *l4off, uint32_t *l4len,
                         uint8_t *proto, struct tw_packet *pkt)
{
    for (unsigned n = 0;; n++) {
        uint32_t hlen;

        switch (*proto) {
        case 0: case 43: case 60: case 135: case 139: case 140: /* options, routing, mobility, HIP, shim6 */
        case 51: /* AH: length in 4-byte units */
        case 44: /* fragment */
            break;
        default:
            return TW_C_PARSED;
        }
        if (n == MAX_IPV6_EXT) /* follows MAX_IPV6_EXT headers, refuses one more */
            return TW_C_DROP_IPV6_BAD_EXT;
        if (cap < *l4off + 8 || *l4len < 8)
            return TW_C_DROP_IPV6_BAD_EXT;
        const uint8_t *h = ip + *l4off;
        if (*proto == 44) {
            uint16_t fo = be16(h + 2);
            if ((fo & 0xfff9) && !pkt->fragment) /* not an atomic fragment (RFC 6946) */
                note_fragment(pkt, ip, h + 8, cap - (*l4off + 8), *l4len - 8, fo & 0xfff8,
                              fo & 1, ((uint32_t)be16(h + 4) << 16) | be16(h + 6), h[0]);
            if (fo >> 3)
                return TW_C_DROP_IP_FRAGMENT;
            pkt->first_fragment = fo & 1;
            hlen = 8;
        } else if (*proto == 51) {
            hlen = ((uint32_t)h[1] + 2) * 4;
        } else {
            hlen = ((uint32_t)h[1] + 1) * 8;
        }
        if (hlen > *l4len)
            return TW_C_DROP_IPV6_BAD_EXT;
        *proto = h[0];
        *l4off += hlen;
        *l4len -= hlen;
    }
}

/* What a tunnel header said: how long it is, what follows it, which tunnel it was. */
struct tunnel {
    uint32_t hlen;
    uint16_t type;   /* ETH_P_IPV4, ETH_P_IPV6 or ETH_P_TEB (an Ethernet frame) */
    uint8_t kind;    /* enum tw_tunnel_kind */
    uint32_t id;
};

/* GRE (RFC 2784, key and sequence number of RFC 2890) and ERSPAN inside it. h holds avail
 * bytes (captured and within the IP length).
 *
 *   |C|R|K|S| reserved0 |ver|  protocol type  |  [checksum | reserved1]  [key]  [sequence]
 *
 *   ERSPAN II  (0x88be, 8 bytes):  ver=1 | vlan | cos en t session(10) | reserved | index
 *   ERSPAN III (0x22eb, 12 bytes): ver=2 | vlan | cos bso t session(10) | timestamp |
 *                                  sgt(16) p ft(5) hw(6) d gra(2) o  [8-byte platform
 *                                  sub-header when o]; ft 0 = Ethernet frame
 * Returns TW_C_PARSED with *t filled, NOT_TUNNEL (routing, version 1 or an unknown payload:
 * the packet stays a GRE flow, as it was before decapsulation), or a drop. */
static int open_gre(const uint8_t *h, uint32_t avail, const struct tw_parse_settings *s,
                    struct tunnel *t)
{
    if (avail < 4)
        return TW_C_DROP_TUNNEL_TRUNCATED;
    uint16_t flags = be16(h), proto = be16(h + 2);
    if ((flags & 0x4000) || (flags & 7)) /* RFC 1701 source routing, PPTP's enhanced GRE */
        return NOT_TUNNEL;
    uint32_t hlen = 4 + ((flags & 0x8000) ? 4 : 0) + ((flags & 0x2000) ? 4 : 0) +
                    ((flags & 0x1000) ? 4 : 0);
    uint32_t key = (flags & 0x2000) ? hlen - ((flags & 0x1000) ? 8 : 4) : 0;

    switch (proto) {
    case ETH_P_IPV4: case ETH_P_IPV6: case ETH_P_TEB:
        if (!(s->decap & TW_DECAP_GRE))
            return NOT_TUNNEL;
        if (avail < hlen)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        t->hlen = hlen;
        t->type = proto;
        t->kind = TW_TUNNEL_GRE;
        t->id = key ? be32(h + key) : 0;
        return TW_C_PARSED;
    case ETH_P_ERSPAN2: case ETH_P_ERSPAN3:
        if (!(s->decap & TW_DECAP_ERSPAN))
            return NOT_TUNNEL;
        if (avail < hlen + 4)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        const uint8_t *e = h + hlen;
        if (proto == ETH_P_ERSPAN2) {
            if ((e[0] >> 4) != 1)
                return NOT_TUNNEL;
            hlen += 8;
            t->kind = TW_TUNNEL_ERSPAN2;
        } else {
            if ((e[0] >> 4) != 2)
                return NOT_TUNNEL;
            if (avail < hlen + 12)
                return TW_C_DROP_TUNNEL_TRUNCATED;
            if ((e[10] >> 2) & 0x1f) /* frame type: not an Ethernet frame */
                return NOT_TUNNEL;
            hlen += (e[11] & 1) ? 20 : 12;
            t->kind = TW_TUNNEL_ERSPAN3;
        }
        if (avail < hlen)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        t->hlen = hlen;
        t->type = ETH_P_TEB;
        t->id = be16(e + 2) & 0x3ff;
        return TW_C_PARSED;
    default:
        return NOT_TUNNEL;
    }
}

static inline int port_in(const uint16_t *set, uint16_t port)
{
    int hit = 0;
    for (unsigned i = 0; i < TW_DECAP_PORTS; i++)
        hit |= set[i] == port;
    return hit && port != 0;
}

/* The UDP tunnels, by destination port. h is the UDP payload, avail bytes of it.
 *
 *   VXLAN  (RFC 7348):  flags(I=0x08) reserved(24) | VNI(24) reserved(8) | Ethernet
 *   Geneve (RFC 8926):  ver(2) optlen(6) O C rsvd(6) protocol(16) | VNI(24) rsvd(8) |
 *                       options (optlen x 4 bytes) | Ethernet (0x6558) or IP
 *   GTP-U  (TS 29.281): ver=1 PT=1 E S PN | type 255 (G-PDU) | length | TEID |
 *                       [sequence(16) N-PDU(8) next(8)] [extension: len(x4) ... next]* | IP
 * Returns TW_C_PARSED with *t filled, NOT_TUNNEL (not this tunnel's header, or a GTP-U
 * message other than a G-PDU: the packet stays a UDP flow), or a drop. */
static int open_udp(const uint8_t *h, uint32_t avail, uint16_t dport,
                    const struct tw_parse_settings *s, struct tunnel *t)
{
    uint32_t hlen;

    if ((s->decap & TW_DECAP_VXLAN) && port_in(s->vxlan_ports, dport)) {
        if (avail < 8)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        if (!(h[0] & 0x08))
            return NOT_TUNNEL;
        t->hlen = 8;
        t->type = ETH_P_TEB;
        t->kind = TW_TUNNEL_VXLAN;
        t->id = be24(h + 4);
        return TW_C_PARSED;
    }
    if ((s->decap & TW_DECAP_GENEVE) && port_in(s->geneve_ports, dport)) {
        if (avail < 8)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        uint16_t proto = be16(h + 2);
        if ((h[0] >> 6) != 0 || (proto != ETH_P_TEB && proto != ETH_P_IPV4 && proto != ETH_P_IPV6))
            return NOT_TUNNEL;
        hlen = 8 + (uint32_t)(h[0] & 0x3f) * 4;
        if (avail < hlen)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        t->hlen = hlen;
        t->type = proto;
        t->kind = TW_TUNNEL_GENEVE;
        t->id = be24(h + 4);
        return TW_C_PARSED;
    }
    if ((s->decap & TW_DECAP_GTPU) && dport == s->gtpu_port) {
        if (avail < 8)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        if ((h[0] & 0xf0) != 0x30 || h[1] != 255) /* version 1, GTP (not GTP'), G-PDU */
            return NOT_TUNNEL;
        hlen = 8;
        if (h[0] & 0x07) { /* E, S or PN: the optional fields are all present */
            if (avail < 12)
                return TW_C_DROP_TUNNEL_TRUNCATED;
            uint8_t next = h[11];
            hlen = 12;
            for (unsigned n = 0; next; n++) {
                if (n == MAX_GTPU_EXT)
                    return TW_C_DROP_TUNNEL_BAD_HEADER;
                if (avail < hlen + 1)
                    return TW_C_DROP_TUNNEL_TRUNCATED;
                uint32_t elen = (uint32_t)h[hlen] * 4; /* with its length and next bytes */
                if (elen == 0)
                    return TW_C_DROP_TUNNEL_BAD_HEADER;
                if (avail < hlen + elen)
                    return TW_C_DROP_TUNNEL_TRUNCATED;
                next = h[hlen + elen - 1];
                hlen += elen;
            }
        }
        if (avail < hlen + 1)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        t->type = ethertype_of_ip(h + hlen, avail - hlen);
        if (!t->type)
            return NOT_TUNNEL;
        t->hlen = hlen;
        t->kind = TW_TUNNEL_GTPU;
        t->id = be32(h + 4);
        return TW_C_PARSED;
    }
    return NOT_TUNNEL;
}

/* An Ethernet frame a tunnel carried, at *off: it is the frame the monitored link saw, so
 * the bytes the flow counts start here, and its source MAC (*mac) is the sender's; its own
 * link header and shims follow. */
static int open_ethernet(const uint8_t *f, uint32_t caplen, uint32_t *off, uint16_t *type,
                         const struct tw_parse_settings *s, unsigned *tunnels,
                         struct tw_packet *pkt, uint32_t *mac)
{
    while (*type == ETH_P_TEB) {
        if (caplen < *off + 14)
            return TW_C_DROP_TUNNEL_TRUNCATED;
        pkt->outer_len = *off;
        *mac = *off + 6;
        pkt->vlan = 0; /* the inner frame's tags are the monitored link's */
        *type = be16(f + *off + 12);
        *off += 14;
        int rc = parse_l2_shims(f, caplen, off, type, s, tunnels, pkt);
        if (rc != TW_C_PARSED)
            return rc;
    }
    return TW_C_PARSED;
}

int tw_parse(const uint8_t *f, uint32_t caplen, uint32_t wirelen, int linktype,
             const struct tw_parse_settings *s, struct tw_packet *pkt)
{
    uint32_t off = 0, l4off, l4len; /* l4off from the IP header; l4len per the IP length */
    uint32_t mac = 0;               /* offset of the sender's MAC, 0: none */
    uint16_t type = 0;
    uint8_t proto;
    unsigned tunnels = 0;
    struct tunnel t;
    int rc;

    memset(pkt, 0, sizeof(*pkt));
    pkt->snapped = caplen < wirelen;

    rc = parse_link(f, caplen, linktype, &off, &type, &mac);
    if (rc != TW_C_PARSED)
        return rc;
    rc = parse_l2_shims(f, caplen, &off, &type, s, &tunnels, pkt);
    if (rc != TW_C_PARSED)
        return rc;

    for (unsigned depth = 0;; depth++) {
        if (type == ETH_P_TEB) {
            rc = open_ethernet(f, caplen, &off, &type, s, &tunnels, pkt, &mac);
            if (rc != TW_C_PARSED)
                return rc;
        }
        const uint8_t *ip = f + off;
        uint32_t cap = caplen - off; /* captured bytes from this IP header on */

        if (depth >= TW_MAX_IP_NESTING)
            return TW_C_DROP_TUNNEL_TOO_DEEP;
        if (cap < 1)
            return TW_C_DROP_IP_TRUNCATED;
        if (type == ETH_P_IPV4) {
            if (cap < 20)
                return TW_C_DROP_IP_TRUNCATED;
            if ((ip[0] >> 4) != 4)
                return TW_C_DROP_IP_BAD_VERSION;
            uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
            uint32_t total = be16(ip + 2);
            if (ihl < 20)
                return TW_C_DROP_IP_BAD_HEADER_LEN;
            if (ihl > cap)
                return TW_C_DROP_IP_TRUNCATED;
            if (total < ihl || (total > cap && !pkt->snapped))
                return TW_C_DROP_IP_BAD_TOTAL_LEN;
            uint16_t frag = be16(ip + 6);
            if ((frag & 0x3fff) && !pkt->fragment)
                note_fragment(pkt, ip, ip + ihl, cap - ihl, total - ihl,
                              (uint32_t)(frag & 0x1fff) * 8, frag & 0x2000, be16(ip + 4), ip[9]);
            if (frag & 0x1fff)
                return TW_C_DROP_IP_FRAGMENT;
            pkt->first_fragment = (frag & 0x2000) != 0;
            proto = ip[9];
            pkt->ip_version = 4;
            memset(pkt->src, 0, sizeof(pkt->src));
            memset(pkt->dst, 0, sizeof(pkt->dst));
            memcpy(pkt->src, ip + 12, 4);
            memcpy(pkt->dst, ip + 16, 4);
            l4off = ihl;
            l4len = total - ihl;
        } else if (type == ETH_P_IPV6) {
            if (cap < 40)
                return TW_C_DROP_IP_TRUNCATED;
            if ((ip[0] >> 4) != 6)
                return TW_C_DROP_IP_BAD_VERSION;
            uint32_t plen = be16(ip + 4);
            if (40 + plen > cap && !pkt->snapped)
                return TW_C_DROP_IP_BAD_TOTAL_LEN;
            proto = ip[6];
            pkt->ip_version = 6;
            memcpy(pkt->src, ip + 8, 16);
            memcpy(pkt->dst, ip + 24, 16);
            l4off = 40;
            l4len = plen;
            rc = skip_ipv6_ext(ip, cap, &l4off, &l4len, &proto, pkt);
            if (rc != TW_C_PARSED)
                return rc;
        } else {
            return TW_C_DROP_NOT_IP;
        }

        if (proto == 4 || proto == 41) { /* IPv4 or IPv6 inside IP: the inner packet is the flow */
            if (cap < l4off + 1)
                return TW_C_DROP_IP_TRUNCATED;
            off += l4off;
            type = proto == 4 ? ETH_P_IPV4 : ETH_P_IPV6;
            mac = 0; /* the outer frame came from the tunnel's end, not from the sender */
            continue;
        }

        const uint8_t *l4 = ip + l4off;
        uint32_t l4cap = cap > l4off ? cap - l4off : 0;
        uint32_t avail = l4cap < l4len ? l4cap : l4len; /* captured and inside the IP length */

        rc = NOT_TUNNEL;
        if (proto == 47 && (s->decap & (TW_DECAP_GRE | TW_DECAP_ERSPAN)))
            rc = open_gre(l4, avail, s, &t);
        else if (proto == 17 && (s->decap & (TW_DECAP_VXLAN | TW_DECAP_GENEVE | TW_DECAP_GTPU)) &&
                 avail >= 8)
            rc = open_udp(l4 + 8, avail - 8, be16(l4 + 2), s, &t);
        if (rc != NOT_TUNNEL) {
            if (rc != TW_C_PARSED)
                return rc;
            rc = enter_tunnel(pkt, &tunnels, t.kind, t.id);
            if (rc != TW_C_PARSED)
                return rc;
            off += l4off + t.hlen + (proto == 17 ? 8 : 0);
            type = t.type;
            mac = 0; /* as IP-in-IP; an Ethernet frame inside sets it again */
            continue;
        }

        pkt->ip_proto = proto;
        pkt->l3 = ip;
        pkt->l4_off = (uint16_t)l4off; /* at most 40 + 16 extension headers of 2 KiB */
        pkt->l3_len = cap > 0xffff ? 0xffff : (uint16_t)cap;
        /* a few link headers and shims lie between; one that would not fit gives none */
        pkt->mac_back = mac && off - mac <= 0xffff ? (uint16_t)(off - mac) : 0;

        switch (proto) {
        case 6: { /* TCP */
            if (l4cap < 20 || l4len < 20)
                return TW_C_DROP_L4_TRUNCATED;
            uint32_t doff = (uint32_t)(l4[12] >> 4) * 4;
            if (doff < 20 || doff > l4len)
                return TW_C_DROP_TCP_BAD_OFFSET;
            pkt->src_port = be16(l4);
            pkt->dst_port = be16(l4 + 2);
            pkt->tcp_flags = l4[13];
            pkt->payload_len = (uint16_t)(l4len - doff);
            break;
        }
        case 17: /* UDP */
            if (l4cap < 8 || l4len < 8)
                return TW_C_DROP_L4_TRUNCATED;
            pkt->src_port = be16(l4);
            pkt->dst_port = be16(l4 + 2);
            pkt->payload_len = (uint16_t)(l4len - 8);
            break;
        case 1: case 58: /* ICMP, ICMPv6: one flow per address pair, as ndpiReader keys them */
            pkt->payload_len = (uint16_t)(l4len > 8 ? l4len - 8 : 0);
            break;
        default:
            pkt->payload_len = (uint16_t)(l4len > 0xffff ? 0xffff : l4len);
            break;
        }
        return TW_C_PARSED;
    }
}
