/* flow_table.c - fixed-capacity flow hash table with recency lists (see flow_table.h). */
#include "flow_table.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct lru_list {
    uint32_t head; /* oldest */
    uint32_t tail; /* newest */
};

struct tw_flow_table {
    struct tw_flow *flows;  /* capacity entries */
    uint32_t *buckets;      /* mask + 1 chain heads */
    uint32_t mask;
    uint32_t capacity;
    uint32_t count;
    uint32_t free_head;     /* free entries chain through hash_next */
    uint32_t never_used;    /* entries [never_used, capacity) were never handed out */
    struct lru_list lists[3]; /* indexed by enum tw_flow_state (FREE unused) */
    size_t flows_bytes;
};

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t load64be(const uint8_t *p)
{
    return __builtin_bswap64(load64(p));
}

/* Compares (addr, port) pairs: negative when the first sorts before the second. The
 * addresses compare as two big-endian words, the order memcmp gives, without the call. */
static inline int endpoint_cmp(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
    uint64_t a0 = load64be(a), b0 = load64be(b);
    if (a0 != b0)
        return a0 < b0 ? -1 : 1;
    uint64_t a1 = load64be(a + 8), b1 = load64be(b + 8);
    if (a1 != b1)
        return a1 < b1 ? -1 : 1;
    return (int)pa - (int)pb;
}

static inline int key_equal(const struct tw_flow_key *x, const struct tw_flow_key *y)
{
    const uint8_t *a = (const uint8_t *)x, *b = (const uint8_t *)y;
    uint64_t d = 0;

    for (unsigned i = 0; i < sizeof(*x); i += 8)
        d |= load64(a + i) ^ load64(b + i);
    return d == 0;
}

void tw_flow_key_make(const struct tw_packet *pkt, struct tw_flow_key *key, int *from_a)
{
    int src_first = endpoint_cmp(pkt->src, pkt->src_port, pkt->dst, pkt->dst_port) <= 0;

    tw_ends_put(key->addr_a, &key->port_a, key->addr_b, &key->port_b, pkt->src, pkt->src_port,
                pkt->dst, pkt->dst_port, !src_first);
    key->vlan = pkt->vlan;
    key->ip_proto = pkt->ip_proto;
    key->ip_version = pkt->ip_version;
    key->tunnel_id = pkt->tunnel_id & -(uint32_t)((TW_TUNNEL_KEYED >> pkt->tunnel) & 1);
    key->tunnel = pkt->tunnel;
    key->pad[0] = key->pad[1] = key->pad[2] = 0;
    *from_a = src_first;
}

uint32_t tw_flow_key_hash(const struct tw_flow_key *key)
{
    const uint8_t *p = (const uint8_t *)key;
#ifdef __SSE4_2__
    /* CRC32C of the six words (one instruction each), then one mix for the high bits
     * that worker dispatch uses: a quarter of the cost of mixing every word. */
    uint64_t c = 0x9e3779b9u;
    for (unsigned i = 0; i < sizeof(*key); i += 8)
        c = __builtin_ia32_crc32di(c, load64(p + i));
    uint64_t h = mix64(c ^ (c << 32));
#else
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (unsigned i = 0; i < sizeof(*key); i += 8)
        h = mix64(h ^ load64(p + i));
#endif
    return (uint32_t)(h ^ (h >> 32));
}

static inline struct lru_list *list_of(struct tw_flow_table *t, const struct tw_flow *f)
{
    return &t->lists[f->state];
}

static void lru_unlink(struct tw_flow_table *t, struct tw_flow *f)
{
    struct lru_list *l = list_of(t, f);
    uint32_t idx = (uint32_t)(f - t->flows);

    if (f->lru_prev != TW_FLOW_NONE)
        t->flows[f->lru_prev].lru_next = f->lru_next;
    else if (l->head == idx)
        l->head = f->lru_next;
    if (f->lru_next != TW_FLOW_NONE)
        t->flows[f->lru_next].lru_prev = f->lru_prev;
    else if (l->tail == idx)
        l->tail = f->lru_prev;
    f->lru_prev = f->lru_next = TW_FLOW_NONE;
}

static void lru_append(struct tw_flow_table *t, struct tw_flow *f)
{
    struct lru_list *l = list_of(t, f);
    uint32_t idx = (uint32_t)(f - t->flows);

    f->lru_next = TW_FLOW_NONE;
    f->lru_prev = l->tail;
    if (l->tail != TW_FLOW_NONE)
        t->flows[l->tail].lru_next = idx;
    else
        l->head = idx;
    l->tail = idx;
}

struct tw_flow_table *tw_flow_table_create(uint32_t capacity)
{
    struct tw_flow_table *t;
    uint32_t nb = 1;

    if (capacity == 0 || capacity >= TW_FLOW_NONE / 2) {
        errno = EINVAL;
        return NULL;
    }
    while (nb < capacity) /* load factor <= 1 with chaining */
        nb <<= 1;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    /* Anonymous mappings are zero and only cost memory once touched, so a large capacity
     * is cheap until flows really arrive. */
    t->flows_bytes = (size_t)capacity * sizeof(struct tw_flow);
    t->flows = mmap(NULL, t->flows_bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t->flows == MAP_FAILED) {
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    t->buckets = malloc((size_t)nb * sizeof(uint32_t));
    if (!t->buckets) {
        munmap(t->flows, t->flows_bytes);
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    memset(t->buckets, 0xff, (size_t)nb * sizeof(uint32_t));
    t->mask = nb - 1;
    t->capacity = capacity;
    t->free_head = TW_FLOW_NONE;
    for (unsigned i = 0; i < 3; i++)
        t->lists[i].head = t->lists[i].tail = TW_FLOW_NONE;
    return t;
}

void tw_flow_table_free(struct tw_flow_table *t)
{
    if (!t)
        return;
    munmap(t->flows, t->flows_bytes);
    free(t->buckets);
    free(t);
}

void tw_flow_table_prefetch_bucket(const struct tw_flow_table *t, uint32_t hash)
{
    __builtin_prefetch(&t->buckets[hash & t->mask], 0, 3);
}

void tw_flow_table_prefetch_flow(const struct tw_flow_table *t, uint32_t hash)
{
    uint32_t i = t->buckets[hash & t->mask];

    if (i != TW_FLOW_NONE) { /* the lines a packet reads and writes: key, times, counters */
        const char *f = (const char *)&t->flows[i];
        __builtin_prefetch(f, 1, 3);
        __builtin_prefetch(f + 64, 1, 3);
        __builtin_prefetch(f + 128, 1, 3);
    }
}

struct tw_flow *tw_flow_table_find(struct tw_flow_table *t, const struct tw_flow_key *key,
                                   uint32_t hash)
{
    uint32_t i = t->buckets[hash & t->mask];

    while (i != TW_FLOW_NONE) {
        struct tw_flow *f = &t->flows[i];
        if (key_equal(&f->key, key))
            return f;
        i = f->hash_next;
    }
    return NULL;
}

struct tw_flow *tw_flow_table_insert(struct tw_flow_table *t, const struct tw_flow_key *key,
                                     uint32_t hash)
{
    uint32_t idx;
    struct tw_flow *f;

    if (t->free_head != TW_FLOW_NONE) {
        idx = t->free_head;
        t->free_head = t->flows[idx].hash_next;
    } else if (t->never_used < t->capacity) {
        idx = t->never_used++;
    } else {
        return NULL;
    }
    f = &t->flows[idx];
    memset(f, 0, sizeof(*f));
    f->key = *key;
    f->state = TW_FLOW_ACTIVE;
    f->hash_next = t->buckets[hash & t->mask];
    t->buckets[hash & t->mask] = idx;
    lru_append(t, f);
    t->count++;
    return f;
}

void tw_flow_table_touch(struct tw_flow_table *t, struct tw_flow *f)
{
    uint32_t idx = (uint32_t)(f - t->flows);

    if (list_of(t, f)->tail == idx)
        return;
    lru_unlink(t, f);
    lru_append(t, f);
}

void tw_flow_table_set_closing(struct tw_flow_table *t, struct tw_flow *f)
{
    if (f->state == TW_FLOW_CLOSING)
        return;
    lru_unlink(t, f);
    f->state = TW_FLOW_CLOSING;
    lru_append(t, f);
}

void tw_flow_table_remove(struct tw_flow_table *t, struct tw_flow *f)
{
    uint32_t idx = (uint32_t)(f - t->flows);
    uint32_t *link = &t->buckets[tw_flow_key_hash(&f->key) & t->mask];

    while (*link != TW_FLOW_NONE && *link != idx)
        link = &t->flows[*link].hash_next;
    if (*link == idx)
        *link = f->hash_next;
    lru_unlink(t, f);
    f->state = TW_FLOW_FREE;
    f->hash_next = t->free_head;
    t->free_head = idx;
    t->count--;
}

struct tw_flow *tw_flow_table_oldest(struct tw_flow_table *t)
{
    if (t->lists[TW_FLOW_ACTIVE].head != TW_FLOW_NONE)
        return &t->flows[t->lists[TW_FLOW_ACTIVE].head];
    if (t->lists[TW_FLOW_CLOSING].head != TW_FLOW_NONE)
        return &t->flows[t->lists[TW_FLOW_CLOSING].head];
    return NULL;
}

int tw_flow_expired(const struct tw_flow *f, uint64_t now_us, uint64_t idle_us,
                    uint64_t close_us)
{
    uint64_t limit = f->state == TW_FLOW_CLOSING ? close_us : idle_us;
    return now_us > f->last_us && now_us - f->last_us > limit;
}

struct tw_flow *tw_flow_table_next_expired(struct tw_flow_table *t, uint64_t now_us,
                                           uint64_t idle_us, uint64_t close_us)
{
    for (unsigned s = TW_FLOW_ACTIVE; s <= TW_FLOW_CLOSING; s++) {
        uint32_t h = t->lists[s].head;
        if (h != TW_FLOW_NONE && tw_flow_expired(&t->flows[h], now_us, idle_us, close_us))
            return &t->flows[h];
    }
    return NULL;
}

uint32_t tw_flow_table_count(const struct tw_flow_table *t)
{
    return t->count;
}

uint32_t tw_flow_table_capacity(const struct tw_flow_table *t)
{
    return t->capacity;
}

uint64_t tw_flow_id(const struct tw_flow *f)
{
    const uint8_t *p = (const uint8_t *)&f->key;
    uint64_t h = mix64(f->first_us ^ 0x7477666c6f777331ULL) ^ f->client_is_a;

    /* the tunnel word joins only when set: flows outside tunnels keep their former ids */
    unsigned n = f->key.tunnel ? sizeof(f->key) : offsetof(struct tw_flow_key, tunnel_id);
    for (unsigned i = 0; i < n; i += 8)
        h = mix64(h ^ load64(p + i));
    return h;
}
