/* source_ethdev.c - a DPDK port as a source: a NIC bound to vfio-pci, net_af_packet on a
 * kernel interface (a mirror port), or a test vdev. Several receive queues use RSS with a
 * symmetric key, so both directions of a flow reach the same queue and worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "clock.h"
#include "parse.h"
#include "source.h"

#define RX_DESCRIPTORS 1024

struct ethdev_source {
    struct tw_source base;
    uint16_t port;
};

/* A repeated 0x6d5a key makes Toeplitz RSS symmetric: (a,b) and (b,a) hash alike. */
static uint8_t symmetric_rss_key[52];

static int ethdev_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
    struct ethdev_source *es = (struct ethdev_source *)s;
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

static void ethdev_stats(struct tw_source *s, struct tw_source_stats *st)
{
    struct ethdev_source *es = (struct ethdev_source *)s;
    struct rte_eth_stats es_st;

    memset(st, 0, sizeof(*st));
    if (rte_eth_stats_get(es->port, &es_st) == 0) {
        st->packets = es_st.ipackets;
        st->bytes = es_st.ibytes;
        st->dropped = es_st.imissed + es_st.ierrors + es_st.rx_nombuf;
    }
}

static void ethdev_close(struct tw_source *s)
{
    struct ethdev_source *es = (struct ethdev_source *)s;

    rte_eth_dev_stop(es->port);
    rte_eth_dev_close(es->port);
    free(es);
}

static const struct tw_source_ops ethdev_ops = {
    .kind = "ethdev",
    .rx_burst = ethdev_rx,
    .get_stats = ethdev_stats,
    .close = ethdev_close,
};

struct tw_source *tw_source_ethdev_open(uint16_t port, uint16_t nb_queues,
                                        struct rte_mempool *pool, char *err, size_t errlen)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    struct ethdev_source *es;
    char name[RTE_ETH_NAME_MAX_LEN] = "";
    int rc;

    if (!rte_eth_dev_is_valid_port(port)) {
        snprintf(err, errlen, "DPDK port %u does not exist (%u ports found)", port,
                 rte_eth_dev_count_avail());
        return NULL;
    }
    rte_eth_dev_get_name_by_port(port, name);
    rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) {
        snprintf(err, errlen, "port %s: cannot read device info: %s", name, rte_strerror(-rc));
        return NULL;
    }
    if (nb_queues > info.max_rx_queues) {
        snprintf(err, errlen, "port %s: %u workers need %u receive queues, the port has %u",
                 name, nb_queues, nb_queues, info.max_rx_queues);
        return NULL;
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
    rc = rte_eth_dev_configure(port, nb_queues, 0, &conf);
    if (rc != 0) {
        snprintf(err, errlen, "port %s: configure failed: %s", name, rte_strerror(-rc));
        return NULL;
    }
    for (uint16_t q = 0; q < nb_queues; q++) {
        rc = rte_eth_rx_queue_setup(port, q, RX_DESCRIPTORS, rte_eth_dev_socket_id(port), NULL,
                                    pool);
        if (rc != 0) {
            snprintf(err, errlen, "port %s: receive queue %u: %s", name, q, rte_strerror(-rc));
            return NULL;
        }
    }
    rc = rte_eth_dev_start(port);
    if (rc != 0) {
        snprintf(err, errlen, "port %s: start failed: %s", name, rte_strerror(-rc));
        return NULL;
    }
    rte_eth_promiscuous_enable(port); /* a mirror port carries other hosts' frames */
    es = calloc(1, sizeof(*es));
    if (!es) {
        rte_eth_dev_stop(port);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    es->port = port;
    es->base.ops = &ethdev_ops;
    es->base.linktype = TW_LINK_ETHERNET;
    es->base.replayable = 0;
    es->base.nb_queues = nb_queues;
    snprintf(es->base.name, sizeof(es->base.name), "port %s", name);
    return &es->base;
}
