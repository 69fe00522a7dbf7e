/* source.h - where packets come from: one narrow interface, one implementation per file.
 *
 *   source_pcap.c    a capture file: classic pcap mapped and handed out without copies
 *                    (pcap_map.c), pcapng and pipes read with libpcap into mbufs
 *   source_ethdev.c  any DPDK port: a NIC, net_af_packet on a kernel interface, net_pcap...
 *
 * A source hands out bursts of mbufs; each mbuf carries its packet time and wire length in
 * a dynamic field (tw_mbuf_meta). Past this interface no code sees a pcap header.
 */
#ifndef TW_SOURCE_H
#define TW_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

/* Per-packet metadata kept in the mbuf (registered as a dynamic field at start-up). */
struct tw_mbuf_meta {
    uint64_t ts_us;    /* packet time, microseconds since the epoch */
    uint32_t wire_len; /* length on the wire (>= captured length) */
    uint32_t pad;
};

/* Registers the dynamic field; call once after rte_eal_init. Returns 0 or -1 (rte_errno). */
int tw_mbuf_meta_register(void);
extern int tw_mbuf_meta_offset;
/* The metadata of m (tw_mbuf_meta_register must have succeeded); inline: several calls
 * per packet. (RTE_MBUF_DYNFIELD without the header: the field sits at an offset in m.) */
static inline struct tw_mbuf_meta *tw_mbuf_meta(struct rte_mbuf *m)
{
    return (struct tw_mbuf_meta *)(void *)((char *)m + tw_mbuf_meta_offset);
}

struct tw_source;

struct tw_source_stats {
    uint64_t packets;      /* packets handed out */
    uint64_t bytes;        /* wire bytes handed out */
    uint64_t dropped;      /* lost below us: NIC/kernel drops, pool empty */
};

struct tw_source_ops {
    const char *kind;
    /* Fills up to n mbufs for receive queue q. Returns how many (0: nothing right now),
     * or -1 at the end of the input (a file is finished). */
    int (*rx_burst)(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
    void (*get_stats)(struct tw_source *s, struct tw_source_stats *st);
    void (*close)(struct tw_source *s);
};

struct tw_source {
    const struct tw_source_ops *ops;
    int linktype;        /* pcap LINKTYPE_ of every frame (Ethernet for ports) */
    int replayable;      /* 1 for files: the reader may wait, so nothing need be dropped */
    uint16_t nb_queues;
    char name[256];      /* what the summary calls it */
    char end_note[320];  /* set at the end of input when it ended early (cut file...) */
};

/* The data room of the pool for big frames of copied files (pcapng, pipes): an mbuf's data
 * room is 16 bits. */
#define TW_SOURCE_BIG_ROOM UINT16_MAX
/* The longest frame a file source hands out, mapped or copied; a longer one is kept snapped
 * (its wire length still counts in full). */
#define TW_SOURCE_MAX_FRAME (TW_SOURCE_BIG_ROOM - RTE_PKTMBUF_HEADROOM)

/* Opens a capture file. Checks the file before DPDK starts, so a bad file fails fast.
 * Returns a source, or NULL with a one-line reason in err ("x.pcap: empty file"). The
 * source cannot deliver packets until tw_source_pcap_attach gives it a mempool. */
struct tw_source *tw_source_pcap_open(const char *path, char *err, size_t errlen);

/* Gives the file source the mempool its mbufs come from; big frames (> the pool's data
 * room) come from big_pool. replay_speed: 0 = as fast as possible, 1 = recorded pace. */
void tw_source_pcap_attach(struct tw_source *s, struct rte_mempool *pool,
                           struct rte_mempool *big_pool, double replay_speed);

/* 1 when the file is mapped and its frames are handed out in place: the pool then needs
 * no data room (tapwatch sizes it so), and no big pool. */
int tw_source_pcap_zero_copy(const struct tw_source *s);

/* Bytes a file source keeps at the end of each mbuf's private area (the shared info of a
 * frame that points into the mapped file). The pool given to tw_source_pcap_attach must
 * have them after whatever private area the rest of the program uses. */
unsigned tw_source_pcap_priv_size(void);

/* Replays the file `passes` times (--loop); each pass is shifted in time after the last. */
void tw_source_pcap_set_loops(struct tw_source *s, uint32_t passes);

/* Opens DPDK port `port_id` with nb_queues receive queues (symmetric RSS when > 1).
 * Returns a source or NULL with a one-line reason in err. */
struct tw_source *tw_source_ethdev_open(uint16_t port_id, uint16_t nb_queues,
                                        struct rte_mempool *pool, char *err, size_t errlen);

static inline int tw_source_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
    return s->ops->rx_burst(s, q, pkts, n);
}

static inline void tw_source_close(struct tw_source *s)
{
    if (s)
        s->ops->close(s);
}

#endif
