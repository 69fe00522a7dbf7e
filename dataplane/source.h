/* source.h - where packets come from: one narrow interface, one implementation per file.
 *
 *   source_pcap.c    a capture file: classic pcap mapped and handed out without copies
 *                    (pcap_map.c), pcapng and pipes read with libpcap into mbufs
 *   source_ethdev.c  a DPDK port named by EAL arguments (--port): a NIC, a test vdev
 *   source_afpacket.c  a kernel interface (--iface) through DPDK's net_af_packet
 *   source_afxdp.c   a kernel interface (--iface --xdp) through DPDK's net_af_xdp
 *   sources.c        the list of rows; a new source is one file and one line there
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
struct tw_time_gaps;

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

/* What a source saw below us. imissed: frames the NIC or the kernel dropped because we did
 * not read them in time (a NIC's rx descriptors, af_packet's ring: PACKET_STATISTICS);
 * ierrors: frames received in error; rx_nombuf: frames lost because no mbuf was free. */
struct tw_source_stats {
    uint64_t packets;      /* packets handed out */
    uint64_t bytes;        /* wire bytes handed out */
    uint64_t imissed;
    uint64_t ierrors;
    uint64_t rx_nombuf;
    int link;              /* enum tw_link_state (iface.h): up, down, gone; unknown (0) for
                            * files and ports that do not say */
};

/* What the command line and the configuration say about the input. */
struct tw_source_args {
    const char *arg;        /* what the option named: a file, an interface, a port number */
    uint16_t nb_queues;     /* one receive queue per worker, where the source has queues */
    int promiscuous;        /* ports: put in promiscuous mode (then restored at close) */
    double replay_speed;    /* files: 0 = as fast as possible, 1 = recorded pace */
    uint32_t loops;         /* files: passes over the file (--loop), 0 or 1 = once */
};

/* What start() gets once DPDK runs: the pool it creates is sized from these. */
struct tw_source_pool {
    unsigned mbufs;         /* mbufs in the pool */
    uint16_t priv_size;     /* private area the workers need in each mbuf */
    int socket;
};

/* One kind of capture source: one file implements it, sources.c lists the rows. main()
 * chooses the row once, by the option that names the input; nothing else asks which
 * kind it is. */
struct tw_source_kind {
    const char *name;       /* the option that chooses it: "pcap" for --pcap */
    int replays;            /* 1: a recording, so --loop and --replay-speed apply */
    /* Before DPDK starts: checks what can be checked (a bad file fails fast) and says what
     * EAL must create (s->eal_vdev). Returns a source, or NULL with a one-line reason. */
    struct tw_source *(*open)(const struct tw_source_args *a, char *err, size_t errlen);
    /* After rte_eal_init: creates its mbuf pool(s) and starts receiving. Returns 0, or -1
     * with a one-line reason. */
    int (*start)(struct tw_source *s, const struct tw_source_pool *pool, char *err,
                 size_t errlen);
    /* Fills up to n mbufs for receive queue q. Returns how many (0: nothing right now),
     * or -1 at the end of the input (a file is finished). */
    int (*rx)(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
    /* Totals so far; called by one thread (the control lcore), never the workers. */
    void (*stats)(struct tw_source *s, struct tw_source_stats *st);
    /* Opens it again on the same pool, the workers parked (a removed interface is back).
     * NULL when it cannot. Returns 0, or -1 with a one-line reason. */
    int (*reattach)(struct tw_source *s, char *err, size_t errlen);
    /* Stops it (a port goes back to the mode it had) and frees it; started or not. */
    void (*close)(struct tw_source *s);
};

/* The rows (sources.c lists them). */
extern const struct tw_source_kind tw_source_pcap;     /* --pcap FILE   source_pcap.c */
extern const struct tw_source_kind tw_source_afpacket; /* --iface NAME  source_afpacket.c */
extern const struct tw_source_kind tw_source_port;     /* --port N      source_ethdev.c */
extern const struct tw_source_kind tw_source_afxdp;    /* --iface NAME --xdp  source_afxdp.c */

/* The row whose name is `name`, or NULL. */
const struct tw_source_kind *tw_source_kind_find(const char *name);

struct tw_source {
    const struct tw_source_kind *kind;
    int linktype;        /* pcap LINKTYPE_ of every frame (Ethernet for ports) */
    int replayable;      /* 1 for files: the reader may wait, so nothing need be dropped */
    int maps_file;       /* 1: frames are read in place from a mapped file */
    uint16_t nb_queues;
    char eal_vdev[300];  /* a --vdev EAL must create before start(), or "" */
    char name[256];      /* what the summary calls it */
    char end_note[320];  /* set at the end of input when it ended early (cut file...) */
    char note[200];      /* set by start() when the operator must know something (a
                          * fall-back to another way of reading); main prints it */
    struct tw_time_gaps *gaps; /* holes in the packet times, found in read order (a file:
                                * time_gaps.h); NULL for live sources */
};

/* The data room of the pool for big frames of copied files (pcapng, pipes): an mbuf's data
 * room is 16 bits. */
#define TW_SOURCE_BIG_ROOM UINT16_MAX
/* The longest frame a file source hands out, mapped or copied; a longer one is kept snapped
 * (its wire length still counts in full). */
#define TW_SOURCE_MAX_FRAME (TW_SOURCE_BIG_ROOM - RTE_PKTMBUF_HEADROOM)

/* Opens a capture file (the pcap row's open, without the row's arguments; the fuzz target
 * calls it). Returns a source, or NULL with a one-line reason in err ("x.pcap: empty file").
 * The source cannot deliver packets until its start() gives it a pool. */
struct tw_source *tw_source_pcap_open(const char *path, char *err, size_t errlen);

static inline int tw_source_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
    return s->kind->rx(s, q, pkts, n);
}

static inline void tw_source_close(struct tw_source *s)
{
    if (s)
        s->kind->close(s);
}

#endif
