/* fuzz_reassembly.c - libFuzzer target: a sequence of fragments through the reassembler.
 *
 * Input: records, one fragment each, until the input ends:
 *
 *   byte 0     bit 0: IPv6 (else IPv4); bit 1: more fragments; bit 2: raw mode (below);
 *              bits 3-5: time step (x 400 us: the table times out after 1 ms);
 *              bit 6: the frame is cut 4 bytes short of the wire (snap length)
 *   byte 1     identification (a few datagrams meet in a table of 4)
 *   bytes 2-3  offset in 8-byte units (big endian, 13 bits used)
 *   byte 4     payload length; the payload bytes follow (fewer when the input ends)
 *   raw mode:  bytes 1-2 a frame length, then the frame as raw IP (any bytes)
 *
 * Each frame is decoded by tw_parse as the worker does; what it marks as a fragment goes to
 * tw_reasm_add, with an exact-size heap copy so ASan sees any read past the frame. Beyond
 * "no crash": a completed datagram's L3 view is a parsed IP packet of the right length, and
 * at the end every fragment is accounted for (merged, carried a datagram, dropped by name,
 * or held, then flushed).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/counters.h"
#include "dataplane/parse.h"
#include "dataplane/reassembly.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t build(uint8_t *out, int v6, int more, uint8_t id, uint32_t off, const uint8_t *pay,
                    size_t len)
{
    if (!v6) {
        uint16_t total = (uint16_t)(20 + len), fo = (uint16_t)((more ? 0x2000 : 0) | (off & 0x1fff));
        uint8_t h[20] = {0x45, 0, (uint8_t)(total >> 8), (uint8_t)total, 0, id,
                         (uint8_t)(fo >> 8), (uint8_t)fo, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
        memcpy(out, h, 20);
        memcpy(out + 20, pay, len);
        return 20 + len;
    }
    uint16_t plen = (uint16_t)(8 + len), fo = (uint16_t)((off & 0x1fff) << 3 | (more ? 1 : 0));
    uint8_t h[48] = {0x60, 0, 0, 0, (uint8_t)(plen >> 8), (uint8_t)plen, 44, 64,
                     0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                     0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
                     17, 0, (uint8_t)(fo >> 8), (uint8_t)fo, 0, 0, 0, id};
    memcpy(out, h, 48);
    memcpy(out + 48, pay, len);
    return 48 + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tw_reasm *r;
    static uint8_t frame[48 + 255];
    struct tw_counters c;
    uint64_t ts = 0, frames = 0, completed = 0;
    size_t pos = 0;

    if (!r) {
        struct tw_reasm_params p = {.datagrams = 4, .fragments = 16, .timeout_us = 1000};
        if (!(r = tw_reasm_create(&p)))
            abort();
    }
    memset(&c, 0, sizeof(c));
    while (pos < size) {
        uint8_t flags = data[pos++];
        size_t n, len;
        const uint8_t *src;
        if (flags & 4) { /* raw mode */
            if (size - pos < 2)
                break;
            len = (size_t)data[pos] << 8 | data[pos + 1];
            pos += 2;
            len = len < size - pos ? len : size - pos;
            src = data + pos;
            pos += len;
            n = len;
        } else {
            if (size - pos < 4)
                break;
            uint8_t id = data[pos];
            uint32_t off = (uint32_t)data[pos + 1] << 8 | data[pos + 2];
            len = data[pos + 3];
            pos += 4;
            len = len < size - pos ? len : size - pos;
            n = build(frame, flags & 1, flags & 2, id, off, data + pos, len);
            pos += len;
            src = frame;
        }
        uint32_t wire = (uint32_t)n;
        uint32_t cap = (uint32_t)n;
        if ((flags & 0x40) && n > 4)
            cap -= 4; /* cut by a snap length: the wire length stays */
        uint8_t *copy = malloc(cap ? cap : 1);
        if (!copy)
            abort();
        memcpy(copy, src, cap);
        ts += (uint64_t)((flags >> 3) & 7) * 400;

        struct tw_packet pkt, out;
        uint32_t out_wire;
        int rc;
        tw_parse(copy, cap, wire, TW_LINK_RAW, &TW_NO_TUNNELS, &pkt);
        if (pkt.fragment) {
            frames++;
            if (tw_reasm_add(r, &pkt, wire, ts, &c, &out, &out_wire, &rc)) {
                completed++;
                if (rc == TW_C_PARSED &&
                    (out.ip_version != 4 && out.ip_version != 6))
                    abort();
                if (rc < 0 || rc >= TW_C__COUNT)
                    abort();
            }
        }
        free(copy);
        tw_reasm_expire(r, ts, &c);
    }
    uint64_t held = tw_reasm_held(r);
    tw_reasm_flush(r, &c);
    uint64_t drops = 0;
    for (unsigned i = 0; i < TW_C__COUNT; i++)
        if (tw_counter_is_drop(i))
            drops += c.v[i];
    if (frames != completed + c.v[TW_C_FRAGMENTS_MERGED] + drops)
        abort(); /* a fragment left unaccounted */
    if (completed != c.v[TW_C_FRAG_REASSEMBLED] || c.v[TW_C_DROP_FRAG_UNFINISHED] != held)
        abort();
    return 0;
}
