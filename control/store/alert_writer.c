/* alert_writer.c - the Redis writer for alerts and per-equipment summaries (the key names
 * are in control/record/keys.h).
 *
 *   put_alert / put_summary ──copy──> ring of items (bounded) ──poll──> one pipelined batch,
 *   one EVALSHA per item (the two scripts below, SCRIPT LOADed on every new connection):
 *     alert:    SET alert-seen:<flow_id>:<kind> (a flowless alert:
 *               alert-seen:<kind>:<subject>:<period>, tw_key_alert_guard) 1 NX EX retention,
 *               and only when it was not set: XADD tw:{S}:alerts MINID ~ <now - retention> *
 *               field value ...; ZADD alerts:t:<hour> <ts_us> <id>; ZADD alerts:hours; when
 *               the alert names equipment, HINCRBY sum:E:{h,d}:<bucket> alerts:<kind> 1 and
 *               ZADD hours/days; EXPIRE of each key
 *     summary:  SADD summed:<hour> <flow_id>:<end>, and only when it was new: per bucket
 *               (hour, day) HINCRBY flows/bytes_out/bytes_in/packets_out/packets_in, ZINCRBY
 *               :peers, ZINCRBY :apps, ZADD hours/days, ZINCRBY sum:E:d:<day>:countries
 *               (the peer's country, bytes_out); EXPIRE of each key
 *     reached:  ZADD reached:<E> GT <day> <what>, ZREMRANGEBYSCORE (older than the window),
 *               ZREMRANGEBYRANK (beyond the max), EXPIRE: plain commands, idempotent
 *     statement: ZADD statements:seen NX <now> <run>:<n>, and only when it was new: trim the
 *               guard to a day, XADD tw:{S}:statements MINID ~ <now - retention> * statement
 *               <text> sig <hex> [sig_previous <hex>: a key_rotation]; EXPIRE (the text is
 *               rendered here from the item, the same bytes that were signed:
 *               control/evidence/statement.h); a key_rotation is also XADDed to
 *               tw:{S}:rotations, whose life every statement renews
 *
 * With signing.key an alert is chained when it is put (evidence_log.h), and its stream entry
 * gets the fields seq and run after the others (the hold file keeps them too).
 *
 * It runs on the writers' engine (redis_engine.h), as the flow-record writer does, so it
 * never waits on Redis: its own connection, made without waiting; the two SCRIPT LOADs go
 * pipelined first on every new connection (the engine's hello), and batches are made once
 * their replies gave the scripts' SHA1s; items leave the ring only when every reply of their
 * batch came back OK; a batch is sent again, byte for byte, after a reconnect. Refusals that
 * pass by themselves (OOM, MISCONF, LOADING, ...) only delay a batch; one refused
 * TW_ENGINE_TRIES times for another reason (WRONGTYPE...) is dropped and counted. Every write
 * is idempotent (the guard is checked and set in the same script as the writes, and a script
 * runs atomically), so a batch re-sent after a connection was lost between Redis applying it
 * and the replies coming back, or a capture replayed into the same sensor, changes nothing.
 * The guard is written first: a script Redis refuses (OOM) writes nothing. A NOSCRIPT reply
 * (script cache flushed) loads the scripts again and re-sends the batch, without counting a
 * try.
 */
#include "dataplane/clock.h"
#include "control/store/alert_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/record/fleet_keys.h"
#include "control/record/geoip.h"
#include "control/record/keys.h"
#include "control/store/evidence_log.h"
#include "control/store/run_dir.h"
#include "control/store/spill.h"
#include "control/store/summary_seal.h"
#include "control/store/redis_conn.h"
#include "control/store/redis_engine.h"

#define TW_BATCHES_PER_POLL 2 /* bounds the time one poll spends encoding */

/* ---- summary items ---- */

void tw_summary_item_from_record(struct tw_summary_item *it, const struct tw_flow_record *r,
                                 const char *equipment, int is_client)
{
    memset(it, 0, sizeof(*it));
    it->flow_id = r->flow_id;
    it->end = is_client ? 'c' : 's';
    it->first_seen_us = r->first_seen_us;
    it->bytes_out = is_client ? r->c2s_bytes : r->s2c_bytes;
    it->bytes_in = is_client ? r->s2c_bytes : r->c2s_bytes;
    it->packets_out = is_client ? r->c2s_packets : r->s2c_packets;
    it->packets_in = is_client ? r->s2c_packets : r->c2s_packets;
    snprintf(it->equipment, sizeof(it->equipment), "%s", equipment);
    tw_addr_text(is_client ? r->dst_ip : r->src_ip, r->ip_version == 4, it->peer, sizeof(it->peer));
    tw_ascii_copy(r->app, sizeof(r->app) - 1, it->app);
    if (it->app[0] == '\0')
        snprintf(it->app, sizeof(it->app), "Unknown");
    /* two capital letters or nothing: the field is a key member */
    const char *cc = is_client ? r->dst_country : r->src_country;
    if (tw_geoip_country_field_valid(cc))
        memcpy(it->country, cc, 3);
}

/* ---- the writer ---- */

enum { ITEM_ALERT = 1, ITEM_SUMMARY = 2, ITEM_REACHED = 3, ITEM_STATEMENT = 4, ITEM_SUMSEAL = 5 };

/* A sealed summary snapshot (chain item 'u', control/evidence/sum_snapshot.h), as chained: its
 * text carries its seq and run. Rendered in parts that fit here (a verifier sums them). */
#define SUMSEAL_TEXT 512
struct sumseal_item {
    char equipment[TW_SUM_EQUIPMENT_MAX + 1];
    char by;
    uint16_t len;
    uint8_t pad[4];
    uint64_t bucket, seq, run;
    char text[SUMSEAL_TEXT];
};
_Static_assert(sizeof(struct sumseal_item) <= sizeof(struct tw_alert), "summary seal size");
/* a part holds the header, one entry at least and the tag */
_Static_assert(SUMSEAL_TEXT > 32 + TW_SUM_EQUIPMENT_MAX + TW_SUM_LINE_MAX + TW_SUM_TAG_MAX,
               "summary seal text");

/* a statement takes no more room than an alert: the ring's items (and hold files written by
 * earlier versions) keep their size */
_Static_assert(sizeof(struct tw_statement) <= sizeof(struct tw_alert), "statement size");

struct item {
    uint8_t type;
    uint8_t pad[7];
    union {
        struct tw_alert alert;
        struct tw_summary_item sum;
        struct tw_reached_item reached;
        struct tw_statement statement;
        struct sumseal_item sumseal;
    } u;
    /* signing: an alert's evidence number and run (0: not chained); kept in the hold file */
    uint64_t ev_seq, ev_run;
};

struct tw_alert_store {
    char sensor[64];
    uint32_t retention_s, batch, cap, flush_ms;
    uint32_t head, count, sent; /* items head .. head+count-1, the first `sent` in flight */
    struct tw_engine *e;
    uint64_t last_flush_ms;
    unsigned hello_got;        /* replies of the SCRIPT LOADs read on this connection */
    char ex[16];
    char guard_ex[16];
    char sha_alert[41], sha_summary[41], sha_statement[41]; /* the scripts, loaded on the
                                                              * current connection */
    char run_dir[PATH_MAX];
    char hold_path[PATH_MAX];  /* items left at the end of a run wait here ("" = nowhere) */
    uint64_t from_hold;        /* items at the head that came from that file */
    struct tw_alert_store_stats st;
    struct tw_evlog *ev;       /* signing.key: alerts are chained at put (not ours) */
    struct tw_sumseal *sum;    /* signing.key: what this run added to each summary bucket */
    uint64_t sum_last_ms;      /* when something was last summed (monotonic) */
    struct item ring[];        /* cap items, allocated with the writer */
};

static void seterr(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static const struct tw_engine_ops engine_ops;

/* Opens the hold file an earlier run left at path, if there is one (*sp NULL when there is
 * none). Returns 0, or -1 with a one-line reason. */
static int open_held(const char *path, uint32_t capacity, struct tw_spill **sp, char *err,
                     size_t errlen)
{
    uint64_t recovered;
    struct stat st;

    *sp = NULL;
    /* lstat: a link at the name is found, and refused by the open (run_dir.h) */
    if (path[0] == '\0' || lstat(path, &st) != 0)
        return 0;
    *sp = tw_spill_open(path, sizeof(struct item), capacity, &recovered, err, errlen);
    return *sp != NULL ? 0 : -1;
}

/* Queues the items of the hold file sp first (the ring was made large enough for them all);
 * the file stays until they are all written. Returns 0, or -1 with a one-line reason. */
static int load_held(struct tw_alert_store *s, struct tw_spill *sp, char *err, size_t errlen)
{
    uint64_t nums[16], corrupt = 0;
    int n = 0;

    while (tw_spill_unread(sp) > 0 && s->count < s->cap && n >= 0) {
        uint32_t room = s->cap - s->count < 16 ? s->cap - s->count : 16;
        if ((n = tw_spill_read(sp, &s->ring[s->count], nums, (int)room, &corrupt)) > 0)
            s->count += (uint32_t)n;
    }
    if (n < 0) {
        snprintf(err, errlen, "redis spill %s: cannot read it", s->hold_path);
        return -1;
    }
    s->st.errors += corrupt; /* damaged slots: those items are lost */
    s->from_hold = s->count;
    s->st.recovered = s->count;
    return 0;
}

struct tw_alert_store *tw_alert_store_open(const struct tw_alert_store_params *p, char *err,
                                           size_t errlen)
{
    struct tw_alert_store *s;
    struct tw_spill *held;
    char hold_path[PATH_MAX] = "";
    uint32_t cap;

    if (p == NULL || p->w.sensor == NULL || p->w.sensor[0] == '\0' || strlen(p->w.sensor) >= 64 ||
        p->w.batch == 0 || p->buffer_items == 0 || p->w.retention_s == 0) {
        seterr(err, errlen, "redis: alert store needs a sensor, a batch, a buffer and a retention");
        return NULL;
    }
    if (p->w.run_dir != NULL && p->w.run_dir[0] != '\0') {
        char file_part[TW_NS_LEN]; /* a bank's "A/s1" is "A+s1" in a file name */
        tw_namespace_file_part(p->w.sensor, file_part, sizeof(file_part));
        int n = snprintf(hold_path, sizeof(hold_path), "%s/%s-%s.dat", p->w.run_dir,
                         p->hold_name ? p->hold_name : "redis-alerts", file_part);
        if (n < 0 || (size_t)n >= sizeof(hold_path)) {
            seterr(err, errlen, "redis: run_dir too long for the alert hold file");
            return NULL;
        }
    }
    if (open_held(hold_path, p->buffer_items, &held, err, errlen) != 0)
        return NULL;
    /* the ring takes every held item: doubled while short (an earlier run may have had a
     * larger redis.alert_buffer) */
    for (cap = p->buffer_items; held != NULL && tw_spill_unread(held) > cap && cap < 1u << 31;)
        cap *= 2;
    if ((s = calloc(1, sizeof(*s) + (size_t)cap * sizeof(s->ring[0]))) == NULL) {
        seterr(err, errlen, "redis: out of memory for the alert buffer");
        tw_spill_close(held);
        return NULL;
    }
    s->cap = cap;
    snprintf(s->hold_path, sizeof(s->hold_path), "%s", hold_path);
    if (held != NULL) {
        int rc = load_held(s, held, err, errlen);
        tw_spill_close(held);
        if (rc != 0) {
            free(s);
            return NULL;
        }
    }
    if ((s->e = tw_engine_open(p->w.url, p->w.target, &engine_ops, s, err, errlen)) == NULL) {
        free(s);
        return NULL;
    }
    snprintf(s->sensor, sizeof(s->sensor), "%s", p->w.sensor);
    s->ev = p->evidence;
    if (s->ev != NULL && (s->sum = tw_sumseal_open(TW_SUMSEAL_ENTRIES)) == NULL) {
        seterr(err, errlen, "redis: out of memory for the summary seals");
        tw_engine_close(s->e);
        free(s);
        return NULL;
    }
    s->retention_s = p->w.retention_s;
    s->batch = p->w.batch < p->buffer_items ? p->w.batch : p->buffer_items;
    s->flush_ms = p->w.flush_ms;
    snprintf(s->ex, sizeof(s->ex), "%" PRIu32, p->w.retention_s);
    snprintf(s->guard_ex, sizeof(s->guard_ex), "%" PRIu32,
             p->guard_ttl_s ? p->guard_ttl_s : p->w.retention_s);
    if (hold_path[0] != '\0')
        snprintf(s->run_dir, sizeof(s->run_dir), "%s", p->w.run_dir);
    tw_engine_poll(s->e, tw_mono_ms()); /* starts connecting */
    return s;
}

static void sum_time(struct tw_alert_store *s, uint64_t t_us);
static void sum_add(struct tw_alert_store *s, const char *equipment, char by, uint64_t bucket,
                    char sect, const char *name, int64_t v);

static int put(struct tw_alert_store *s, const struct item *it)
{
    if (s->count == s->cap) {
        s->st.dropped_full++;
        return -1;
    }
    s->ring[(s->head + s->count) % s->cap] = *it;
    s->count++;
    return 0;
}

/* The stream entry of an alert: its field/value pairs (the same values as its JSON,
 * alert.h), then seq and run when it was chained. The texts live in t. */
#define ALERT_PAIRS 24
struct alert_text {
    char ts[32], sip[48], dip[48], mac[24], sport[8], dport[8], proto[8], fid[20];
    char fkey[TW_KEY_LEN], seq[24], run[17];
};
static size_t alert_fields(const struct tw_alert_store *s, const struct item *it,
                           struct alert_text *t, const char **fv)
{
    const struct tw_alert *a = &it->u.alert;
    int v4 = a->ip_version == 4;
    /* a flowless alert's flow fields are empty */
    int flowless = tw_alert_kind_flowless(a->kind);
    size_t n = 0;

    memset(t, 0, sizeof(*t));
    snprintf(t->ts, sizeof(t->ts), "%" PRIu64 ".%06" PRIu64, a->ts_us / 1000000, a->ts_us % 1000000);
    if (!flowless || (a->kind == TW_ALERT_UNKNOWN_DEVICE && a->ip_version != 0))
        tw_addr_text(a->src_ip, v4, t->sip, sizeof(t->sip));
    if (a->has_mac)
        tw_mac_text(a->src_mac, t->mac, sizeof(t->mac));
    snprintf(t->sport, sizeof(t->sport), "%u", flowless ? 0 : a->src_port);
    snprintf(t->dport, sizeof(t->dport), "%u", flowless ? 0 : a->dst_port);
    snprintf(t->proto, sizeof(t->proto), "%u", flowless ? 0 : a->ip_proto);
    if (!flowless) {
        tw_addr_text(a->dst_ip, v4, t->dip, sizeof(t->dip));
        snprintf(t->fid, sizeof(t->fid), "%016" PRIx64, a->flow_id);
    }
    if (flowless || a->record_hour == TW_HOUR_UNKNOWN ||
        tw_key_record(t->fkey, sizeof(t->fkey), s->sensor, a->record_hour, a->flow_id) < 0)
        t->fkey[0] = '\0';
    const char *pairs[] = {"kind", tw_alert_kind_name(a->kind),
                           "rule", tw_alert_rule_id(a->kind),
                           "severity", tw_severity_name(a->severity),
                           "equipment", a->equipment, "vendor", a->vendor, "ts", t->ts,
                           "src_ip", t->sip, "src_mac", t->mac, "src_port", t->sport,
                           "dst_ip", t->dip, "dst_port", t->dport, "ip_proto", t->proto,
                           "app", flowless ? "" : a->app,
                           "server_name", flowless ? "" : a->server_name,
                           "detail", a->detail, "flow_id", t->fid, "flow_key", t->fkey,
                           "sensor", s->sensor, "policy_sha256", a->policy_sha256,
                           "geoip_sha256", a->geoip_sha256};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        fv[n++] = pairs[i];
    if (it->ev_seq != 0) {
        snprintf(t->seq, sizeof(t->seq), "%" PRIu64, it->ev_seq);
        snprintf(t->run, sizeof(t->run), "%016" PRIx64, it->ev_run);
        fv[n++] = "seq";
        fv[n++] = t->seq;
        fv[n++] = "run";
        fv[n++] = t->run;
    }
    return n / 2;
}

int tw_alert_store_put_alert(struct tw_alert_store *s, const struct tw_alert *a)
{
    struct item it = {.type = ITEM_ALERT};

    it.u.alert = *a;
    if (s->ev != NULL && s->count < s->cap) {
        /* signing: chained now, in the order the sensor emits it (chain.h: kind 'a') */
        struct alert_text t;
        const char *fv[2 * ALERT_PAIRS];
        size_t lens[2 * ALERT_PAIRS];
        static uint8_t bytes[2 * ALERT_PAIRS * 4 + TW_ALERT_JSON_MAX + 2 * TW_KEY_LEN];
        it.ev_seq = tw_evlog_next_seq(s->ev);
        it.ev_run = tw_evlog_run_id(s->ev);
        size_t n = alert_fields(s, &it, &t, fv);
        for (size_t i = 0; i < 2 * n; i++)
            lens[i] = strlen(fv[i]);
        long len = tw_chain_fields(fv, lens, n, bytes, sizeof(bytes));
        if (len < 0) {
            it.ev_seq = 0; /* cannot happen: bytes holds the longest entry */
            s->st.errors++;
        } else {
            tw_evidence_append(s->ev, TW_ITEM_ALERT, bytes, (size_t)len);
        }
    }
    if (put(s, &it) != 0)
        return -1;
    if (s->sum != NULL && a->equipment[0] != '\0') { /* the alert script's HINCRBY alerts:<kind> */
        char field[64];
        uint64_t b[2] = {a->ts_us / TW_US_PER_HOUR, a->ts_us / 86400000000ULL};
        snprintf(field, sizeof(field), "alerts:%s", tw_alert_kind_name(a->kind));
        sum_time(s, a->ts_us);
        for (int i = 0; i < 2; i++)
            sum_add(s, a->equipment, i ? 'd' : 'h', b[i], 'f', field, 1);
    }
    return 0;
}

int tw_alert_store_put_summary(struct tw_alert_store *s, const struct tw_summary_item *si)
{
    struct item it = {.type = ITEM_SUMMARY};
    uint64_t b[2] = {si->first_seen_us / TW_US_PER_HOUR, si->first_seen_us / 86400000000ULL};
    int64_t both = (int64_t)(si->bytes_out + si->bytes_in);

    it.u.sum = *si;
    if (put(s, &it) != 0)
        return -1;
    if (s->sum == NULL)
        return 0;
    /* what the summary script adds (below), entry for entry */
    sum_time(s, si->first_seen_us);
    for (int i = 0; i < 2; i++) {
        char by = i ? 'd' : 'h';
        sum_add(s, si->equipment, by, b[i], 'f', "flows", 1);
        sum_add(s, si->equipment, by, b[i], 'f', "bytes_out", (int64_t)si->bytes_out);
        sum_add(s, si->equipment, by, b[i], 'f', "bytes_in", (int64_t)si->bytes_in);
        sum_add(s, si->equipment, by, b[i], 'f', "packets_out", (int64_t)si->packets_out);
        sum_add(s, si->equipment, by, b[i], 'f', "packets_in", (int64_t)si->packets_in);
        sum_add(s, si->equipment, by, b[i], 'p', si->peer, both);
        sum_add(s, si->equipment, by, b[i], 'a', si->app, both);
    }
    if (si->country[0] != '\0')
        sum_add(s, si->equipment, 'd', b[1], 'c', si->country, (int64_t)si->bytes_out);
    return 0;
}

/* ---- summary seals (summary_seal.h): the snapshots of what this run added ---- */

/* One bucket's snapshot, in as many parts as it takes: each chained (kind 'u') and queued. */
static void seal_bucket(void *arg, const struct tw_sum_bucket *b)
{
    struct tw_alert_store *s = arg;
    size_t from = 0;

    while (from < b->n) {
        struct item it = {.type = ITEM_SUMSEAL};
        struct sumseal_item *si = &it.u.sumseal;
        if (s->count == s->cap) { /* no room: the part is lost (counted), not chained */
            s->st.summary_seals_lost++;
            return;
        }
        memcpy(si->equipment, b->equipment, sizeof(si->equipment));
        si->by = b->by;
        si->bucket = b->bucket;
        si->seq = tw_evlog_next_seq(s->ev);
        si->run = tw_evlog_run_id(s->ev);
        long len = tw_sum_render(b, &from, si->seq, tw_evlog_run(s->ev), si->text, sizeof(si->text));
        if (len < 0) { /* cannot happen: a part holds one entry (the static assert) */
            s->st.errors++;
            return;
        }
        si->len = (uint16_t)len;
        tw_evidence_append(s->ev, TW_ITEM_SUMMARY, si->text, (size_t)len);
        put(s, &it);
        s->st.summary_seals++;
    }
}

void tw_alert_store_seal_summaries(struct tw_alert_store *s)
{
    if (s->sum != NULL && tw_sumseal_pending(s->sum) > 0)
        tw_sumseal_take(s->sum, seal_bucket, s);
}

static void sum_time(struct tw_alert_store *s, uint64_t t_us)
{
    s->sum_last_ms = tw_mono_ms();
    if (tw_sumseal_time(s->sum, t_us)) /* an hour of the sensor's time is over */
        tw_alert_store_seal_summaries(s);
}

static void sum_add(struct tw_alert_store *s, const char *equipment, char by, uint64_t bucket,
                    char sect, const char *name, int64_t v)
{
    if (tw_sumseal_add(s->sum, equipment, by, bucket, sect, name, v) == 0)
        return;
    tw_alert_store_seal_summaries(s); /* memory full: sealed early, then added */
    if (tw_sumseal_add(s->sum, equipment, by, bucket, sect, name, v) != 0)
        s->st.summary_seals_lost++;
}

int tw_alert_store_put_reached(struct tw_alert_store *s, const struct tw_reached_item *ri)
{
    struct item it = {.type = ITEM_REACHED};

    it.u.reached = *ri;
    return put(s, &it);
}

int tw_alert_store_put_statement(struct tw_alert_store *s, const struct tw_statement *st)
{
    struct item it = {.type = ITEM_STATEMENT};

    it.u.statement = *st;
    return put(s, &it);
}

/* The alert script. KEYS: 1 alert-seen guard, 2 stream, 3 alerts:t:<hour>, 4 alerts:hours,
 * 5 sum:E:h:<hour>, 6 sum:E:d:<day>, 7 sum:E:hours, 8 sum:E:days. ARGV: 1 retention (s),
 * 2 MINID, 3 ts_us, 4 hour, 5 day, 6 the counter field alerts:<kind>, 7 "1" to count it in
 * the equipment's summaries ("0": the alert names no equipment, keys 5 to 8 are not
 * touched), 8.. the stream fields and values. Returns 1 when written, 0 when it was
 * already. */
static const char alert_lua[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end\n"
    "local id = redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[2], '*', unpack(ARGV, 8))\n"
    "redis.call('ZADD', KEYS[3], ARGV[3], id)\n"
    "redis.call('ZADD', KEYS[4], ARGV[4], ARGV[4])\n"
    "local last = 4\n"
    "if ARGV[7] == '1' then\n"
    "  redis.call('HINCRBY', KEYS[5], ARGV[6], 1)\n"
    "  redis.call('HINCRBY', KEYS[6], ARGV[6], 1)\n"
    "  redis.call('ZADD', KEYS[7], ARGV[4], ARGV[4])\n"
    "  redis.call('ZADD', KEYS[8], ARGV[5], ARGV[5])\n"
    "  last = 8\n"
    "end\n"
    "for i = 2, last do redis.call('EXPIRE', KEYS[i], ARGV[1]) end\n"
    "return 1\n";

/* The summary script. KEYS: 1 summed:<hour> guard, then per bucket (hour at 2, day at 6): the
 * hash, its :peers, its :apps, the equipment's hours/days set. ARGV: 1 retention (s), 2 guard
 * member, 3 hour, 4 day, 5 bytes_out, 6 bytes_in, 7 packets_out, 8 packets_in, 9 bytes both
 * ways, 10 peer, 11 app, 12 guard lifetime (s), 13 the peer's country ("" unknown) whose day
 * zset (KEY 10, sum:E:d:<day>:countries) gains bytes_out. Returns 1 when applied, 0 when it was
 * already. The guard lives as long as flow records (hot window), not as long as the
 * summaries: a replay older than that would count again, but guard memory stays bounded. */
static const char summary_lua[] =
    "if redis.call('SADD', KEYS[1], ARGV[2]) == 0 then return 0 end\n"
    "for i = 0, 1 do\n"
    "  local k = 2 + i * 4\n"
    "  redis.call('HINCRBY', KEYS[k], 'flows', 1)\n"
    "  redis.call('HINCRBY', KEYS[k], 'bytes_out', ARGV[5])\n"
    "  redis.call('HINCRBY', KEYS[k], 'bytes_in', ARGV[6])\n"
    "  redis.call('HINCRBY', KEYS[k], 'packets_out', ARGV[7])\n"
    "  redis.call('HINCRBY', KEYS[k], 'packets_in', ARGV[8])\n"
    "  redis.call('ZINCRBY', KEYS[k + 1], ARGV[9], ARGV[10])\n"
    "  redis.call('ZINCRBY', KEYS[k + 2], ARGV[9], ARGV[11])\n"
    "  redis.call('ZADD', KEYS[k + 3], ARGV[3 + i], ARGV[3 + i])\n"
    "end\n"
    "if ARGV[13] ~= '' then\n"
    "  redis.call('ZINCRBY', KEYS[10], ARGV[5], ARGV[13])\n"
    "  redis.call('EXPIRE', KEYS[10], ARGV[1])\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[12])\n"
    "for i = 2, 9 do redis.call('EXPIRE', KEYS[i], ARGV[1]) end\n"
    "return 1\n";

/* The statement script. KEYS: 1 the guard zset statements:seen, 2 the stream. ARGV:
 * 1 retention (s), 2 MINID, 3 the canonical text, 4 the signature (hex, "" unsigned), 5 the
 * guard member <run>:<n>, 6 now (epoch s), 7 the oldest guard kept (epoch s), 8 the old
 * key's signature of a key_rotation ("" otherwise); KEYS 3 tw:{S}:rotations. Returns 1 when
 * written, 0 when it was already. The guard only has to outlive a batch sent again after a
 * reconnect, so it keeps a day: one key of bounded size, however many runs. A key_rotation
 * also goes to the rotations stream, never trimmed and renewed with every statement: the
 * seals its new key signs outlive the statements stream's retention as long as the sensor
 * writes, and a verifier needs the rotation to accept them. */
static const char statement_lua[] =
    "if redis.call('ZADD', KEYS[1], 'NX', ARGV[6], ARGV[5]) == 0 then return 0 end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[7])\n"
    "if ARGV[8] == '' then\n"
    "  redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[2], '*', 'statement', ARGV[3], 'sig', ARGV[4])\n"
    "else\n"
    "  redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[2], '*', 'statement', ARGV[3], 'sig', ARGV[4],\n"
    "             'sig_previous', ARGV[8])\n"
    "  redis.call('XADD', KEYS[3], '*', 'statement', ARGV[3], 'sig', ARGV[4], 'sig_previous', ARGV[8])\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[3], ARGV[1])\n"
    "return 1\n";

/* The engine's hello: SCRIPT LOAD of the three scripts, pipelined; their replies are the SHA1s
 * the batches name (the same on every server, as they are the scripts' digests). */
static int hello(void *ctx, struct tw_buf *out)
{
    struct tw_alert_store *s = ctx;
    const char *load[3][3] = {{"SCRIPT", "LOAD", alert_lua}, {"SCRIPT", "LOAD", summary_lua},
                              {"SCRIPT", "LOAD", statement_lua}};

    s->hello_got = 0;
    tw_buf_command(out, 3, load[0]);
    tw_buf_command(out, 3, load[1]);
    tw_buf_command(out, 3, load[2]);
    return 3;
}

/* Appends one EVALSHA of sha with nkeys keys then args to out; returns 1 (a reply to read),
 * or 0 when there are too many arguments. */
static unsigned evalsha(struct tw_buf *out, const char *sha, int nkeys, const char **keys,
                        int nargs, const char **args)
{
    const char *argv[72];
    char nk[8];
    int argc = 0;

    if (3 + nkeys + nargs > (int)(sizeof(argv) / sizeof(argv[0])))
        return 0;
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = sha;
    argv[argc++] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    tw_buf_command(out, argc, argv);
    return 1;
}

static unsigned encode_alert(struct tw_alert_store *s, struct tw_buf *out,
                             const struct item *it)
{
    const struct tw_alert *a = &it->u.alert;
    char k[8][TW_KEY_LEN], minid[32], tsus[24], hour[24], day[24], field[64];
    uint64_t now = tw_wall_ms(), keep_ms = (uint64_t)s->retention_s * 1000;
    uint64_t h = a->ts_us / TW_US_PER_HOUR, d = a->ts_us / 86400000000ULL;

    if (tw_key_alert_guard(k[0], sizeof(k[0]), s->sensor, a) < 0 ||
        tw_key_alerts(k[1], sizeof(k[1]), s->sensor) < 0 ||
        tw_key_alerts_time(k[2], sizeof(k[2]), s->sensor, h) < 0 ||
        tw_key_alerts_hours(k[3], sizeof(k[3]), s->sensor) < 0 ||
        tw_key_summary(k[4], sizeof(k[4]), s->sensor, a->equipment, 'h', h, NULL) < 0 ||
        tw_key_summary(k[5], sizeof(k[5]), s->sensor, a->equipment, 'd', d, NULL) < 0 ||
        tw_key_summary_buckets(k[6], sizeof(k[6]), s->sensor, a->equipment, 'h') < 0 ||
        tw_key_summary_buckets(k[7], sizeof(k[7]), s->sensor, a->equipment, 'd') < 0)
        return 0;
    snprintf(minid, sizeof(minid), "%" PRIu64, now > keep_ms ? now - keep_ms : 0);
    snprintf(tsus, sizeof(tsus), "%" PRIu64, a->ts_us);
    snprintf(hour, sizeof(hour), "%" PRIu64, h);
    snprintf(day, sizeof(day), "%" PRIu64, d);
    snprintf(field, sizeof(field), "alerts:%s", tw_alert_kind_name(a->kind));
    const char *keys[8] = {k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]};
    const char *args[7 + 2 * ALERT_PAIRS] = {s->ex, minid, tsus, hour, day, field,
                                             a->equipment[0] ? "1" : "0"};
    struct alert_text t;
    size_t n = alert_fields(s, it, &t, args + 7);
    return evalsha(out, s->sha_alert, 8, keys, (int)(7 + 2 * n), args);
}

static unsigned encode_summary(struct tw_alert_store *s, struct tw_buf *out,
                               const struct tw_summary_item *it)
{
    char k[10][TW_KEY_LEN], member[24], hour[24], day[24], num[5][24];
    uint64_t b[2] = {it->first_seen_us / TW_US_PER_HOUR, it->first_seen_us / 86400000000ULL};

    if (tw_key_summed(k[0], sizeof(k[0]), s->sensor, b[0]) < 0)
        return 0;
    for (int i = 0; i < 2; i++) {
        char by = i ? 'd' : 'h';
        char (*kk)[TW_KEY_LEN] = &k[1 + i * 4];
        if (tw_key_summary(kk[0], TW_KEY_LEN, s->sensor, it->equipment, by, b[i], NULL) < 0 ||
            tw_key_summary(kk[1], TW_KEY_LEN, s->sensor, it->equipment, by, b[i], "peers") < 0 ||
            tw_key_summary(kk[2], TW_KEY_LEN, s->sensor, it->equipment, by, b[i], "apps") < 0 ||
            tw_key_summary_buckets(kk[3], TW_KEY_LEN, s->sensor, it->equipment, by) < 0)
            return 0;
    }
    if (tw_key_summary(k[9], TW_KEY_LEN, s->sensor, it->equipment, 'd', b[1], "countries") < 0)
        return 0;
    snprintf(member, sizeof(member), "%016" PRIx64 ":%c", it->flow_id, it->end);
    snprintf(hour, sizeof(hour), "%" PRIu64, b[0]);
    snprintf(day, sizeof(day), "%" PRIu64, b[1]);
    snprintf(num[0], sizeof(num[0]), "%" PRIu64, it->bytes_out);
    snprintf(num[1], sizeof(num[1]), "%" PRIu64, it->bytes_in);
    snprintf(num[2], sizeof(num[2]), "%" PRIu64, it->packets_out);
    snprintf(num[3], sizeof(num[3]), "%" PRIu64, it->packets_in);
    snprintf(num[4], sizeof(num[4]), "%" PRIu64, it->bytes_out + it->bytes_in);
    const char *keys[10] = {k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9]};
    const char *args[] = {s->ex,  member, hour,   day,      num[0],  num[1],      num[2],
                          num[3], num[4], it->peer, it->app, s->guard_ex, it->country};
    return evalsha(out, s->sha_summary, 10, keys, (int)(sizeof(args) / sizeof(args[0])), args);
}

/* cross_border's memory: the day of the country or ASN (ZADD GT: a day only moves forward,
 * so a batch sent again changes nothing), what fell out of the window and what exceeds max
 * (the oldest days), and the key's lifetime: the window and a day. Four replies. */
static unsigned encode_reached(struct tw_alert_store *s, struct tw_buf *out,
                               const struct tw_reached_item *it)
{
    char key[TW_KEY_LEN], day[24], old[24], rank[24], ex[24];
    const char *zadd[] = {"ZADD", key, "GT", day, it->what};
    const char *trim[] = {"ZREMRANGEBYSCORE", key, "-inf", old};
    const char *cap[] = {"ZREMRANGEBYRANK", key, "0", rank};
    const char *expire[] = {"EXPIRE", key, ex};

    if (tw_key_reached(key, sizeof(key), s->sensor, it->equipment) < 0 || it->max == 0)
        return 0;
    snprintf(day, sizeof(day), "%" PRId64, it->day);
    snprintf(old, sizeof(old), "%" PRId64, it->day - (int64_t)it->days);
    snprintf(rank, sizeof(rank), "-%" PRIu32, it->max + 1);
    snprintf(ex, sizeof(ex), "%" PRIu64, ((uint64_t)it->days + 1) * 86400);
    tw_buf_command(out, 5, zadd);
    tw_buf_command(out, 4, trim);
    tw_buf_command(out, 4, cap);
    tw_buf_command(out, 3, expire);
    return 4;
}

static unsigned encode_statement(struct tw_alert_store *s, struct tw_buf *out,
                                 const struct tw_statement *st)
{
    char k[3][TW_KEY_LEN], minid[32], text[TW_STATEMENT_JSON_MAX], sig[2 * TW_SIGN_SIG_LEN + 1] = "",
        member[48], nows[24], oldest[24], sig_prev[2 * TW_SIGN_SIG_LEN + 1] = "";
    uint64_t now = tw_wall_ms(), keep_ms = (uint64_t)s->retention_s * 1000;

    if (tw_key_statements_seen(k[0], sizeof(k[0]), s->sensor) < 0 ||
        tw_key_statements(k[1], sizeof(k[1]), s->sensor) < 0 ||
        tw_key_rotations(k[2], sizeof(k[2]), s->sensor) < 0 ||
        tw_statement_to_json(st, s->sensor, text, sizeof(text)) < 0)
        return 0;
    if (st->is_signed)
        tw_hex(st->sig, sizeof(st->sig), sig);
    if (st->is_signed && st->kind == TW_ST_KEY_ROTATION)
        tw_hex(st->rot.sig_previous, sizeof(st->rot.sig_previous), sig_prev);
    snprintf(minid, sizeof(minid), "%" PRIu64, now > keep_ms ? now - keep_ms : 0);
    snprintf(member, sizeof(member), "%016" PRIx64 ":%" PRIu64, st->run_us, st->n);
    snprintf(nows, sizeof(nows), "%" PRIu64, now / 1000);
    snprintf(oldest, sizeof(oldest), "%" PRIu64, now / 1000 > 86400 ? now / 1000 - 86400 : 0);
    const char *keys[3] = {k[0], k[1], k[2]};
    const char *args[] = {s->ex, minid, text, sig, member, nows, oldest, sig_prev};
    return evalsha(out, s->sha_statement, 3, keys, 8, args);
}

/* A summary snapshot (chain item 'u'): HSET sum:E:<by>:<n>:seals <run>:<seq> <text>, the bucket
 * in the zset sum-sealed (score: now; members older than the retention trimmed), and EXPIRE
 * retention of both and of the bucket's own keys, so that the bucket and its snapshots expire
 * together (the snapshot is written after the updates it sums: same ring, in order). Plain
 * commands: sent again, they change nothing. */
static unsigned encode_sumseal(struct tw_alert_store *s, struct tw_buf *out,
                               const struct sumseal_item *si)
{
    char k[6][TW_KEY_LEN], field[48], member[TW_KEY_LEN], nows[24], oldest[24];
    uint64_t now = tw_wall_ms() / 1000;
    unsigned n = 0;

    if (tw_key_summary(k[0], TW_KEY_LEN, s->sensor, si->equipment, si->by, si->bucket, "seals") < 0 ||
        tw_key_sum_sealed(k[1], TW_KEY_LEN, s->sensor) < 0 ||
        tw_key_summary(k[2], TW_KEY_LEN, s->sensor, si->equipment, si->by, si->bucket, NULL) < 0 ||
        tw_key_summary(k[3], TW_KEY_LEN, s->sensor, si->equipment, si->by, si->bucket, "peers") < 0 ||
        tw_key_summary(k[4], TW_KEY_LEN, s->sensor, si->equipment, si->by, si->bucket, "apps") < 0 ||
        tw_key_summary(k[5], TW_KEY_LEN, s->sensor, si->equipment, si->by, si->bucket,
                       "countries") < 0)
        return 0;
    snprintf(field, sizeof(field), "%016" PRIx64 ":%" PRIu64, si->run, si->seq);
    snprintf(member, sizeof(member), "%s:%c:%" PRIu64, si->equipment, si->by, si->bucket);
    snprintf(nows, sizeof(nows), "%" PRIu64, now);
    snprintf(oldest, sizeof(oldest), "(%" PRIu64, now > s->retention_s ? now - s->retention_s : 0);
    const char *hset[] = {"HSET", k[0], field, si->text};
    const char *zadd[] = {"ZADD", k[1], nows, member};
    const char *trim[] = {"ZREMRANGEBYSCORE", k[1], "-inf", oldest};
    tw_buf_command(out, 4, hset); /* the text is NUL-ended, escaped */
    tw_buf_command(out, 4, zadd);
    tw_buf_command(out, 4, trim);
    n = 3;
    for (int i = 0; i < (si->by == 'd' ? 6 : 5); i++) {
        const char *expire[] = {"EXPIRE", k[i], s->ex};
        tw_buf_command(out, 3, expire);
        n++;
    }
    return n;
}

/* The first n items leave the queue (written, or dropped after refusals). */
static void advance(struct tw_alert_store *s, uint32_t n)
{
    s->head = (s->head + n) % s->cap;
    s->count -= n;
    s->sent -= n;
    if (s->from_hold) { /* the file is not needed once all of its items are gone */
        s->from_hold -= n < s->from_hold ? n : s->from_hold;
        if (s->from_hold == 0)
            (void)tw_spill_remove(s->hold_path);
    }
}

static enum tw_verdict on_reply(void *ctx, const struct tw_engine_batch *b, const redisReply *r)
{
    struct tw_alert_store *s = ctx;

    if (b == NULL) { /* a SCRIPT LOAD: its SHA1, or the connection is no good */
        unsigned i = s->hello_got++;
        char *sha = i == 0 ? s->sha_alert : i == 1 ? s->sha_summary : s->sha_statement;
        if (r->type != REDIS_REPLY_STRING || r->len != 40)
            return TW_REPLY_REFUSED;
        memcpy(sha, r->str, 40);
        sha[40] = '\0';
        return TW_REPLY_OK;
    }
    if (r->type != REDIS_REPLY_ERROR)
        return TW_REPLY_OK;
    if (strncmp(r->str, "NOSCRIPT", 8) == 0) /* the script cache was flushed */
        return TW_REPLY_RELOAD;
    /* writes are idempotent: what went through is skipped by its guard next time */
    return tw_redis_transient_error(r->str) ? TW_REPLY_RETRY : TW_REPLY_REFUSED;
}

static void on_done(void *ctx, const struct tw_engine_batch *b, int ok)
{
    struct tw_alert_store *s = ctx;

    if (!ok) {
        s->st.errors += b->items;
        advance(s, b->items);
        return;
    }
    for (uint32_t i = 0; i < b->items; i++) {
        const struct item *it = &s->ring[(s->head + i) % s->cap];
        if (it->type == ITEM_ALERT)
            s->st.alerts_written++;
        else if (it->type == ITEM_SUMMARY)
            s->st.summaries_written++;
        else if (it->type == ITEM_STATEMENT)
            s->st.statements_written++;
    }
    advance(s, b->items);
}

static const struct tw_engine_ops engine_ops = {hello, on_reply, on_done};

/* Encodes the next n items of the ring as one batch of the engine. Returns 0 or -1. */
static int send_batch(struct tw_alert_store *s, uint32_t n, uint64_t now_ms)
{
    struct tw_buf *out = tw_engine_begin(s->e);
    struct tw_engine_batch tag = {.items = n};
    unsigned ncmds = 0;

    for (uint32_t i = 0; i < n; i++) {
        const struct item *it = &s->ring[(s->head + s->sent + i) % s->cap];
        ncmds += it->type == ITEM_ALERT       ? encode_alert(s, out, it)
                 : it->type == ITEM_REACHED   ? encode_reached(s, out, &it->u.reached)
                 : it->type == ITEM_STATEMENT ? encode_statement(s, out, &it->u.statement)
                 : it->type == ITEM_SUMSEAL   ? encode_sumseal(s, out, &it->u.sumseal)
                                              : encode_summary(s, out, &it->u.sum);
    }
    if (ncmds == 0) { /* nothing could be encoded (keys too long): they are done */
        tw_engine_abort(s->e);
        s->sent += n;
        on_done(s, &tag, 1);
        return 0;
    }
    if (tw_engine_commit(s->e, &tag, ncmds, now_ms) < 0) {
        s->st.errors++;
        return -1;
    }
    s->sent += n;
    return 0;
}

static int flush_due(struct tw_alert_store *s, uint64_t now_ms, int force)
{
    if (s->count == 0) {
        s->last_flush_ms = now_ms;
        return 0;
    }
    if (tw_engine_poll(s->e, now_ms) < 0)
        return -1;
    for (int i = 0; i < TW_BATCHES_PER_POLL && s->count - s->sent >= s->batch &&
                    tw_engine_ready(s->e, now_ms);
         i++)
        if (send_batch(s, s->batch, now_ms) < 0)
            break;
    if (s->count > s->sent && s->count - s->sent < s->batch && tw_engine_ready(s->e, now_ms) &&
        (force || now_ms - s->last_flush_ms >= s->flush_ms || now_ms < s->last_flush_ms))
        send_batch(s, s->count - s->sent, now_ms);
    /* the timer runs from the moment something waits unsent (as in flow_writer.c): restarted
     * at every poll while a partial batch waited, it never ran out under a busy control loop,
     * and a partial batch waited for the drain */
    if (s->count == s->sent)
        s->last_flush_ms = now_ms;
    return tw_engine_poll(s->e, now_ms);
}

/* A link gone quiet moves the sensor's time no more: what waits is sealed after an hour
 * without anything summed (a replay is over long before). */
#define SUM_QUIET_MS 3600000ULL

int tw_alert_store_poll(struct tw_alert_store *s, uint64_t now_ms)
{
    if (s->sum != NULL && now_ms - s->sum_last_ms >= SUM_QUIET_MS && now_ms > s->sum_last_ms)
        tw_alert_store_seal_summaries(s);
    return flush_due(s, now_ms, 0);
}

uint64_t tw_alert_store_drain(struct tw_alert_store *s, uint64_t timeout_ms)
{
    uint64_t start = tw_mono_ms(), now = start;

    while (s->count > 0 && now - start <= timeout_ms) {
        flush_due(s, now, 1);
        if (s->count > 0)
            tw_engine_wait(s->e, 10);
        now = tw_mono_ms();
    }
    return s->count;
}

int tw_alert_store_hold(struct tw_alert_store *s)
{
    /* the queue is a ring: its items in order are [head, end) then [0, rest) */
    uint32_t first = s->count < s->cap - s->head ? s->count : s->cap - s->head;

    s->st.held = 0;
    if (s->hold_path[0] == '\0')
        return 0;
    if (s->count > 0 && tw_run_dir_make(s->run_dir, NULL, 0) != 0)
        return -1; /* run_dir is made when first needed, as for the record spool */
    if (tw_spill_save(s->hold_path, sizeof(struct item), &s->ring[s->head], first, s->ring,
                     s->count - first) != 0)
        return -1;
    s->st.held = s->count;
    return 0;
}

void tw_alert_store_tune(struct tw_alert_store *s, uint32_t batch, uint32_t flush_ms)
{
    s->batch = batch < s->cap ? batch : s->cap;
    s->flush_ms = flush_ms;
}

const char *tw_alert_store_url(const struct tw_alert_store *s)
{
    return tw_engine_url(s->e);
}

const char *tw_alert_store_hold_path(const struct tw_alert_store *s)
{
    return s->hold_path;
}

void tw_alert_store_get_stats(const struct tw_alert_store *s, struct tw_alert_store_stats *out)
{
    *out = s->st;
    out->pending = s->count;
    tw_engine_fold_stats(s->e, &out->connected, &out->reconnects, &out->errors);
    struct tw_engine_stats es;
    tw_engine_get_stats(s->e, &es);
    out->wait_us = es.wait_us;
    out->wait_max_us = es.wait_max_us;
    out->wait_resent = es.wait_resent;
}

void tw_alert_store_close(struct tw_alert_store *s)
{
    if (s == NULL)
        return;
    tw_engine_close(s->e);
    tw_sumseal_close(s->sum);
    free(s);
}
