/* keys.h - the names of the Redis keys of store.h and the posting entries of the flow
 * indexes, written once so the store that writes them and tapwatch-query that reads them
 * cannot disagree.
 *
 *   tw:{S}:hours                 zset hour -> hour: the hours that hold flows
 *   tw:{S}:f:<H>                 hash flow_id (16 hex) -> record JSON, H = first_seen hour
 *                                (tw:{S}:f:<H>:<k> when built with TW_RECORD_SHARDS > 1,
 *                                k = flow_id mod TW_RECORD_SHARDS, decimal)
 *   tw:{S}:x:<H>:<kind>[:<v>]    string: postings of the flows spanning hour H
 *   tw:{S}:x:<H>:nets            zset (all scores 0) of the address buckets of hour H
 *   tw:{S}:gaps                  hash "<run>:<first_seq>" -> gap record JSON
 *   tw:{S}:seals                 hash "<run>:<no, 8 hex>" -> seal line (signing.key set:
 *                                control/evidence/seal.h), EX redis.retention
 *   tw:{S}:stats                 hash: the counters of the latest run (dataplane counter
 *                                names -> values) and run, started, ended
 *   tw:{S}:stats:<run>           the same hash for each run, kept redis.retention
 *   tw:{S}:runs                  zset run start (epoch seconds) -> run: the runs that have a
 *                                stats:<run> hash (the history of drops)
 *   tw:{S}:inventory             string: the equipment inventory of the policy in force, one
 *                                JSON object (control/store/inventory.h), EX redis.retention,
 *                                written at start, at each reload and refreshed while running
 *   tw:{S}:statements            stream of completeness statements (control/evidence/
 *                                statement.h), one entry each: fields statement (the canonical
 *                                JSON text, the signed bytes) and sig (Ed25519, 128 hex digits,
 *                                "" unsigned); EX redis.retention, trimmed with XADD MINID ~
 *                                now-retention; written by the alert writer's engine
 *   tw:{S}:statements:seen       zset "<run>:<n>" -> when written (epoch s): the statements'
 *                                write guard, trimmed to a day (a batch sent again after a
 *                                reconnect writes nothing twice), EX redis.retention
 *   tw:{S}:rotations             stream of the key_rotation statements (signing.previous_key),
 *                                fields statement, sig, sig_previous, as in statements; not
 *                                trimmed, EX redis.retention renewed by every statement
 * A run is the store's start time in epoch microseconds as 16 hex digits (also the <run> of
 * gap records); started and ended are epoch seconds with six decimals, ended being the time
 * of the latest refresh (every second while running, the last one at exit).
 *
 * Posting kinds and values (one key per hour and value; every entry of a key has the same size):
 *
 *   kind  value                         entry detail              entry size
 *   t     (none)                        -                         18
 *   n4    IPv4 /24 as 6 hex digits      last address byte (1)     19
 *   n6    IPv6 /64 as 16 hex digits     low 64 address bits (8)   26
 *   p     port below 1024, else the     the port (2, big endian)  20
 *         first port of its 4096-block
 *         (1024 for 1024-4095)
 *   a     one lowercased part of the    -                         18
 *         nDPI name ("tls", "google")
 *
 * A posting entry, big endian, appended (APPEND) in arrival order:
 *
 *    0                8                16        18
 *   +----------------+----------------+---------+--------------+
 *   | last_seen_us   | flow_id        | back    | detail       |
 *   +----------------+----------------+---------+--------------+
 *   back = H - the record's hour (its first_seen hour): the record is field flow_id of
 *   tw_key_record(S, H - back, flow_id).
 *
 * The nets zset lists "4:<6 hex>" and "6:<16 hex>" for every n4/n6 key of the hour, so that
 * a CIDR shorter than /24 (/64) is one ZRANGEBYLEX away from the buckets it covers.
 *
 * The above is redis.format 1. Format 2 (the default) keeps the same posting kinds and values
 * in zstd blocks under tw:{S:H}:b and tw:{S:H}:x:<bucket>: control/record/compact.h.
 */
#ifndef TW_STORE_KEYS_H
#define TW_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/flow_record.h"

#define TW_KEY_LEN 256
#define TW_US_PER_HOUR ((uint64_t)3600000000)
#define TW_APP_PARTS_MAX 4

enum tw_post_kind { TW_POST_TIME, TW_POST_NET4, TW_POST_NET6, TW_POST_PORT, TW_POST_APP,
                    TW_POST__COUNT };

#define TW_POST_HEAD 18     /* last_seen_us, flow_id, back */
#define TW_POST_MAX 26      /* the largest entry (n6) */
#define TW_PORT_BLOCK 4096  /* ports from 1024 up share one key per block */
/* The records of an hour can be spread over this many hashes by the low bits of flow_id (a
 * hash of the flow's key and first_seen, so they spread evenly). Measured with
 * `store_driver bench` (1 M records, Redis 7.0, 2 cores): 16, 32 or 64 shards take
 * Redis the same CPU per record as one hash (dictFind and rehashing cost the same: every batch
 * touches every shard, so the tables in use are as large in total) and the whole write is
 * about 20% slower, so one hash it is. What more shards would buy is smaller keys: a shard
 * expiring or deleted frees 1/N of the hour at a time. A power of two, at most 256; writer,
 * reader and alerts all name the key through tw_key_record, but records written with another
 * count are not found: -DTW_RECORD_SHARDS=N is for measuring. */
#ifndef TW_RECORD_SHARDS
#define TW_RECORD_SHARDS 1
#endif

struct tw_posting {
    uint64_t last_seen_us;
    uint64_t flow_id;
    uint16_t back;
    uint8_t detail[8];
};

/* Each writes a key into buf. Returns its length, or -1 when buf is too small. */
int tw_key_hours(char *buf, size_t len, const char *sensor);
/* The hash holding the record of flow_id whose first_seen is in hour: tw:{S}:f:<H> (or
 * tw:{S}:f:<H>:<k> with shards). Its field is the flow id as 16 hex digits. Only the low bits
 * of flow_id pick the shard, so any number congruent to flow_id mod TW_RECORD_SHARDS (the
 * shard number itself) names the same key. */
int tw_key_record(char *buf, size_t len, const char *sensor, uint64_t hour, uint64_t flow_id);
/* Reads the hour and shard (0 without shards) back from a key tw_key_record wrote. Returns 0,
 * or -1 when key is not such a key. */
int tw_key_record_parse(const char *key, uint64_t *hour, unsigned *shard);
int tw_key_nets(char *buf, size_t len, const char *sensor, uint64_t hour);
int tw_key_gaps(char *buf, size_t len, const char *sensor);
/* tw:{S}:seals, the seals of the evidence chain (control/evidence/seal.h) */
int tw_key_seals(char *buf, size_t len, const char *sensor);
/* tw:witness:{S}, on the witness's Redis, not the store: the hashes of S's seals
 * (control/evidence/witness.h). Outside every tw:{S}: prefix, so no sensor ACL pattern of the
 * store covers it should both share one Redis. */
int tw_key_witness(char *buf, size_t len, const char *sensor);
/* The witness's ACL key pattern for S, write only (Redis 7 selector): "%W~tw:witness:{S}",
 * glob characters escaped. Returns its length or -1. */
int tw_key_acl_witness(char *buf, size_t len, const char *sensor);
/* tw:{S}:stats, tw:{S}:stats:<run> and tw:{S}:runs (run: 16 hex digits, see above) */
int tw_key_stats(char *buf, size_t len, const char *sensor);
/* tw:{S}:statements and its write guard tw:{S}:statements:seen (above) */
int tw_key_statements(char *buf, size_t len, const char *sensor);
int tw_key_statements_seen(char *buf, size_t len, const char *sensor);
/* tw:{S}:rotations (above) */
int tw_key_rotations(char *buf, size_t len, const char *sensor);
int tw_key_stats_run(char *buf, size_t len, const char *sensor, const char *run);
int tw_key_runs(char *buf, size_t len, const char *sensor);
/* tw:{S}:inventory, the equipment inventory of the policy in force (above) */
int tw_key_inventory(char *buf, size_t len, const char *sensor);
/* value is ignored for TW_POST_TIME; for the others it is the text of the table above. */
int tw_key_post(char *buf, size_t len, const char *sensor, uint64_t hour, enum tw_post_kind kind,
                const char *value);

/* Size in bytes of one entry of a kind. */
size_t tw_post_entry_size(enum tw_post_kind kind);

/* Writes the bucket value of an address (4 bytes when v4, else 16): "0a0102" (/24) or
 * "20010db800010002" (/64), and its detail bytes (1 or 8) into detail. Returns the number of
 * detail bytes. out must hold 17 bytes. */
int tw_net_bucket(const uint8_t *addr, int v4, char *out, uint8_t *detail);

/* The key value of a port: the port below 1024, else the first port of its block. */
uint16_t tw_port_bucket(uint16_t port);

/* Encodes one entry (tw_post_entry_size(kind) bytes) into out. */
void tw_post_encode(enum tw_post_kind kind, const struct tw_posting *p, uint8_t *out);
/* Decodes one entry of a kind. */
void tw_post_decode(enum tw_post_kind kind, const uint8_t *in, struct tw_posting *p);

/* Writes the network of addr (4 bytes when v4, else 16) with the given prefix length, as
 * "10.1.0.0/16". Returns 0, or -1 when out is too small or bits is too large. */
int tw_net_text(const uint8_t *addr, int v4, unsigned bits, char *out, size_t len);

/* Splits an nDPI app name into its lowercased index parts ("TLS.Google" -> "tls",
 * "google"; empty parts skipped). Returns how many parts were written (0 to max). */
int tw_app_parts(const char *app, size_t applen, char parts[][TW_APP_LEN], int max);

/* ---- alerts and summaries (the layout is in alert.h) ---- */

/* Key names, shared with tapwatch-query. Each returns the length or -1 (buf too small).
 * by is 'h' (hour) or 'd' (day); suffix NULL, "peers" or "apps". */
int tw_key_alerts(char *buf, size_t len, const char *sensor);
/* tw:{S}:alerts:t:<hour> and tw:{S}:alerts:hours, the time index of the stream */
int tw_key_alerts_time(char *buf, size_t len, const char *sensor, uint64_t hour);
int tw_key_alerts_hours(char *buf, size_t len, const char *sensor);
/* tw:{S}:alert-seen:<flow_id>:<kind> and tw:{S}:summed:<hour>, the write guards */
int tw_key_alert_seen(char *buf, size_t len, const char *sensor, uint64_t flow_id,
                      unsigned kind);
int tw_key_summed(char *buf, size_t len, const char *sensor, uint64_t hour);
/* tw:{S}:alert-seen:<kind>:<subject>:<period>, the guard of a flowless alert (alert.h);
 * -1 also when subject is empty */
int tw_key_alert_seen_flowless(char *buf, size_t len, const char *sensor, unsigned kind,
                               const char *subject, uint64_t period);
struct tw_alert;
/* The write guard of alert a: tw_key_alert_seen for a flow's alert, else
 * tw_key_alert_seen_flowless with its subject (equipment, src_ip text for unknown_device,
 * "mirror" for mirror_*) and guard_period. Returns the length, or -1 (buf too small, no
 * subject: unknown_device without an address, a silence alert without equipment). */
int tw_key_alert_guard(char *buf, size_t len, const char *sensor, const struct tw_alert *a);
int tw_key_summary(char *buf, size_t len, const char *sensor, const char *equipment, char by,
                   uint64_t bucket, const char *suffix);
/* tw:{S}:reached:<equipment>: zset "DE" / "AS3320" -> the last local day (policy timezone)
 * the equipment sent payload there (cross_border's first_contact memory) */
int tw_key_reached(char *buf, size_t len, const char *sensor, const char *equipment);
/* tw:{S}:sum-sealed: zset <E>:<h|d>:<n> -> when its snapshots were last written (epoch s),
 * the buckets whose sealed snapshots (control/evidence/sum_snapshot.h) are in
 * tw:{S}:sum:<E>:<h|d>:<n>:seals (tw_key_summary with suffix "seals") */
int tw_key_sum_sealed(char *buf, size_t len, const char *sensor);
/* tw:{S}:sum:E:hours or :days */
int tw_key_summary_buckets(char *buf, size_t len, const char *sensor, const char *equipment,
                           char by);

/* ---- Redis ACL key patterns (config/redis-acl.conf.example, tapwatch --print-acl) ---- */

/* The ACL key pattern that covers every key above of sensor, and no other sensor's: the
 * prefix every key name starts with, glob characters escaped, then '*': "~tw:{s1}:*" (the
 * closing brace keeps s10's keys out). Returns its length or -1 (buf too small). */
int tw_key_acl_pattern(char *buf, size_t len, const char *sensor);
/* Every sensor's keys, read-only (Redis 7 selector): "%R~tw:*". */
const char *tw_key_acl_read_all(void);

/* ---- the query audit trail (control/evidence/audit_entry.h), outside every sensor ----
 *
 *   tw:{audit:<bank>}:trail    stream: one entry per query asked of bank's sensors, before
 *                              it is answered ("query") and after ("done"), hash-chained and
 *                              signed by the answering program's key
 *   tw:{audit:<bank>}:head     string "<seq> <hash>": the newest entry's, written by the same
 *                              script as the entry, so that removing the newest entries of the
 *                              stream (XDEL, XTRIM, XADD MAXLEN 0) leaves a head that names
 *                              what is gone
 *   tw:{audit:}:trail, :head   the same for queries without a bank (sensors without one, or
 *                              --all-sensors over every bank)
 *
 * One hash tag {audit:<bank>} per trail: the script that appends reads :head and writes both
 * keys in one slot of a Redis Cluster. Bank names hold no ':' or '}', so "audit:A" is neither
 * a sensor namespace nor "bank:A" (fleet_keys.h), and no sensor's ACL pattern covers a trail.
 * A trail per bank keeps bank A's reader from reading who asked what of bank B. */
int tw_key_audit_trail(char *buf, size_t len, const char *bank);
int tw_key_audit_head(char *buf, size_t len, const char *bank);
/* The ACL key pattern of bank's trail and head, read and write: "~tw:{audit:<bank>}:*"
 * (bank NULL: every bank's, "~tw:{audit:*"). Returns its length or -1 (buf too small). */
int tw_key_acl_audit(char *buf, size_t len, const char *bank);

#endif
