/* pcap_map.h - the records of a classic pcap file read in place, without copies.
 *
 * The file is mapped; each record is handed out as a pointer into the mapping, checked
 * exactly as libpcap 1.10's reader checks it (same captured-length limits, same snapping,
 * same time stamp arithmetic, same error text), so a mapped file and libpcap give the same
 * packets. The file header is libpcap's business: the caller opens the file with libpcap
 * first and passes what libpcap made of the header (tw_pcap_map_format).
 *
 *   file:  [24-byte header][16-byte record header][caplen bytes][record header][...]...
 *                           ts_sec ts_frac caplen wire_len
 *
 * pcapng and pipes are not mapped: source_pcap.c reads those with libpcap.
 */
#ifndef TW_PCAP_MAP_H
#define TW_PCAP_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

#define TW_PCAP_FILE_HEADER 24u
#define TW_PCAP_RECORD_HEADER 16u

/* What libpcap made of a file's header. */
struct tw_pcap_format {
    int swapped;            /* written in the other byte order */
    int nsec;               /* nanosecond time stamps (magic a1b23c4d) */
    int version_major, version_minor;
    uint32_t snapshot;      /* libpcap's snapshot length (already adjusted) */
    uint32_t max_caplen;    /* libpcap's sanity limit for the link type */
};

struct tw_pcap_map {
    const uint8_t *base;    /* the whole file */
    uint64_t size;
    uint64_t off;           /* the next record header */
    uint64_t prefetched;    /* cache lines before this were asked for (streaming ahead) */
    struct tw_pcap_format fmt;
    int mapped;             /* base is our mapping (else the caller's buffer) */
    char err[160];          /* why tw_pcap_map_next returned -1, libpcap's words */
};

struct tw_pcap_rec {
    const uint8_t *data;
    uint32_t caplen;        /* bytes at data (snapped to the snapshot length) */
    uint32_t wire_len;      /* as recorded: may be below caplen in damaged files */
    uint64_t ts_us;         /* microseconds, computed as libpcap + the reader compute it */
};

/* Fills fmt from an open libpcap handle and the file's first 4 bytes. Returns 0, or -1
 * when the file is not a classic pcap file (pcapng, or a variant libpcap reads otherwise). */
int tw_pcap_map_format(pcap_t *p, const uint8_t magic[4], struct tw_pcap_format *fmt);

/* Maps size bytes of the open file fd (a regular file). Returns 0, or -1 with errno set;
 * m is then unchanged. */
int tw_pcap_map_file(struct tw_pcap_map *m, int fd, uint64_t size, const struct tw_pcap_format *fmt);

/* Reads records from a buffer the caller keeps alive (tests, fuzzing). */
void tw_pcap_map_buffer(struct tw_pcap_map *m, const uint8_t *buf, uint64_t size,
                        const struct tw_pcap_format *fmt);

/* The next record. Returns 1 with r filled, 0 at the clean end of the file, or -1 when the
 * file is cut or damaged there (m->err says why; the same record fails again). */
int tw_pcap_map_next(struct tw_pcap_map *m, struct tw_pcap_rec *r);

/* Starts again at the first record (--loop). */
void tw_pcap_map_rewind(struct tw_pcap_map *m);

/* Unmaps the file (nothing for a caller's buffer). */
void tw_pcap_map_close(struct tw_pcap_map *m);

#endif
