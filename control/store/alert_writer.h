/* alert_writer.h - alerts and per-equipment summaries into Redis.
 *
 *   tw_policy_evaluate ──struct tw_alert──> tw_alert_store (Redis, below)
 *   END events of equipment flows ──struct tw_summary_item──> tw_alert_store
 *
 * The alert record and its JSON are in control/record/alert.h; the key names and their
 * layout in control/record/keys.h.
 */
#ifndef TW_ALERT_WRITER_H
#define TW_ALERT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/statement.h"
#include "control/record/alert.h"
#include "control/store/redis_engine.h"
#include "dataplane/flow_record.h"

/* ---- the Redis writer ------------------------------------------------------------------ */

/* One finished flow, seen from one equipment. */
struct tw_summary_item {
    uint64_t flow_id;       /* with end: the identity the summary is applied once for */
    uint64_t first_seen_us;
    uint64_t bytes_out, bytes_in, packets_out, packets_in;
    char equipment[TW_EQUIPMENT_LEN];
    char peer[48];          /* the other end, inet_ntop text */
    char app[TW_APP_LEN];
    char end;               /* 'c': equipment is the client, 's': the server */
    char country[4];        /* the peer's country (record's GeoIP field, "" unknown) */
};

/* cross_border's memory: equipment reached what ("DE", "AS3320") on day (local day number of
 * the policy); tw:{S}:reached:<equipment> keeps the last day of each, trimmed to the days
 * of the window and the max entries, and expires days + 1 days after its last update. */
struct tw_reached_item {
    char equipment[TW_EQUIPMENT_LEN];
    char what[16];
    int64_t day;
    uint32_t days;          /* first_contact_days */
    uint32_t max;           /* entries kept per equipment */
};

/* Fills a summary item for equipment seen at the client (is_client 1) or server end. */
void tw_summary_item_from_record(struct tw_summary_item *it, const struct tw_flow_record *r,
                                 const char *equipment, int is_client);

struct tw_alert_store;
struct tw_evlog;

struct tw_alert_store_params {
    /* w.run_dir: items left at the end of a run wait for the next one in
     * run_dir/redis-alerts-<sensor>.dat */
    struct tw_writer_params w;
    uint32_t guard_ttl_s;   /* lifetime of the per-flow summary guards (redis.hot_window), so
                             * that guard memory is bounded like the flow records' own; 0 =
                             * retention */
    uint32_t buffer_items;  /* items waiting while Redis is slow or down */
    const char *hold_name;  /* the hold file's name before "-<sensor>.dat": NULL =
                             * "redis-alerts"; the statements' writer is "redis-statements" */
    /* signing.key: each alert is chained when it is put, and its stream entry carries
     * fields seq and run (control/evidence/chain.h); NULL = not signing. Not owned. */
    struct tw_evlog *evidence;
};

struct tw_alert_store_stats {
    uint64_t alerts_written, summaries_written, statements_written;
    uint64_t summary_seals;      /* summary snapshots chained and queued (signing.key) */
    uint64_t summary_seals_lost; /* snapshot parts (or updates) not sealed: buffer full */
    uint64_t pending;       /* items waiting now */
    uint64_t dropped_full;  /* items refused: buffer full */
    uint64_t errors, reconnects;
    uint64_t recovered;     /* items an earlier run left in the hold file, queued first */
    uint64_t held;          /* items the last tw_alert_store_hold kept for the next start */
    uint64_t wait_us, wait_max_us, wait_resent; /* redis.wait_replicas (store.h) */
    int connected;
};

/* Opens the writer with its own connection (tried once now, then at most once a second).
 * Items an earlier run left in the hold file go first. Returns it, or NULL with a one-line
 * reason in err (bad URL, no memory, a hold file that cannot be read). */
struct tw_alert_store *tw_alert_store_open(const struct tw_alert_store_params *p, char *err,
                                           size_t errlen);
/* Queue an alert / a summary item. Return 0, or -1 when the buffer is full (dropped and
 * counted). Never block. */
int tw_alert_store_put_alert(struct tw_alert_store *s, const struct tw_alert *a);
int tw_alert_store_put_summary(struct tw_alert_store *s, const struct tw_summary_item *it);
int tw_alert_store_put_reached(struct tw_alert_store *s, const struct tw_reached_item *it);
/* A completeness statement (statement.h), signed or not: XADD tw:{S}:statements statement
 * <canonical text> sig <hex or "">, once (guard tw:{S}:statements:seen, keys.h). */
int tw_alert_store_put_statement(struct tw_alert_store *s, const struct tw_statement *st);
/* signing.key: seals what this run added to each summary bucket since its last snapshot
 * (summary_seal.h), as chain items queued here; at stop, before the stop statement (it is
 * also done at every hour boundary of the sensor's time). Nothing to do without signing. */
void tw_alert_store_seal_summaries(struct tw_alert_store *s);
/* Writes what is due (a full batch, or a partial one after flush_ms). now_ms is monotonic.
 * Returns 0, or -1 when Redis is unreachable (items stay queued). */
int tw_alert_store_poll(struct tw_alert_store *s, uint64_t now_ms);
/* Writes everything queued, for at most timeout_ms. Returns the items left unwritten. */
uint64_t tw_alert_store_drain(struct tw_alert_store *s, uint64_t timeout_ms);
/* Saves the items still queued (after the drain) to the hold file for the next start, or
 * removes the file when none are. Sets stats.held to how many it kept. Returns 0 (also
 * without a hold file: held is then 0), or -1 with errno set when the file cannot be written
 * (held 0). */
int tw_alert_store_hold(struct tw_alert_store *s);
/* The Redis URL the writer writes to, for messages. */
const char *tw_alert_store_url(const struct tw_alert_store *s);
/* The hold file's path ("" without one). */
const char *tw_alert_store_hold_path(const struct tw_alert_store *s);
void tw_alert_store_get_stats(const struct tw_alert_store *s, struct tw_alert_store_stats *out);
/* NULL is fine. */
/* New redis.batch and redis.flush_interval while running (a reload), as tw_store_tune. */
void tw_alert_store_tune(struct tw_alert_store *s, uint32_t batch, uint32_t flush_ms);

void tw_alert_store_close(struct tw_alert_store *s);

#endif
