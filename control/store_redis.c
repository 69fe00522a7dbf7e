/* store_redis.c - flow records into Redis in pipelined batches (see store.h for the keys).
 *
 *   tw_store_put ──copy──> ring of records (bounded) ──tw_store_poll──> one batch:
 *      per record:  SET flow:<id> <json> EX hot       per batch, each distinct key once:
 *                   ZADD t:<h>[:<kind>:<v>] ...          EXPIRE <index key> hot
 *                   for every hour h the flow spans      ZADD hours h h ; EXPIRE hours hot
 *
 * The whole batch is encoded in the Redis protocol (RESP) into one reusable buffer and handed
 * to hiredis at once (redisAppendFormattedCommand), then every reply is read back. Records
 * leave the ring only when all replies of their batch came back OK, so a connection lost
 * mid-batch resends the batch; that is safe because every command is idempotent (SET
 * overwrites, ZADD updates the score, EXPIRE restarts the window). Nothing is allocated per
 * record: the command buffer and the key set only grow to the largest batch seen.
 *
 * A batch that Redis refuses (error replies, e.g. OOM or a key of the wrong type) is retried
 * on the next polls; after TW_BATCH_TRIES refusals its records are discarded and each counts
 * in `errors`, so one poisoned key cannot stall the store forever.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record_json.h"
#include "redis_conn.h"
#include "store.h"
#include "store_keys.h"

#define TW_CONNECT_TIMEOUT_MS 1000
#define TW_RECONNECT_EVERY_MS 1000
#define TW_BATCH_TRIES 3
#define TW_EXPIRE_CACHE_MAX (1u << 20) /* keys remembered as refreshed, bounds memory */
#define TW_BATCHES_PER_POLL 16 /* bounds the time one poll spends writing */
/* record_json.h says 2048 bytes suffice; that holds for real records, but a record with all
 * 64 risk bits and every string byte a control character takes 3049 (test_record_json) */
#define TW_JSON_MAX 4096

/* A growable byte buffer, reused from batch to batch. */
struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

/* A set of key names with a value each: open addressing over offsets into an arena. */
struct slot {
    uint32_t off1; /* offset + 1 into arena, 0 = empty */
    uint32_t val;
};
struct keyset {
    struct buf arena; /* NUL-terminated keys, one after the other */
    struct slot *slots;
    size_t nslots, count;
};

/* One index key of a batch and its (score, member) entries, a list through `entries`. */
struct group {
    uint32_t key_off, key_len; /* in keys.arena */
    uint32_t head, tail, n;
    uint8_t is_hour;           /* the plain hour index tw:{S}:t:<hour> */
    uint8_t need_expire;
    uint64_t hour;
};
struct entry {
    uint64_t id, score_us;
    uint32_t next;
};

struct tw_store {
    struct tw_redis_url url;
    char sensor[64];
    uint32_t hot_window_s, batch, cap, flush_ms, max_hours;
    struct tw_flow_record *ring;
    uint32_t head, count;
    redisContext *c;
    int down;                  /* a connection failed and has not come back yet */
    int tried;                 /* a reconnect was attempted at last_connect_ms */
    uint64_t last_connect_ms;
    uint64_t last_flush_ms;
    unsigned batch_tries;
    struct tw_store_stats st;
    struct buf cmd;
    struct keyset keys;      /* index keys of the batch being encoded -> group */
    struct group *groups;
    size_t ngroups, groups_cap;
    struct entry *entries;
    size_t nentries, entries_cap;
    struct keyset expired;   /* keys whose EXPIRE Redis acknowledged since expired_since_ms */
    uint64_t expired_since_ms, refresh_ms;
    char ex[16];             /* hot_window_s as text */
    char json[TW_JSON_MAX];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- RESP encoding ---- */

static char *buf_room(struct buf *b, size_t extra)
{
    if (b->oom)
        return NULL;
    if (b->len + extra > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + extra)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->len;
}

static void put_bulk(struct buf *b, const char *s, size_t n)
{
    char *p = buf_room(b, n + 24);

    if (p == NULL)
        return;
    b->len += (size_t)sprintf(p, "$%zu\r\n", n);
    memcpy(b->p + b->len, s, n);
    memcpy(b->p + b->len + n, "\r\n", 2);
    b->len += n + 2;
}

static void put_str(struct buf *b, const char *s)
{
    put_bulk(b, s, strlen(s));
}

static void put_array(struct buf *b, unsigned n)
{
    char *p = buf_room(b, 16);

    if (p != NULL)
        b->len += (size_t)sprintf(p, "*%u\r\n", n);
}

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
    if (k->arena.len + len + 1 > UINT32_MAX - 1 || (p = buf_room(&k->arena, len + 1)) == NULL)
        return NULL;
    memcpy(p, key, len + 1);
    k->slots[j].off1 = (uint32_t)k->arena.len + 1;
    k->slots[j].val = val;
    k->arena.len += len + 1;
    k->count++;
    *isnew = 1;
    return &k->slots[j];
}

static int keyset_has(const struct keyset *k, const char *key)
{
    if (k->count == 0)
        return 0;
    for (size_t j = fnv1a(key) & (k->nslots - 1); k->slots[j].off1 != 0;
         j = (j + 1) & (k->nslots - 1))
        if (strcmp(k->arena.p + k->slots[j].off1 - 1, key) == 0)
            return 1;
    return 0;
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
    unsigned ncmds;
    uint32_t skipped; /* records that could not be encoded */
    int oom;
    uint64_t id, score_us;
};

/* Adds (score, flow id) to the group of one index key; the groups become one variadic ZADD
 * each, which is what makes shared keys (the hour, a server, an app) cheap for Redis. */
static void add_index(struct batch_ctx *b, uint64_t hour, const char *kind, const char *value)
{
    struct tw_store *s = b->s;
    char key[TW_KEY_LEN];
    int n = tw_key_index(key, sizeof(key), s->sensor, hour, kind, value), isnew;
    struct slot *slot;
    struct group *g;
    struct entry *e;

    if (n < 0)
        return; /* a value too long for a key (an odd app name): not indexed */
    if ((slot = keyset_get(&s->keys, key, (size_t)n, (uint32_t)s->ngroups, &isnew)) == NULL ||
        grow((void **)&s->entries, &s->entries_cap, s->nentries + 1, sizeof(*s->entries)) < 0 ||
        (isnew && grow((void **)&s->groups, &s->groups_cap, s->ngroups + 1,
                       sizeof(*s->groups)) < 0)) {
        b->oom = 1;
        return;
    }
    if (isnew) {
        g = &s->groups[s->ngroups++];
        g->key_off = slot->off1 - 1;
        g->key_len = (uint32_t)n;
        g->head = g->tail = UINT32_MAX;
        g->n = 0;
        g->is_hour = kind == NULL;
        g->hour = hour;
    }
    g = &s->groups[slot->val];
    e = &s->entries[s->nentries];
    e->id = b->id;
    e->score_us = b->score_us;
    e->next = UINT32_MAX;
    if (g->tail == UINT32_MAX)
        g->head = (uint32_t)s->nentries;
    else
        s->entries[g->tail].next = (uint32_t)s->nentries;
    g->tail = (uint32_t)s->nentries++;
    g->n++;
}

static void add_addr_indexes(struct batch_ctx *b, uint64_t hour, const struct tw_flow_record *r,
                             const uint8_t *addr)
{
    static const unsigned v4_bits[] = {16, 24}, v6_bits[] = {48, 64};
    int v4 = r->ip_version == 4;
    char text[64];

    if (tw_net_text(addr, v4, v4 ? 32 : 128, text, sizeof(text)) == 0) {
        *strchr(text, '/') = '\0';
        add_index(b, hour, "ip", text);
    }
    for (int i = 0; i < 2; i++)
        if (tw_net_text(addr, v4, v4 ? v4_bits[i] : v6_bits[i], text, sizeof(text)) == 0)
            add_index(b, hour, "net", text);
}

static void encode_record(struct batch_ctx *b, const struct tw_flow_record *r)
{
    struct tw_store *s = b->s;
    char key[TW_KEY_LEN], port[8];
    char apps[TW_APP_PARTS_MAX][TW_APP_LEN];
    uint64_t last_us = r->last_seen_us > r->first_seen_us ? r->last_seen_us : r->first_seen_us;
    uint64_t first_h = r->first_seen_us / TW_US_PER_HOUR, last_h = last_us / TW_US_PER_HOUR;
    int n, napps;

    n = tw_record_to_json(r, s->json, sizeof(s->json));
    if (n < 0) {
        /* json-c out of memory: this record is lost (counted), the batch goes on */
        b->skipped++;
        return;
    }
    int kn = tw_key_flow(key, sizeof(key), s->sensor, r->flow_id);
    put_array(&s->cmd, 5);
    put_str(&s->cmd, "SET");
    put_bulk(&s->cmd, key, (size_t)kn);
    put_bulk(&s->cmd, s->json, (size_t)n);
    put_str(&s->cmd, "EX");
    put_str(&s->cmd, s->ex);
    b->ncmds++;

    b->id = r->flow_id;
    b->score_us = last_us;
    napps = tw_app_parts(r->app, sizeof(r->app), apps, TW_APP_PARTS_MAX);
    /* a flow longer than the hot window is indexed in its newest hours only: older index
     * keys would outlive nothing, and this bounds the work per record */
    if (last_h - first_h >= s->max_hours)
        first_h = last_h - s->max_hours + 1;
    for (uint64_t h = first_h; h <= last_h; h++) {
        add_index(b, h, NULL, NULL);
        add_addr_indexes(b, h, r, r->src_ip);
        if (memcmp(r->src_ip, r->dst_ip, 16) != 0)
            add_addr_indexes(b, h, r, r->dst_ip);
        for (int i = 0; i < napps; i++)
            add_index(b, h, "app", apps[i]);
        if (r->src_port != 0) {
            snprintf(port, sizeof(port), "%u", r->src_port);
            add_index(b, h, "port", port);
        }
        if (r->dst_port != 0 && r->dst_port != r->src_port) {
            snprintf(port, sizeof(port), "%u", r->dst_port);
            add_index(b, h, "port", port);
        }
    }
}

/* Appends the ZADD of every group, the EXPIRE of the keys not refreshed lately, and the
 * hours that hold flows. */
static void encode_indexes(struct batch_ctx *b)
{
    struct tw_store *s = b->s;
    char text[40], hours[TW_KEY_LEN];
    int hn = tw_key_hours(hours, sizeof(hours), s->sensor);
    unsigned nhours = 0;

    for (size_t i = 0; i < s->ngroups; i++) {
        struct group *g = &s->groups[i];
        put_array(&s->cmd, 2 + 2 * g->n);
        put_str(&s->cmd, "ZADD");
        put_bulk(&s->cmd, s->keys.arena.p + g->key_off, g->key_len);
        for (uint32_t e = g->head; e != UINT32_MAX; e = s->entries[e].next) {
            uint64_t us = s->entries[e].score_us;
            snprintf(text, sizeof(text), "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
            put_str(&s->cmd, text);
            snprintf(text, sizeof(text), "%016" PRIx64, s->entries[e].id);
            put_bulk(&s->cmd, text, 16);
        }
        b->ncmds++;
        nhours += g->is_hour;
    }
    if (nhours > 0) {
        put_array(&s->cmd, 2 + 2 * nhours);
        put_str(&s->cmd, "ZADD");
        put_bulk(&s->cmd, hours, (size_t)hn);
        for (size_t i = 0; i < s->ngroups; i++) {
            if (!s->groups[i].is_hour)
                continue;
            snprintf(text, sizeof(text), "%" PRIu64, s->groups[i].hour);
            put_str(&s->cmd, text);
            put_str(&s->cmd, text);
        }
        b->ncmds++;
    }
    /* EXPIRE restarts the hot window of a key; once a key's EXPIRE was acknowledged it is
     * skipped until the cache is cleared (every refresh_ms), so a key's TTL is at most
     * refresh_ms short of the hot window, for far fewer commands */
    for (size_t i = 0; i < s->ngroups; i++) {
        struct group *g = &s->groups[i];
        const char *key = s->keys.arena.p + g->key_off;
        g->need_expire = !keyset_has(&s->expired, key);
        if (!g->need_expire)
            continue;
        put_array(&s->cmd, 3);
        put_str(&s->cmd, "EXPIRE");
        put_bulk(&s->cmd, key, g->key_len);
        put_str(&s->cmd, s->ex);
        b->ncmds++;
    }
    if (nhours > 0) {
        put_array(&s->cmd, 3);
        put_str(&s->cmd, "EXPIRE");
        put_bulk(&s->cmd, hours, (size_t)hn);
        put_str(&s->cmd, s->ex);
        b->ncmds++;
    }
}

static void drop_connection(struct tw_store *s)
{
    if (s->c != NULL)
        redisFree(s->c);
    s->c = NULL;
    s->down = 1;
    s->st.errors++;
    keyset_reset(&s->expired); /* a new server may have lost them */
}

static void pop(struct tw_store *s, uint32_t n)
{
    s->head = (s->head + n) % s->cap;
    s->count -= n;
    s->batch_tries = 0;
}

/* Writes the n oldest records. Returns 0 when Redis acknowledged them all, -1 otherwise
 * (records kept, or discarded after TW_BATCH_TRIES refusals). */
static int send_batch(struct tw_store *s, uint32_t n, uint64_t now_ms)
{
    struct batch_ctx b = {.s = s};
    int refused = 0;

    if (now_ms - s->expired_since_ms >= s->refresh_ms || now_ms < s->expired_since_ms ||
        s->expired.count > TW_EXPIRE_CACHE_MAX) {
        keyset_reset(&s->expired);
        s->expired_since_ms = now_ms;
    }
    s->cmd.len = 0;
    s->cmd.oom = 0;
    keyset_reset(&s->keys);
    s->ngroups = 0;
    s->nentries = 0;
    for (uint32_t i = 0; i < n; i++)
        encode_record(&b, &s->ring[(s->head + i) % s->cap]);
    encode_indexes(&b);
    if (b.oom || s->cmd.oom) {
        s->st.errors++;
        return -1; /* out of memory: keep the records and try again later */
    }

    if (redisAppendFormattedCommand(s->c, s->cmd.p, s->cmd.len) != REDIS_OK) {
        drop_connection(s);
        return -1;
    }
    for (unsigned i = 0; i < b.ncmds; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(s->c, (void **)&reply) != REDIS_OK || reply == NULL) {
            /* the context is unusable now (hiredis README): throw it away, keep the batch */
            drop_connection(s);
            return -1;
        }
        if (reply->type == REDIS_REPLY_ERROR)
            refused++;
        freeReplyObject(reply);
    }
    if (refused) {
        s->st.errors++;
        keyset_reset(&s->expired);
        if (++s->batch_tries >= TW_BATCH_TRIES) {
            s->st.errors += n;
            pop(s, n);
        }
        return -1;
    }
    for (size_t i = 0; i < s->ngroups; i++) {
        int isnew;
        if (s->groups[i].need_expire &&
            keyset_get(&s->expired, s->keys.arena.p + s->groups[i].key_off,
                       s->groups[i].key_len, 0, &isnew) == NULL) {
            keyset_reset(&s->expired); /* no memory: forget, which only costs EXPIREs */
            break;
        }
    }
    s->st.written += n - b.skipped;
    s->st.errors += b.skipped;
    pop(s, n);
    return 0;
}

/* Connects when down and the last try is old enough. Returns 0 when connected. */
static int ensure_connected(struct tw_store *s, uint64_t now_ms)
{
    if (s->c != NULL)
        return 0;
    if (s->tried && now_ms - s->last_connect_ms < TW_RECONNECT_EVERY_MS &&
        now_ms >= s->last_connect_ms)
        return -1;
    s->tried = 1;
    s->last_connect_ms = now_ms;
    s->c = tw_redis_connect(&s->url, TW_CONNECT_TIMEOUT_MS, NULL, 0);
    if (s->c == NULL) {
        s->st.errors++;
        s->down = 1;
        return -1;
    }
    if (s->down)
        s->st.reconnects++;
    s->down = 0;
    return 0;
}

static int errf(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return 0;
}

struct tw_store *tw_store_open(const struct tw_store_params *p, char *err, size_t errlen)
{
    struct tw_store *s;

    if (p == NULL || p->sensor == NULL || p->sensor[0] == '\0' || p->batch == 0 ||
        p->buffer_records == 0 || p->hot_window_s == 0) {
        errf(err, errlen, "redis: store needs a sensor, a batch, a buffer and a hot window");
        return NULL;
    }
    if (strlen(p->sensor) >= sizeof(s->sensor)) {
        errf(err, errlen, "redis: sensor name too long");
        return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        errf(err, errlen, "redis: out of memory");
        return NULL;
    }
    if (tw_redis_parse_url(p->url, &s->url, err, errlen) < 0) {
        free(s);
        return NULL;
    }
    if ((s->ring = calloc(p->buffer_records, sizeof(*s->ring))) == NULL) {
        errf(err, errlen, "redis: out of memory for the record buffer");
        free(s);
        return NULL;
    }
    snprintf(s->sensor, sizeof(s->sensor), "%s", p->sensor);
    s->hot_window_s = p->hot_window_s;
    s->batch = p->batch < p->buffer_records ? p->batch : p->buffer_records;
    s->cap = p->buffer_records;
    s->flush_ms = p->flush_ms;
    s->max_hours = p->hot_window_s / 3600 + 2;
    s->refresh_ms = p->hot_window_s < 600 ? (uint64_t)p->hot_window_s * 100 : 60000;
    snprintf(s->ex, sizeof(s->ex), "%" PRIu32, p->hot_window_s);
    /* a failed first try leaves the next poll free to try again at once */
    s->c = tw_redis_connect(&s->url, TW_CONNECT_TIMEOUT_MS, NULL, 0);
    if (s->c == NULL) {
        s->st.errors++;
        s->down = 1;
    }
    return s;
}

int tw_store_put(struct tw_store *s, const struct tw_flow_record *r)
{
    if (s->count == s->cap) {
        s->st.dropped_full++;
        return -1;
    }
    s->ring[(s->head + s->count) % s->cap] = *r;
    s->count++;
    s->st.queued++;
    return 0;
}

/* Sends what is due; `force` sends a partial batch regardless of the timer. */
static int flush_due(struct tw_store *s, uint64_t now_ms, int force)
{
    if (s->count == 0) {
        s->last_flush_ms = now_ms;
        return s->c != NULL || ensure_connected(s, now_ms) == 0 ? 0 : -1;
    }
    if (ensure_connected(s, now_ms) < 0)
        return -1;
    for (int i = 0; i < TW_BATCHES_PER_POLL && s->count >= s->batch; i++)
        if (send_batch(s, s->batch, now_ms) < 0)
            return -1;
    if (s->count > 0 && s->count < s->batch &&
        (force || now_ms - s->last_flush_ms >= s->flush_ms || now_ms < s->last_flush_ms)) {
        if (send_batch(s, s->count, now_ms) < 0)
            return -1;
    }
    if (s->count < s->batch)
        s->last_flush_ms = now_ms;
    return 0;
}

int tw_store_poll(struct tw_store *s, uint64_t now_ms)
{
    return flush_due(s, now_ms, 0);
}

int tw_store_put_counters(struct tw_store *s, const char *const *names, const uint64_t *values,
                          size_t n)
{
    char key[TW_KEY_LEN];
    redisReply *reply;
    int rc = 0;

    if (n == 0)
        return 0;
    if (s->c == NULL)
        return -1;
    s->cmd.len = 0;
    s->cmd.oom = 0;
    snprintf(key, sizeof(key), "tw:{%s}:stats", s->sensor);
    put_array(&s->cmd, (unsigned)(2 + 2 * n));
    put_str(&s->cmd, "HSET");
    put_str(&s->cmd, key);
    for (size_t i = 0; i < n; i++) {
        char v[24];
        snprintf(v, sizeof(v), "%" PRIu64, values[i]);
        put_str(&s->cmd, names[i]);
        put_str(&s->cmd, v);
    }
    if (s->cmd.oom)
        return -1;
    if (redisAppendFormattedCommand(s->c, s->cmd.p, s->cmd.len) != REDIS_OK ||
        redisGetReply(s->c, (void **)&reply) != REDIS_OK || reply == NULL) {
        drop_connection(s);
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        s->st.errors++;
        rc = -1;
    }
    freeReplyObject(reply);
    return rc;
}

uint64_t tw_store_drain(struct tw_store *s, uint64_t timeout_ms)
{
    uint64_t start = mono_ms(), now = start;

    while (s->count > 0 && now - start <= timeout_ms) {
        if (flush_due(s, now, 1) < 0) {
            struct timespec nap = {.tv_sec = 0, .tv_nsec = 20 * 1000000};
            nanosleep(&nap, NULL);
        }
        now = mono_ms();
    }
    return s->count;
}

void tw_store_get_stats(const struct tw_store *s, struct tw_store_stats *out)
{
    *out = s->st;
    out->pending = s->count;
    out->connected = s->c != NULL;
}

void tw_store_close(struct tw_store *s)
{
    if (s == NULL)
        return;
    if (s->c != NULL)
        redisFree(s->c);
    free(s->keys.slots);
    free(s->keys.arena.p);
    free(s->expired.slots);
    free(s->expired.arena.p);
    free(s->groups);
    free(s->entries);
    free(s->cmd.p);
    free(s->ring);
    free(s);
}
