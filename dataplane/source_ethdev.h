/* source_ethdev.h - a DPDK port as a source, the part every port-backed row shares
 * (source_ethdev.c: --port; source_afpacket.c: --iface). Not for code outside sources. */
#ifndef TW_SOURCE_ETHDEV_H
#define TW_SOURCE_ETHDEV_H

#include <stdint.h>

#include "source.h"

struct tw_ethdev_source {
    struct tw_source base;
    uint16_t port;
    int started;
    int promiscuous;    /* asked for by the configuration */
    int promisc_set;    /* 1: we turned it on, so close() turns it off again */
    struct rte_mempool *pool; /* created by the first start, kept by a reattach */
    int paired_tx;      /* the driver wants a transmit queue beside each receive queue
                         * (net_af_xdp); they stay unused */
};

/* Fills the shared fields from the arguments. */
void tw_ethdev_init(struct tw_ethdev_source *es, const struct tw_source_args *a);

/* Configures port es->port with base.nb_queues receive queues (symmetric RSS when > 1)
 * from a pool it creates, starts it, and turns promiscuous mode on when asked or when it
 * was on before (was_promisc: 1/0, -1 to ask the port); tw_ethdev_close turns off what this
 * turned on. Returns 0, or -1 with a one-line reason. */
int tw_ethdev_start(struct tw_ethdev_source *es, const struct tw_source_pool *p,
                    int was_promisc, char *err, size_t errlen);

/* Stops and closes the port, destroys the vdev `name` and creates it again with args (the
 * interface it reads is back), then starts it as before on the same pool. Returns 0, or -1
 * with a one-line reason. */
int tw_ethdev_reattach(struct tw_ethdev_source *es, const char *name, const char *args,
                       int was_promisc, char *err, size_t errlen);

/* The rx of a port row (source.h): a burst, each mbuf stamped with the time of the burst. */
int tw_ethdev_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
/* The port's own counters: imissed, ierrors, rx_nombuf as the driver counts them. */
void tw_ethdev_stats(struct tw_source *s, struct tw_source_stats *st);
/* The close of a port row (source.h): puts the port back in the mode it had, stops and
 * closes it (when started), and frees the source, which begins with its tw_ethdev_source. */
void tw_ethdev_close(struct tw_source *s);

#endif
