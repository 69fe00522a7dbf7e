/* iface.h - what the kernel says about a network interface, for the sources that read one
 * (source_afpacket.c, source_afxdp.c) and for the control plane's link watch. Each call is
 * one ioctl on a throw-away socket: for start-up and for the control lcore, never workers. */
#ifndef TW_IFACE_H
#define TW_IFACE_H

/* Whether the kernel has the interface in promiscuous mode now. Returns 1, 0, or -1 when
 * it cannot tell. */
int tw_iface_promisc(const char *iface);

/* The interface's channels as ethtool -l counts them: combined (receive and transmit) and
 * receive-only. Returns 0, or -1 when the driver does not say. */
int tw_iface_channels(const char *iface, unsigned *combined, unsigned *rx_only);

enum tw_link_state {
    TW_LINK_UNKNOWN = 0, /* a file, or a port that does not say */
    TW_LINK_UP,
    TW_LINK_DOWN,        /* administratively down or no carrier */
    TW_LINK_GONE,        /* the interface no longer exists */
};

/* The interface's state now: up (IFF_UP and IFF_RUNNING), down, or gone. */
enum tw_link_state tw_iface_link(const char *iface);

/* Printable name of a link state ("up", "down", "gone", "unknown"). */
const char *tw_link_state_name(enum tw_link_state s);

#endif
