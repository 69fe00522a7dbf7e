/* fuzz_pcap.c - libFuzzer target: a capture file through the reader tapwatch uses.
 *
 * The input is written to a memfd and opened by path (/proc/self/fd/N), so it takes the
 * same way as `tapwatch --pcap`:
 *
 *   1. tw_source_pcap_open: size and magic checks, libpcap's header checks, link type;
 *      a refusal must be one line of text (it is what the user sees);
 *   2. the records, read as source_pcap.c reads them (pcap_fopen_offline with microsecond
 *      precision, pcap_next_ex until the end or an error), each cut to what an mbuf holds
 *      and decoded with tw_parse for the file's link type.
 *
 *   3. the same bytes through pcap_map.c, the in-place reader tapwatch uses for classic
 *      pcap files: every record (time, lengths, bytes) and the way the file ends (clean,
 *      or the same error text) must equal libpcap's, or the target aborts.
 *
 * Step 2 repeats the reading loop of source_pcap.c's file_rx rather than calling it,
 * because file_rx puts frames in DPDK mbufs and needs a running EAL; what it adds on top
 * of the records (the clamp to an mbuf's room, wire length >= captured length) is copied
 * here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "fuzz_file.h"
#include "dataplane/counters.h"
#include "dataplane/parse.h"
#include "dataplane/pcap_map.h"
#include "dataplane/source.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_parse_settings settings; /* every tunnel opened, default ports */
    tw_parse_settings_default(&settings);
    char err[512] = "", perr[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *pkt_data;
    struct tw_packet pkt;
    int linktype, rc;

    const char *path = fuzz_file(data, size);
    if (path == NULL)
        abort();

    struct tw_source *src = tw_source_pcap_open(path, err, sizeof(err));
    if (src == NULL) {
        if (err[0] == '\0' || strchr(err, '\n') != NULL)
            abort(); /* a refusal is exactly one line */
        return 0;
    }
    linktype = src->linktype;
    tw_source_close(src);

    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        abort();
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (p == NULL) {
        fclose(fp);
        abort(); /* tw_source_pcap_open accepted the same bytes a moment ago */
    }
    /* the in-place reader, on the same bytes, when libpcap says it is a classic pcap file */
    struct tw_pcap_format fmt;
    struct tw_pcap_map map;
    int mapped = size >= 4 && tw_pcap_map_format(p, data, &fmt) == 0;
    if (mapped)
        tw_pcap_map_buffer(&map, data, size, &fmt);

    uint64_t last_ts = 0;
    while ((rc = pcap_next_ex(p, &h, &pkt_data)) == 1) {
        if (mapped) {
            struct tw_pcap_rec r;
            uint64_t want = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
            if (tw_pcap_map_next(&map, &r) != 1 || r.caplen != h->caplen || r.wire_len != h->len ||
                r.ts_us != want || memcmp(r.data, pkt_data, h->caplen) != 0)
                abort(); /* the two readers disagree on a record */
        }
        uint32_t caplen = h->caplen > TW_SOURCE_MAX_FRAME ? TW_SOURCE_MAX_FRAME : h->caplen;
        uint32_t wirelen = h->len > caplen ? h->len : caplen;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (ts < last_ts) /* as the worker does: time never goes back */
            ts = last_ts;
        last_ts = ts;
        rc = tw_parse(pkt_data, caplen, wirelen, linktype, &settings, &pkt);
        if (rc != TW_C_PARSED && (rc < 0 || rc >= TW_C__COUNT || !tw_counter_is_drop((unsigned)rc)))
            abort();
    }
    if (rc == PCAP_ERROR && pcap_geterr(p)[0] == '\0')
        abort(); /* a cut capture must say why: it becomes the summary's note */
    if (mapped) {
        struct tw_pcap_rec r;
        int end = tw_pcap_map_next(&map, &r);
        if (rc == PCAP_ERROR_BREAK ? end != 0 : end != -1 || strcmp(map.err, pcap_geterr(p)) != 0)
            abort(); /* the file ends differently for the two readers */
    }
    pcap_close(p);
    return 0;
}
