/* flow_table.h - one worker's flows: a fixed-capacity hash table with two recency lists.
 *
 * Capacity is fixed at creation; nothing is allocated afterwards. One writer (the owning
 * worker), so no locks. A flow is found in both directions: the key is normalized so that
 * (addr_a, port_a) <= (addr_b, port_b), and each entry remembers which end is the client
 * (the sender of the first packet seen).
 *
 *   buckets[hash & mask] ─> entry ─> entry ─> ...      (chains through entry.hash_next)
 *   active list:  oldest ... newest   (idle timeout)   (entry.lru_prev / lru_next)
 *   closing list: oldest ... newest   (after FIN both ways or RST: tcp_close_timeout)
 *
 * Because every packet moves its flow to the newest end, the oldest end of each list is the
 * first to time out, so expiry looks at list heads only.
 */
#ifndef TW_FLOW_TABLE_H
#define TW_FLOW_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "tcp_seen.h"

#define TW_FLOW_NONE UINT32_MAX

struct tw_flow_key {
    uint8_t addr_a[16];
    uint8_t addr_b[16];
    uint16_t port_a;
    uint16_t port_b;
    uint16_t vlan;
    uint8_t ip_proto;
    uint8_t ip_version;
    /* the tunnel is part of the flow: two VXLAN VNIs or ERSPAN sessions may carry the same
     * private addresses. Only ids that name a session or network both ways are keyed (ERSPAN
     * session, VXLAN and Geneve VNI, see TW_TUNNEL_KEYED); GTP-U TEIDs, GRE keys and PW labels
     * may differ per direction and stay 0 here. Zero without a tunnel (and then outside
     * tw_flow_id). */
    uint32_t tunnel_id;
    uint8_t tunnel;
    uint8_t pad[3];
};
_Static_assert(sizeof(struct tw_flow_key) == 48, "flow key has holes");

enum tw_flow_state { TW_FLOW_FREE = 0, TW_FLOW_ACTIVE = 1, TW_FLOW_CLOSING = 2 };

#define TW_FLOW_SERVER_NAME_LEN 80

/* One tracked flow: 5 cache lines. The nDPI state lives apart (classify.c) and only while
 * detection runs; after that a flow costs sizeof(struct tw_flow). A packet touches the first
 * three lines (key, times, counters, the nDPI pointer and the TCP sequence state); the names
 * and hashes nDPI finds, written once, sit in the last two. */
struct tw_flow {
    struct tw_flow_key key;
    uint32_t hash_next;      /* next entry in the bucket chain */
    uint32_t lru_prev;
    uint32_t lru_next;
    uint8_t client_is_a;     /* 1: the client is (addr_a, port_a) */
    uint8_t state;           /* enum tw_flow_state */
    uint8_t c2s_tcp_flags;
    uint8_t s2c_tcp_flags;
    uint64_t first_us;
    uint64_t last_us;
    uint64_t last_export_us; /* first_us, then the time of the latest UPDATE event */
    uint64_t c2s_packets;
    uint64_t c2s_bytes;
    uint64_t s2c_packets;
    uint64_t s2c_bytes;
    uint64_t risks;
    uint64_t flow_id;
    void *dpi;               /* nDPI per-flow state while detection runs, else NULL */
    uint16_t master_proto;
    uint16_t app_proto;
    uint16_t category_id;
    uint16_t tls_version;
    uint8_t detection_done;
    uint8_t guessed;
    uint8_t has_ja3;
    uint8_t has_src_mac;     /* the client's first frame had a MAC of its own (src_mac) */
    uint32_t tunnel_id;      /* the first packet's tunnel id (the record's tunnel_id) */
    struct tw_tcp_seen tcp;  /* sequence state per direction: upstream loss (tcp_seen.h) */
    uint8_t ja3c[16];        /* JA3 client hash, binary */
    char server_name[TW_FLOW_SERVER_NAME_LEN];
    uint8_t src_mac[6];      /* written once, at creation: in the fifth line's spare bytes */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct tw_flow) <= 320, "tracked flow must stay within 320 bytes");
_Static_assert(offsetof(struct tw_flow, src_mac) >= 256,
               "the client MAC stays off the lines a packet touches");
_Static_assert(offsetof(struct tw_flow, tcp) + sizeof(struct tw_tcp_seen) <= 192,
               "the TCP state shares the lines every packet touches");

/* Tunnel kinds whose id is part of the flow key (bit n = enum tw_tunnel_kind n). */
#define TW_TUNNEL_KEYED                                                                  \
    (1u << TW_TUNNEL_ERSPAN2 | 1u << TW_TUNNEL_ERSPAN3 | 1u << TW_TUNNEL_VXLAN |           \
     1u << TW_TUNNEL_GENEVE)

struct tw_flow_table;

/* Writes a flow's two ends, (x, px) and (y, py), to a first place (addr1, port1) and a
 * second (addr2, port2): x first, or y first when swap is 1: a key keeps its ends in
 * (addr, port) order. Selects rather than branches: per packet, which end comes first
 * follows no pattern. (The record fill, once per event, keeps its own branch: these selects
 * there cost the no-store run 4-5%, see worker.c.) */
static inline void tw_ends_put(uint8_t *addr1, uint16_t *port1, uint8_t *addr2, uint16_t *port2,
                               const uint8_t *x, uint16_t px, const uint8_t *y, uint16_t py,
                               int swap)
{
    memcpy(addr1, swap ? y : x, 16);
    memcpy(addr2, swap ? x : y, 16);
    *port1 = swap ? py : px;
    *port2 = swap ? px : py;
}

/* Builds the normalized key of a parsed packet; *from_a is 1 when the packet was sent by
 * (addr_a, port_a). */
void tw_flow_key_make(const struct tw_packet *pkt, struct tw_flow_key *key, int *from_a);

/* Hash of a normalized key; the same for both directions of a flow. */
uint32_t tw_flow_key_hash(const struct tw_flow_key *key);

/* Hints for a burst: ask for the bucket of hash, then (a pass later, once the bucket has
 * arrived) for the first flow chained there, so that the lookup does not wait for memory. */
void tw_flow_table_prefetch_bucket(const struct tw_flow_table *t, uint32_t hash);
void tw_flow_table_prefetch_flow(const struct tw_flow_table *t, uint32_t hash);

/* Creates a table for `capacity` flows. Returns NULL with errno ENOMEM or EINVAL. */
struct tw_flow_table *tw_flow_table_create(uint32_t capacity);
void tw_flow_table_free(struct tw_flow_table *t);

/* Returns the flow with this key, or NULL. */
struct tw_flow *tw_flow_table_find(struct tw_flow_table *t, const struct tw_flow_key *key,
                                   uint32_t hash);

/* Adds a flow for key (state ACTIVE, newest in the active list, counters zero). Returns it,
 * or NULL when the table is full. */
struct tw_flow *tw_flow_table_insert(struct tw_flow_table *t, const struct tw_flow_key *key,
                                     uint32_t hash);

/* Marks f as just seen: moves it to the newest end of its list. */
void tw_flow_table_touch(struct tw_flow_table *t, struct tw_flow *f);

/* Moves f to the closing list (after FIN both ways or RST). */
void tw_flow_table_set_closing(struct tw_flow_table *t, struct tw_flow *f);

/* Removes f and returns its entry to the free list. */
void tw_flow_table_remove(struct tw_flow_table *t, struct tw_flow *f);

/* The least recently seen flow of the active list (or the closing list when the active
 * list is empty), NULL when the table is empty: the eviction victim. */
struct tw_flow *tw_flow_table_oldest(struct tw_flow_table *t);

/* The oldest flow that has timed out at time now_us (silent for more than idle_us, or more
 * than close_us when closing), or NULL. */
struct tw_flow *tw_flow_table_next_expired(struct tw_flow_table *t, uint64_t now_us,
                                           uint64_t idle_us, uint64_t close_us);

/* 1 when f has timed out at now_us under the same rule. */
int tw_flow_expired(const struct tw_flow *f, uint64_t now_us, uint64_t idle_us,
                    uint64_t close_us);

uint32_t tw_flow_table_count(const struct tw_flow_table *t);
uint32_t tw_flow_table_capacity(const struct tw_flow_table *t);

/* Stable 64-bit id of a flow: its key, orientation and first packet time. */
uint64_t tw_flow_id(const struct tw_flow *f);

#endif
