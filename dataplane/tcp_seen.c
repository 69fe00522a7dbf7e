/* tcp_seen.c - what the mirror delivered of each TCP stream (see tcp_seen.h). */
#include "tcp_seen.h"

static inline int32_t sd(uint32_t a, uint32_t b)
{
    return tw_seq_diff(a, b);
}

static void start(struct tw_tcp_seen *t, unsigned d, uint32_t seq, uint32_t len)
{
    t->nxt[d] = seq;
    t->ino[d] = t->end[d] = seq + len;
    t->seen[d] = len;
}

/* Keeps seen within [ino - nxt, end - nxt]: everything below ino was seen; when nothing is
 * missing, everything up to end is in order. */
static void settle(struct tw_tcp_seen *t, unsigned d)
{
    uint32_t span = t->end[d] - t->nxt[d], known = t->ino[d] - t->nxt[d];

    if (t->seen[d] < known)
        t->seen[d] = known;
    if (t->seen[d] >= span) {
        t->seen[d] = span;
        t->ino[d] = t->end[d];
    }
}

/* Segment [seq, seq + len) of stream d. */
static void data(struct tw_tcp_seen *t, unsigned d, uint32_t seq, uint32_t len)
{
    uint32_t e = seq + len, nxt = t->nxt[d], ino = t->ino[d], end = t->end[d];

    if (sd(seq, end) > (int32_t)TW_TCP_SEQ_SANE || sd(e, nxt) < -(int32_t)TW_TCP_SEQ_SANE) {
        start(t, d, seq, len); /* far away: a new stream on the same ports */
        return;
    }
    if (sd(e, nxt) <= 0)
        return; /* settled already */
    if (sd(seq, ino) < 0)
        seq = ino; /* [nxt, ino) was all seen: only the rest may be new */
    if (sd(e, seq) <= 0)
        return;
    /* the part below end may fill a hole, unless it ends where the latest segment ended
     * (a copy of it); the part above end is new */
    if (sd(seq, end) < 0 && e != end) {
        uint32_t below = (sd(e, end) < 0 ? e : end) - seq;
        uint32_t missing = (end - nxt) - t->seen[d];
        t->seen[d] += below < missing ? below : missing;
    }
    if (sd(e, end) > 0) {
        t->seen[d] += e - (sd(seq, end) > 0 ? seq : end);
        t->end[d] = e;
    }
    if (seq == ino) /* continues the in-order part */
        t->ino[d] = e;
    settle(t, d);
}

/* The peer acknowledges stream d up to x. */
static void acked(struct tw_tcp_seen *t, unsigned d, uint32_t x, struct tw_tcp_gap *g)
{
    uint32_t nxt = t->nxt[d], ino = t->ino[d], end = t->end[d];
    int32_t adv = sd(x, nxt);

    if (adv <= 0 || (uint32_t)adv > TW_TCP_SEQ_SANE || sd(x, end) > (int32_t)TW_TCP_ACK_AHEAD_MAX)
        return;
    g->acked_bytes += (uint32_t)adv;
    if (sd(x, end) >= 0) { /* all in flight settled; beyond end nothing was seen */
        g->gap_bytes += (uint32_t)adv - t->seen[d];
        t->seen[d] = 0;
        t->ino[d] = t->end[d] = x;
    } else if (sd(x, ino) <= 0) { /* all seen */
        t->seen[d] -= (uint32_t)adv;
    } else {
        /* [nxt, ino) seen; in [ino, end) the holes come first, the seen bytes above them */
        uint32_t unsure = t->seen[d] - (ino - nxt), above = end - x;
        uint32_t mid = unsure > above ? unsure - above : 0;
        g->gap_bytes += (x - ino) - mid;
        t->seen[d] = unsure - mid;
        t->ino[d] = x;
    }
    t->nxt[d] = x;
    settle(t, d);
}

void tw_tcp_seen_segment(struct tw_tcp_seen *t, unsigned dir, int first, uint32_t seq,
                         uint32_t seg_len, int has_ack, uint32_t ack, struct tw_tcp_gap *g)
{
    unsigned d = dir & 1;

    if (first)
        start(t, d, seq, seg_len);
    else
        data(t, d, seq, seg_len);
    if (has_ack)
        acked(t, d ^ 1, ack, g);
}

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void tw_tcp_seen_packet(struct tw_tcp_seen *t, unsigned dir, int first, int peer_started,
                        const struct tw_packet *pkt, struct tw_tcp_gap *g)
{
    const uint8_t *th = pkt->l3 + pkt->l4_off;
    uint8_t fl = pkt->tcp_flags;
    uint32_t len = (uint32_t)pkt->payload_len + !!(fl & TW_TCP_SYN) + !!(fl & TW_TCP_FIN);
    int has_ack = peer_started && (fl & (TW_TCP_ACK | TW_TCP_RST)) == TW_TCP_ACK;

    tw_tcp_seen_segment(t, dir, first, be32(th + 4), len, has_ack, be32(th + 8), g);
}
