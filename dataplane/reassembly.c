/* reassembly.c - IPv4 and IPv6 reassembly (see reassembly.h).
 *
 * Why not DPDK's librte_ip_frag: Debian's build allows 8 fragments per datagram (a 64 KiB
 * UDP datagram over Ethernet is 45), it links the fragments' mbufs into a chain with the
 * payload left in each (nDPI needs contiguous bytes, so a copy is needed anyway), it writes
 * into the first fragment's buffer (a capture file is mapped read-only), and its overlap
 * handling drops the whole datagram without saying why. This one copies each fragment once
 * into a preallocated 64 KiB slot and counts every outcome by name.
 */
#include "reassembly.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define HDR_ROOM 40u /* the rebuilt IP header goes just before the payload */
#define SLOT_BYTES ((HDR_ROOM + TW_REASM_MAX_PAYLOAD + 63u) & ~63u)

/* What names a datagram: RFC 791 (source, destination, protocol, identification) and
 * RFC 8200 (source, destination, identification), within one VLAN. */
struct reasm_key {
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;
    uint16_t vlan;
    uint8_t version;
    uint8_t proto; /* IPv4 only; 0 for IPv6 */
};
_Static_assert(sizeof(struct reasm_key) == 40, "reassembly key has holes");

struct extent {
    uint32_t start, end; /* payload bytes [start, end) are held */
};

struct slot {
    struct reasm_key key;
    uint64_t first_us;     /* time of its first fragment: the timeout runs from here */
    uint32_t hash_next;
    uint32_t older, newer; /* age list */
    uint32_t held;         /* fragment frames held (not yet counted) */
    uint32_t wire;         /* their wire lengths summed */
    uint32_t end;          /* payload length, once the last fragment came */
    uint32_t next;         /* extents in use */
    uint16_t dead;         /* 0, or the drop counter its later fragments go to */
    uint8_t have_end;
    uint8_t have_first;    /* the fragment at offset 0 came: hdr and first are set */
    uint8_t snapped;       /* a fragment was cut by the snap length: no DPI */
    uint8_t in_use;
    uint8_t hdr[HDR_ROOM]; /* the first fragment's IP header (fixed part) */
    struct tw_packet first;
};

struct tw_reasm {
    struct tw_reasm_params p;
    uint32_t mask;         /* buckets - 1 */
    uint32_t *buckets;
    struct slot *slots;
    struct extent *extents; /* p.fragments per slot */
    uint8_t *bufs;          /* SLOT_BYTES per slot */
    uint32_t *free_list;    /* a stack: the slot freed last is reused first (warm, resident) */
    uint32_t nfree;
    uint32_t oldest, newest;
    uint64_t held;          /* frames held over all slots */
};

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

struct tw_reasm *tw_reasm_create(const struct tw_reasm_params *p)
{
    struct tw_reasm *r;
    uint32_t buckets = 2;

    if (p->datagrams == 0 || p->datagrams > (1u << 20) || p->fragments < 2 ||
        p->fragments > 65536) {
        errno = EINVAL;
        return NULL;
    }
    while (buckets < 2 * p->datagrams)
        buckets <<= 1;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->p = *p;
    r->mask = buckets - 1;
    r->buckets = malloc(buckets * sizeof(*r->buckets));
    r->slots = calloc(p->datagrams, sizeof(*r->slots));
    r->extents = malloc((size_t)p->datagrams * p->fragments * sizeof(*r->extents));
    r->bufs = malloc((size_t)p->datagrams * SLOT_BYTES); /* pages come when first used */
    r->free_list = malloc(p->datagrams * sizeof(*r->free_list));
    if (!r->buckets || !r->slots || !r->extents || !r->bufs || !r->free_list) {
        tw_reasm_free(r);
        errno = ENOMEM;
        return NULL;
    }
    memset(r->buckets, 0xff, buckets * sizeof(*r->buckets));
    for (uint32_t i = 0; i < p->datagrams; i++)
        r->free_list[i] = p->datagrams - 1 - i; /* slot 0 on top */
    r->nfree = p->datagrams;
    r->oldest = r->newest = NONE;
    return r;
}

void tw_reasm_free(struct tw_reasm *r)
{
    if (!r)
        return;
    free(r->buckets);
    free(r->slots);
    free(r->extents);
    free(r->bufs);
    free(r->free_list);
    free(r);
}

uint64_t tw_reasm_held(const struct tw_reasm *r)
{
    return r->held;
}

static uint32_t key_hash(const struct reasm_key *k)
{
    uint64_t w[5], h = 0x9e3779b97f4a7c15ull;

    memcpy(w, k, sizeof(w));
    for (unsigned i = 0; i < 5; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return (uint32_t)h;
}

/* Takes a slot off its bucket chain and the age list, back to the free stack. */
static void release(struct tw_reasm *r, uint32_t i)
{
    struct slot *s = &r->slots[i];
    uint32_t *link = &r->buckets[key_hash(&s->key) & r->mask];

    while (*link != i)
        link = &r->slots[*link].hash_next;
    *link = s->hash_next;
    if (s->older != NONE)
        r->slots[s->older].newer = s->newer;
    else
        r->oldest = s->newer;
    if (s->newer != NONE)
        r->slots[s->newer].older = s->older;
    else
        r->newest = s->older;
    r->held -= s->held;
    s->in_use = 0;
    r->free_list[r->nfree++] = i;
}

/* Gives a datagram up: the frames it held become drops of this reason, and so do its
 * later ones, until the timeout frees the slot. */
static void kill(struct tw_reasm *r, struct slot *s, unsigned why, struct tw_counters *c)
{
    c->v[why] += s->held;
    r->held -= s->held;
    s->held = 0;
    s->dead = (uint16_t)why;
}

void tw_reasm_expire(struct tw_reasm *r, uint64_t now_us, struct tw_counters *c)
{
    while (r->oldest != NONE) {
        struct slot *s = &r->slots[r->oldest];
        if (now_us - s->first_us <= r->p.timeout_us || now_us < s->first_us)
            break;
        c->v[TW_C_DROP_FRAG_TIMEOUT] += s->held;
        release(r, r->oldest);
    }
}

void tw_reasm_flush(struct tw_reasm *r, struct tw_counters *c)
{
    while (r->oldest != NONE) {
        c->v[TW_C_DROP_FRAG_UNFINISHED] += r->slots[r->oldest].held;
        release(r, r->oldest);
    }
}

void tw_reasm_keep_outer(struct tw_packet *dst, const struct tw_packet *first)
{
    if (!dst->vlan)
        dst->vlan = first->vlan;
    if (!dst->tunnel) { /* fragments inside a tunnel: the datagram is the tunnel's */
        dst->tunnel = first->tunnel;
        dst->tunnel_id = first->tunnel_id;
    }
}

static void make_key(const struct tw_packet *f, struct reasm_key *k)
{
    memset(k, 0, sizeof(*k));
    k->version = (uint8_t)(f->frag_ip[0] >> 4);
    if (k->version == 4) {
        memcpy(k->src, f->frag_ip + 12, 4);
        memcpy(k->dst, f->frag_ip + 16, 4);
        k->proto = f->frag_proto;
    } else {
        memcpy(k->src, f->frag_ip + 8, 16);
        memcpy(k->dst, f->frag_ip + 24, 16);
    }
    k->id = f->frag_id;
    k->vlan = f->vlan;
}

/* Finds the datagram's slot, or takes a free one (after expiring by this packet's time, so
 * that "full" depends on packet times only). Returns NONE when the table is full. */
static uint32_t lookup(struct tw_reasm *r, const struct reasm_key *k, uint64_t ts_us,
                       struct tw_counters *c)
{
    uint32_t h = key_hash(k), i;

    for (i = r->buckets[h & r->mask]; i != NONE; i = r->slots[i].hash_next)
        if (memcmp(&r->slots[i].key, k, sizeof(*k)) == 0)
            break;
    if (i != NONE && ts_us - r->slots[i].first_us > r->p.timeout_us &&
        ts_us >= r->slots[i].first_us) {
        c->v[TW_C_DROP_FRAG_TIMEOUT] += r->slots[i].held;
        release(r, i);
        i = NONE;
    }
    if (i != NONE)
        return i;
    if (r->nfree == 0)
        tw_reasm_expire(r, ts_us, c);
    if (r->nfree == 0)
        return NONE;
    i = r->free_list[--r->nfree];
    struct slot *s = &r->slots[i];
    memset(s, 0, offsetof(struct slot, hdr));
    s->key = *k;
    s->first_us = ts_us;
    s->in_use = 1;
    s->hash_next = r->buckets[h & r->mask];
    r->buckets[h & r->mask] = i;
    s->older = r->newest;
    s->newer = NONE;
    if (r->newest != NONE)
        r->slots[r->newest].newer = i;
    else
        r->oldest = i;
    r->newest = i;
    return i;
}

/* Copies the fragment's bytes into the gaps of the slot (first wins) and adds its range to
 * the extents. Counts an overlap once per fragment. */
static void fill(struct tw_reasm *r, uint32_t si, const struct tw_packet *f,
                 struct tw_counters *c)
{
    struct slot *s = &r->slots[si];
    struct extent *ext = r->extents + (size_t)si * r->p.fragments;
    uint8_t *pay = r->bufs + (size_t)si * SLOT_BYTES + HDR_ROOM;
    uint32_t start = f->frag_offset, end = start + f->frag_len;
    uint32_t have = start + f->frag_caplen; /* captured bytes end here */
    uint32_t p = start, i, j;
    int overlap = 0, differs = 0;

    if (start == end)
        return;
    /* extents [i, j) touch or overlap [start, end) */
    for (i = 0; i < s->next && ext[i].end < start; i++)
        ;
    for (j = i; j < s->next && ext[j].start <= end; j++) {
        uint32_t a = ext[j].start, b = ext[j].end;
        if (b <= start || a >= end)
            continue; /* only adjacent */
        if (p < a) {  /* a gap before this extent */
            uint32_t top = a < have ? a : have;
            if (p < top)
                memcpy(pay + p, f->frag_data + (p - start), top - p);
            if ((p > top ? p : top) < a)
                memset(pay + (p > top ? p : top), 0, a - (p > top ? p : top));
        }
        uint32_t lo = a > start ? a : start, hi = b < end ? b : end;
        overlap = 1;
        if (lo < have && memcmp(pay + lo, f->frag_data + (lo - start), (hi < have ? hi : have) - lo))
            differs = 1;
        p = hi > p ? hi : p;
    }
    if (p < end) {
        uint32_t top = end < have ? end : have;
        if (p < top)
            memcpy(pay + p, f->frag_data + (p - start), top - p);
        if ((p > top ? p : top) < end)
            memset(pay + (p > top ? p : top), 0, end - (p > top ? p : top));
    }
    if (overlap)
        c->v[TW_C_FRAG_OVERLAP]++;
    if (differs)
        c->v[TW_C_FRAG_OVERLAP_DIFFERS]++;
    /* replace extents [i, j) by their union with [start, end): one more at most */
    uint32_t ns = start, ne = end;
    if (i < j) {
        ns = ext[i].start < ns ? ext[i].start : ns;
        ne = ext[j - 1].end > ne ? ext[j - 1].end : ne;
    }
    memmove(ext + i + 1, ext + j, (s->next - j) * sizeof(*ext));
    s->next = s->next - (j - i) + 1;
    ext[i].start = ns;
    ext[i].end = ne;
}

/* The datagram, whole: a fresh IP header before the payload, parsed like a raw IP frame. */
static int rebuild(struct tw_reasm *r, uint32_t si, struct tw_packet *out)
{
    struct slot *s = &r->slots[si];
    uint8_t *pay = r->bufs + (size_t)si * SLOT_BYTES + HDR_ROOM;
    uint8_t *ip;
    uint32_t len;

    if (s->key.version == 4) { /* 20 bytes: the options of the first fragment are not kept */
        ip = pay - 20;
        memcpy(ip, s->hdr, 20);
        ip[0] = 0x45;
        put_be16(ip + 2, 20 + s->end);
        ip[6] = ip[7] = 0;
        ip[10] = ip[11] = 0;
        uint32_t sum = 0;
        for (unsigned k = 0; k < 20; k += 2)
            sum += be16(ip + k);
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        put_be16(ip + 10, ~sum & 0xffff);
        len = 20 + s->end;
    } else { /* the fixed header; extension headers before the fragment header are left out */
        ip = pay - 40;
        memcpy(ip, s->hdr, 40);
        put_be16(ip + 4, s->end);
        len = 40 + s->end;
    }
    int rc = tw_parse(ip, len, len, TW_LINK_RAW, r->p.parse ? r->p.parse : &TW_NO_TUNNELS, out);
    if (out->fragment) /* a fragment inside the datagram (tunnelled): not reassembled twice */
        rc = TW_C_DROP_IP_FRAGMENT;
    out->snapped = s->snapped;
    tw_reasm_keep_outer(out, &s->first);
    return rc;
}

int tw_reasm_add(struct tw_reasm *r, const struct tw_packet *f, uint32_t wire_len,
                 uint64_t ts_us, struct tw_counters *c, struct tw_packet *out,
                 uint32_t *out_wire, int *out_rc)
{
    struct reasm_key key;
    uint32_t si, end = (uint32_t)f->frag_offset + f->frag_len;
    uint8_t version = f->frag_ip ? (uint8_t)(f->frag_ip[0] >> 4) : 0;

    if (!f->fragment || (version != 4 && version != 6)) { /* not from tw_parse */
        c->v[TW_C_DROP_FRAG_INCONSISTENT]++;
        return 0;
    }
    make_key(f, &key);
    si = lookup(r, &key, ts_us, c);
    if (si == NONE) {
        c->v[TW_C_DROP_FRAG_TABLE_FULL]++;
        return 0;
    }
    struct slot *s = &r->slots[si];
    if (s->dead) {
        c->v[s->dead]++;
        return 0;
    }
    s->held++;
    s->wire += wire_len;
    r->held++;
    if (end > TW_REASM_MAX_PAYLOAD - (version == 4 ? 20 : 0)) {
        kill(r, s, TW_C_DROP_FRAG_TOO_LARGE, c);
        return 0;
    }
    if (s->held > r->p.fragments) {
        kill(r, s, TW_C_DROP_FRAG_TOO_MANY, c);
        return 0;
    }
    uint32_t top = s->next ? r->extents[(size_t)si * r->p.fragments + s->next - 1].end : 0;
    if (!f->frag_more) { /* the last fragment: the datagram ends here */
        if ((s->have_end && end != s->end) || (!s->have_end && top > end)) {
            kill(r, s, TW_C_DROP_FRAG_INCONSISTENT, c);
            return 0;
        }
        s->have_end = 1;
        s->end = end;
    } else if ((s->have_end && end > s->end) || (f->frag_len & 7)) {
        /* past the end, or a middle fragment that is not a multiple of 8 bytes */
        kill(r, s, TW_C_DROP_FRAG_INCONSISTENT, c);
        return 0;
    }
    if (f->frag_offset == 0 && !s->have_first) {
        s->have_first = 1;
        memcpy(s->hdr, f->frag_ip, version == 4 ? 20 : 40);
        if (version == 6)
            s->hdr[6] = f->frag_proto; /* the header after the fragment header */
        s->first = *f;
    }
    if (f->frag_caplen < f->frag_len)
        s->snapped = 1;
    fill(r, si, f, c);

    const struct extent *ext = r->extents + (size_t)si * r->p.fragments;
    if (!(s->have_end && s->have_first && s->next == 1 && ext[0].start == 0 &&
          ext[0].end == s->end))
        return 0;
    /* complete: the frame in hand carries the datagram, the others were merged into it */
    c->v[TW_C_FRAGMENTS_MERGED] += s->held - 1;
    c->v[TW_C_FRAG_REASSEMBLED]++;
    *out_wire = s->wire;
    *out_rc = rebuild(r, si, out);
    r->held -= s->held;
    s->held = 0;
    release(r, si);
    return 1;
}
