/* pcap_map.c - classic pcap records read in place (see pcap_map.h).
 *
 * Every rule below mirrors libpcap 1.10's sf-pcap.c pcap_next_packet(), which is what a
 * file read through libpcap gets; the differential fuzz target (tests/fuzz/fuzz_pcap.c)
 * holds the two readers to the same output.
 */
#include "pcap_map.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MAXIMUM_SNAPLEN 262144u /* libpcap's limit for every link type we decode */
/* The records are read in file order, but each header is where the last frame ended, so
 * the CPU cannot guess it: ask for every cache line this far ahead of the reader (about
 * two bursts of average frames). Without it each header was a memory stall (+25% time). */
#define PREFETCH_AHEAD (24u << 10)

static inline uint32_t rd32(const uint8_t *p, int swapped)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return swapped ? __builtin_bswap32(v) : v;
}

static uint32_t max_snaplen_for_dlt(int dlt)
{
    switch (dlt) {
#ifdef DLT_DBUS
    case DLT_DBUS:
        return 128u * 1024 * 1024;
#endif
#ifdef DLT_EBHSCR
    case DLT_EBHSCR:
        return 8u * 1024 * 1024;
#endif
#ifdef DLT_USBPCAP
    case DLT_USBPCAP:
        return 1024u * 1024;
#endif
    default:
        return MAXIMUM_SNAPLEN;
    }
}

int tw_pcap_map_format(pcap_t *p, const uint8_t magic[4], struct tw_pcap_format *fmt)
{
    uint32_t be = (uint32_t)magic[0] << 24 | (uint32_t)magic[1] << 16 | (uint32_t)magic[2] << 8 | magic[3];

    memset(fmt, 0, sizeof(*fmt));
    switch (be) {
    case 0xa1b2c3d4: case 0xd4c3b2a1:
        break;
    case 0xa1b23c4d: case 0x4d3cb2a1:
        fmt->nsec = 1;
        break;
    default: /* pcapng, or the patched-header variant with longer records */
        return -1;
    }
    int snap = pcap_snapshot(p);
    if (snap <= 0)
        return -1;
    fmt->swapped = pcap_is_swapped(p) == 1;
    fmt->version_major = pcap_major_version(p);
    fmt->version_minor = pcap_minor_version(p);
    fmt->snapshot = (uint32_t)snap;
    fmt->max_caplen = max_snaplen_for_dlt(pcap_datalink(p));
    return 0;
}

int tw_pcap_map_file(struct tw_pcap_map *m, int fd, uint64_t size, const struct tw_pcap_format *fmt)
{
    if (size < TW_PCAP_FILE_HEADER || size > SIZE_MAX) {
        errno = EINVAL;
        return -1;
    }
    /* Shared and read-only: pages given back (MADV_DONTNEED, pcap_pager.c) are re-read from the page
     * cache when touched again, never replaced by zeros. */
    void *base = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return -1;
    (void)madvise(base, (size_t)size, MADV_SEQUENTIAL);
    tw_pcap_map_buffer(m, base, size, fmt);
    m->mapped = 1;
    return 0;
}

void tw_pcap_map_buffer(struct tw_pcap_map *m, const uint8_t *buf, uint64_t size,
                        const struct tw_pcap_format *fmt)
{
    memset(m, 0, sizeof(*m));
    m->base = buf;
    m->size = size;
    m->fmt = *fmt;
    m->off = TW_PCAP_FILE_HEADER;
}

int tw_pcap_map_next(struct tw_pcap_map *m, struct tw_pcap_rec *r)
{
    const struct tw_pcap_format *f = &m->fmt;
    uint64_t left = m->size > m->off ? m->size - m->off : 0;

    if (left < TW_PCAP_RECORD_HEADER) {
        if (left == 0)
            return 0;
        snprintf(m->err, sizeof(m->err),
                 "truncated dump file; tried to read %u header bytes, only got %llu",
                 TW_PCAP_RECORD_HEADER, (unsigned long long)left);
        return -1;
    }
    const uint8_t *h = m->base + m->off;
    uint64_t ahead = m->off + PREFETCH_AHEAD < m->size ? m->off + PREFETCH_AHEAD : m->size;
    for (; m->prefetched < ahead; m->prefetched += 64)
        __builtin_prefetch(m->base + m->prefetched, 0, 3);
    uint32_t sec = rd32(h, f->swapped), frac = rd32(h + 4, f->swapped);
    uint32_t caplen = rd32(h + 8, f->swapped), len = rd32(h + 12, f->swapped);

    /* libpcap stores the fields in a struct timeval: native files sign-extend the 32-bit
     * values, byte-swapped ones (through an unsigned swap) zero-extend them. */
    int64_t tv_sec = f->swapped ? (int64_t)sec : (int64_t)(int32_t)sec;
    int64_t tv_usec = f->swapped ? (int64_t)frac : (int64_t)(int32_t)frac;
    if (f->nsec)
        tv_usec /= 1000;

    /* files before version 2.3 (and DG/UX's 543.0) have caplen and len the other way */
    int swap_lengths = (f->version_major == 2 && f->version_minor < 3) || f->version_major == 543 ||
                       (f->version_major == 2 && f->version_minor == 3 && caplen > len);
    if (swap_lengths) {
        uint32_t t = caplen;
        caplen = len;
        len = t;
    }
    if (caplen > f->max_caplen) {
        if (caplen > f->snapshot)
            snprintf(m->err, sizeof(m->err),
                     "invalid packet capture length %u, bigger than snaplen of %d", caplen,
                     (int)f->snapshot);
        else
            snprintf(m->err, sizeof(m->err),
                     "invalid packet capture length %u, bigger than maximum of %u", caplen,
                     f->max_caplen);
        return -1;
    }
    left -= TW_PCAP_RECORD_HEADER;
    uint32_t keep = caplen;
    if (caplen > f->snapshot) { /* libpcap keeps the first snapshot bytes, skips the rest */
        keep = f->snapshot;
        if (left < keep) {
            snprintf(m->err, sizeof(m->err),
                     "truncated dump file; tried to read %d captured bytes, only got %llu",
                     (int)f->snapshot, (unsigned long long)left);
            return -1;
        }
    }
    if (left < caplen) {
        snprintf(m->err, sizeof(m->err),
                 "truncated dump file; tried to read %u captured bytes, only got %llu", caplen,
                 (unsigned long long)left);
        return -1;
    }
    r->data = h + TW_PCAP_RECORD_HEADER;
    r->caplen = keep;
    r->wire_len = len;
    r->ts_us = (uint64_t)tv_sec * 1000000u + (uint64_t)tv_usec;
    m->off += TW_PCAP_RECORD_HEADER + (uint64_t)caplen;
    return 1;
}

void tw_pcap_map_rewind(struct tw_pcap_map *m)
{
    m->off = TW_PCAP_FILE_HEADER;
    m->prefetched = 0;
}

void tw_pcap_map_close(struct tw_pcap_map *m)
{
    if (m->mapped && m->base)
        munmap((void *)(uintptr_t)m->base, (size_t)m->size);
    m->base = NULL;
    m->mapped = 0;
}
