/* source_afxdp.c - a kernel interface (--iface NAME --xdp, or `source: af_xdp`) through
 * DPDK's net_af_xdp: an XDP program on the interface hands frames to AF_XDP sockets, one per
 * receive channel, without the kernel's socket path (on this project's veth benchmark it is
 * not faster than af_packet: README "Benchmark on a live link"; on a NIC with native XDP it
 * saves the kernel's copy).
 *
 * Every receive channel: the NIC spreads frames over its channels whatever our worker count,
 * and a channel without a socket would lose its share. So the port gets one queue per
 * channel, and worker w reads channels w, w + W, w + 2W... (W = workers, or the channel count
 * when there are fewer channels: the pipeline then spreads them in software). DPDK 22.11's
 * driver binds combined channels only (a driver that names none has one): an interface with
 * receive-only channels beyond those (veth with several queues) cannot be covered.
 *
 * Where AF_XDP cannot cover the interface, or the kernel or the driver cannot do it (no XDP,
 * no AF_XDP sockets, no right to load BPF: DPDK then fails to create the port), we say so in
 * one line and read the interface through net_af_packet instead, as --iface does without
 * --xdp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "iface.h"
#include "source_afpacket.h"

#define VDEV_NAME "net_af_xdp0"
#define MAX_CHANNELS 64

struct afxdp_source {
    struct tw_afpacket_source ap; /* first: after a fall-back it is an af_packet source */
    int fell_back;
    uint16_t channels;            /* the port's queues: the interface's receive channels */
    uint16_t workers_queues;      /* queues the pipeline reads (<= channels) */
};

/* libbpf and libxdp print their own chatter (ELF sections, bpffs) on stderr: the driver's
 * outcome is what we report. */
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level, (void)fmt, (void)ap;
    return 0;
}

static int quiet_libxdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
    (void)level, (void)fmt, (void)ap;
    return 0;
}

static struct tw_source *afxdp_open(const struct tw_source_args *a, char *err, size_t errlen)
{
    struct afxdp_source *xs = calloc(1, sizeof(*xs));
    unsigned channels;

    libbpf_set_print(quiet_libbpf);
    libxdp_set_print(quiet_libxdp);
    if (!xs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (tw_afpacket_init(&xs->ap, a, err, errlen) != 0) {
        free(xs);
        return NULL;
    }
    unsigned combined = 0, rx_only = 0;
    channels = 1;
    if (tw_iface_channels(a->arg, &combined, &rx_only) == 0 && combined > 0)
        channels = combined;
    /* More workers than channels needs the software dispatch, and AF_XDP behind it stalls:
     * seen with make bench-live, 2 workers on a 1-channel veth stop receiving after about
     * the pool's worth of packets (cause not found yet). Until it is, af_packet does it. */
    if (a->nb_queues > channels && channels <= MAX_CHANNELS && combined + rx_only <= channels) {
        xs->fell_back = 1;
        snprintf(xs->ap.eth.base.note, sizeof(xs->ap.eth.base.note),
                 "--iface %s --xdp: %u workers need %u combined channels, the interface has %u "
                 "(ethtool -L %s combined %u); reading it through af_packet instead", a->arg,
                 a->nb_queues, a->nb_queues, channels, a->arg, a->nb_queues);
        xs->workers_queues = a->nb_queues;
        return &xs->ap.eth.base;
    }
    if (combined + rx_only > channels || channels > MAX_CHANNELS) {
        /* from here on an af_packet source: tw_afpacket_init's vdev, fell_back's branches */
        xs->fell_back = 1;
        snprintf(xs->ap.eth.base.note, sizeof(xs->ap.eth.base.note),
                 "--iface %s --xdp: AF_XDP here reads %u of its %u receive channels (combined "
                 "ones only); reading it through af_packet instead", a->arg,
                 channels > MAX_CHANNELS ? MAX_CHANNELS : channels, combined + rx_only);
        xs->workers_queues = a->nb_queues;
        return &xs->ap.eth.base;
    }
    xs->channels = (uint16_t)channels;
    xs->workers_queues = a->nb_queues < channels ? a->nb_queues : (uint16_t)channels;
    xs->ap.eth.base.kind = &tw_source_afxdp;
    xs->ap.eth.base.nb_queues = xs->workers_queues;
    xs->ap.eth.paired_tx = 1; /* net_af_xdp pairs each receive queue with a transmit queue */
    snprintf(xs->ap.eth.base.eal_vdev, sizeof(xs->ap.eth.base.eal_vdev),
             VDEV_NAME ",iface=%s,start_queue=0,queue_count=%u", a->arg, channels);
    snprintf(xs->ap.eth.base.name, sizeof(xs->ap.eth.base.name), "%s (AF_XDP, %u channel%s)",
             a->arg, channels, channels > 1 ? "s" : "");
    return &xs->ap.eth.base;
}

/* Reads the interface through net_af_packet, created now (EAL could not create the
 * AF_XDP port). */
static int fall_back(struct afxdp_source *xs, const struct tw_source_pool *p, char *err,
                     size_t errlen)
{
    char args[64];

    int reduced;
    snprintf(args, sizeof(args), TW_AFPACKET_ARGS, xs->ap.iface, xs->workers_queues,
             tw_afpacket_frames(xs->workers_queues, &reduced));
    if (rte_vdev_init(TW_AFPACKET_VDEV, args) != 0) {
        snprintf(err, errlen, "--iface %s --xdp: neither AF_XDP nor af_packet can open it",
                 xs->ap.iface);
        return -1;
    }
    xs->fell_back = 1;
    xs->ap.eth.paired_tx = 0;
    xs->ap.eth.base.nb_queues = xs->workers_queues;
    snprintf(xs->ap.eth.base.name, sizeof(xs->ap.eth.base.name), "%s (af_packet)", xs->ap.iface);
    return tw_afpacket_start(&xs->ap, p, err, errlen);
}

static int afxdp_start(struct tw_source *s, const struct tw_source_pool *p, char *err,
                       size_t errlen)
{
    struct afxdp_source *xs = (struct afxdp_source *)s;

    if (xs->fell_back) /* decided at open: EAL made the af_packet port */
        return tw_afpacket_start(&xs->ap, p, err, errlen);
    if (rte_eth_dev_get_port_by_name(VDEV_NAME, &xs->ap.eth.port) != 0) {
        snprintf(xs->ap.eth.base.note, sizeof(xs->ap.eth.base.note),
                 "--iface %s --xdp: AF_XDP is not available on this interface or kernel "
                 "(DPDK's reason above); reading it through af_packet instead", xs->ap.iface);
        return fall_back(xs, p, err, errlen);
    }
    /* every channel gets a queue (and an XDP socket); the pipeline reads workers_queues */
    xs->ap.eth.base.nb_queues = xs->channels;
    int rc = tw_ethdev_start(&xs->ap.eth, p, tw_iface_promisc(xs->ap.iface) == 1, err, errlen);
    xs->ap.eth.base.nb_queues = xs->workers_queues;
    if (rc == 0)
        return 0;
    /* The port exists but its XDP sockets cannot be made: the kernel refuses the program
     * (a veth whose peer's MTU is beyond what XDP takes, a driver without XDP): the port
     * goes, af_packet reads the interface, on the pool already made. */
    snprintf(xs->ap.eth.base.note, sizeof(xs->ap.eth.base.note),
             "--iface %s --xdp: AF_XDP cannot read this interface (%s); reading it through "
             "af_packet instead", xs->ap.iface, err);
    rte_eth_dev_close(xs->ap.eth.port);
    rte_vdev_uninit(VDEV_NAME);
    return fall_back(xs, p, err, errlen);
}

/* Worker queue q reads channels q, q + W, ...: a burst from the first that has frames,
 * so a busy channel cannot starve the others for more than one burst each. */
static int afxdp_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
    struct afxdp_source *xs = (struct afxdp_source *)s;
    int got = 0;

    if (xs->fell_back || xs->channels == xs->workers_queues)
        return tw_ethdev_rx(s, q, pkts, n);
    for (uint16_t ch = q; ch < xs->channels && got < n; ch += xs->workers_queues)
        got += tw_ethdev_rx(s, ch, pkts + got, (uint16_t)(n - got));
    return got;
}

static void afxdp_stats(struct tw_source *s, struct tw_source_stats *st)
{
    struct afxdp_source *xs = (struct afxdp_source *)s;

    if (xs->fell_back) {
        tw_afpacket_stats(s, st);
        return;
    }
    tw_ethdev_stats(s, st); /* net_af_xdp counts the XDP sockets' drops as imissed */
    st->link = tw_iface_link(xs->ap.iface);
}

static int afxdp_reattach(struct tw_source *s, char *err, size_t errlen)
{
    struct afxdp_source *xs = (struct afxdp_source *)s;
    char args[96];

    if (xs->fell_back)
        return tw_afpacket_reattach(s, err, errlen);
    snprintf(args, sizeof(args), "iface=%s,start_queue=0,queue_count=%u", xs->ap.iface,
             xs->channels);
    xs->ap.eth.base.nb_queues = xs->channels;
    int rc = tw_ethdev_reattach(&xs->ap.eth, VDEV_NAME, args, tw_iface_promisc(xs->ap.iface) == 1,
                                err, errlen);
    xs->ap.eth.base.nb_queues = xs->workers_queues;
    return rc;
}

const struct tw_source_kind tw_source_afxdp = {
    .name = "iface-xdp",
    .open = afxdp_open,
    .start = afxdp_start,
    .rx = afxdp_rx,
    .stats = afxdp_stats,
    .reattach = afxdp_reattach,
    .close = tw_afpacket_close,
};
