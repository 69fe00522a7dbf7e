/* parse.h - L2 to L4 decoding of one frame into the fields the flow table needs.
 *
 * The decoder takes (pointer, captured length, link type) and checks the length before
 * every header read. It never allocates and never prints: a frame it cannot use returns
 * the counter that names why (a TW_C_DROP_* value), and the caller counts it.
 *
 *   frame ─> link header ─> [802.1Q/QinQ]* ─> [MPLS]* | [PPPoE] ─> IPv4/IPv6 ─> [IP-in-IP]
 *         ─> TCP | UDP | ICMP | ICMPv6 | other protocol (a flow on addresses + protocol)
 *
 * Tunnels are opened when their switch is on (struct tw_parse_settings), and the flow is
 * the inner one:
 *   IP ─> GRE ─> IPv4 | IPv6 | Ethernet (0x6558) | ERSPAN II (0x88be) | ERSPAN III (0x22eb)
 *   IP ─> UDP ─> VXLAN (ports) | Geneve (ports) | GTP-U G-PDU (2152) ─> Ethernet | IP
 *   MPLS bottom label ─> pseudowire control word ─> Ethernet
 * An Ethernet frame found inside starts over at its link header (VLAN, MPLS, PPPoE ...).
 */
#ifndef TW_PARSE_H
#define TW_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "flow_record.h"

/* Link types by their pcap LINKTYPE_ number. */
enum tw_linktype {
    TW_LINK_NULL = 0,       /* BSD loopback, host-order address family */
    TW_LINK_ETHERNET = 1,
    TW_LINK_PPP = 9,
    TW_LINK_RAW = 101,      /* raw IPv4 or IPv6 */
    TW_LINK_C_HDLC = 104,
    TW_LINK_LOOP = 108,     /* OpenBSD loopback, network-order address family */
    TW_LINK_LINUX_SLL = 113,
    TW_LINK_IPV4 = 228,
    TW_LINK_IPV6 = 229,
    TW_LINK_LINUX_SLL2 = 276,
    TW_LINK_RAW_ALT = 12,   /* DLT_RAW as some systems write it */
    TW_LINK_RAW_ALT2 = 14,
};

/* Returns 1 when frames of this link type can be decoded. */
int tw_linktype_supported(int linktype);
/* Returns a printable name for a link type ("Ethernet", "LINKTYPE 147"), in buf. */
const char *tw_linktype_name(int linktype, char *buf, unsigned len);

#define TW_MAX_VLAN_TAGS 8
#define TW_MAX_IP_NESTING 3

/* Decapsulation switches (configuration `decap:`), one bit per tunnel kind. */
#define TW_DECAP_GRE 0x01     /* GRE carrying IPv4, IPv6 or Ethernet */
#define TW_DECAP_ERSPAN 0x02  /* ERSPAN II and III (inside GRE) */
#define TW_DECAP_VXLAN 0x04
#define TW_DECAP_GENEVE 0x08
#define TW_DECAP_GTPU 0x10
#define TW_DECAP_MPLS_PW 0x20 /* Ethernet over MPLS with the control word */
#define TW_DECAP_ALL 0x3f
#define TW_DECAP_PORTS 4      /* UDP ports per kind; 0 = unused slot */
#define TW_GTPU_PORT 2152

/* What the decoder may open: per worker, filled once from the configuration. The hot path
 * tests a bit and compares a destination port with a few numbers. */
struct tw_parse_settings {
    uint32_t decap;                          /* TW_DECAP_* */
    uint16_t vxlan_ports[TW_DECAP_PORTS];
    uint16_t geneve_ports[TW_DECAP_PORTS];
    uint16_t gtpu_port;
};

/* No tunnel opened: for callers that decode plain IP (tests, a rebuilt datagram's default). */
static const struct tw_parse_settings TW_NO_TUNNELS __attribute__((unused));

/* Fills s with the defaults: every kind on, VXLAN 4789, Geneve 6081, GTP-U 2152. */
void tw_parse_settings_default(struct tw_parse_settings *s);

#define TW_TCP_FIN 0x01
#define TW_TCP_SYN 0x02
#define TW_TCP_RST 0x04
#define TW_TCP_PSH 0x08
#define TW_TCP_ACK 0x10

/* What one frame says. Addresses are 16 bytes (IPv4 in the first 4, rest zero). */
struct tw_packet {
    const uint8_t *l3;    /* innermost IP header, handed to nDPI */
    uint16_t l3_len;      /* captured bytes from l3 to the end of the frame */
    uint16_t payload_len; /* L4 payload bytes per the IP length */
    uint16_t src_port;    /* host order, 0 without ports */
    uint16_t dst_port;
    uint16_t vlan;        /* innermost 802.1Q id, 0 if none */
    uint8_t ip_version;   /* 4 or 6 */
    uint8_t ip_proto;
    uint8_t tcp_flags;    /* FIN/SYN/RST/PSH/ACK..., 0 for other protocols */
    uint8_t first_fragment; /* IPv4/IPv6 first fragment of a fragmented datagram */
    uint8_t snapped;      /* the frame was cut by the capture's snap length */
    uint8_t fragment;     /* 1: the frag_* fields describe a fragment (reassembly.h) */
    uint8_t tunnel;       /* enum tw_tunnel_kind of the outermost tunnel opened */
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t l4_off;      /* L4 header offset from l3 (may lie beyond l3_len when cut) */
    uint32_t tunnel_id;   /* that tunnel's GRE key, ERSPAN session, VNI, TEID or PW label */
    uint32_t outer_len;   /* bytes before the innermost Ethernet frame a tunnel carried:
                           * the flow counts wire length - outer_len (0 without one) */
    uint16_t mac_back;    /* the sender's MAC is at l3 - mac_back (tw_packet_src_mac); 0: the
                           * frame has none that is the sender's (raw IP, a tunnel that
                           * carried IP). Kept as a distance so the parse can ride in an mbuf */
    /* The outermost fragmented IP header met, for reassembly: its fragment's payload as
     * captured (frag_caplen bytes, frag_len per the IP length), where it goes in the
     * datagram, and (IPv6) the next header after the fragment header. */
    const uint8_t *frag_ip;
    const uint8_t *frag_data;
    uint32_t frag_id;     /* IPv4 identification (16 bits) or IPv6 fragment id */
    uint16_t frag_offset; /* bytes from the start of the datagram's payload */
    uint16_t frag_len;
    uint16_t frag_caplen;
    uint8_t frag_more;    /* more fragments follow */
    uint8_t frag_proto;   /* protocol of the datagram's payload */
};

/* Returns the packet sender's source MAC (6 bytes inside the frame, valid as long as the
 * frame is), or NULL when the frame has none: the innermost Ethernet header's source (after
 * ERSPAN, VXLAN, Geneve, GRE or MPLS pseudowire decapsulation the carried frame's), or a
 * Linux cooked header's Ethernet address. Raw IP, and a tunnel or IP-in-IP carrying IP,
 * have none: the outer frame's MAC is the tunnel end's, not the sender's. */
static inline const uint8_t *tw_packet_src_mac(const struct tw_packet *pkt)
{
    return pkt->mac_back ? pkt->l3 - pkt->mac_back : NULL;
}

/* Decodes one frame. caplen is the captured length, wirelen the length on the wire; s says
 * which tunnels to open. Returns TW_C_PARSED with *pkt filled, or the TW_C_DROP_* counter
 * naming why not.
 * A fragment sets pkt->fragment and the frag_* fields whatever it returns: a first
 * fragment is decoded down to L4 as far as it goes, a later one returns
 * TW_C_DROP_IP_FRAGMENT (a reassembler takes both, see reassembly.h). */
int tw_parse(const uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype,
             const struct tw_parse_settings *s, struct tw_packet *pkt);

#endif
