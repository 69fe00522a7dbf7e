/* flow_record.h - the fixed-size flow event that crosses from the dataplane to the
 * control plane. It holds no pointers: workers copy it into a ring, the control plane
 * copies it out, and nothing past the ring sees dataplane memory.
 *
 * Addresses are stored as 16 bytes; IPv4 is kept in the first 4 bytes with the rest
 * zero (ip_version tells which). Times are microseconds since the epoch, taken from
 * packet timestamps. Bytes are frame lengths on the wire.
 */
#ifndef TW_FLOW_RECORD_H
#define TW_FLOW_RECORD_H

#include <stdint.h>

enum tw_event_kind {
    TW_EVENT_CLASSIFIED = 1, /* nDPI decided (or gave up); the flow goes on */
    TW_EVENT_UPDATE = 2,     /* active timeout: periodic snapshot of a live flow */
    TW_EVENT_END = 3,        /* the flow is over; end_reason says why */
};

/* Why a flow ended. Names are public (JSON `end_reason`). */
#define TW_END_REASONS(X)                                                              \
    X(NONE, "none")                                                                    \
    X(IDLE, "idle")                                                                    \
    X(TCP_CLOSE, "tcp_close")                                                          \
    X(EVICTED, "evicted")                                                              \
    X(EOF, "eof")                                                                      \
    X(SHUTDOWN, "shutdown")

enum tw_end_reason {
#define TW_X(sym, name) TW_END_##sym,
    TW_END_REASONS(TW_X)
#undef TW_X
        TW_END__COUNT
};

/* The outermost tunnel a flow was decapsulated from. Names are public (JSON `tunnel`). */
#define TW_TUNNEL_KINDS(X)                                                             \
    X(NONE, "")                                                                        \
    X(GRE, "gre")                                                                      \
    X(ERSPAN2, "erspan2")                                                              \
    X(ERSPAN3, "erspan3")                                                              \
    X(VXLAN, "vxlan")                                                                  \
    X(GENEVE, "geneve")                                                                \
    X(GTPU, "gtpu")                                                                    \
    X(MPLS_PW, "mpls-pw")

enum tw_tunnel_kind {
#define TW_X(sym, name) TW_TUNNEL_##sym,
    TW_TUNNEL_KINDS(TW_X)
#undef TW_X
        TW_TUNNEL__COUNT
};

/* Returns the public name of a tunnel kind ("vxlan", ...), "" for none or out of range. */
const char *tw_tunnel_name(unsigned kind);
/* Returns the tunnel kind for a public name ("" is TW_TUNNEL_NONE), or -1 when unknown. */
int tw_tunnel_from_name(const char *name);

/* Returns the public name of an end reason ("idle", ...), "none" when out of range. */
const char *tw_end_reason_name(unsigned reason);
/* Returns the end reason for a public name, or -1 when the name is unknown. */
int tw_end_reason_from_name(const char *name);

#define TW_APP_LEN 48         /* "TLS.Google", as ndpi_protocol2name prints it */
#define TW_CATEGORY_LEN 32    /* "Web", "Network", ... */
#define TW_SERVER_NAME_LEN 96 /* TLS SNI, HTTP Host or DNS query name */
#define TW_JA3_LEN 40         /* 32 hex digits of the JA3 client hash, NUL, spare */

struct tw_flow_record {
    uint64_t flow_id;       /* stable id: hash of key and first_seen (same on every replay) */
    uint64_t first_seen_us; /* packet time of the first packet */
    uint64_t last_seen_us;  /* packet time of the latest packet */
    uint64_t c2s_packets;   /* client = sender of the first packet seen */
    uint64_t c2s_bytes;
    uint64_t s2c_packets;
    uint64_t s2c_bytes;
    uint64_t risks;         /* ndpi_risk bitmap: bit n = ndpi_risk_enum n */
    uint64_t seq;           /* per-worker event sequence number */
    uint8_t src_ip[16];     /* client */
    uint8_t dst_ip[16];     /* server */
    uint16_t src_port;      /* host order; 0 for protocols without ports */
    uint16_t dst_port;
    uint16_t vlan;          /* innermost 802.1Q id, 0 if none */
    uint16_t master_proto;  /* nDPI ids */
    uint16_t app_proto;
    uint16_t category_id;
    uint16_t tls_version;   /* 0x0303 = TLS 1.2 ..., 0 if none */
    uint8_t ip_version;     /* 4 or 6 */
    uint8_t ip_proto;       /* 6 TCP, 17 UDP, 1 ICMP, ... */
    uint8_t event;          /* enum tw_event_kind */
    uint8_t end_reason;     /* enum tw_end_reason, NONE unless event == END */
    uint8_t c2s_tcp_flags;  /* OR of the TCP flags seen each way */
    uint8_t s2c_tcp_flags;
    uint8_t detection_done; /* 1 once nDPI decided or gave up */
    uint8_t worker;         /* worker that owns the flow */
    uint8_t tunnel;         /* enum tw_tunnel_kind: outermost tunnel, NONE if none */
    uint8_t has_src_mac;    /* 1 when the client's first frame had an Ethernet header */
    uint32_t tunnel_id;     /* GRE key, ERSPAN session, VNI, TEID, PW label; 0 if none */
    uint8_t src_mac[6];     /* the client's source MAC (innermost Ethernet header) */
    uint8_t pad2[2];
    /* filled by the control plane (GeoIP, control/record/geoip.h), zero from the dataplane */
    uint32_t src_asn;       /* 0: unknown */
    uint32_t dst_asn;
    char src_country[4];    /* ISO 3166 alpha-2, "" for private or unknown */
    char dst_country[4];
    uint8_t pad3[4];
    char app[TW_APP_LEN];
    char category[TW_CATEGORY_LEN];
    char server_name[TW_SERVER_NAME_LEN];
    char ja3c[TW_JA3_LEN];
};

/* The ring stores records by value: keep the size a multiple of 8 and free of holes. */
_Static_assert(sizeof(struct tw_flow_record) % 8 == 0, "flow record size");
_Static_assert(sizeof(struct tw_flow_record) ==
                   9 * 8 + 32 + 7 * 2 + 8 + 2 + 4 + 8 + 8 + 8 + 4 + TW_APP_LEN + TW_CATEGORY_LEN +
                       TW_SERVER_NAME_LEN + TW_JA3_LEN,
               "flow record has padding holes");

#endif
