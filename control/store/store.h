/* store.h - the record sink of the control plane: flow records into Redis.
 *
 * tw_store_put only copies: into a memory ring (redis.buffer records) and, when that is full,
 * into a spool file in run_dir (redis.spool_file_records records, spill.h). Records leave in
 * order, in pipelined batches (redis.batch), when a batch is full or after
 * redis.flush_interval. When memory and file are both full a record is dropped: counted, and
 * the sequence numbers lost become a gap record in Redis.
 *
 * Never waiting on Redis: the connection is the writers' engine (redis_engine.h): written
 * and read without blocking, up to TW_ENGINE_FLIGHTS batches in flight, so a tw_store_poll
 * call does at most: read the replies that arrived, make two batches (about 1 ms for 512
 * records), send what the socket takes. Connecting does not wait either. A failed connection
 * is thrown away and rebuilt, at most once a second; batches that were in flight are sent
 * again, as the same bytes. Redis refusing writes (OOM, MISCONF, LOADING while it restarts)
 * keeps the records queued, retried after a pause growing to 1 s. Every write is idempotent,
 * keyed by the flow id, so a batch sent twice changes nothing; batches are always (re)sent in
 * order, so a flow's last record wins.
 *
 * Records that Redis acknowledged are Redis's to keep: surviving a SIGKILL of redis-server
 * takes its AOF (appendonly yes).
 *
 * Keys (sensor S, the braces keep one sensor's keys in one Redis Cluster slot; H = epoch hour;
 * details and the posting entry layout in control/record/keys.h):
 *   tw:{S}:hours                    zset H -> H, the hours that hold flows
 *   tw:{S}:f:<H>                    hash flow_id -> record JSON, for flows whose first_seen is in H
 *                                   (tw_key_record; control/record/keys.h on TW_RECORD_SHARDS)
 *   tw:{S}:x:<H>:t                  string of fixed-size posting entries (last_seen, flow_id,
 *                                   record hour): every flow spanning hour H
 *   tw:{S}:x:<H>:n4:<aabbcc>        same, flows with an end in IPv4 aa.bb.cc.0/24
 *   tw:{S}:x:<H>:n6:<64 bits hex>   same, flows with an end in that IPv6 /64
 *   tw:{S}:x:<H>:nets               zset (scores 0) of the /24 and /64 buckets of hour H
 *   tw:{S}:x:<H>:p:<n>              same, flows with an end on port n (< 1024), or in the
 *                                   4096-port block starting at n (entries carry the port)
 *   tw:{S}:x:<H>:a:<part>           same, flows whose nDPI name has that lowercased part
 *   tw:{S}:gaps                     hash <run>:<first_seq> -> gap record JSON
 *   tw:{S}:seals                    hash <run>:<no> -> seal line (signing.key, evidence_log.h)
 *   tw:{S}:stats                    hash of the latest run's counters (and run, started,
 *                                   ended), refreshed by tw_store_put_counters
 *   tw:{S}:stats:<run>              the same, one hash per run, EX retention
 *   tw:{S}:runs                     zset run start -> run: the runs with a stats hash
 * Every key gets EX hot_window (refreshed at most once a minute per key), so retention is
 * enforced by Redis itself. A batch costs one HSET per hour and one APPEND per key it touches.
 */
#ifndef TW_STORE_H
#define TW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "control/store/redis_engine.h"
#include "dataplane/flow_record.h"

#define TW_SPOOL_PATH_LEN 512
/* The memory buffer (redis.buffer records) keeps each record's JSON text beside it, in a
 * byte ring of this many bytes per record on average: records take 490 to 512 bytes on average
 * on the generated and nDPI captures since the GeoIP keys (564 at most there,
 * TW_RECORD_JSON_MAX at worst), so the ring holds redis.buffer typical records. A record that
 * finds the ring of records or of text full goes to the spool file. (1024 here made the buffer
 * cost 346 MiB at the defaults, 86 MiB before the text was kept; 512 made it 221 MiB, until
 * the four GeoIP keys made records some 60 bytes longer; 576 makes it 237 MiB.) */
#define TW_STORE_JSON_BYTES 576u
/* What one record of redis.buffer costs in memory: the record, its spool number, its text's
 * place and the text's share of the arena (control/plane/budget.c). */
#define TW_STORE_BYTES_PER_RECORD                                                          \
    (sizeof(struct tw_flow_record) + sizeof(uint64_t) + sizeof(uint32_t) + sizeof(uint16_t) + \
     TW_STORE_JSON_BYTES)

struct tw_store;
struct tw_sensor_info;
struct tw_inventory;
struct tw_evlog;

struct tw_store_params {
    /* w.retention_s: how long each run's counters are kept (0 = hot_window_s); w.run_dir:
     * folder of the spool file <run_dir>/redis-spool-<sensor>.dat */
    struct tw_writer_params w;
    uint32_t hot_window_s;
    uint32_t buffer_records; /* the memory ring */
    uint32_t spool_records;  /* the spool file's size in records; 0 (or no run_dir) = memory
                              * only */
    /* the sensor's registration under its bank, sent with the counters (sensor_registry.h);
     * NULL: none */
    const struct tw_sensor_info *registry;
    /* the equipment inventory in force, sent with the counters when due (inventory.h); the
     * caller's, read at every tw_store_put_counters; NULL: none */
    const struct tw_inventory *inventory;
    uint32_t format;         /* redis.format: 1 (a hash field and postings per record) or 2
                              * (compact blocks, control/record/compact.h); 0 = 2 */
    /* signing.key: the evidence log every record and gap is chained into, and whose seals
     * this writer sends (evidence_log.h; the caller owns it); NULL = not signing. Needs
     * format 2; the spool's items then carry their evidence numbers. */
    struct tw_evlog *evidence;
    uint32_t quiet_posts;    /* redis.quiet_hour_postings: an hour's postings written in its
                              * quiet slices (compact.h); 0 = none */
};

struct tw_store_stats {
    uint64_t queued;        /* records accepted by tw_store_put */
    uint64_t written;       /* records acknowledged by Redis */
    uint64_t pending;       /* records waiting now (memory and spool file) */
    uint64_t dropped_full;  /* records refused because memory and spool were full */
    uint64_t spooled;       /* records that went through the spool file */
    uint64_t spool_pending; /* records in the spool file now, not yet read back */
    uint64_t persisted;     /* records left in the spool file at exit by tw_store_persist */
    uint64_t recovered;     /* records found in the spool file at open (an earlier run's) */
    uint64_t spool_corrupt; /* spool slots skipped because their checksum was wrong */
    uint64_t gaps;          /* gap records made (runs of lost sequence numbers) */
    uint64_t refused;       /* records given up after Redis refused them TW_ENGINE_TRIES times */
    uint64_t reconnects;    /* successful reconnections after a failure */
    uint64_t errors;        /* failed connections, refused batches, spool I/O errors */
    uint64_t redis_evicted_keys; /* Redis's own count of keys it evicted for memory (INFO
                              * stats evicted_keys, sampled every 10 s; 0 until known) */
    uint64_t wait_us, wait_max_us; /* redis.wait_replicas: time batches waited for replicas */
    uint64_t wait_resent;   /* batches sent again because too few replicas had them */
    int connected;          /* 1 while the connection is up */
};

/* Opens a store and starts connecting. A spool file left in run_dir by an earlier run is
 * opened now and replayed first (stats.recovered); otherwise the file (and run_dir) is only
 * made the first time the memory buffer is full.
 * Returns a store (even when Redis is not up yet: it keeps trying), or NULL with a one-line
 * reason in err for a bad URL, a spool file that cannot be used, or no memory. */
struct tw_store *tw_store_open(const struct tw_store_params *p, char *err, size_t errlen);

/* The Redis URL the store writes to (password cut out), for messages. */
const char *tw_store_url(const struct tw_store *s);

/* What Redis said refusing the store for a configuration reason ("NOPERM ..."), or NULL. */
const char *tw_store_refusal(const struct tw_store *s);

/* The spool file's path, or NULL when the store keeps records in memory only. */
const char *tw_store_spool_path(const struct tw_store *s);

/* Queues one record (END or UPDATE events) with its JSON text (tw_record_to_json, json_len
 * bytes, no NUL needed), and gives it the next store sequence number. The text is copied and
 * written as is: the store never encodes that record again, not even to send it again after
 * a reconnect. json NULL: the store encodes it (for callers that have no text). Records that
 * go to the spool file keep no text; they are encoded when read back.
 * Returns 0, or -1 when memory and spool are full (the record is dropped, counted, and
 * becomes part of a gap record). Never blocks. */
int tw_store_put(struct tw_store *s, const struct tw_flow_record *r, const char *json,
                 size_t json_len);

/* Does the I/O that is due without waiting: reads replies, sends batches (a full one, or a
 * partial one after flush_ms), reads records back from the spool, reconnects when down
 * (rate-limited). now_ms is a monotonic wall-clock time. Returns 0, or -1 when Redis is
 * unreachable (records stay queued). */
int tw_store_poll(struct tw_store *s, uint64_t now_ms);

/* Waits up to timeout_ms for Redis to answer or to take more bytes (or just sleeps when
 * nothing is in flight). For callers with nothing else to do, such as a drain. Returns 1 when
 * the socket is ready, else 0. */
int tw_store_wait(struct tw_store *s, unsigned timeout_ms);

/* Queues the counters (names[i] -> values[i], plus run, started, ended) as the hash
 * tw:{S}:stats and as this run's tw:{S}:stats:<run>, listed in tw:{S}:runs (keys.h), written
 * by the next polls. Returns 0, or -1 when not connected (they are written once it is). */
int tw_store_put_counters(struct tw_store *s, const char *const *names, const uint64_t *values,
                          size_t n);

/* Writes everything still queued (and closes the open gap), trying for at most timeout_ms.
 * Returns the number of records that could not be written (0 when all are in Redis);
 * records in the spool file stay there for the next start. */
uint64_t tw_store_drain(struct tw_store *s, uint64_t timeout_ms);

void tw_store_get_stats(const struct tw_store *s, struct tw_store_stats *out);

/* At exit, when Redis is still down after tw_store_drain: moves the records still in memory
 * into the spool file, ahead of what already waits there (order is kept), so that the next
 * start writes them first. Returns how many records the spool file holds for the next start,
 * 0 when there is no spool (redis.spool_file_records 0) or it could not be written (the
 * records then count as not written). */
uint64_t tw_store_persist(struct tw_store *s);

/* New redis.batch and redis.flush_interval while running (a reload): the next batch is
 * made with them; batch is clamped to the buffer. */
void tw_store_tune(struct tw_store *s, uint32_t batch, uint32_t flush_ms);

/* Closes the connection and the spool file and frees the store (call tw_store_drain first).
 * NULL is fine. */
void tw_store_close(struct tw_store *s);

#endif
