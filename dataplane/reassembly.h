/* reassembly.h - IPv4 and IPv6 reassembly, one bounded reassembler per worker.
 *
 * A fragment (parse.h: pkt->fragment) is copied at once into the slot of its datagram, so
 * the frame it came in (an mbuf, a read-only mapped capture) can go; when the datagram is
 * complete it is rebuilt contiguous in that slot, after a fresh IP header, and parsed again
 * from the IP header down to L4, keeping what lay outside the fragmented header (VLAN) of
 * the first fragment. Everything is allocated at creation: `datagrams` slots of 64 KiB
 * (untouched slots cost address space only: free slots are reused newest first).
 *
 *   slot:  buf [ 40 bytes for the rebuilt IP header | datagram payload, up to 65535 ]
 *          extents: the byte ranges held, sorted, disjoint (at most `fragments` of them)
 *   index: buckets[hash] ─> slot ─> slot ...          age list: oldest ... newest
 *
 * Policy on overlaps: first wins, byte by byte (bytes already held are kept, a later
 * fragment fills only the gaps), as Suricata's "first" policy; overlaps are counted
 * (frag_overlap, and frag_overlap_differs when the bytes differ). A datagram whose
 * fragments disagree on its end, that passes 65535 bytes or has more than `fragments`
 * fragments is given up: its fragments, and the later ones of it until the timeout, are
 * named drops. Time is the packets' time, so a replay reassembles the same way each run.
 *
 * Accounting, per fragment frame: merged into a datagram (fragments_merged; the frame that
 * completes it carries the datagram, which counts as one packet), or one named drop.
 */
#ifndef TW_REASSEMBLY_H
#define TW_REASSEMBLY_H

#include <stdint.h>

#include "counters.h"
#include "parse.h"

#define TW_REASM_MAX_PAYLOAD 65535u

struct tw_reasm_params {
    uint32_t datagrams;   /* datagrams reassembled at once (slots) */
    uint32_t fragments;   /* fragments of one datagram, at most */
    uint64_t timeout_us;  /* a datagram not complete by then (packet time) is dropped */
    /* the tunnels a rebuilt datagram may carry (a fragmented outer VXLAN, GRE...), as the
     * worker opens them; NULL = none. It must outlive the reassembler. */
    const struct tw_parse_settings *parse;
};

struct tw_reasm;

/* Creates a reassembler. Plain C (no DPDK). Returns NULL with errno (EINVAL, ENOMEM). */
struct tw_reasm *tw_reasm_create(const struct tw_reasm_params *p);
void tw_reasm_free(struct tw_reasm *r);

/* Takes one fragment frame: frag is what tw_parse said of it (frag->fragment set; its
 * frag_data still readable), wire_len the frame's length on the wire, ts_us its time (not
 * going back). Counters go to c.
 * Returns 1 when it completed a datagram: *out is the datagram as tw_parse sees it (its
 * bytes in the reassembler, valid until the next call), *out_wire the fragments' wire
 * lengths summed, and the return of that parse is in *out_rc (TW_C_PARSED or a drop that
 * the caller counts, as for a frame). Returns 0 when the fragment was held or dropped
 * (counted). */
int tw_reasm_add(struct tw_reasm *r, const struct tw_packet *frag, uint32_t wire_len,
                 uint64_t ts_us, struct tw_counters *c, struct tw_packet *out,
                 uint32_t *out_wire, int *out_rc);

/* Drops the datagrams begun more than the timeout before now_us (drop_frag_timeout). */
void tw_reasm_expire(struct tw_reasm *r, uint64_t now_us, struct tw_counters *c);

/* End of input: drops every datagram still incomplete (drop_frag_unfinished). */
void tw_reasm_flush(struct tw_reasm *r, struct tw_counters *c);

/* Fragment frames held now (not yet merged or dropped). */
uint64_t tw_reasm_held(const struct tw_reasm *r);

/* Copies what lay outside the fragmented IP header (VLAN) of a datagram's first fragment
 * onto the reparsed datagram, where the reparse did not set it. */
void tw_reasm_keep_outer(struct tw_packet *dst, const struct tw_packet *first);

#endif
