/* dedup.c - duplicate suppression by packet signature (see dedup.h). */
#include "dedup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* From the L4 header: ports, TCP sequence to checksum (which covers the payload) and 4 bytes
 * more, or UDP's header and 16 payload bytes: mostly within the lines the parser read, where
 * 48 bytes often reached into the frame's next line. */
#define L4_BYTES 24

/* One cache line: 4 signatures, then their times (0 signature = empty way). */
struct bucket {
    uint64_t sig[TW_DEDUP_WAYS];
    uint64_t ts[TW_DEDUP_WAYS];
};
_Static_assert(sizeof(struct bucket) == 64, "a dedup bucket is one cache line");

struct tw_dedup {
    struct bucket *b;
    uint64_t window_us;
    uint64_t key[2];
};

struct tw_dedup *tw_dedup_create(uint64_t window_us)
{
    struct tw_dedup *d;

    if (window_us == 0) {
        errno = EINVAL;
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->b = aligned_alloc(64, TW_DEDUP_BYTES);
    if (!d->b) {
        free(d);
        errno = ENOMEM;
        return NULL;
    }
    memset(d->b, 0, TW_DEDUP_BYTES);
    d->window_us = window_us;
    /* the key only has to be unknown to senders; without entropy, the table's address */
    if (getrandom(d->key, sizeof(d->key), GRND_NONBLOCK) != (ssize_t)sizeof(d->key)) {
        d->key[0] = (uint64_t)(uintptr_t)d ^ 0x6a09e667f3bcc908ULL;
        d->key[1] = (uint64_t)(uintptr_t)d->b ^ 0xbb67ae8584caa73bULL;
    }
    return d;
}

void tw_dedup_free(struct tw_dedup *d)
{
    if (!d)
        return;
    free(d->b);
    free(d);
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rotl(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

/* One word into a lane: multiply and fold (keyed by the lane's start). Two lanes take
 * alternate words, so the multiplies overlap instead of waiting on each other: 80-90 ns a
 * packet with one lane, a zeroed buffer and memcpy, on this loaded 2-core machine; see
 * tw_dedup_signature for what it is now. */
static inline uint64_t absorb(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static inline uint64_t finish(uint64_t h, uint64_t k)
{
    h ^= k;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t tw_dedup_signature(const struct tw_dedup *d, const struct tw_packet *pkt)
{
    const uint8_t *ip = pkt->l3;
    uint64_t a = d->key[0], b = d->key[1], head;
    uint32_t datagram, n = 0;

    /* the parser checked 20 (IPv4) or 40 (IPv6) captured header bytes; words load little
     * endian, so byte k of the header is bits 8k..8k+7 of the word */
    if (pkt->ip_version == 4) {
        datagram = (uint32_t)ip[2] << 8 | ip[3];
        /* total length, identification, flags and offset (bytes 2-7), protocol: not the
         * version and header length, TOS, TTL or checksum */
        head = (load64(ip) & ~0xffffull) | (uint64_t)ip[9] << 8 | 4;
    } else {
        datagram = 40u + ((uint32_t)ip[4] << 8 | ip[5]);
        /* flow label, payload length, next header (bytes 1-6 less the traffic class), the
         * upper protocol: not the traffic class or hop limit */
        head = (load64(ip) & 0x00ffffffffff0f00ull) | (uint64_t)pkt->ip_proto << 56 | 6;
    }
    /* from the L4 header on, as far as the datagram and the capture go */
    if (pkt->l4_off < pkt->l3_len && pkt->l4_off < datagram) {
        n = pkt->l3_len - pkt->l4_off;
        if (n > datagram - pkt->l4_off)
            n = datagram - pkt->l4_off;
        if (n > L4_BYTES)
            n = L4_BYTES;
    }
    a = absorb(a, head);
    b = absorb(b, n);
    a = absorb(a, load64(pkt->src));
    b = absorb(b, load64(pkt->src + 8));
    a = absorb(a, load64(pkt->dst));
    b = absorb(b, load64(pkt->dst + 8));
    const uint8_t *l4 = ip + pkt->l4_off;
    unsigned i = 0;
    for (; i + 16 <= n; i += 16) {
        a = absorb(a, load64(l4 + i));
        b = absorb(b, load64(l4 + i + 8));
    }
    if (i < n) { /* the last 1-15 bytes, the rest of the two words zero */
        unsigned r = n - i;
        uint64_t w[2] = {0, 0};
        if (pkt->l4_off + i + 16 <= pkt->l3_len) { /* captured: two loads and masks */
            w[0] = load64(l4 + i);
            w[1] = load64(l4 + i + 8);
            if (r < 8)
                w[0] &= (1ull << (8 * r)) - 1;
            w[1] = r <= 8 ? 0 : r < 16 ? w[1] & ((1ull << (8 * (r - 8))) - 1) : w[1];
        } else {
            for (unsigned k = 0; k < r; k++)
                ((uint8_t *)w)[k] = l4[i + k];
        }
        a = absorb(a, w[0]);
        b = absorb(b, w[1]);
    }
    uint64_t h = finish(a ^ rotl(b, 32), d->key[0]);
    return h ? h : 1; /* 0 marks an empty way */
}

int tw_dedup_seen(struct tw_dedup *d, const struct tw_packet *pkt, uint64_t ts_us)
{
    uint64_t sig = tw_dedup_signature(d, pkt);
    struct bucket *b = &d->b[(sig >> 32) & (TW_DEDUP_BUCKETS - 1)];
    unsigned victim = 0;

    for (unsigned i = 0; i < TW_DEDUP_WAYS; i++) {
        if (b->sig[i] == sig) {
            if (ts_us - b->ts[i] <= d->window_us)
                return 1;
            victim = i; /* seen before the window: this one is the new first sighting */
            goto take;
        }
    }
    /* an empty way, else the oldest (an expired one is oldest or as old) */
    for (unsigned i = 0; i < TW_DEDUP_WAYS; i++) {
        if (b->sig[i] == 0) {
            victim = i;
            break;
        }
        if (b->ts[i] < b->ts[victim])
            victim = i;
    }
take:
    b->sig[victim] = sig;
    b->ts[victim] = ts_us;
    return 0;
}
