/* iface.c - interface facts from the kernel (see iface.h). */
#include "iface.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* One ioctl about iface on a throw-away socket. Returns 0, or -1 with errno set. */
static int iface_ioctl(const char *iface, unsigned long req, struct ifreq *ifr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc, saved;

    if (fd < 0)
        return -1;
    snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", iface);
    rc = ioctl(fd, req, ifr);
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int tw_iface_promisc(const char *iface)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    if (iface_ioctl(iface, SIOCGIFFLAGS, &ifr) != 0)
        return -1;
    return (ifr.ifr_flags & IFF_PROMISC) != 0;
}

int tw_iface_channels(const char *iface, unsigned *combined, unsigned *rx_only)
{
    struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_data = (void *)&ch;
    if (iface_ioctl(iface, SIOCETHTOOL, &ifr) != 0)
        return -1;
    *combined = ch.combined_count;
    *rx_only = ch.rx_count;
    return 0;
}

enum tw_link_state tw_iface_link(const char *iface)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    if (iface_ioctl(iface, SIOCGIFFLAGS, &ifr) != 0)
        return errno == ENODEV || errno == ENXIO ? TW_LINK_GONE : TW_LINK_UNKNOWN;
    return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING) ? TW_LINK_UP : TW_LINK_DOWN;
}

const char *tw_link_state_name(enum tw_link_state s)
{
    switch (s) {
    case TW_LINK_UP: return "up";
    case TW_LINK_DOWN: return "down";
    case TW_LINK_GONE: return "gone";
    case TW_LINK_UNKNOWN: break;
    }
    return "unknown";
}
