/* tcp_seen.h - loss upstream of the sensor, estimated from TCP.
 *
 * A switch drops mirrored copies when the SPAN port is oversubscribed, and no counter of
 * ours sees it. TCP does: the receiver acknowledges bytes the mirror never delivered. Per
 * flow and direction (the byte stream one end sends) four numbers are kept:
 *
 *      settled        all seen        holes and seen bytes        not yet sent
 *   ─────────────|════════════════|~~~~~~~~~~~~~~~~~~~~~~~~~~|──────────────────> seq
 *               nxt              ino                        end
 *   nxt   acknowledged by the peer up to here, and counted (first byte seen before any ACK)
 *   ino   every byte of [nxt, ino) was seen (the in-order end)
 *   end   highest sequence end seen from this end (a SYN or FIN takes one number)
 *   seen  bytes seen in [nxt, end): a segment above end adds its length; one below end adds
 *         at most the bytes still missing there (it fills a hole), so a copy of the latest
 *         segment or a retransmission of in-order data adds nothing
 *
 * When the peer acknowledges X beyond nxt, the bytes [nxt, X) are settled: those of them not
 * seen are gap bytes. Below ino none are; between ino and end the holes are taken to come
 * first (a hole starts at ino) and the seen bytes above them, as when one segment is lost
 * in a stream, so a hole is counted when its acknowledgement arrives. Where that guess is
 * wrong (several holes) a partial acknowledgement may count some bytes early, and a later one
 * gives them back: once everything sent is acknowledged, the sum is exact however many holes
 * there were. Holes that a retransmission fills (loss before the mirror) are not gap bytes;
 * data never acknowledged in the capture is not counted.
 *
 * Sequence numbers compare modulo 2^32 (RFC 1982 style: a - b as a signed 32-bit number).
 * A direction starts at its first segment, so a flow joined mid-stream counts from there;
 * an acknowledgement of more than 2^30 bytes, or of more than 16 MiB beyond the highest end
 * seen, or a jump of more than 2^30 is taken as nonsense (hostile input, port reuse without
 * a SYN seen): the acknowledgement is ignored, a jump starts the direction again. Window scaling plays no part: only sequence and acknowledgement numbers are used.
 */
#ifndef TW_TCP_SEEN_H
#define TW_TCP_SEEN_H

#include <stdint.h>

#include "parse.h"

/* Index 0: the client's stream (client to server), 1: the server's. 32 bytes. */
struct tw_tcp_seen {
    uint32_t nxt[2];
    uint32_t ino[2];
    uint32_t end[2];
    uint32_t seen[2];
};

/* What one segment adds to the counters. */
struct tw_tcp_gap {
    uint64_t gap_bytes;   /* acknowledged and never seen */
    uint64_t acked_bytes; /* acknowledged: the denominator */
};

#define TW_TCP_SEQ_SANE (1u << 30) /* larger jumps or acknowledgements are nonsense */
/* An ACK this far beyond everything seen is taken as nonsense too: 16 MiB sent between two
 * ACKs without one byte of it reaching the mirror is not a SPAN port dropping copies but a
 * broken or hostile packet (a fuzzed capture counted hundreds of MB without this bound). */
#define TW_TCP_ACK_AHEAD_MAX (1u << 24)

/* a - b in sequence space: negative when a comes before b. */
static inline int32_t tw_seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

/* Takes one TCP segment sent by direction dir (0 client, 1 server): seq, the length it takes
 * in sequence space (payload, plus one for SYN, plus one for FIN), first = 1 for the first
 * segment of this direction, and has_ack = 1 when its ACK number counts (the ACK flag set,
 * not a RST, and the other direction has sent a segment already). Updates t and adds what
 * the segment settled to *g. Never fails. */
void tw_tcp_seen_segment(struct tw_tcp_seen *t, unsigned dir, int first, uint32_t seq,
                         uint32_t seg_len, int has_ack, uint32_t ack, struct tw_tcp_gap *g);

/* The same for a parsed TCP packet (pkt->ip_proto 6): reads its sequence and ACK numbers,
 * which the parser checked were captured. peer_started: the other direction has sent. */
void tw_tcp_seen_packet(struct tw_tcp_seen *t, unsigned dir, int first, int peer_started,
                        const struct tw_packet *pkt, struct tw_tcp_gap *g);

#endif
