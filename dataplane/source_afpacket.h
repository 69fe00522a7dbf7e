/* source_afpacket.h - the --iface row's parts that the AF_XDP row (source_afxdp.c) falls
 * back on when the kernel or driver cannot do AF_XDP. Not for code outside sources. */
#ifndef TW_SOURCE_AFPACKET_H
#define TW_SOURCE_AFPACKET_H

#include <net/if.h>

#include "source_ethdev.h"

struct tw_afpacket_source {
    struct tw_ethdev_source eth;
    char iface[IF_NAMESIZE];
    int fds[64];            /* our duplicates of the driver's sockets */
    unsigned nfds;
    uint64_t kernel_drops;  /* PACKET_STATISTICS resets on each read: the sum so far */
};

/* Checks the interface name and fills as (the EAL vdev that opens it included). Returns 0,
 * or -1 with a one-line reason. */
int tw_afpacket_init(struct tw_afpacket_source *as, const struct tw_source_args *a, char *err,
                     size_t errlen);
/* Starts the net_af_packet port EAL (or a hot-plug) created. Returns 0, or -1 with a reason. */
int tw_afpacket_start(struct tw_afpacket_source *as, const struct tw_source_pool *p, char *err,
                      size_t errlen);
/* The row's stats (the kernel's drops of our sockets included) and close. */
void tw_afpacket_stats(struct tw_source *s, struct tw_source_stats *st);
void tw_afpacket_close(struct tw_source *s);
/* The row's reattach (source.h): the interface is back, net_af_packet opens it again. */
int tw_afpacket_reattach(struct tw_source *s, char *err, size_t errlen);

/* The vdev name and arguments of net_af_packet for iface with queues queue pairs of rings
 * of framecnt frames (tw_afpacket_frames). */
#define TW_AFPACKET_VDEV "net_af_packet0"
#define TW_AFPACKET_ARGS "iface=%s,qpairs=%u,framecnt=%u"

/* The frames of each queue's ring for queues queues. The driver's default, 512, holds 10 ms
 * at 50 k packets/s: a worker that loses its CPU that long on a busy machine lost frames
 * where ndpiReader did not (README "Benchmark on a live link"), so 8192 (16 MiB a ring).
 * net_af_packet maps its receive and transmit rings locked (MAP_LOCKED): an unprivileged
 * user under a small RLIMIT_MEMLOCK gets the most that fits in half of it (at least 512),
 * and *reduced is set. */
unsigned tw_afpacket_frames(unsigned queues, int *reduced);

#endif
