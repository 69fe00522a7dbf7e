/* store.h - the record sink of the control plane: flow records into Redis.
 *
 * Records are queued in a bounded buffer (redis.buffer) and written in pipelined batches
 * (redis.batch), when a batch is full or after redis.flush_interval. The caller never
 * blocks on Redis: tw_store_put only copies. A failed connection is thrown away and
 * rebuilt, at most once a second; while it is down records wait in the buffer, and what
 * does not fit is dropped and counted.
 *
 * Keys (sensor S, the braces keep one sensor's keys in one Redis Cluster slot):
 *   tw:{S}:flow:<flow_id>           string, the flow record as JSON, EX hot_window
 *   tw:{S}:t:<hour>                 zset flow_id -> last_seen, one per hour the flow spans
 *   tw:{S}:t:<hour>:ip:<addr>       same, per address (both ends)
 *   tw:{S}:t:<hour>:net:<cidr>      same, per IPv4 /16 and /24, IPv6 /48 and /64
 *   tw:{S}:t:<hour>:app:<app>       same, per application name
 *   tw:{S}:t:<hour>:port:<n>        same, per port (both ends)
 *   tw:{S}:stats                    hash of counters, refreshed by tw_store_put_counters
 * <hour> is the epoch hour (first_seen_us / 3600e6). Every index key gets EX hot_window, so
 * retention is enforced by Redis itself.
 */
#ifndef TW_STORE_H
#define TW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../dataplane/flow_record.h"

struct tw_store;

struct tw_store_params {
    const char *url;         /* unix:///path or redis://host:port */
    const char *sensor;
    uint32_t hot_window_s;
    uint32_t batch;
    uint32_t buffer_records;
    uint32_t flush_ms;
};

struct tw_store_stats {
    uint64_t queued;        /* records accepted by tw_store_put */
    uint64_t written;       /* records acknowledged by Redis */
    uint64_t pending;       /* records waiting in the buffer now */
    uint64_t dropped_full;  /* records refused because the buffer was full */
    uint64_t reconnects;    /* successful reconnections after a failure */
    uint64_t errors;        /* failed connections or failed replies */
    int connected;          /* 1 while the connection is up */
};

/* Opens a store and tries to connect once. Returns a store (even when Redis is not up yet:
 * it keeps trying), or NULL with a one-line reason in err for a bad URL or no memory. */
struct tw_store *tw_store_open(const struct tw_store_params *p, char *err, size_t errlen);

/* Queues one record (END or UPDATE events). Returns 0, or -1 when the buffer is full
 * (the record is dropped and counted). Never blocks. */
int tw_store_put(struct tw_store *s, const struct tw_flow_record *r);

/* Does the I/O that is due: sends a full batch, or a partial one after flush_ms, reconnects
 * when down (rate-limited). now_ms is a monotonic wall-clock time. Returns 0, or -1 when
 * Redis is unreachable (records stay queued). */
int tw_store_poll(struct tw_store *s, uint64_t now_ms);

/* Writes the counters as the hash tw:{S}:stats (names[i] -> values[i]). Returns 0 or -1. */
int tw_store_put_counters(struct tw_store *s, const char *const *names, const uint64_t *values,
                          size_t n);

/* Writes everything still queued, trying for at most timeout_ms. Returns the number of
 * records that could not be written (0 when all are in Redis). */
uint64_t tw_store_drain(struct tw_store *s, uint64_t timeout_ms);

void tw_store_get_stats(const struct tw_store *s, struct tw_store_stats *out);

/* Closes the connection and frees the store (call tw_store_drain first). NULL is fine. */
void tw_store_close(struct tw_store *s);

#endif
