/* fuzz_parse.c - libFuzzer target: tw_parse over every link type tapwatch decodes.
 *
 * Input layout:
 *
 *   byte 0   link type: index into link_types[] (modulo its size; the last row is a type
 *            tapwatch does not decode, to keep the default branch covered)
 *   byte 1   bit 0 set: the frame was cut by a snap length (wire length = captured + 1000);
 *            bits 1-3: direction, first segment, peer started, for the TCP sequence tracking
 *   (every tunnel is opened, with the default ports: GRE, ERSPAN, VXLAN, Geneve, GTP-U, PW)
 *   rest     the frame, exactly as many bytes as the fuzzer gave: ASan sees any read past it
 *
 * Beyond "no crash, no sanitizer report" it checks what parse.h promises: the result is
 * TW_C_PARSED or a drop counter, and a parsed frame's L3 view lies inside the frame. A parsed
 * frame then goes through what reads its bytes again: the duplicate signature (dedup.h) and,
 * for TCP, the sequence tracking (tcp_seen.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dataplane/counters.h"
#include "dataplane/dedup.h"
#include "dataplane/parse.h"
#include "dataplane/tcp_seen.h"

static const int link_types[] = {
    TW_LINK_ETHERNET, TW_LINK_LINUX_SLL, TW_LINK_LINUX_SLL2, TW_LINK_RAW,  TW_LINK_RAW_ALT,
    TW_LINK_RAW_ALT2, TW_LINK_IPV4,      TW_LINK_IPV6,       TW_LINK_NULL, TW_LINK_LOOP,
    TW_LINK_PPP,      TW_LINK_C_HDLC,    147 /* LINKTYPE_USER0: not decoded */,
};
#define N_LINK_TYPES (sizeof(link_types) / sizeof(link_types[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_parse_settings settings; /* every tunnel opened, default ports */
    tw_parse_settings_default(&settings);
    struct tw_packet pkt;

    if (size < 2)
        return 0;
    int linktype = link_types[data[0] % N_LINK_TYPES];
    const uint8_t *frame = data + 2;
    uint32_t caplen = (uint32_t)(size - 2);
    uint32_t wirelen = (data[1] & 1) ? caplen + 1000 : caplen;

    int rc = tw_parse(frame, caplen, wirelen, linktype, &settings, &pkt);
    if (rc == TW_C_PARSED) {
        if (pkt.l3 < frame || pkt.l3 + pkt.l3_len > frame + caplen)
            abort(); /* the L3 view handed to nDPI leaves the frame */
        if (pkt.ip_version != 4 && pkt.ip_version != 6)
            abort();
        if (pkt.snapped != (caplen < wirelen))
            abort();
        static struct tw_dedup *dd;
        static struct tw_tcp_seen seen;
        static uint64_t t;
        struct tw_tcp_gap g = {0, 0};
        if (!dd && !(dd = tw_dedup_create(100)))
            abort();
        (void)tw_dedup_seen(dd, &pkt, t += 7);
        if (pkt.ip_proto == 6)
            tw_tcp_seen_packet(&seen, data[1] >> 1 & 1, data[1] >> 2 & 1, data[1] >> 3 & 1, &pkt,
                               &g);
    } else if (rc < 0 || rc >= TW_C__COUNT || !tw_counter_is_drop((unsigned)rc)) {
        abort(); /* a refusal must name a drop counter, or the accounting breaks */
    }
    return 0;
}
