/* source_afpacket.c - a kernel interface (--iface NAME, a mirror port) through DPDK's
 * net_af_packet driver: one packet socket per worker queue, fanned out by the kernel.
 *
 * Kernel drops: when a socket's ring is full the kernel drops the frame and counts it in
 * the socket's PACKET_STATISTICS, which DPDK 22.11's driver never reads (its imissed stays
 * 0). We read them ourselves from the driver's own sockets, found at start among this
 * process's descriptors: /proc/self/fd names each socket's inode, /proc/net/packet gives
 * the interface of every packet socket by inode. The interface's counters
 * (/sys/class/net/IF/statistics/rx_dropped) would not do: they count the interface's
 * own drops, not the frames our rings had no room for, and other programs' sockets. */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "dataplane/iface_name.h"
#include "iface.h"
#include "source_afpacket.h"

#define VDEV_NAME TW_AFPACKET_VDEV

unsigned tw_afpacket_frames(unsigned queues, int *reduced)
{
    enum { WANT = 8192, LEAST = 512, FRAME = 2048 };
    struct rlimit rl;
    unsigned frames = WANT;

    *reduced = 0;
    if (geteuid() == 0 || getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return WANT; /* root locks what it needs (CAP_IPC_LOCK) */
    uint64_t fit = rl.rlim_cur / 2 / ((uint64_t)(queues ? queues : 1) * 2 * FRAME);
    while (frames > LEAST && frames > fit)
        frames /= 2;
    *reduced = frames < WANT;
    return frames;
}

int tw_afpacket_init(struct tw_afpacket_source *as, const struct tw_source_args *a, char *err,
                     size_t errlen)
{
    /* the name goes into EAL's devargs: nothing but a name may get there */
    if (tw_iface_name_check(a->arg, err, errlen) != 0)
        return -1;
    tw_ethdev_init(&as->eth, a);
    as->eth.base.kind = &tw_source_afpacket;
    snprintf(as->iface, sizeof(as->iface), "%s", a->arg);
    int reduced;
    unsigned frames = tw_afpacket_frames(a->nb_queues, &reduced);
    snprintf(as->eth.base.eal_vdev, sizeof(as->eth.base.eal_vdev), VDEV_NAME "," TW_AFPACKET_ARGS,
             a->arg, a->nb_queues, frames);
    if (reduced)
        snprintf(as->eth.base.note, sizeof(as->eth.base.note),
                 "--iface %s: af_packet rings of %u frames, not 8192: RLIMIT_MEMLOCK is too small "
                 "for more (LimitMEMLOCK=infinity in the unit, or ulimit -l)", a->arg, frames);
    snprintf(as->eth.base.name, sizeof(as->eth.base.name), "%s (af_packet)", a->arg);
    return 0;
}

static struct tw_source *afpacket_open(const struct tw_source_args *a, char *err, size_t errlen)
{
    struct tw_afpacket_source *as = calloc(1, sizeof(*as));

    if (!as) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (tw_afpacket_init(as, a, err, errlen) != 0) {
        free(as);
        return NULL;
    }
    return &as->eth.base;
}

/* Whether inode is a packet socket bound to interface ifindex (/proc/net/packet). */
static int packet_socket_on(unsigned long inode, int ifindex)
{
    FILE *f = fopen("/proc/net/packet", "r");
    char line[256];
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        /* sk RefCnt Type Proto Iface R Rmem User Inode */
        int idx;
        unsigned long ino;
        if (sscanf(line, "%*s %*s %*s %*s %d %*s %*s %*s %lu", &idx, &ino) == 2)
            found = idx == ifindex && ino == inode;
    }
    fclose(f);
    return found;
}

/* Duplicates the driver's packet sockets on the interface, so their counters can be read
 * for as long as we need them. */
static void find_driver_sockets(struct tw_afpacket_source *as)
{
    int ifindex = (int)if_nametoindex(as->iface);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (!d || !ifindex) {
        if (d)
            closedir(d);
        return;
    }
    while ((e = readdir(d)) && as->nfds < sizeof(as->fds) / sizeof(as->fds[0])) {
        char path[300], target[64];
        unsigned long inode;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        n = readlink(path, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (sscanf(target, "socket:[%lu]", &inode) != 1 || !packet_socket_on(inode, ifindex))
            continue;
        int fd = fcntl(atoi(e->d_name), F_DUPFD_CLOEXEC, 0);
        if (fd >= 0)
            as->fds[as->nfds++] = fd;
    }
    closedir(d);
}

int tw_afpacket_start(struct tw_afpacket_source *as, const struct tw_source_pool *p, char *err,
                      size_t errlen)
{
    if (rte_eth_dev_get_port_by_name(VDEV_NAME, &as->eth.port) != 0) {
        snprintf(err, errlen, "--iface %s: cannot open the interface", as->iface);
        return -1;
    }
    if (tw_ethdev_start(&as->eth, p, tw_iface_promisc(as->iface) == 1, err, errlen) != 0)
        return -1;
    find_driver_sockets(as);
    return 0;
}

static int afpacket_start(struct tw_source *s, const struct tw_source_pool *p, char *err,
                          size_t errlen)
{
    return tw_afpacket_start((struct tw_afpacket_source *)s, p, err, errlen);
}

void tw_afpacket_stats(struct tw_source *s, struct tw_source_stats *st)
{
    struct tw_afpacket_source *as = (struct tw_afpacket_source *)s;

    for (unsigned i = 0; i < as->nfds; i++) {
        struct tpacket_stats ks;
        socklen_t len = sizeof(ks);
        if (getsockopt(as->fds[i], SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0)
            as->kernel_drops += ks.tp_drops;
    }
    tw_ethdev_stats(s, st);
    st->imissed += as->kernel_drops;
    st->link = tw_iface_link(as->iface);
}

int tw_afpacket_reattach(struct tw_source *s, char *err, size_t errlen)
{
    struct tw_afpacket_source *as = (struct tw_afpacket_source *)s;
    char args[64];

    for (unsigned i = 0; i < as->nfds; i++)
        close(as->fds[i]);
    as->nfds = 0;
    int reduced;
    snprintf(args, sizeof(args), TW_AFPACKET_ARGS, as->iface, as->eth.base.nb_queues,
             tw_afpacket_frames(as->eth.base.nb_queues, &reduced));
    if (tw_ethdev_reattach(&as->eth, VDEV_NAME, args, tw_iface_promisc(as->iface) == 1, err,
                           errlen) != 0)
        return -1;
    find_driver_sockets(as);
    return 0;
}

void tw_afpacket_close(struct tw_source *s)
{
    struct tw_afpacket_source *as = (struct tw_afpacket_source *)s;

    for (unsigned i = 0; i < as->nfds; i++)
        close(as->fds[i]);
    tw_ethdev_close(s);
}

const struct tw_source_kind tw_source_afpacket = {
    .name = "iface",
    .open = afpacket_open,
    .start = afpacket_start,
    .rx = tw_ethdev_rx,
    .stats = tw_afpacket_stats,
    .reattach = tw_afpacket_reattach,
    .close = tw_afpacket_close,
};
