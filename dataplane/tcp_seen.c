/* tcp_seen.c - what the mirror delivered of each TCP stream (see tcp_seen.h). */
#include "tcp_seen.h"

static void start(struct tw_tcp_seen *t, unsigned d, uint32_t seq, uint32_t len)
{
    t->nxt[d] = seq;
    t->end[d] = seq + len;
    t->seen[d] = len;
}

/* Segment [seq, seq + len) of stream d. */
static void data(struct tw_tcp_seen *t, unsigned d, uint32_t seq, uint32_t len)
{
    uint32_t e = seq + len, nxt = t->nxt[d], end = t->end[d];

    if (tw_seq_diff(seq, end) > (int32_t)TW_TCP_SEQ_SANE ||
        tw_seq_diff(e, nxt) < -(int32_t)TW_TCP_SEQ_SANE) {
        start(t, d, seq, len); /* far away: a new stream on the same ports */
        return;
    }
    if (tw_seq_diff(e, nxt) <= 0)
        return; /* settled already */
    if (tw_seq_diff(seq, nxt) < 0)
        seq = nxt;
    if (tw_seq_diff(seq, end) >= 0) { /* beyond all seen: new bytes (a hole before it if >) */
        t->seen[d] += e - seq;
        t->end[d] = e;
        return;
    }
    /* starts inside [nxt, end): the part above end is new, the rest may fill a hole */
    uint32_t below = (tw_seq_diff(e, end) < 0 ? e : end) - seq;
    uint32_t missing = (end - nxt) - t->seen[d];
    if (e != end) /* ending where the latest segment ended: a copy of it, not a fill */
        t->seen[d] += below < missing ? below : missing;
    if (tw_seq_diff(e, end) > 0) {
        t->seen[d] += e - end;
        t->end[d] = e;
    }
}

/* The peer acknowledges stream d up to x. */
static void acked(struct tw_tcp_seen *t, unsigned d, uint32_t x, struct tw_tcp_gap *g)
{
    uint32_t nxt = t->nxt[d], end = t->end[d];
    int32_t adv = tw_seq_diff(x, nxt);

    if (adv <= 0 || (uint32_t)adv > TW_TCP_SEQ_SANE)
        return;
    g->acked_bytes += (uint32_t)adv;
    if (tw_seq_diff(x, end) >= 0) { /* all in flight settled; beyond end nothing was seen */
        g->gap_bytes += (uint32_t)adv - t->seen[d];
        t->seen[d] = 0;
        t->end[d] = x;
    } else {
        /* seen bytes lie above x as far as they fit: the rest of them are below x */
        uint32_t above = end - x;
        uint32_t below = t->seen[d] > above ? t->seen[d] - above : 0;
        g->gap_bytes += (uint32_t)adv - below;
        t->seen[d] -= below;
    }
    t->nxt[d] = x;
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
