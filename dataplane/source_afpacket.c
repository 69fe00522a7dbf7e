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
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "dataplane/iface_name.h"
#include "source_ethdev.h"

#define VDEV_NAME "net_af_packet0"

struct afpacket_source {
    struct tw_ethdev_source eth;
    char iface[IF_NAMESIZE];
    int fds[64];            /* our duplicates of the driver's sockets */
    unsigned nfds;
    uint64_t kernel_drops;  /* PACKET_STATISTICS resets on each read: the sum so far */
};

static struct tw_source *afpacket_open(const struct tw_source_args *a, char *err, size_t errlen)
{
    struct afpacket_source *as;

    /* the name goes into EAL's devargs: nothing but a name may get there */
    if (tw_iface_name_check(a->arg, err, errlen) != 0)
        return NULL;
    as = calloc(1, sizeof(*as));
    if (!as) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    tw_ethdev_init(&as->eth, a);
    as->eth.base.kind = &tw_source_afpacket;
    snprintf(as->iface, sizeof(as->iface), "%s", a->arg);
    snprintf(as->eth.base.eal_vdev, sizeof(as->eth.base.eal_vdev), VDEV_NAME ",iface=%s,qpairs=%u",
             a->arg, a->nb_queues);
    snprintf(as->eth.base.name, sizeof(as->eth.base.name), "port " VDEV_NAME);
    return &as->eth.base;
}

/* Whether the kernel has the interface in promiscuous mode now: the driver's own flag
 * starts at 0 whatever the interface is. Returns 1, 0, or -1 when it cannot tell. */
static int kernel_promisc(const char *iface)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = -1;

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
        on = (ifr.ifr_flags & IFF_PROMISC) != 0;
    close(fd);
    return on;
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
static void find_driver_sockets(struct afpacket_source *as)
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

static int afpacket_start(struct tw_source *s, const struct tw_source_pool *p, char *err,
                          size_t errlen)
{
    struct afpacket_source *as = (struct afpacket_source *)s;

    if (rte_eth_dev_get_port_by_name(VDEV_NAME, &as->eth.port) != 0) {
        snprintf(err, errlen, "--iface %s: cannot open the interface", as->iface);
        return -1;
    }
    if (tw_ethdev_start(&as->eth, p, kernel_promisc(as->iface) == 1, err, errlen) != 0)
        return -1;
    find_driver_sockets(as);
    return 0;
}

static void afpacket_stats(struct tw_source *s, struct tw_source_stats *st)
{
    struct afpacket_source *as = (struct afpacket_source *)s;

    for (unsigned i = 0; i < as->nfds; i++) {
        struct tpacket_stats ks;
        socklen_t len = sizeof(ks);
        if (getsockopt(as->fds[i], SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0)
            as->kernel_drops += ks.tp_drops;
    }
    tw_ethdev_stats(s, st);
    st->imissed += as->kernel_drops;
}

static void afpacket_close(struct tw_source *s)
{
    struct afpacket_source *as = (struct afpacket_source *)s;

    for (unsigned i = 0; i < as->nfds; i++)
        close(as->fds[i]);
    tw_ethdev_close(s);
}

const struct tw_source_kind tw_source_afpacket = {
    .name = "iface",
    .open = afpacket_open,
    .start = afpacket_start,
    .rx = tw_ethdev_rx,
    .stats = afpacket_stats,
    .close = afpacket_close,
};
