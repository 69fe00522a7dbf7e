/* source_ethdev.c - a DPDK port as a source: a NIC bound to vfio-pci or a test vdev named
 * by EAL arguments (--port N), and the port handling source_afpacket.c shares. Several
 * receive queues use RSS with a symmetric key, so both directions of a flow reach the
 * same queue and worker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "clock.h"
#include "iface.h"
#include "parse.h"
#include "source_ethdev.h"

#define RX_DESCRIPTORS 1024

/* A repeated 0x6d5a key makes Toeplitz RSS symmetric: (a,b) and (b,a) hash alike. */
static uint8_t symmetric_rss_key[52];

int tw_ethdev_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
    struct tw_ethdev_source *es = (struct tw_ethdev_source *)s;
    uint16_t got = rte_eth_rx_burst(es->port, q, pkts, n);

    if (got) { /* one clock read per burst: ports here give no per-packet time */
        uint64_t now = tw_wall_us();
        for (uint16_t i = 0; i < got; i++) {
            struct tw_mbuf_meta *meta = tw_mbuf_meta(pkts[i]);
            meta->ts_us = now;
            meta->wire_len = pkts[i]->pkt_len;
        }
    }
    return got;
}

void tw_ethdev_stats(struct tw_source *s, struct tw_source_stats *st)
{
    struct tw_ethdev_source *es = (struct tw_ethdev_source *)s;
    struct rte_eth_stats es_st;

    memset(st, 0, sizeof(*st));
    if (es->started && rte_eth_stats_get(es->port, &es_st) == 0) {
        st->packets = es_st.ipackets;
        st->bytes = es_st.ibytes;
        st->imissed = es_st.imissed;
        st->ierrors = es_st.ierrors;
        st->rx_nombuf = es_st.rx_nombuf;
    }
    struct rte_eth_link link;
    if (es->started && rte_eth_link_get_nowait(es->port, &link) == 0)
        st->link = link.link_status ? TW_LINK_UP : TW_LINK_DOWN;
}

void tw_ethdev_close(struct tw_source *s)
{
    struct tw_ethdev_source *es = (struct tw_ethdev_source *)s;

    if (es->started) {
        if (es->promisc_set) /* a mirror port goes back to what it was before us */
            rte_eth_promiscuous_disable(es->port);
        rte_eth_dev_stop(es->port);
        rte_eth_dev_close(es->port);
    }
    free(es);
}

void tw_ethdev_init(struct tw_ethdev_source *es, const struct tw_source_args *a)
{
    es->base.linktype = TW_LINK_ETHERNET;
    es->base.replayable = 0;
    es->base.nb_queues = a->nb_queues;
    es->promiscuous = a->promiscuous;
}

int tw_ethdev_start(struct tw_ethdev_source *es, const struct tw_source_pool *p,
                    int was_promisc, char *err, size_t errlen)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    struct rte_mempool *pool;
    uint16_t port = es->port, nb_queues = es->base.nb_queues;
    char name[RTE_ETH_NAME_MAX_LEN] = "";
    int rc;

    if (!rte_eth_dev_is_valid_port(port)) {
        snprintf(err, errlen, "DPDK port %u does not exist (%u ports found)", port,
                 rte_eth_dev_count_avail());
        return -1;
    }
    rte_eth_dev_get_name_by_port(port, name);
    if (!es->base.name[0]) /* a row that reads a kernel interface names it itself */
        snprintf(es->base.name, sizeof(es->base.name), "port %s", name);
    rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) {
        snprintf(err, errlen, "port %s: cannot read device info: %s", name, rte_strerror(-rc));
        return -1;
    }
    if (nb_queues > info.max_rx_queues) {
        snprintf(err, errlen, "port %s: %u workers need %u receive queues, the port has %u",
                 name, nb_queues, nb_queues, info.max_rx_queues);
        return -1;
    }
    pool = es->pool ? es->pool
                    : rte_pktmbuf_pool_create("tw_mbufs", p->mbufs, 256, p->priv_size,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, p->socket);
    es->pool = pool;
    if (!pool) {
        snprintf(err, errlen, "cannot create the packet pool: %s", rte_strerror(rte_errno));
        return -1;
    }
    memset(&conf, 0, sizeof(conf));
    if (nb_queues > 1) {
        for (unsigned i = 0; i < sizeof(symmetric_rss_key); i += 2) {
            symmetric_rss_key[i] = 0x6d;
            symmetric_rss_key[i + 1] = 0x5a;
        }
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = symmetric_rss_key;
        conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size ? info.hash_key_size : 40;
        conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
                                           info.flow_type_rss_offloads;
    }
    rc = rte_eth_dev_configure(port, nb_queues, es->paired_tx ? nb_queues : 0, &conf);
    if (rc != 0) {
        snprintf(err, errlen, "port %s: configure failed: %s", name, rte_strerror(-rc));
        return -1;
    }
    for (uint16_t q = 0; q < nb_queues; q++) {
        rc = rte_eth_rx_queue_setup(port, q, RX_DESCRIPTORS, rte_eth_dev_socket_id(port), NULL,
                                    pool);
        if (rc != 0) {
            snprintf(err, errlen, "port %s: receive queue %u: %s", name, q, rte_strerror(-rc));
            return -1;
        }
        if (es->paired_tx &&
            (rc = rte_eth_tx_queue_setup(port, q, 64, rte_eth_dev_socket_id(port), NULL)) != 0) {
            snprintf(err, errlen, "port %s: transmit queue %u: %s", name, q, rte_strerror(-rc));
            return -1;
        }
    }
    if (was_promisc < 0)
        was_promisc = rte_eth_promiscuous_get(port) == 1;
    rc = rte_eth_dev_start(port);
    if (rc != 0) {
        snprintf(err, errlen, "port %s: start failed: %s", name, rte_strerror(-rc));
        return -1;
    }
    es->started = 1;
    /* A mirror port carries other hosts' frames: on when asked, and off again at close.
     * On, too, when it was on before us (another capture relies on it): rte_eth_dev_start
     * applies the driver's own flag, which net_af_packet starts at off whatever the
     * kernel's is, so the port would otherwise go deaf to that capture's frames. */
    if ((es->promiscuous || was_promisc) && rte_eth_promiscuous_enable(port) == 0)
        es->promisc_set = !was_promisc;
    return 0;
}

int tw_ethdev_reattach(struct tw_ethdev_source *es, const char *name, const char *args,
                       int was_promisc, char *err, size_t errlen)
{
    if (es->started) {
        rte_eth_dev_stop(es->port);
        rte_eth_dev_close(es->port);
        es->started = 0;
    }
    rte_vdev_uninit(name);
    if (rte_vdev_init(name, args) != 0 || rte_eth_dev_get_port_by_name(name, &es->port) != 0) {
        snprintf(err, errlen, "cannot create %s,%s again", name, args);
        return -1;
    }
    return tw_ethdev_start(es, &(struct tw_source_pool){0}, was_promisc, err, errlen);
}

/* The --port row: the port number was checked by the option parser. */
static struct tw_source *port_open(const struct tw_source_args *a, char *err, size_t errlen)
{
    struct tw_ethdev_source *es = calloc(1, sizeof(*es));

    if (!es) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    tw_ethdev_init(es, a);
    es->base.kind = &tw_source_port;
    es->port = (uint16_t)strtoul(a->arg, NULL, 10); /* named by tw_ethdev_start */
    return &es->base;
}

static int port_start(struct tw_source *s, const struct tw_source_pool *p, char *err,
                      size_t errlen)
{
    return tw_ethdev_start((struct tw_ethdev_source *)s, p, -1, err, errlen);
}

const struct tw_source_kind tw_source_port = {
    .name = "port",
    .open = port_open,
    .start = port_start,
    .rx = tw_ethdev_rx,
    .stats = tw_ethdev_stats,
    .close = tw_ethdev_close,
};
