/* counters.h - every packet is accounted for: received = parsed + sum of drops
 * + fragments_merged (the fragments held and merged into a datagram that counts once).
 *
 * One X-macro list gives the counter, its printable name and whether it is a drop, so the
 * summary, the live stats line and Redis all use the same names.
 */
#ifndef TW_COUNTERS_H
#define TW_COUNTERS_H

#include <stdint.h>

/* X(symbol, "name", is_drop) */
#define TW_PACKET_COUNTERS(X)                                                         \
    X(RECEIVED, "received", 0)                                                        \
    X(PARSED, "parsed", 0)                                                            \
    X(DROP_TOO_SHORT, "drop_too_short", 1)             /* shorter than its link header */ \
    X(DROP_NOT_IP, "drop_not_ip", 1)                   /* ARP, STP, LLDP, ... */          \
    X(DROP_L2_TRUNCATED, "drop_l2_truncated", 1)       /* VLAN/MPLS/PPPoE header cut */   \
    X(DROP_L2_TOO_DEEP, "drop_l2_too_deep", 1)         /* too many VLAN tags or MPLS labels */ \
    X(DROP_IP_TRUNCATED, "drop_ip_truncated", 1)       /* IP header cut */                \
    X(DROP_IP_BAD_VERSION, "drop_ip_bad_version", 1)                                      \
    X(DROP_IP_BAD_HEADER_LEN, "drop_ip_bad_header_len", 1) /* IHL < 5 */              \
    X(DROP_IP_BAD_TOTAL_LEN, "drop_ip_bad_total_len", 1)   /* length beyond the frame */  \
    X(DROP_IP_FRAGMENT, "drop_ip_fragment", 1)         /* non-first fragment: no ports */ \
    X(DROP_IPV6_BAD_EXT, "drop_ipv6_bad_ext", 1)       /* extension header chain broken */ \
    X(DROP_TUNNEL_TOO_DEEP, "drop_tunnel_too_deep", 1) /* IP in IP in IP ... */           \
    X(DROP_L4_TRUNCATED, "drop_l4_truncated", 1)       /* TCP/UDP header cut */           \
    X(DROP_TCP_BAD_OFFSET, "drop_tcp_bad_offset", 1)   /* data offset < 5 or beyond IP */ \
    X(DROP_FLOW_TABLE_FULL, "drop_flow_table_full", 1) /* no entry and eviction off */    \
    X(DROP_NO_MBUF, "drop_no_mbuf", 1)                 /* packet pool empty */            \
    X(DROP_DISPATCH_FULL, "drop_dispatch_full", 1)     /* worker queue full (live) */     \
    X(DROP_TUNNEL_TRUNCATED, "drop_tunnel_truncated", 1) /* GRE/ERSPAN/VXLAN/Geneve/GTP-U/PW header cut */ \
    X(DROP_TUNNEL_BAD_HEADER, "drop_tunnel_bad_header", 1) /* GTP-U extension chain broken */ \
    X(TS_BACKWARDS, "ts_backwards", 0)                 /* timestamp earlier than the last */ \
    X(IPV4_FIRST_FRAGMENT, "ipv4_first_fragment", 0)                                      \
    X(DPI_PACKETS, "dpi_packets", 0)                   /* packets given to nDPI */       \
    X(FLOWS_CREATED, "flows_created", 0)                                                  \
    X(FLOWS_CLASSIFIED, "flows_classified", 0)          /* detected, not guessed */       \
    X(FLOWS_GUESSED, "flows_guessed", 0)                                                  \
    X(FLOWS_UNKNOWN, "flows_unknown", 0)                                                  \
    X(FLOWS_END_IDLE, "flows_end_idle", 0)                                                \
    X(FLOWS_END_TCP_CLOSE, "flows_end_tcp_close", 0)                                      \
    X(FLOWS_END_EVICTED, "flows_end_evicted", 0)                                          \
    X(FLOWS_END_EOF, "flows_end_eof", 0)                                                  \
    X(FLOWS_END_SHUTDOWN, "flows_end_shutdown", 0)                                        \
    X(FLOW_UPDATES, "flow_updates", 0)                                                    \
    X(EVENTS_RING_WAIT, "events_ring_wait", 0)         /* worker waited for the ring */  \
    X(EVENTS_RING_DROPPED, "events_ring_dropped", 0)   /* live: event lost, ring full */ \
    X(DROP_DUPLICATE, "drop_duplicate", 1)             /* SPAN copy within dedup_window */ \
    X(TCP_GAP_BYTES, "tcp_gap_bytes", 0)               /* acknowledged, never seen (tcp_seen.h) */ \
    X(TCP_ACKED_BYTES, "tcp_acked_bytes", 0)           /* acknowledged: gap's denominator */ \
    X(TCP_FLOWS_ONE_WAY, "tcp_flows_one_way", 0)       /* ended, one direction seen, acking */ \
    X(TCP_FLOWS_ENDED, "tcp_flows_ended", 0)                                          \
    X(FRAGMENTS_MERGED, "fragments_merged", 0)    /* held, then merged into a datagram */ \
    X(FRAG_REASSEMBLED, "frag_reassembled", 0)    /* datagrams rebuilt from fragments */ \
    X(FRAG_OVERLAP, "frag_overlap", 0)            /* fragment overlapped held bytes: first wins */ \
    X(FRAG_OVERLAP_DIFFERS, "frag_overlap_differs", 0) /* ... with different bytes */ \
    X(DROP_FRAG_TIMEOUT, "drop_frag_timeout", 1)  /* datagram not complete in reassembly.timeout */ \
    X(DROP_FRAG_TABLE_FULL, "drop_frag_table_full", 1) /* reassembly.datagrams all in use */ \
    X(DROP_FRAG_INCONSISTENT, "drop_frag_inconsistent", 1) /* two ends, data past the end */ \
    X(DROP_FRAG_TOO_MANY, "drop_frag_too_many", 1) /* beyond reassembly.fragments */ \
    X(DROP_FRAG_TOO_LARGE, "drop_frag_too_large", 1) /* datagram beyond 65535 bytes */ \
    X(DROP_FRAG_UNFINISHED, "drop_frag_unfinished", 1) /* incomplete at the end of input */ \
    X(REDIRECTED, "redirected", 0)                /* read by one worker, owned by another */

enum tw_counter {
#define TW_X(sym, name, drop) TW_C_##sym,
    TW_PACKET_COUNTERS(TW_X)
#undef TW_X
        TW_C__COUNT
};

/* Per-worker counters, one writer; readers tolerate torn-free 64-bit loads on x86-64. */
struct tw_counters {
    uint64_t v[TW_C__COUNT];
} __attribute__((aligned(64)));

/* Printable name of counter i. */
const char *tw_counter_name(unsigned i);
/* 1 when counter i counts dropped packets. */
int tw_counter_is_drop(unsigned i);

#endif
