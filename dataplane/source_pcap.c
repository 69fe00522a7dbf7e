/* source_pcap.c - a capture file (pcap or pcapng, any byte order, us or ns) as a source.
 *
 * A classic pcap file on disk is mapped (pcap_map.c) and each frame is handed out as an
 * mbuf whose data points into the mapping: no read() copy, no memcpy, and the pool holds
 * headers only; a pager thread (pcap_pager.c) maps the pages just ahead of the reader and
 * returns them just behind it. pcapng files and pipes go through libpcap with a 1 MiB stdio
 * buffer, each record copied into an mbuf. Either way a file cut in the middle of a record
 * ends the input after the last complete packet and leaves a one-line note saying where.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <pcap/pcap.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "clock.h"
#include "parse.h"
#include "pcap_map.h"
#include "pcap_pager.h"
#include "source.h"
#include "time_gaps.h"

#define PCAP_READ_BUFFER (1u << 20)
#define SPARE_MBUFS 32
#define BIG_MBUFS 128 /* copied frames beyond a standard mbuf's room (jumbo, TSO captures) */
#define SHINFO_SIZE RTE_ALIGN(sizeof(struct rte_mbuf_ext_shared_info), RTE_MBUF_PRIV_ALIGN)

struct pcap_source {
    struct tw_source base;
    struct tw_pcap_map map;  /* a mapped classic pcap file (map.base != NULL), or */
    struct tw_pcap_pager *pager; /* keeping the mapping resident around the reader */
    pcap_t *pcap;            /* libpcap reading it */
    uint32_t shinfo_off;     /* where a mapped frame's shared info sits in the mbuf's private area */
    struct rte_mbuf *spare[SPARE_MBUFS]; /* taken from the pool in bulk, handed out one by one */
    unsigned nspare;
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
    /* a record read but held back by pacing or an empty pool */
    struct tw_pcap_rec held;
    int has_held;
    struct tw_time_gaps gaps; /* holes in the packet times (the policy's mirror_silent) */
};

/* Checks the first bytes so that an empty or foreign file gets a precise message. */
static int check_magic(const char *path, uint64_t size, FILE *fp, uint8_t m[4], char *err,
                       size_t errlen)
{

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
    uint8_t magic[4];
    if (check_magic(path, ps->file_size, ps->fp, magic, err, errlen) != 0)
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
    ps->base.linktype = pcap_datalink(ps->pcap);
    struct tw_pcap_format fmt;
    if (S_ISREG(st.st_mode) && tw_pcap_map_format(ps->pcap, magic, &fmt) == 0 &&
        tw_pcap_map_file(&ps->map, fileno(ps->fp), ps->file_size, &fmt) == 0) {
        pcap_close(ps->pcap); /* libpcap read the header; the records are read in place */
        ps->pcap = NULL;
        free(ps->iobuf);
        ps->iobuf = NULL;
        /* started now, it maps the first pages while the EAL initialises */
        ps->pager = tw_pcap_pager_start(ps->map.base, ps->map.size);
        if (!ps->pager) {
            snprintf(err, errlen, "%s: cannot start the thread that maps it: %s", path,
                     strerror(errno));
            goto fail;
        }
    }
    ps->fp = NULL; /* owned by libpcap (or closed with it) now */
    if (!tw_linktype_supported(ps->base.linktype)) {
        const char *dlt = pcap_datalink_val_to_name(ps->base.linktype);
        snprintf(err, errlen,
                 "%s: link type %d (%s) is not supported; supported: Ethernet, Linux cooked v1/v2, "
                 "raw IPv4/IPv6, BSD loopback, PPP, Cisco HDLC",
                 path, ps->base.linktype, dlt ? dlt : "unknown");
        goto fail;
    }
    ps->base.kind = &tw_source_pcap;
    ps->base.replayable = 1;
    ps->base.maps_file = ps->map.base != NULL;
    ps->base.nb_queues = 1;
    ps->base.gaps = &ps->gaps;
    snprintf(ps->base.name, sizeof(ps->base.name), "%s (%s)", path,
             tw_linktype_name(ps->base.linktype, lname, sizeof(lname)));
    return &ps->base;

fail:
    tw_pcap_pager_stop(ps->pager);
    tw_pcap_map_close(&ps->map);
    if (ps->pcap)
        pcap_close(ps->pcap);
    if (ps->fp)
        fclose(ps->fp);
    free(ps->iobuf);
    free(ps->path);
    free(ps);
    return NULL;
}

/* The pcap row's open: the file, then how to replay it. */
static struct tw_source *file_open(const struct tw_source_args *a, char *err, size_t errlen)
{
    struct tw_source *s = tw_source_pcap_open(a->arg, err, errlen);
    struct pcap_source *ps = (struct pcap_source *)s;

    if (s) {
        ps->speed = a->replay_speed;
        ps->loops_left = a->loops > 1 ? a->loops - 1 : 0;
    }
    return s;
}

static void frame_done(void *addr, void *opaque);

/* Once per mbuf of the pool: the fixed half of a mapped frame's shared info, so that the
 * per-packet attach only sets its reference count. */
static void init_shinfo(struct rte_mempool *mp, void *opaque, void *obj, unsigned idx)
{
    const struct pcap_source *ps = opaque;
    struct rte_mbuf_ext_shared_info *sh =
        (struct rte_mbuf_ext_shared_info *)((char *)rte_mbuf_to_priv((struct rte_mbuf *)obj) +
                                            ps->shinfo_off);
    (void)mp;
    (void)idx;
    sh->free_cb = frame_done;
    sh->fcb_opaque = NULL;
}

/* The pool: a mapped file lends its own bytes to the mbufs, so the pool holds headers
 * only (a small pool to touch) and each mbuf's private area ends with the shared info of
 * the frame it points to; a copied file (pcapng, a pipe) needs data room, and a pool of
 * big mbufs for frames beyond it. */
static int file_start(struct tw_source *s, const struct tw_source_pool *p, char *err,
                      size_t errlen)
{
    struct pcap_source *ps = (struct pcap_source *)s;
    int zero_copy = ps->map.base != NULL;
    uint16_t priv = (uint16_t)(p->priv_size + SHINFO_SIZE);
    struct rte_mempool *pool, *big = NULL;

    pool = rte_pktmbuf_pool_create("tw_mbufs", p->mbufs, 256, priv,
                                   zero_copy ? RTE_PKTMBUF_HEADROOM : RTE_MBUF_DEFAULT_BUF_SIZE,
                                   p->socket);
    if (pool && !zero_copy)
        big = rte_pktmbuf_pool_create("tw_big", BIG_MBUFS, 16, priv, TW_SOURCE_BIG_ROOM, p->socket);
    if (!pool || (!zero_copy && !big)) {
        snprintf(err, errlen, "cannot create the packet pool: %s", rte_strerror(rte_errno));
        return -1;
    }
    ps->pool = pool;
    ps->big_pool = big;
    ps->room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
    ps->big_room = big ? rte_pktmbuf_data_room_size(big) - RTE_PKTMBUF_HEADROOM : 0;
    ps->shinfo_off = rte_pktmbuf_priv_size(pool) - SHINFO_SIZE;
    if (zero_copy)
        rte_mempool_obj_iter(pool, init_shinfo, ps);
    if (ps->pager) /* the caller is the main lcore: keep the pager off the workers' cores */
        (void)tw_pcap_pager_share_cpu(ps->pager);
    return 0;
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

/* A mapped frame's buffer belongs to the file: nothing to free when the mbuf goes. */
static void frame_done(void *addr, void *opaque)
{
    (void)addr;
    (void)opaque;
}

/* Points an mbuf at a record of the mapped file. Returns the mbuf, or NULL when no mbuf
 * is free. */
static struct rte_mbuf *attach_frame(struct pcap_source *ps, const uint8_t *data, uint32_t caplen)
{
    uint32_t len = caplen;
    struct rte_mbuf *m;

    /* Keeps len in a general register: gcc otherwise takes the minimum with an SSE4.1
     * instruction that reloads the spilled 4-byte length as 16 bytes, a store-forwarding
     * stall that perf showed as a third of this function. */
    __asm__("" : "+r"(len));
    if (unlikely(len > TW_SOURCE_MAX_FRAME))
        len = TW_SOURCE_MAX_FRAME;

    if (!ps->nspare && rte_pktmbuf_alloc_bulk(ps->pool, ps->spare, SPARE_MBUFS) == 0)
        ps->nspare = SPARE_MBUFS;
    m = ps->nspare ? ps->spare[--ps->nspare] : rte_pktmbuf_alloc(ps->pool);
    if (!m)
        return NULL;
    /* The shared info lives in the mbuf's own private area: one per mbuf, so freeing
     * never touches a counter that another core writes (free_cb is set at attach time). */
    struct rte_mbuf_ext_shared_info *sh =
        (struct rte_mbuf_ext_shared_info *)((char *)rte_mbuf_to_priv(m) + ps->shinfo_off);
    rte_mbuf_ext_refcnt_set(sh, 1);
    rte_pktmbuf_attach_extbuf(m, (void *)(uintptr_t)data, (rte_iova_t)(uintptr_t)data,
                              (uint16_t)len, sh);
    m->data_len = (uint16_t)len;
    m->pkt_len = len;
    return m;
}

/* Copies a record into an mbuf. Returns the mbuf, or NULL when no mbuf is free. */
static struct rte_mbuf *copy_frame(struct pcap_source *ps, const struct tw_pcap_rec *r)
{
    uint32_t len = r->caplen;
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
    memcpy(rte_pktmbuf_mtod(m, void *), r->data, len);
    m->data_len = (uint16_t)len;
    m->pkt_len = len;
    return m;
}

static struct rte_mbuf *to_mbuf(struct pcap_source *ps, const struct tw_pcap_rec *r)
{
    struct rte_mbuf *m = ps->map.base ? attach_frame(ps, r->data, r->caplen) : copy_frame(ps, r);

    if (!m)
        return NULL;
    struct tw_mbuf_meta *meta = tw_mbuf_meta(m);
    meta->ts_us = r->ts_us + ps->ts_offset_us;
    meta->wire_len = r->wire_len > m->data_len ? r->wire_len : m->data_len;
    return m;
}

/* The next record, from the mapping or from libpcap. Returns 1, 0 at the end of the file,
 * or -1 when it is cut or damaged (record_error says why). */
static int next_record(struct pcap_source *ps, struct tw_pcap_rec *r)
{
    struct pcap_pkthdr *h;
    const u_char *data;

    if (ps->map.base)
        return tw_pcap_map_next(&ps->map, r);
    int rc = pcap_next_ex(ps->pcap, &h, &data);
    if (rc == 1) { /* data stays valid until the next read, as a held record needs */
        r->data = data;
        r->caplen = h->caplen;
        r->wire_len = h->len;
        r->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        return 1;
    }
    return rc == PCAP_ERROR_BREAK ? 0 : -1;
}

static const char *record_error(struct pcap_source *ps)
{
    return ps->map.base ? ps->map.err : pcap_geterr(ps->pcap);
}

/* Starts the next pass of --loop: the file again, later by one pass's span rounded up to
 * whole seconds (plus one), so flows of one pass do not run into the next. */
static int reopen(struct pcap_source *ps)
{
    char perr[PCAP_ERRBUF_SIZE];
    FILE *fp;
    pcap_t *p;

    if (ps->map.base) {
        tw_pcap_map_rewind(&ps->map);
        tw_pcap_pager_rewound(ps->pager);
    } else {
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
    }
    ps->loops_left--;
    uint64_t span = ps->file_last_us - ps->file_first_us;
    ps->ts_offset_us += (span / 1000000u + 2) * 1000000u;
    return 0;
}

static int file_rx(struct tw_source *s, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
    struct pcap_source *ps = (struct pcap_source *)s;
    uint16_t got = 0;
    uint64_t gap_threshold = __atomic_load_n(&ps->gaps.threshold_us, __ATOMIC_RELAXED);

    (void)q;
    if (ps->ended)
        return -1;
    while (got < n) {
        struct tw_pcap_rec r;
        int rc;

        if (ps->has_held) {
            r = ps->held;
            rc = 1;
        } else {
            rc = next_record(ps, &r);
        }
        if (rc == 1) {
            if (!ps->has_held) {
                if (!ps->file_first_us || r.ts_us < ps->file_first_us)
                    ps->file_first_us = r.ts_us;
                if (r.ts_us > ps->file_last_us)
                    ps->file_last_us = r.ts_us;
            }
            ps->has_held = 0;
            if (too_early(ps, r.ts_us + ps->ts_offset_us)) {
                ps->held = r;
                ps->has_held = 1;
                if (!got) {
                    struct timespec nap = {0, 200000};
                    nanosleep(&nap, NULL);
                }
                break;
            }
            struct rte_mbuf *m = to_mbuf(ps, &r);
            if (!m) { /* pool empty: keep the record and let the worker free mbufs */
                ps->held = r;
                ps->has_held = 1;
                break;
            }
            pkts[got++] = m;
            tw_time_gaps_see(&ps->gaps, tw_mbuf_meta(m)->ts_us, gap_threshold);
            ps->stats.packets++;
            ps->stats.bytes += tw_mbuf_meta(m)->wire_len;
            continue;
        }
        if (rc == 0 && ps->loops_left > 0 && reopen(ps) == 0)
            continue;
        ps->ended = 1;
        if (rc < 0) {
            const char *why = record_error(ps);
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
    if (ps->pager)
        tw_pcap_pager_follow(ps->pager, ps->map.off);
    return got;
}

static void file_stats(struct tw_source *s, struct tw_source_stats *st)
{
    *st = ((struct pcap_source *)s)->stats;
}

static void file_close(struct tw_source *s)
{
    struct pcap_source *ps = (struct pcap_source *)s;

    if (ps->nspare)
        rte_pktmbuf_free_bulk(ps->spare, ps->nspare);
    tw_pcap_pager_stop(ps->pager);
    tw_pcap_map_close(&ps->map);
    if (ps->pcap)
        pcap_close(ps->pcap);
    free(ps->iobuf);
    free(ps->path);
    free(ps);
}

const struct tw_source_kind tw_source_pcap = {
    .name = "pcap",
    .replays = 1,
    .open = file_open,
    .start = file_start,
    .rx = file_rx,
    .stats = file_stats,
    .close = file_close,
};
