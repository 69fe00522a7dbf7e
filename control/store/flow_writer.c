/* flow_writer.c - flow records into Redis in pipelined batches (see store.h for the keys).
 *
 *   tw_store_put ──copy (record + its JSON)──> memory ring (redis.buffer) ──full──> spool file
 *                              ^                                                  (spill.c)
 *                              └──── refilled in order (encoded when read back) ────┘
 *   tw_store_poll: ring ──batch──> the engine (redis_engine.c): sent without waiting, up to
 *                  TW_ENGINE_FLIGHTS batches in flight, their bytes kept until answered
 *
 * One batch, per hour H the batch touches (every command variadic, one per key):
 *   HSET   f:<H>[:<k>] <flow_id> <json> ...     the records whose first_seen is in H, one
 *                                                command per shard k the batch touches
 *                                                (store_keys.h: one shard by default)
 *   APPEND x:<H>:<kind>[:<v>] <entries>         the postings (store_keys.h), all records
 *   ZADD   x:<H>:nets 0 <bucket> ...             buckets new to this store lately
 *   ZADD   hours <H> <H>                          hours new to this store lately
 *   EXPIRE <key> hot_window                       keys not refreshed lately (see `expired`)
 *   HSET   gaps <run>:<first_seq> <json> ...     gaps closed since the last batch
 *   HSET   seals <run>:<no> <line> ..., EXPIRE    signing.key: the evidence's seals made since
 *                                                (evidence_log.h: one at least per batch)
 *
 * With signing.key each record's JSON is tagged with its evidence number and chained when it
 * is put (before it can reach the spool file, whose items then carry the number and run), and
 * each gap record when it closes (control/evidence/chain.h).
 *
 * Nothing here waits for Redis. A poll reads the replies that arrived, sends what the socket
 * takes, and makes at most TW_BATCHES_PER_POLL new batches, so the control loop gets back
 * to the rings within about a millisecond. A record's JSON is made once, by the caller (the
 * control loop encodes it for --flows-jsonl too); the batch copies that text, and a batch
 * sent again goes as the bytes it was. Records leave the ring only when every reply of their
 * batch came back OK. Batches are idempotent (HSET overwrites a record by its flow id; a
 * posting appended twice is a duplicate entry the query tool drops; ZADD and EXPIRE repeat
 * harmlessly), so a batch whose fate is unknown is simply sent again.
 *
 * Order is what keeps the result exact: a flow's END record must not be overwritten by its
 * older UPDATE. Batches go out in ring order, and the engine re-sends in that order, from a
 * refused batch on (after a pause growing to 1 s) or from the first unanswered one after a
 * reconnect. Refusals that retrying cannot fix (a key of the wrong type, a string at its
 * maximum size) give the batch up after TW_ENGINE_TRIES tries; its records become a gap.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "dataplane/clock.h"
#include "control/record/record_json.h"
#include "control/store/compact_writer.h"
#include "control/store/evidence_log.h"
#include "control/store/inventory.h"
#include "control/store/redis_conn.h"
#include "control/store/redis_engine.h"
#include "control/store/run_dir.h"
#include "control/store/spill.h"
#include "control/store/sensor_registry.h"
#include "control/store/store.h"
#include "control/record/fleet_keys.h"
#include "control/record/keys.h"

#define REC_SIZE ((uint32_t)sizeof(struct tw_flow_record)) /* a spill item */
#define TW_BATCHES_PER_POLL 2        /* bounds the time one poll spends encoding */
#define TW_REFILL_PER_POLL 8192      /* records read back from the spool per poll */
#define TW_GAPS_MAX 1024             /* gap records waiting to be written */
#define TW_JSON_MAX (TW_RECORD_JSON_MAX + TW_CHAIN_TAG_MAX) /* record_json.h, chain.h's tag */

/* A spool item with signing on: the record, its evidence number and run (the run as a
 * number), so that a record read back is tagged and chained exactly as when it was put. */
struct spool_item {
    struct tw_flow_record r;
    uint64_t ev_seq, ev_run;
};

static void compact_floors(struct tw_store *s);

_Static_assert(TW_RECORD_SHARDS <= 256, "a record group keeps its shard in one byte");

/* A set of key names with a value each: open addressing over offsets into an arena. */
struct slot {
    uint32_t off1; /* offset + 1 into arena, 0 = empty */
    uint32_t val;
};
struct keyset {
    struct tw_buf arena; /* NUL-terminated keys, one after the other */
    struct slot *slots;
    size_t nslots, count;
};

/* One key of a batch and what goes to it: a list of entries through `next`. */
enum group_kind { G_RECORDS, G_POSTINGS };
struct group {
    uint32_t key_off, key_len; /* in keys.arena */
    uint32_t head, tail, n;
    uint32_t bytes;            /* G_POSTINGS: payload size */
    uint8_t kind, post_kind;
    uint8_t need_expire;
    uint64_t hour;
    uint8_t vlen;              /* the binary value the group is found by */
    uint8_t value[TW_APP_LEN];
    char bucket[20];           /* n4/n6: "4:0a0102", the member of the nets zset */
};
struct entry {
    uint32_t next;
    uint32_t off, len;         /* in vals */
    uint64_t id;               /* G_RECORDS: the flow id */
};

/* What a batch carries (struct tw_engine_batch: items = records of the ring, aux = gaps). */
enum { B_RECORDS, B_COUNTERS };

struct gap {
    uint64_t first_seq, last_seq, records;
    uint64_t ev_seq;            /* signing: its evidence number (0 = none) */
    uint64_t from_us, until_us; /* last_seen of the records lost */
    uint64_t at_us;             /* wall clock when it opened */
    const char *reason;
};

struct tw_store {
    char sensor[64];
    uint32_t hot_window_s, batch, cap, flush_ms, max_hours;
    /* the memory ring: records head .. head+count-1, the first `sent` of them in flight */
    struct tw_flow_record *ring;
    uint64_t *disk_no;         /* per slot: spool record number + 1, 0 = never on disk */
    uint32_t head, count, sent;
    /* the JSON of each ring slot, encoded once (by the caller, or when read back from the
     * spool), in a byte ring of cap * TW_STORE_JSON_BYTES: texts jhead .. jtail, in slot
     * order, wrapping to 0 when the end is too short for the next */
    char *jarena;
    uint32_t jcap, jtail;
    uint32_t *json_off;
    uint16_t *json_len;
    struct tw_spill *spool;
    uint64_t next_seq;
    uint64_t run_us;
    struct tw_engine *e;       /* the connection and the batches in flight */
    struct tw_buf *out;        /* the engine's buffer, while a batch is encoded */
    uint32_t batch_refused;    /* replies of the batch being answered that were errors */
    uint64_t last_flush_ms;
    /* the counters: tw:{S}:stats and this run's history entry, sent when a flight is free */
    struct tw_buf counters;
    int counters_pending;
    uint32_t counters_inv_gen;  /* the inventory generation in counters (0: none) */
    unsigned counters_cmds;    /* commands in counters (one reply each) */
    struct tw_sensor_info registry; /* sent with the counters when has_registry */
    int has_registry;
    /* the equipment inventory (inventory.h; the caller's), sent with the counters when due:
     * the generation written and when, the reconnects seen then */
    const struct tw_inventory *inventory;
    uint64_t inv_written_gen, inv_written_ms, inv_reconnects;
    int counters_refused;      /* a reply of the counters batch being answered was an error */
    uint32_t retention_s;      /* lifetime of the run's tw:{S}:stats:<run> hash */
    /* gaps: closed ones wait in gaps[0..ngaps), the first gaps_sent are in flight */
    struct gap gaps[TW_GAPS_MAX];
    unsigned ngaps, gaps_sent;
    struct gap open_gap;
    int gap_open;
    struct tw_store_stats st;
    /* per batch */
    struct keyset keys;        /* the key names of the groups */
    uint32_t *gtab;            /* (hour, kind, binary value) -> group index + 1 */
    size_t gtab_size;
    struct group *groups;
    size_t ngroups, groups_cap;
    struct entry *entries;
    size_t nentries, entries_cap;
    struct tw_buf vals;           /* JSON texts and posting entries of the batch */
    struct keyset expired;     /* keys given an EXPIRE since expired_since_ms */
    uint64_t expired_since_ms, refresh_ms;
    char ex[16];               /* hot_window_s as text */
    char spool_path[TW_SPOOL_PATH_LEN];
    char run_dir[TW_SPOOL_PATH_LEN];
    uint32_t spool_records;    /* configured; the file is made the first time it is needed */
    struct tw_cw *cw;          /* redis.format 2: the compact writer; NULL = format 1 */
    uint32_t block_seq;        /* the next compact block's number in this run */
    /* signing.key: the evidence log (not ours: the caller closes it), each ring slot's
     * evidence number and run, the spool's item size, a buffer of items read back */
    struct tw_evlog *ev;
    uint64_t *ev_seq, *ev_run;
    uint32_t item_size;
    uint8_t *spool_buf;
};

/* ---- key set ---- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void keyset_reset(struct keyset *k)
{
    k->arena.len = 0;
    k->arena.oom = 0;
    k->count = 0;
    if (k->slots != NULL)
        memset(k->slots, 0, k->nslots * sizeof(*k->slots));
}

static int keyset_grow(struct keyset *k)
{
    size_t n = k->nslots ? k->nslots * 2 : 4096;
    struct slot *slots = calloc(n, sizeof(*slots));

    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < k->nslots; i++) {
        if (k->slots[i].off1 == 0)
            continue;
        size_t j = fnv1a(k->arena.p + k->slots[i].off1 - 1) & (n - 1);
        while (slots[j].off1 != 0)
            j = (j + 1) & (n - 1);
        slots[j] = k->slots[i];
    }
    free(k->slots);
    k->slots = slots;
    k->nslots = n;
    return 0;
}

/* Finds key, adding it with value val when absent. Returns its slot (*isnew tells which), or
 * NULL when out of memory. */
static struct slot *keyset_get(struct keyset *k, const char *key, size_t len, uint32_t val,
                               int *isnew)
{
    size_t j;
    char *p;

    *isnew = 0;
    if ((k->count + 1) * 2 > k->nslots && keyset_grow(k) < 0)
        return NULL;
    j = fnv1a(key) & (k->nslots - 1);
    for (; k->slots[j].off1 != 0; j = (j + 1) & (k->nslots - 1))
        if (strcmp(k->arena.p + k->slots[j].off1 - 1, key) == 0)
            return &k->slots[j];
    if (k->arena.len + len + 1 > UINT32_MAX - 1 || (p = tw_buf_room(&k->arena, len + 1)) == NULL)
        return NULL;
    memcpy(p, key, len + 1);
    k->slots[j].off1 = (uint32_t)k->arena.len + 1;
    k->slots[j].val = val;
    k->arena.len += len + 1;
    k->count++;
    *isnew = 1;
    return &k->slots[j];
}

/* Grows an array to hold need elements. Returns 0, or -1 on no memory. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 1024;
    void *p;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    if ((p = realloc(*arr, n * elem)) == NULL)
        return -1;
    *arr = p;
    *cap = n;
    return 0;
}

/* ---- one batch ---- */

struct batch_ctx {
    struct tw_store *s;
    size_t ncmds;
    int oom;
};

static uint64_t group_hash(uint64_t hour, unsigned kind, const uint8_t *v, size_t n)
{
    uint64_t h = (hour * 0x9e3779b97f4a7c15ULL) ^ (kind + 1) * 0xff51afd7ed558ccdULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static int gtab_grow(struct tw_store *s)
{
    size_t n = s->gtab_size ? s->gtab_size * 2 : 4096;
    uint32_t *t = calloc(n, sizeof(*t));

    if (t == NULL)
        return -1;
    for (size_t i = 0; i < s->ngroups; i++) {
        const struct group *g = &s->groups[i];
        size_t j = group_hash(g->hour, g->kind == G_RECORDS ? TW_POST__COUNT : g->post_kind,
                              g->value, g->vlen) & (n - 1);
        while (t[j] != 0)
            j = (j + 1) & (n - 1);
        t[j] = (uint32_t)i + 1;
    }
    free(s->gtab);
    s->gtab = t;
    s->gtab_size = n;
    return 0;
}

/* The key text of a group, made once when the group is new. */
static int group_key(const struct tw_store *s, const struct group *g, char *key, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char text[TW_APP_LEN + 1];

    if (g->kind == G_RECORDS) /* value[0] is the shard, which names it as the id would */
        return tw_key_record(key, len, s->sensor, g->hour, g->value[0]);
    switch (g->post_kind) {
    case TW_POST_NET4:
    case TW_POST_NET6:
        for (unsigned i = 0; i < g->vlen; i++) {
            text[2 * i] = hex[g->value[i] >> 4];
            text[2 * i + 1] = hex[g->value[i] & 0xf];
        }
        text[2 * g->vlen] = '\0';
        break;
    case TW_POST_PORT:
        snprintf(text, sizeof(text), "%u", (unsigned)(g->value[0] << 8 | g->value[1]));
        break;
    default:
        memcpy(text, g->value, g->vlen);
        text[g->vlen] = '\0';
    }
    return tw_key_post(key, len, s->sensor, g->hour, (enum tw_post_kind)g->post_kind, text);
}

/* Finds or makes the group of (hour, kind, binary value); kind TW_POST__COUNT is a record
 * hash, its value the shard (one byte). Returns it, or NULL (out of memory, or a key too
 * long: an odd app name is then not
 * indexed). Key texts are only formatted for new groups: most entries of a batch go to keys
 * it already has. */
static struct group *group_of(struct batch_ctx *b, uint64_t hour, unsigned kind,
                              const void *value, size_t vlen)
{
    struct tw_store *s = b->s;
    char key[TW_KEY_LEN];
    struct group *g;
    struct slot *slot;
    size_t j;
    int n, isnew;

    if (vlen > sizeof(g->value))
        return NULL;
    if ((s->ngroups + 1) * 2 > s->gtab_size && gtab_grow(s) < 0) {
        b->oom = 1;
        return NULL;
    }
    j = group_hash(hour, kind, value, vlen) & (s->gtab_size - 1);
    for (; s->gtab[j] != 0; j = (j + 1) & (s->gtab_size - 1)) {
        g = &s->groups[s->gtab[j] - 1];
        if (g->hour == hour && g->vlen == vlen &&
            (g->kind == G_RECORDS ? TW_POST__COUNT : g->post_kind) == kind &&
            (vlen == 0 || memcmp(g->value, value, vlen) == 0))
            return g;
    }
    if (grow((void **)&s->groups, &s->groups_cap, s->ngroups + 1, sizeof(*s->groups)) < 0) {
        b->oom = 1;
        return NULL;
    }
    g = &s->groups[s->ngroups];
    memset(g, 0, offsetof(struct group, value));
    g->head = g->tail = UINT32_MAX;
    g->kind = kind == TW_POST__COUNT ? G_RECORDS : G_POSTINGS;
    g->post_kind = (uint8_t)(kind == TW_POST__COUNT ? 0 : kind);
    g->hour = hour;
    g->vlen = (uint8_t)vlen;
    if (vlen) /* the time posting has no value (and may pass NULL) */
        if (vlen > 0)
        memcpy(g->value, value, vlen);
    g->bucket[0] = '\0';
    if ((n = group_key(s, g, key, sizeof(key))) < 0)
        return NULL;
    if ((slot = keyset_get(&s->keys, key, (size_t)n, 0, &isnew)) == NULL) {
        b->oom = 1;
        return NULL;
    }
    g->key_off = slot->off1 - 1;
    g->key_len = (uint32_t)n;
    if (kind == TW_POST_NET4 || kind == TW_POST_NET6)
        snprintf(g->bucket, sizeof(g->bucket), "%c:%s", kind == TW_POST_NET4 ? '4' : '6',
                 key + n - 2 * vlen);
    s->gtab[j] = (uint32_t)++s->ngroups;
    return g;
}

/* Adds one entry (bytes already in vals at off) to a group. */
static void group_add(struct batch_ctx *b, struct group *g, uint32_t off, uint32_t len,
                      uint64_t id)
{
    struct tw_store *s = b->s;
    struct entry *e;

    if (grow((void **)&s->entries, &s->entries_cap, s->nentries + 1, sizeof(*s->entries)) < 0) {
        b->oom = 1;
        return;
    }
    e = &s->entries[s->nentries];
    e->next = UINT32_MAX;
    e->off = off;
    e->len = len;
    e->id = id;
    if (g->tail == UINT32_MAX)
        g->head = (uint32_t)s->nentries;
    else
        s->entries[g->tail].next = (uint32_t)s->nentries;
    g->tail = (uint32_t)s->nentries++;
    g->n++;
    g->bytes += len;
}

static void add_posting(struct batch_ctx *b, uint64_t hour, enum tw_post_kind kind,
                        const void *value, size_t vlen, const struct tw_posting *p)
{
    struct tw_store *s = b->s;
    struct group *g = group_of(b, hour, kind, value, vlen);
    size_t size = tw_post_entry_size(kind);
    char *dst;

    if (g == NULL)
        return;
    if ((dst = tw_buf_room(&s->vals, size)) == NULL) {
        b->oom = 1;
        return;
    }
    tw_post_encode(kind, p, (uint8_t *)dst);
    group_add(b, g, (uint32_t)s->vals.len, (uint32_t)size, 0);
    s->vals.len += size;
}

static void add_addr(struct batch_ctx *b, uint64_t hour, int v4, const uint8_t *addr,
                     struct tw_posting *p)
{
    memset(p->detail, 0, sizeof(p->detail));
    if (v4) {
        p->detail[0] = addr[3]; /* the /24 is the key, the host byte the detail */
        add_posting(b, hour, TW_POST_NET4, addr, 3, p);
    } else {
        memcpy(p->detail, addr + 8, 8); /* the /64 is the key, the interface id the detail */
        add_posting(b, hour, TW_POST_NET6, addr, 8, p);
    }
}

static void add_port(struct batch_ctx *b, uint64_t hour, uint16_t port, struct tw_posting *p)
{
    uint16_t bucket = tw_port_bucket(port);
    uint8_t v[2] = {(uint8_t)(bucket >> 8), (uint8_t)bucket};

    p->detail[0] = (uint8_t)(port >> 8);
    p->detail[1] = (uint8_t)port;
    add_posting(b, hour, TW_POST_PORT, v, 2, p);
}

/* Encodes the record of ring slot k, whose JSON is already in the arena. */
static void encode_record(struct batch_ctx *b, uint32_t k)
{
    const struct tw_flow_record *r = &b->s->ring[k];
    struct tw_store *s = b->s;
    char apps[TW_APP_PARTS_MAX][TW_APP_LEN];
    uint64_t last_us = r->last_seen_us > r->first_seen_us ? r->last_seen_us : r->first_seen_us;
    uint64_t rec_h = r->first_seen_us / TW_US_PER_HOUR, first_h = rec_h;
    uint64_t last_h = last_us / TW_US_PER_HOUR;
    struct tw_posting p = {.last_seen_us = last_us, .flow_id = r->flow_id};
    int v4 = r->ip_version == 4, napps;
    struct group *g;

    /* the record, in its shard of the hash of its first hour; its JSON stays in the arena
     * (entries of record groups point there) */
    uint8_t shard = (uint8_t)(r->flow_id & (TW_RECORD_SHARDS - 1));
    g = group_of(b, rec_h, TW_POST__COUNT, &shard, 1);
    if (g == NULL) {
        b->oom = 1;
        return;
    }
    group_add(b, g, s->json_off[k], s->json_len[k], r->flow_id);

    /* its postings, in every hour it spans; a flow longer than the hot window is indexed in
     * its newest hours only: older index keys would outlive nothing, and this bounds the work
     * per record */
    if (last_h - first_h >= s->max_hours)
        first_h = last_h - s->max_hours + 1;
    if (last_h - rec_h > UINT16_MAX)
        return; /* a duration no capture has: not indexed */
    napps = tw_app_parts(r->app, sizeof(r->app), apps, TW_APP_PARTS_MAX);
    for (uint64_t h = first_h; h <= last_h; h++) {
        p.back = (uint16_t)(h - rec_h);
        memset(p.detail, 0, sizeof(p.detail));
        add_posting(b, h, TW_POST_TIME, NULL, 0, &p);
        add_addr(b, h, v4, r->src_ip, &p);
        if (memcmp(r->src_ip, r->dst_ip, 16) != 0)
            add_addr(b, h, v4, r->dst_ip, &p);
        if (r->src_port != 0)
            add_port(b, h, r->src_port, &p);
        if (r->dst_port != 0 && r->dst_port != r->src_port)
            add_port(b, h, r->dst_port, &p);
        memset(p.detail, 0, sizeof(p.detail));
        for (int i = 0; i < napps; i++)
            add_posting(b, h, TW_POST_APP, apps[i], strlen(apps[i]), &p);
    }
}

static void put_expire(struct batch_ctx *b, const char *key, size_t len)
{
    struct tw_store *s = b->s;

    tw_buf_array(s->out, 3);
    tw_buf_str(s->out, "EXPIRE");
    tw_buf_bulk(s->out, key, len);
    tw_buf_str(s->out, s->ex);
    b->ncmds++;
}

/* EXPIRE restarts the hot window of a key; a key given one is skipped until the cache is
 * cleared (every refresh_ms), so a key's TTL is at most refresh_ms short of the hot window,
 * for far fewer commands. Returns 1 when key needs one now (and remembers it). */
static int needs_expire(struct batch_ctx *b, const char *key, size_t len)
{
    int isnew;

    if (keyset_get(&b->s->expired, key, len, 0, &isnew) == NULL) {
        keyset_reset(&b->s->expired); /* no memory: forget, which only costs EXPIREs */
        return 1;
    }
    return isnew;
}

static void gap_json(const struct tw_store *s, const struct gap *g, char *out, size_t len)
{
    int n = snprintf(out, len,
             "{\"run\":\"%016" PRIx64 "\",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
             ",\"records\":%" PRIu64 ",\"from\":%" PRIu64 ".%06" PRIu64 ",\"until\":%" PRIu64
             ".%06" PRIu64 ",\"at\":%" PRIu64 ".%06" PRIu64 ",\"reason\":\"%s\"}",
             s->run_us, g->first_seq, g->last_seq, g->records, g->from_us / 1000000,
             g->from_us % 1000000, g->until_us / 1000000, g->until_us % 1000000,
             g->at_us / 1000000, g->at_us % 1000000, g->reason);
    if (s->ev != NULL && g->ev_seq != 0 && n > 0 && (size_t)n < len) /* as it was chained */
        tw_chain_json_tag(out, (size_t)n, g->ev_seq, tw_evlog_run(s->ev), out, len);
}

/* Appends the commands of the groups, the bookkeeping keys, and the gaps waiting. */
static void encode_commands(struct batch_ctx *b, unsigned ngaps, unsigned nseals)
{
    struct tw_store *s = b->s;
    char key[TW_KEY_LEN], text[512];
    int n;

    for (size_t i = 0; i < s->ngroups; i++) {
        struct group *g = &s->groups[i];
        const char *k = s->keys.arena.p + g->key_off;
        if (g->kind == G_RECORDS) {
            tw_buf_array(s->out, 2 + 2 * (size_t)g->n);
            tw_buf_str(s->out, "HSET");
            tw_buf_bulk(s->out, k, g->key_len);
            for (uint32_t e = g->head; e != UINT32_MAX; e = s->entries[e].next) {
                static const char hex[] = "0123456789abcdef";
                char id[16];
                for (int i = 0; i < 16; i++)
                    id[i] = hex[(s->entries[e].id >> (60 - 4 * i)) & 0xf];
                tw_buf_bulk(s->out, id, 16);
                tw_buf_bulk(s->out, s->jarena + s->entries[e].off, s->entries[e].len);
            }
        } else {
            char *p;
            tw_buf_array(s->out, 3);
            tw_buf_str(s->out, "APPEND");
            tw_buf_bulk(s->out, k, g->key_len);
            tw_buf_head(s->out, '$', g->bytes);
            if ((p = tw_buf_room(s->out, (size_t)g->bytes + 2)) == NULL)
                return;
            for (uint32_t e = g->head; e != UINT32_MAX; e = s->entries[e].next) {
                memcpy(p, s->vals.p + s->entries[e].off, s->entries[e].len);
                p += s->entries[e].len;
            }
            memcpy(p, "\r\n", 2);
            s->out->len += (size_t)g->bytes + 2;
        }
        b->ncmds++;
        g->need_expire = (uint8_t)needs_expire(b, k, g->key_len);
    }
    for (size_t i = 0; i < s->ngroups; i++) {
        struct group *g = &s->groups[i];
        if (!g->need_expire)
            continue;
        put_expire(b, s->keys.arena.p + g->key_off, g->key_len);
        /* a key new to the cache: make sure its hour and its bucket are listed */
        if (g->kind == G_POSTINGS && g->post_kind == TW_POST_TIME) {
            n = tw_key_hours(key, sizeof(key), s->sensor);
            snprintf(text, sizeof(text), "%" PRIu64, g->hour);
            tw_buf_array(s->out, 4);
            tw_buf_str(s->out, "ZADD");
            tw_buf_bulk(s->out, key, (size_t)n);
            tw_buf_str(s->out, text);
            tw_buf_str(s->out, text);
            b->ncmds++;
            if (needs_expire(b, key, (size_t)n))
                put_expire(b, key, (size_t)n);
        }
        if (g->kind == G_POSTINGS && g->bucket[0] != '\0') {
            n = tw_key_nets(key, sizeof(key), s->sensor, g->hour);
            tw_buf_array(s->out, 4);
            tw_buf_str(s->out, "ZADD");
            tw_buf_bulk(s->out, key, (size_t)n);
            tw_buf_str(s->out, "0");
            tw_buf_str(s->out, g->bucket);
            b->ncmds++;
            if (needs_expire(b, key, (size_t)n))
                put_expire(b, key, (size_t)n);
        }
    }
    if (ngaps > 0) {
        n = tw_key_gaps(key, sizeof(key), s->sensor);
        tw_buf_array(s->out, 2 + 2 * (size_t)ngaps);
        tw_buf_str(s->out, "HSET");
        tw_buf_bulk(s->out, key, (size_t)n);
        for (unsigned i = 0; i < ngaps; i++) {
            const struct gap *g = &s->gaps[s->gaps_sent + i];
            char field[48];
            snprintf(field, sizeof(field), "%016" PRIx64 ":%" PRIu64, s->run_us, g->first_seq);
            tw_buf_str(s->out, field);
            gap_json(s, g, text, sizeof(text));
            tw_buf_str(s->out, text);
        }
        b->ncmds++;
        put_expire(b, key, (size_t)n);
    }
    if (nseals > 0) { /* the evidence's seals (evidence_log.h), kept as long as alerts */
        n = tw_key_seals(key, sizeof(key), s->sensor);
        tw_buf_array(s->out, 2 + 2 * (size_t)nseals);
        tw_buf_str(s->out, "HSET");
        tw_buf_bulk(s->out, key, (size_t)n);
        for (unsigned i = 0; i < nseals; i++) {
            char field[TW_SEAL_FIELD_LEN + 1];
            const char *line = tw_evlog_line(s->ev, i, field);
            tw_buf_str(s->out, field);
            tw_buf_str(s->out, line);
        }
        b->ncmds++;
        snprintf(text, sizeof(text), "%" PRIu32, s->retention_s);
        tw_buf_array(s->out, 3);
        tw_buf_str(s->out, "EXPIRE");
        tw_buf_bulk(s->out, key, (size_t)n);
        tw_buf_str(s->out, text);
        b->ncmds++;
    }
}

/* Format 2: the n records from the first unsent one as compact blocks (compact_writer.c).
 * A batch sent again is the same bytes (the engine keeps them), so its block id stays. */
static int encode_compact(struct batch_ctx *b, uint32_t n, uint64_t now_ms)
{
    struct tw_store *s = b->s;
    const struct tw_flow_record **recs = malloc(n * sizeof(*recs));
    const char **json = malloc(n * sizeof(*json));
    uint16_t *jlen = malloc(n * sizeof(*jlen));
    long cmds = -1;

    if (recs != NULL && json != NULL && jlen != NULL) {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = (s->head + s->sent + i) % s->cap;
            recs[i] = &s->ring[k];
            json[i] = s->jarena + s->json_off[k];
            jlen[i] = s->json_len[k];
        }
        cmds = tw_cw_encode(s->cw, s->out, s->run_us, s->block_seq, recs, json, jlen, n, now_ms);
    }
    free(recs);
    free(json);
    free(jlen);
    if (cmds < 0)
        return -1;
    s->block_seq++;
    b->ncmds += (size_t)cmds;
    return 0;
}

/* Encodes the next n records of the ring (and the gaps waiting) as one batch of the engine.
 * Returns 0, or -1 when out of memory (nothing is queued then). */
static int encode_batch(struct tw_store *s, uint32_t n, uint64_t now_ms)
{
    struct batch_ctx b = {.s = s};
    unsigned ngaps = s->ngaps - s->gaps_sent, nseals = 0;

    if (s->ev != NULL) { /* a seal per batch: everything chained so far */
        tw_evlog_seal(s->ev, now_ms);
        nseals = tw_evlog_unsent(s->ev);
        if (nseals > 0xffff)
            nseals = 0xffff;
    }
    /* aux: the gaps (low 16 bits, at most TW_GAPS_MAX) and seals (high 16) it carries */
    struct tw_engine_batch tag = {.items = n, .aux = ngaps | (uint32_t)nseals << 16,
                                  .kind = B_RECORDS};

    keyset_reset(&s->keys);
    if (s->gtab != NULL)
        memset(s->gtab, 0, s->gtab_size * sizeof(*s->gtab));
    s->ngroups = 0;
    s->nentries = 0;
    s->vals.len = 0;
    s->vals.oom = 0;
    s->out = tw_engine_begin(s->e);
    if (s->cw != NULL) {
        if (encode_compact(&b, n, now_ms) < 0)
            b.oom = 1;
    } else {
        for (uint32_t i = 0; i < n && !b.oom; i++)
            encode_record(&b, (s->head + s->sent + i) % s->cap);
    }
    if (!b.oom)
        encode_commands(&b, ngaps, nseals);
    if (b.oom || s->vals.oom || tw_engine_commit(s->e, &tag, (unsigned)b.ncmds, now_ms) < 0) {
        tw_engine_abort(s->e);
        keyset_reset(&s->expired);
        s->st.errors++;
        return -1;
    }
    s->sent += n;
    s->gaps_sent += ngaps;
    if (nseals > 0)
        tw_evlog_sent(s->ev, nseals);
    return 0;
}

static void close_gap(struct tw_store *s)
{
    if (!s->gap_open)
        return;
    s->gap_open = 0;
    s->st.gaps++;
    if (s->ngaps == TW_GAPS_MAX && s->ev == NULL) {
        /* too many waiting: widen the newest one (it may then span records that arrived) */
        struct gap *last = &s->gaps[TW_GAPS_MAX - 1];
        last->last_seq = s->open_gap.last_seq;
        last->records += s->open_gap.records;
        if (s->open_gap.until_us > last->until_us)
            last->until_us = s->open_gap.until_us;
        if (s->open_gap.from_us < last->from_us)
            last->from_us = s->open_gap.from_us;
        return;
    }
    if (s->ngaps == TW_GAPS_MAX) /* signing: a chained gap cannot be widened: counted only */
        return;
    s->gaps[s->ngaps] = s->open_gap;
    if (s->ev != NULL) { /* a gap record is evidence too: chained as it will be stored */
        char text[512], tagged[512 + TW_CHAIN_TAG_MAX];
        struct gap *g = &s->gaps[s->ngaps];
        g->ev_seq = 0;
        gap_json(s, g, text, sizeof(text));
        tw_evlog_append_json(s->ev, TW_ITEM_GAP, text, strlen(text), tagged, sizeof(tagged),
                             &g->ev_seq);
    }
    s->ngaps++;
}

/* Records one lost record in the open gap. */
static void lose(struct tw_store *s, const struct tw_flow_record *r, const char *reason)
{
    struct gap *g = &s->open_gap;

    if (s->gap_open && (g->last_seq + 1 != r->seq || g->reason != reason))
        close_gap(s);
    if (!s->gap_open) {
        memset(g, 0, sizeof(*g));
        g->first_seq = r->seq;
        g->from_us = r->last_seen_us;
        g->at_us = tw_wall_us();
        g->reason = reason;
        s->gap_open = 1;
    }
    g->last_seq = r->seq;
    g->records++;
    if (r->last_seen_us < g->from_us)
        g->from_us = r->last_seen_us;
    if (r->last_seen_us > g->until_us)
        g->until_us = r->last_seen_us;
}

/* The first n records of the ring are in Redis (or given up): they leave the ring. */
static void pop(struct tw_store *s, uint32_t n, uint64_t now_ms)
{
    uint64_t disk = 0;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (s->head + i) % s->cap;
        if (s->disk_no[k] != 0)
            disk = s->disk_no[k];
        s->disk_no[k] = 0;
    }
    s->head = (s->head + n) % s->cap;
    s->count -= n;
    s->sent -= n;
    if (disk != 0 && s->spool != NULL && tw_spill_ack(s->spool, disk - 1, now_ms) != 0)
        s->st.errors++;
}

/* ---- what the engine tells ---- */

/* A new connection: the server may have lost the keys' expiries (a restart without AOF). */
static int on_hello(void *ctx, struct tw_buf *out)
{
    struct tw_store *s = ctx;

    (void)out;
    keyset_reset(&s->expired);
    if (s->cw != NULL)
        tw_cw_forget(s->cw);
    return 0;
}

static enum tw_verdict on_reply(void *ctx, const struct tw_engine_batch *b, const redisReply *r)
{
    struct tw_store *s = ctx;

    if (b == NULL || r->type != REDIS_REPLY_ERROR)
        return TW_REPLY_OK;
    if (b->kind == B_COUNTERS) { /* the next refresh writes them again */
        s->st.errors++;
        s->counters_refused = 1;
        return TW_REPLY_OK;
    }
    return tw_redis_transient_error(r->str) ? TW_REPLY_RETRY : TW_REPLY_REFUSED;
}

static void on_done(void *ctx, const struct tw_engine_batch *b, int ok)
{
    struct tw_store *s = ctx;
    uint64_t now_ms = tw_mono_ms();

    if (b->kind == B_COUNTERS) {
        /* aux: the inventory generation it carried (0: none); written when no reply failed */
        if (b->aux != 0 && !s->counters_refused) {
            s->inv_written_gen = b->aux;
            s->inv_written_ms = now_ms;
        }
        s->counters_refused = 0;
        return;
    }
    if (ok) {
        s->st.written += b->items;
    } else {
        /* retrying cannot fix it: the records are given up, as a gap (its own gaps too) */
        for (uint32_t i = 0; i < b->items; i++)
            lose(s, &s->ring[(s->head + i) % s->cap], "refused");
        close_gap(s);
        s->st.refused += b->items;
    }
    pop(s, b->items, now_ms);
    uint32_t ngaps = b->aux & 0xffff;
    memmove(&s->gaps[0], &s->gaps[ngaps], (s->ngaps - ngaps) * sizeof(s->gaps[0]));
    s->ngaps -= ngaps;
    s->gaps_sent -= ngaps;
    if (s->ev != NULL) /* the seals: written, or given up with their batch */
        tw_evlog_done(s->ev, b->aux >> 16);
}

/* ---- the JSON arena ---- */

/* Where a text of len bytes goes after the newest one, or -1 when the arena has no room for
 * it now (the record then waits in the spool file, or is dropped, as when the ring is full). */
static int64_t json_place(const struct tw_store *s, size_t len)
{
    uint32_t jhead = s->json_off[s->head];

    if (s->count == 0)
        return len <= s->jcap ? 0 : -1;
    if (s->jtail > jhead || (s->jtail == jhead && s->json_len[s->head] == 0)) {
        if (len <= s->jcap - s->jtail)
            return (int64_t)s->jtail;
        return len <= jhead ? 0 : -1; /* wraps: the end is left unused */
    }
    return len <= (size_t)(jhead - s->jtail) ? (int64_t)s->jtail : -1;
}

/* The largest text room there is now, for reading spool records back. */
static size_t json_room(const struct tw_store *s)
{
    uint32_t jhead = s->json_off[s->head];

    if (s->count == 0)
        return s->jcap;
    if (s->jtail > jhead)
        return s->jcap - s->jtail > jhead ? s->jcap - s->jtail : jhead;
    return jhead - s->jtail;
}

/* Appends record r with its JSON text to the ring. Returns 0, or -1 when ring or arena is
 * full. */
static int ring_push(struct tw_store *s, const struct tw_flow_record *r, uint64_t seq,
                     const char *json, size_t len, uint64_t disk_no, uint64_t ev_seq,
                     uint64_t ev_run)
{
    uint32_t k = (s->head + s->count) % s->cap;
    int64_t at;

    if (s->count == s->cap || len > UINT16_MAX || (at = json_place(s, len)) < 0)
        return -1;
    s->ring[k] = *r;
    s->ring[k].seq = seq;
    s->disk_no[k] = disk_no;
    memcpy(s->jarena + at, json, len);
    s->json_off[k] = (uint32_t)at;
    s->json_len[k] = (uint16_t)len;
    if (s->ev_seq != NULL) {
        s->ev_seq[k] = ev_seq;
        s->ev_run[k] = ev_run;
    }
    s->jtail = (uint32_t)(at + (int64_t)len);
    s->count++;
    return 0;
}

/* ---- the spool ---- */

/* Moves records from the spool file into free ring slots, oldest first. */
static void refill(struct tw_store *s)
{
    uint64_t nums[256];
    unsigned moved = 0;

    while (s->spool != NULL && tw_spill_unread(s->spool) > 0 && s->count < s->cap &&
           moved < TW_REFILL_PER_POLL) {
        /* each record read back must find room for its JSON (see json_place) */
        size_t fit = json_room(s) / TW_JSON_MAX;
        int want = (int)(s->cap - s->count < 256 ? s->cap - s->count : 256);
        if (fit == 0)
            break;
        if ((size_t)want > fit)
            want = (int)fit;
        int got = tw_spill_read(s->spool, s->spool_buf, nums, want, &s->st.spool_corrupt);
        if (got < 0) {
            s->st.errors++;
            return;
        }
        for (int i = 0; i < got; i++) {
            char json[TW_JSON_MAX];
            const uint8_t *item = s->spool_buf + (size_t)i * s->item_size;
            struct spool_item it = {0};
            memcpy(&it, item, s->item_size);
            const struct tw_flow_record *r = &it.r;
            int n = tw_record_to_json(r, json, sizeof(json));
            if (n > 0 && s->ev != NULL) { /* tagged as it was chained when it was put */
                char run[17];
                snprintf(run, sizeof(run), "%016" PRIx64, it.ev_run);
                n = tw_chain_json_tag(json, (size_t)n, it.ev_seq, run, json, sizeof(json));
            }
            if (n < 0 || ring_push(s, r, r->seq, json, (size_t)n, nums[i] + 1, it.ev_seq,
                                   it.ev_run) < 0) {
                s->st.errors++; /* cannot happen: TW_JSON_MAX is the proven bound */
                continue;
            }
        }
        moved += (unsigned)got;
        if (got == 0 && tw_spill_unread(s->spool) == 0)
            break;
    }
}

/* ---- the API ---- */

static int errf(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return 0;
}

/* The ring and its text arena (a few hundred MB by default) are written in turn from start to
 * end: every 4 KiB page of them is faulted in and zeroed on first use, which was a tenth of the
 * control thread's time in a replay of 170 k records. Transparent huge pages (where the kernel
 * offers them on request) make that 2 MiB at a time. */
static void advise_huge(void *p, size_t len)
{
    uintptr_t a = ((uintptr_t)p + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);

    if (len > (2u << 20) && a + (2u << 20) <= (uintptr_t)p + len)
        (void)madvise((void *)a, ((uintptr_t)p + len - a) & ~(uintptr_t)((2u << 20) - 1),
                      MADV_HUGEPAGE);
}

struct tw_store *tw_store_open(const struct tw_store_params *p, char *err, size_t errlen)
{
    struct tw_store *s;

    if (p == NULL || p->w.sensor == NULL || p->w.sensor[0] == '\0' || p->w.batch == 0 ||
        p->buffer_records == 0 || p->hot_window_s == 0) {
        errf(err, errlen, "redis: store needs a sensor, a batch, a buffer and a hot window");
        return NULL;
    }
    if (strlen(p->w.sensor) >= sizeof(s->sensor)) {
        errf(err, errlen, "redis: sensor name too long");
        return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        errf(err, errlen, "redis: out of memory");
        return NULL;
    }
    static const struct tw_engine_ops ops = {on_hello, on_reply, on_done};
    if ((s->e = tw_engine_open(p->w.url, p->w.target, &ops, s, err, errlen)) == NULL) {
        free(s);
        return NULL;
    }
    tw_engine_sample_evictions(s->e, 10000); /* one writer per sensor samples */
    s->jcap = p->buffer_records * TW_STORE_JSON_BYTES;
    if (s->jcap < TW_JSON_MAX) /* room for one record at least */
        s->jcap = TW_JSON_MAX;
    if ((s->ring = calloc(p->buffer_records, sizeof(*s->ring))) == NULL ||
        (s->disk_no = calloc(p->buffer_records, sizeof(*s->disk_no))) == NULL ||
        (s->json_off = calloc(p->buffer_records, sizeof(*s->json_off))) == NULL ||
        (s->json_len = calloc(p->buffer_records, sizeof(*s->json_len))) == NULL ||
        (p->buffer_records > UINT32_MAX / TW_STORE_JSON_BYTES) ||
        (s->jarena = malloc(s->jcap)) == NULL) {
        errf(err, errlen, "redis: out of memory for the record buffer");
        tw_store_close(s);
        return NULL;
    }
    advise_huge(s->ring, p->buffer_records * sizeof(*s->ring));
    advise_huge(s->jarena, s->jcap);
    snprintf(s->sensor, sizeof(s->sensor), "%s", p->w.sensor);
    s->ev = p->evidence;
    s->item_size = s->ev != NULL ? (uint32_t)sizeof(struct spool_item) : REC_SIZE;
    if ((s->spool_buf = malloc(256 * (size_t)s->item_size)) == NULL ||
        (s->ev != NULL && ((s->ev_seq = calloc(p->buffer_records, sizeof(uint64_t))) == NULL ||
                           (s->ev_run = calloc(p->buffer_records, sizeof(uint64_t))) == NULL))) {
        errf(err, errlen, "redis: out of memory for the record buffer");
        tw_store_close(s);
        return NULL;
    }
    if (s->ev != NULL && p->format == 1) {
        errf(err, errlen, "signing.key needs redis.format 2 (format 1 overwrites a flow's older "
                          "record versions)");
        tw_store_close(s);
        return NULL;
    }
    if (p->registry != NULL) {
        s->registry = *p->registry;
        s->has_registry = 1;
    }
    s->inventory = p->inventory;
    if (p->w.run_dir != NULL && p->w.run_dir[0] != '\0' && p->spool_records > 0) {
        char file_part[TW_NS_LEN]; /* a bank's "A/s1" is "A+s1" in a file name */
        tw_namespace_file_part(p->w.sensor, file_part, sizeof(file_part));
        int n = snprintf(s->spool_path, sizeof(s->spool_path), "%s/redis-spool-%s.dat",
                         p->w.run_dir, file_part);
        if (n < 0 || (size_t)n >= sizeof(s->spool_path)) {
            errf(err, errlen, "redis: run_dir too long for the spool file");
            tw_store_close(s);
            return NULL;
        }
        snprintf(s->run_dir, sizeof(s->run_dir), "%s", p->w.run_dir);
        s->spool_records = p->spool_records;
        /* a file left by an earlier run is replayed first; none is made until needed */
        struct stat st; /* lstat: a link at the name is found, and refused by the open */
        if (lstat(s->spool_path, &st) == 0) {
            s->spool =
                tw_spill_open(s->spool_path, s->item_size, p->spool_records, &s->st.recovered, err,
                          errlen);
            if (s->spool == NULL) {
                tw_store_close(s);
                return NULL;
            }
        }
    }
    s->hot_window_s = p->hot_window_s;
    s->batch = p->w.batch < p->buffer_records ? p->w.batch : p->buffer_records;
    s->cap = p->buffer_records;
    s->flush_ms = p->w.flush_ms;
    s->max_hours = p->hot_window_s / 3600 + 2;
    s->refresh_ms = p->hot_window_s < 600 ? (uint64_t)p->hot_window_s * 100 : 60000;
    s->run_us = tw_wall_us();
    s->retention_s = p->w.retention_s ? p->w.retention_s : p->hot_window_s;
    snprintf(s->ex, sizeof(s->ex), "%" PRIu32, p->hot_window_s);
    if (p->format != 1 && (s->cw = tw_cw_new(s->sensor, p->hot_window_s, s->max_hours,
                                                p->quiet_posts)) == NULL) {
        errf(err, errlen, "redis: out of memory");
        tw_store_close(s);
        return NULL;
    }
    compact_floors(s);
    refill(s);
    tw_engine_poll(s->e, tw_mono_ms());
    return s;
}

/* Format 2: a block of a few records compresses badly and costs Redis a field per index
 * bucket for few records. Measured with store_driver bench (200 k records, Redis 7.0): blocks
 * of 512 records take 110 bytes and 1.2 us of Redis CPU per record, of 2048 records 96 bytes
 * and 0.56 us, of 8192 records 93 bytes and 0.64 us. So blocks of 2048 when that many wait,
 * and a partial block waits up to 1 s rather than 100 ms. */
#define TW_CX_MIN_BATCH 2048u
#define TW_CX_MIN_FLUSH_MS 1000u
static void compact_floors(struct tw_store *s)
{
    if (s->cw == NULL)
        return;
    if (s->batch < TW_CX_MIN_BATCH)
        s->batch = TW_CX_MIN_BATCH < s->cap ? TW_CX_MIN_BATCH : s->cap;
    if (s->flush_ms < TW_CX_MIN_FLUSH_MS)
        s->flush_ms = TW_CX_MIN_FLUSH_MS;
}

void tw_store_tune(struct tw_store *s, uint32_t batch, uint32_t flush_ms)
{
    /* only the next batch reads these: what is in flight keeps its own count */
    s->batch = batch < s->cap ? batch : s->cap;
    s->flush_ms = flush_ms;
    compact_floors(s);
}

const char *tw_store_url(const struct tw_store *s)
{
    return tw_engine_url(s->e);
}

const char *tw_store_refusal(const struct tw_store *s)
{
    return tw_engine_refusal(s->e);
}

const char *tw_store_spool_path(const struct tw_store *s)
{
    return s->spool_records > 0 ? s->spool_path : NULL;
}

/* Makes the spool file the first time memory is full. Returns 0, or -1 when it cannot be
 * made: the store then keeps to memory (counted in errors). */
static int spool_needed(struct tw_store *s)
{
    uint64_t recovered;

    if (s->spool != NULL)
        return 0;
    if (s->spool_records == 0)
        return -1;
    if (tw_run_dir_make(s->run_dir, NULL, 0) != 0 ||
        (s->spool = tw_spill_open(s->spool_path, s->item_size, s->spool_records, &recovered, NULL,
                                   0)) ==
            NULL) {
        s->spool_records = 0;
        s->st.errors++;
        errno = EIO;
        return -1;
    }
    return 0;
}

int tw_store_put(struct tw_store *s, const struct tw_flow_record *r, const char *json,
                 size_t json_len)
{
    char own[TW_JSON_MAX];
    uint64_t ev_seq = 0, ev_run = 0;

    s->next_seq++;
    if (json == NULL) { /* a caller without the text: encoded here, once */
        int n = tw_record_to_json(r, own, sizeof(own));
        json = own;
        json_len = n > 0 ? (size_t)n : 0;
    }
    if (s->ev != NULL) {
        /* signing: the text is tagged with the record's evidence number now, and chained
         * below once it is accepted (memory or spool), before any spooling (chain.h) */
        int n;
        ev_seq = tw_evlog_next_seq(s->ev);
        ev_run = tw_evlog_run_id(s->ev);
        if (json != own)
            memcpy(own, json, json_len < sizeof(own) ? json_len : sizeof(own));
        n = tw_chain_json_tag(own, json_len, ev_seq, tw_evlog_run(s->ev), own, sizeof(own));
        json = own;
        json_len = n > 0 ? (size_t)n : 0;
    }
    /* once records wait on disk, newer ones queue behind them there: order is kept */
    if ((s->spool != NULL && tw_spill_unread(s->spool) > 0) ||
        ring_push(s, r, s->next_seq, json, json_len, 0, ev_seq, ev_run) != 0) {
        struct spool_item copy = {.r = *r, .ev_seq = ev_seq, .ev_run = ev_run};
        copy.r.seq = s->next_seq;
        if (spool_needed(s) != 0 || tw_spill_append(s->spool, &copy) != 0) {
            if (s->spool != NULL && errno != ENOSPC)
                s->st.errors++;
            s->st.dropped_full++;
            lose(s, &copy.r, "buffer full");
            return -1;
        }
        s->st.spooled++;
    }
    if (s->ev != NULL)
        tw_evidence_append(s->ev, TW_ITEM_RECORD, json, json_len);
    close_gap(s);
    s->st.queued++;
    return 0;
}

/* Does the I/O that is due; `force` sends a partial batch regardless of the timer. */
static int flush_due(struct tw_store *s, uint64_t now_ms, int force)
{
    refill(s);
    if (s->spool != NULL && tw_spill_flush(s->spool) != 0)
        s->st.errors++;
    /* signing: a second without a batch still seals what was chained (alerts, too) */
    int seal_due = s->ev != NULL && (tw_evlog_seal_due(s->ev, now_ms) ||
                                     (force && tw_evlog_unsealed(s->ev)) ||
                                     tw_evlog_unsent(s->ev) > 0);
    if (tw_engine_poll(s->e, now_ms) < 0)
        return -1;
    for (int i = 0; i < TW_BATCHES_PER_POLL && tw_engine_ready(s->e, now_ms); i++) {
        uint32_t avail = s->count - s->sent;
        int due = avail >= s->batch ||
                  ((avail > 0 || s->ngaps > s->gaps_sent || seal_due) &&
                   (force || now_ms - s->last_flush_ms >= s->flush_ms ||
                    now_ms < s->last_flush_ms));
        if (!due)
            break;
        if (encode_batch(s, avail < s->batch ? avail : s->batch, now_ms) < 0)
            break;
        s->last_flush_ms = now_ms;
        seal_due = 0;
    }
    if (s->count == s->sent && s->ngaps == s->gaps_sent)
        s->last_flush_ms = now_ms;
    if (s->counters_pending && s->counters.len > 0 && tw_engine_ready(s->e, now_ms)) {
        struct tw_buf *out = tw_engine_begin(s->e);
        struct tw_engine_batch tag = {.kind = B_COUNTERS, .aux = s->counters_inv_gen};
        char *p = tw_buf_room(out, s->counters.len);
        if (p != NULL) {
            memcpy(p, s->counters.p, s->counters.len);
            out->len += s->counters.len;
        }
        tw_engine_commit(s->e, &tag, s->counters_cmds, now_ms);
        s->counters_pending = 0;
    }
    return tw_engine_poll(s->e, now_ms);
}

int tw_store_poll(struct tw_store *s, uint64_t now_ms)
{
    return flush_due(s, now_ms, 0);
}

/* Epoch seconds with six decimals, as record times print. */
static void put_epoch(struct tw_buf *b, uint64_t us)
{
    char text[32];

    tw_buf_bulk(b, text, (size_t)snprintf(text, sizeof(text), "%" PRIu64 ".%06" PRIu64,
                                       us / 1000000, us % 1000000));
}

/* HSET key name value ... run <run> started <t> ended <t> */
static void put_stats_hset(struct tw_buf *b, const char *key, const char *const *names,
                           const uint64_t *values, size_t n, const char *run, uint64_t start_us,
                           uint64_t now_us)
{
    tw_buf_array(b, 2 + 2 * n + 6);
    tw_buf_str(b, "HSET");
    tw_buf_str(b, key);
    for (size_t i = 0; i < n; i++) {
        tw_buf_str(b, names[i]);
        tw_buf_u64(b, values[i]);
    }
    tw_buf_str(b, "run");
    tw_buf_str(b, run);
    tw_buf_str(b, "started");
    put_epoch(b, start_us);
    tw_buf_str(b, "ended");
    put_epoch(b, now_us);
}

static void put_expire_cmd(struct tw_buf *b, const char *key, uint32_t seconds)
{
    tw_buf_array(b, 3);
    tw_buf_str(b, "EXPIRE");
    tw_buf_str(b, key);
    tw_buf_u64(b, seconds);
}

/* Is the inventory to be sent with these counters? When it changed since it was last written,
 * a minute after (the TTL renewed, a Redis emptied meanwhile filled again), and after a
 * reconnect (a Redis restarted empty has it back within a second). Sent every second instead,
 * a policy of thousands of equipment would cost Redis its text every second. */
#define TW_INVENTORY_REFRESH_MS 60000u
static int inventory_due(struct tw_store *s, uint64_t now_ms)
{
    struct tw_engine_stats es;

    if (s->inventory == NULL || s->inventory->json == NULL || s->inventory->gen == 0)
        return 0;
    tw_engine_get_stats(s->e, &es);
    if (es.reconnects != s->inv_reconnects) {
        s->inv_reconnects = es.reconnects;
        s->inv_written_gen = 0;
    }
    return (uint32_t)s->inventory->gen != s->inv_written_gen ||
           now_ms - s->inv_written_ms >= TW_INVENTORY_REFRESH_MS;
}

/* The latest run's counters in tw:{S}:stats, and each run's kept in tw:{S}:stats:<run>,
 * listed by start time in tw:{S}:runs (keys.h), so an earlier run's drops stay visible. */
int tw_store_put_counters(struct tw_store *s, const char *const *names, const uint64_t *values,
                          size_t n)
{
    struct tw_engine_stats es;
    char key[TW_KEY_LEN], run_key[TW_KEY_LEN], runs[TW_KEY_LEN], run[17], text[32];
    uint64_t now_us = tw_wall_us();

    if (n == 0)
        return 0;
    snprintf(run, sizeof(run), "%016" PRIx64, s->run_us);
    if (tw_key_stats(key, sizeof(key), s->sensor) < 0 ||
        tw_key_stats_run(run_key, sizeof(run_key), s->sensor, run) < 0 ||
        tw_key_runs(runs, sizeof(runs), s->sensor) < 0)
        return -1;
    s->counters.len = 0;
    s->counters.oom = 0;
    put_stats_hset(&s->counters, key, names, values, n, run, s->run_us, now_us);
    put_stats_hset(&s->counters, run_key, names, values, n, run, s->run_us, now_us);
    put_expire_cmd(&s->counters, run_key, s->retention_s);
    tw_buf_array(&s->counters, 4);
    tw_buf_str(&s->counters, "ZADD");
    tw_buf_str(&s->counters, runs);
    tw_buf_u64(&s->counters, s->run_us / 1000000);
    tw_buf_str(&s->counters, run);
    /* runs whose hash has expired leave the list too */
    tw_buf_array(&s->counters, 4);
    tw_buf_str(&s->counters, "ZREMRANGEBYSCORE");
    tw_buf_str(&s->counters, runs);
    tw_buf_str(&s->counters, "-inf");
    snprintf(text, sizeof(text), "(%" PRIu64, now_us / 1000000 - s->retention_s);
    tw_buf_str(&s->counters, text);
    put_expire_cmd(&s->counters, runs, s->retention_s);
    s->counters_cmds = 6;
    if (s->has_registry) { /* the sensor's registration, refreshed with its counters */
        int k = tw_sensor_registry_put(&s->counters, &s->registry, s->run_us, now_us,
                                       s->retention_s);
        if (k > 0)
            s->counters_cmds += (unsigned)k;
    }
    s->counters_inv_gen = 0;
    if (inventory_due(s, tw_mono_ms()) &&
        tw_inventory_put(&s->counters, s->sensor, s->inventory, s->retention_s) == 1) {
        s->counters_cmds++;
        s->counters_inv_gen = (uint32_t)s->inventory->gen;
    }
    if (s->counters.oom) {
        s->counters.len = 0;
        return -1;
    }
    s->counters_pending = 1;
    tw_engine_get_stats(s->e, &es);
    return es.connected ? 0 : -1;
}

int tw_store_wait(struct tw_store *s, unsigned timeout_ms)
{
    return tw_engine_wait(s->e, timeout_ms);
}

static int all_written(const struct tw_store *s)
{
    return s->count == 0 && tw_engine_in_flight(s->e) == 0 && s->ngaps == 0 && !s->gap_open &&
           (s->ev == NULL || !tw_evlog_busy(s->ev)) &&
           !s->counters_pending && (s->spool == NULL || tw_spill_unread(s->spool) == 0);
}

uint64_t tw_store_drain(struct tw_store *s, uint64_t timeout_ms)
{
    uint64_t start = tw_mono_ms(), now = start;

    close_gap(s); /* so it is written too */
    if (s->ev != NULL) /* everything chained so far, alerts too, gets its seal */
        tw_evlog_seal(s->ev, tw_mono_ms());
    while (!all_written(s) && now - start <= timeout_ms) {
        flush_due(s, now, 1);
        if (!all_written(s))
            tw_store_wait(s, 10);
        now = tw_mono_ms();
    }
    return s->count + (s->spool != NULL ? tw_spill_unread(s->spool) : 0);
}

uint64_t tw_store_persist(struct tw_store *s)
{
    char tmp[TW_SPOOL_PATH_LEN + 8];
    struct spool_item chunk[64];
    uint64_t nums[64], corrupt = 0, kept = 0;
    uint64_t unread = s->spool != NULL ? tw_spill_unread(s->spool) : 0;
    struct tw_spill *out;

    if (s->ev != NULL) { /* the seals not written wait for the next start too */
        char err[256];
        tw_evlog_seal(s->ev, tw_mono_ms());
        if (s->spool_records > 0 && tw_evlog_persist(s->ev, err, sizeof(err)) < 0)
            s->st.errors++;
    }
    if (s->count == 0 || s->spool_records == 0)
        return 0;
    if (snprintf(tmp, sizeof(tmp), "%s.new", s->spool_path) >= (int)sizeof(tmp) ||
        tw_run_dir_make(s->run_dir, NULL, 0) != 0)
        return 0;
    unlink(tmp); /* a leftover of an interrupted persist holds nothing the old file lacks */
    /* Order matters (a flow's END must land after its UPDATE): the new file holds what
     * memory holds, oldest first, then what still waits unread in the old file. */
    out = tw_spill_create(tmp, s->item_size, s->count + unread + s->spool_records, NULL, 0);
    if (out == NULL)
        return 0;
    for (uint32_t i = 0; i < s->count; i++) {
        uint32_t k = (s->head + i) % s->cap;
        struct spool_item it = {.r = s->ring[k]};
        if (s->ev != NULL) {
            it.ev_seq = s->ev_seq[k];
            it.ev_run = s->ev_run[k];
        }
        if (tw_spill_append(out, &it) != 0) /* its first item_size bytes */
            goto fail;
    }
    while (s->spool != NULL && tw_spill_unread(s->spool) > 0) {
        int n = tw_spill_read(s->spool, chunk, nums, 64, &corrupt);
        if (n <= 0)
            goto fail;
        for (int i = 0; i < n; i++)
            if (tw_spill_append(out, (const uint8_t *)chunk + (size_t)i * s->item_size) != 0)
                goto fail;
    }
    if (tw_spill_flush(out) != 0)
        goto fail;
    kept = tw_spill_pending(out);
    tw_spill_close(s->spool); /* the old file is replaced whole */
    s->spool = NULL;
    tw_spill_close(out);
    if (rename(tmp, s->spool_path) != 0) {
        unlink(tmp);
        return 0;
    }
    s->st.persisted = kept;
    s->count = 0; /* on disk now: the next start writes them first */
    return kept;

fail:
    tw_spill_close(out);
    unlink(tmp);
    return 0;
}

void tw_store_get_stats(const struct tw_store *s, struct tw_store_stats *out)
{
    *out = s->st;
    out->spool_pending = s->spool != NULL ? tw_spill_unread(s->spool) : 0;
    out->pending = s->count + out->spool_pending;
    if (s->st.persisted) /* left for the next start in the spool file, not lost */
        out->pending = 0;
    tw_engine_fold_stats(s->e, &out->connected, &out->reconnects, &out->errors);
    struct tw_engine_stats es;
    tw_engine_get_stats(s->e, &es);
    out->redis_evicted_keys = es.evicted_keys;
    out->wait_us = es.wait_us;
    out->wait_max_us = es.wait_max_us;
    out->wait_resent = es.wait_resent;
}

void tw_store_close(struct tw_store *s)
{
    if (s == NULL)
        return;
    tw_engine_close(s->e);
    tw_spill_close(s->spool);
    free(s->keys.slots);
    free(s->keys.arena.p);
    free(s->expired.slots);
    free(s->expired.arena.p);
    free(s->gtab);
    tw_cw_free(s->cw);
    free(s->groups);
    free(s->entries);
    free(s->vals.p);
    free(s->jarena);
    free(s->json_off);
    free(s->json_len);
    free(s->counters.p);
    free(s->disk_no);
    free(s->ev_seq);
    free(s->ev_run);
    free(s->spool_buf);
    free(s->ring);
    free(s);
}
