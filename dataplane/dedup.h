/* dedup.h - duplicate suppression for SPAN sessions that copy a packet twice.
 *
 * A switch mirroring both directions of several ports delivers a packet once per port it
 * crossed. The copies differ in what the path changes: MAC addresses, VLAN tags, TTL or hop
 * limit, the IPv4 checksum (and, past a router, the ECN bits). What a second observation
 * point does not change makes the signature:
 *
 *   IP version and protocol, source and destination address,
 *   IPv4: identification, total length, flags and fragment offset
 *   IPv6: flow label, payload length
 *   the first 24 bytes from the L4 header on (within the datagram and the captured bytes):
 *   ports, TCP sequence, acknowledgement, flags, window and checksum and 4 bytes more (an
 *   option or the payload's first bytes), or UDP's header and 16 payload bytes (the TCP and
 *   UDP checksums cover the payload and no TTL)
 *
 * A packet whose signature was seen less than (or exactly) window microseconds before, by
 * packet time, is a duplicate. The window counts from the first sighting: a later copy does
 * not extend it. Within the window a host's own retransmission of an identical segment is
 * indistinguishable from a copy and is dropped too; beyond it, it is kept.
 *
 * The table: TW_DEDUP_BUCKETS buckets of 4 ways (signature, time), one cache line each,
 * allocated once; a new signature takes an empty or expired way, else the oldest. Signatures
 * are 64-bit keyed hashes (a random key per table), so that a sender cannot compute packets
 * that pass for someone else's; a collision drops a packet with odds of about 2^-62.
 */
#ifndef TW_DEDUP_H
#define TW_DEDUP_H

#include <stdint.h>

#include "parse.h"

#define TW_DEDUP_BUCKETS 1024u /* 4096 packets within a window: 100 us at 40 Mpps; 64 KiB */
#define TW_DEDUP_WAYS 4
#define TW_DEDUP_BYTES ((uint64_t)TW_DEDUP_BUCKETS * 64)

struct tw_dedup;

/* A table for window_us (> 0). Returns it, or NULL with errno (EINVAL, ENOMEM). */
struct tw_dedup *tw_dedup_create(uint64_t window_us);
void tw_dedup_free(struct tw_dedup *d);

/* Looks a parsed packet up at time ts_us (never going back) and remembers it. Returns 1
 * when it is a copy of a packet seen within the window (drop it), else 0. */
int tw_dedup_seen(struct tw_dedup *d, const struct tw_packet *pkt, uint64_t ts_us);

/* The packet's signature (for tests): equal for copies, different for other packets. */
uint64_t tw_dedup_signature(const struct tw_dedup *d, const struct tw_packet *pkt);

#endif
