/* source_pcap.c - a capture file (pcap or pcapng, any byte order, us or ns) as a source.
 *
 * libpcap reads the file through a 1 MiB stdio buffer (4 KiB reads cost more than nDPI's
 * share per packet); each record is copied into an mbuf with its time and wire length.
 * A file cut in the middle of a record ends the input after the last complete packet and
 * leaves a one-line note saying where.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <pcap/pcap.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "clock.h"
#include "parse.h"
#include "source.h"

#define PCAP_READ_BUFFER (1u << 20)

struct pcap_source {
    struct tw_source base;
    pcap_t *pcap;
    FILE *fp;
    char *iobuf;
    struct rte_mempool *pool;
    struct rte_mempool *big_pool;
    uint32_t room;       /* data room of an mbuf from pool */
    uint32_t big_room;
    int ended;
    uint64_t file_size;
    struct tw_source_stats stats;
    /* replay pacing */
    double speed;
    uint64_t first_ts_us;
    uint64_t start_wall_ns;
    /* --loop: replays of the file, each shifted in time so that time never goes back */
    char *path;
    uint32_t loops_left;     /* further passes after this one */
    uint64_t ts_offset_us;   /* added to every timestamp of this pass */
    uint64_t file_first_us;  /* first and last packet time of one pass */
    uint64_t file_last_us;
    /* a record read but held back by pacing */
    struct pcap_pkthdr *held_hdr;
    const u_char *held_data;
};

/* Checks the first bytes so that an empty or foreign file gets a precise message. */
static int check_magic(const char *path, uint64_t size, FILE *fp, char *err, size_t errlen)
{
    uint8_t m[4];

    if (size == 0) {
        snprintf(err, errlen, "%s: empty file, not a capture", path);
        return -1;
    }
    if (size < 24 || fread(m, 1, 4, fp) != 4) {
        snprintf(err, errlen, "%s: %llu bytes, too short to be a pcap or pcapng capture",
                 path, (unsigned long long)size);
        return -1;
    }
    uint32_t be = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    switch (be) {
    case 0xa1b2c3d4: case 0xd4c3b2a1: /* pcap, microseconds */
    case 0xa1b23c4d: case 0x4d3cb2a1: /* pcap, nanoseconds */
    case 0x0a0d0d0a:                  /* pcapng section header */
        break;
    default:
        snprintf(err, errlen, "%s: not a pcap or pcapng capture (starts with %02x %02x %02x %02x)",
                 path, m[0], m[1], m[2], m[3]);
        return -1;
    }
    rewind(fp);
    return 0;
}

static int file_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
static void file_stats(struct tw_source *s, struct tw_source_stats *st);
static void file_close(struct tw_source *s);

static const struct tw_source_ops pcap_ops = {
    .kind = "pcap",
    .rx_burst = file_rx,
    .get_stats = file_stats,
    .close = file_close,
};

struct tw_source *tw_source_pcap_open(const char *path, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    char lname[64];
    struct pcap_source *ps;
    struct stat st;

    ps = calloc(1, sizeof(*ps));
    if (!ps) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    ps->fp = fopen(path, "rb");
    if (!ps->fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(fileno(ps->fp), &st) != 0 || S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
        goto fail;
    }
    ps->file_size = (uint64_t)st.st_size;
    ps->path = strdup(path);
    if (!ps->path) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (check_magic(path, ps->file_size, ps->fp, err, errlen) != 0)
        goto fail;
    ps->iobuf = malloc(PCAP_READ_BUFFER);
    if (!ps->iobuf || setvbuf(ps->fp, ps->iobuf, _IOFBF, PCAP_READ_BUFFER) != 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    ps->pcap = pcap_fopen_offline_with_tstamp_precision(ps->fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (!ps->pcap) {
        snprintf(err, errlen, "%s: not a readable capture: %s", path, perr);
        goto fail;
    }
    ps->fp = NULL; /* owned by libpcap now */
    ps->base.linktype = pcap_datalink(ps->pcap);
    if (!tw_linktype_supported(ps->base.linktype)) {
        const char *dlt = pcap_datalink_val_to_name(ps->base.linktype);
        snprintf(err, errlen,
                 "%s: link type %d (%s) is not supported; supported: Ethernet, Linux cooked v1/v2, "
                 "raw IPv4/IPv6, BSD loopback, PPP, Cisco HDLC",
                 path, ps->base.linktype, dlt ? dlt : "unknown");
        goto fail;
    }
    ps->base.ops = &pcap_ops;
    ps->base.replayable = 1;
    ps->base.nb_queues = 1;
    snprintf(ps->base.name, sizeof(ps->base.name), "%s (%s)", path,
             tw_linktype_name(ps->base.linktype, lname, sizeof(lname)));
    return &ps->base;

fail:
    if (ps->pcap)
        pcap_close(ps->pcap);
    if (ps->fp)
        fclose(ps->fp);
    free(ps->iobuf);
    free(ps->path);
    free(ps);
    return NULL;
}

void tw_source_pcap_attach(struct tw_source *s, struct rte_mempool *pool,
                           struct rte_mempool *big_pool, double replay_speed)
{
    struct pcap_source *ps = (struct pcap_source *)s;

    ps->pool = pool;
    ps->big_pool = big_pool;
    ps->room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
    ps->big_room = big_pool ? rte_pktmbuf_data_room_size(big_pool) - RTE_PKTMBUF_HEADROOM : 0;
    ps->speed = replay_speed;
}

/* Pacing for --replay-speed: 1 when this packet's time has not come yet. */
static int too_early(struct pcap_source *ps, uint64_t ts_us)
{
    if (ps->speed <= 0)
        return 0;
    if (!ps->start_wall_ns) {
        ps->start_wall_ns = tw_mono_ns();
        ps->first_ts_us = ts_us;
        return 0;
    }
    if (ts_us <= ps->first_ts_us)
        return 0;
    uint64_t due = ps->start_wall_ns + (uint64_t)((double)(ts_us - ps->first_ts_us) * 1000.0 / ps->speed);
    return tw_mono_ns() < due;
}

/* Copies one record into an mbuf. Returns the mbuf, or NULL when no mbuf is free. */
static struct rte_mbuf *to_mbuf(struct pcap_source *ps, const struct pcap_pkthdr *h,
                                const u_char *data)
{
    uint32_t len = h->caplen;
    struct rte_mbuf *m;

    if (len <= ps->room || !ps->big_pool) {
        m = rte_pktmbuf_alloc(ps->pool);
        if (len > ps->room)
            len = ps->room;
    } else {
        m = rte_pktmbuf_alloc(ps->big_pool);
        if (len > ps->big_room)
            len = ps->big_room; /* beyond 64 KiB: kept as a snapped frame */
    }
    if (!m)
        return NULL;
    memcpy(rte_pktmbuf_mtod(m, void *), data, len);
    m->data_len = (uint16_t)len;
    m->pkt_len = len;
    struct tw_mbuf_meta *meta = tw_mbuf_meta(m);
    meta->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec + ps->ts_offset_us;
    meta->wire_len = h->len > len ? h->len : len;
    return m;
}

/* Starts the next pass of --loop: the file again, later by one pass's span rounded up to
 * whole seconds (plus one), so flows of one pass do not run into the next. */
static int reopen(struct pcap_source *ps)
{
    char perr[PCAP_ERRBUF_SIZE];
    FILE *fp;
    pcap_t *p;

    fp = fopen(ps->path, "rb");
    if (!fp)
        return -1;
    pcap_close(ps->pcap); /* closes the previous FILE, not the buffer */
    ps->pcap = NULL;
    if (setvbuf(fp, ps->iobuf, _IOFBF, PCAP_READ_BUFFER) != 0 ||
        !(p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr))) {
        fclose(fp);
        return -1;
    }
    ps->pcap = p;
    ps->loops_left--;
    uint64_t span = ps->file_last_us - ps->file_first_us;
    ps->ts_offset_us += (span / 1000000u + 2) * 1000000u;
    return 0;
}

void tw_source_pcap_set_loops(struct tw_source *s, uint32_t passes)
{
    ((struct pcap_source *)s)->loops_left = passes > 1 ? passes - 1 : 0;
}

static int file_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
    struct pcap_source *ps = (struct pcap_source *)s;
    uint16_t got = 0;

    (void)q;
    if (ps->ended)
        return -1;
    while (got < n) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc;

        if (ps->held_hdr) {
            h = ps->held_hdr;
            data = ps->held_data;
            rc = 1;
        } else {
            rc = pcap_next_ex(ps->pcap, &h, &data);
        }
        if (rc == 1) {
            uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
            if (!ps->held_hdr) {
                if (!ps->file_first_us || ts < ps->file_first_us)
                    ps->file_first_us = ts;
                if (ts > ps->file_last_us)
                    ps->file_last_us = ts;
            }
            ts += ps->ts_offset_us;
            if (too_early(ps, ts)) {
                ps->held_hdr = h; /* libpcap keeps the record until the next read */
                ps->held_data = data;
                if (!got) {
                    struct timespec nap = {0, 200000};
                    nanosleep(&nap, NULL);
                }
                return got;
            }
            struct rte_mbuf *m = to_mbuf(ps, h, data);
            if (!m) { /* pool empty: keep the record and let the worker free mbufs */
                ps->held_hdr = h;
                ps->held_data = data;
                return got;
            }
            ps->held_hdr = NULL;
            pkts[got++] = m;
            ps->stats.packets++;
            ps->stats.bytes += tw_mbuf_meta(m)->wire_len;
            continue;
        }
        if (rc == PCAP_ERROR_BREAK && ps->loops_left > 0 && reopen(ps) == 0)
            continue;
        ps->ended = 1;
        if (rc == PCAP_ERROR) {
            const char *why = pcap_geterr(ps->pcap);
            if (strstr(why, "truncated")) /* libpcap's word for a record the file ends in */
                snprintf(s->end_note, sizeof(s->end_note),
                         "capture cut after %llu complete packets, in the middle of packet %llu "
                         "(file ends at byte %llu): %s",
                         (unsigned long long)ps->stats.packets,
                         (unsigned long long)ps->stats.packets + 1,
                         (unsigned long long)ps->file_size, why);
            else
                snprintf(s->end_note, sizeof(s->end_note),
                         "capture unreadable after %llu packets: %s",
                         (unsigned long long)ps->stats.packets, why);
        }
        return got ? got : -1;
    }
    return got;
}

static void file_stats(struct tw_source *s, struct tw_source_stats *st)
{
    *st = ((struct pcap_source *)s)->stats;
}

static void file_close(struct tw_source *s)
{
    struct pcap_source *ps = (struct pcap_source *)s;

    if (ps->pcap)
        pcap_close(ps->pcap);
    free(ps->iobuf);
    free(ps->path);
    free(ps);
}
