/* sink_redis_flows.c - flow records and the run's counters into Redis: the sink row of the
 * non-blocking flow-record writer (store.h). */
#include "control/store/sink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/store/store.h"

/* The sink's context is the store itself: it keeps every figure the notes print. */

static int put_flow(void *ctx, const struct tw_flow_record *r, const char *json, size_t len)
{
    /* the list encoded the record once for every sink: the store keeps that text */
    return tw_store_put(ctx, r, json, len);
}

static void put_counters(void *ctx, const char *const *names, const uint64_t *values, size_t n)
{
    tw_store_put_counters(ctx, names, values, n);
}

static void poll_store(void *ctx, uint64_t now_ms)
{
    tw_store_poll(ctx, now_ms);
}

static uint64_t drain(void *ctx, uint64_t timeout_ms)
{
    return tw_store_drain(ctx, timeout_ms);
}

static void persist(void *ctx)
{
    /* Redis still down: keep them for the next start (nothing to do when memory is empty) */
    tw_store_persist(ctx);
}

static void stats(void *ctx, FILE *out)
{
    struct tw_store_stats st;

    tw_store_get_stats(ctx, &st);
    fprintf(out, "  redis                written %" PRIu64 ", not written %" PRIu64
                 ", dropped (buffer full) %" PRIu64 ", reconnects %" PRIu64 "\n",
            st.written, st.pending, st.dropped_full, st.reconnects);
    fprintf(out, "  redis spool          spooled %" PRIu64 ", in spool file %" PRIu64
                 ", gaps %" PRIu64 ", refused %" PRIu64 ", recovered %" PRIu64 "\n",
            st.spooled, st.spool_pending + st.persisted, st.gaps, st.refused, st.recovered);
    /* keys Redis itself threw away (maxmemory-policy): records the store cannot vouch for */
    fprintf(out, "  redis server         redis_evicted_keys %" PRIu64 "\n", st.redis_evicted_keys);
    if (st.wait_us || st.wait_resent) /* redis.wait_replicas: what the guarantee cost */
        fprintf(out, "  redis replicas       flows waited %.1f ms (max %.1f ms), batches resent %"
                     PRIu64 "\n", st.wait_us / 1000.0, st.wait_max_us / 1000.0, st.wait_resent);
}

static void live(void *ctx, FILE *out)
{
    struct tw_store_stats st;

    tw_store_get_stats(ctx, &st);
    const char *refusal = tw_store_refusal(ctx);
    if (refusal != NULL) /* a configuration problem, not an outage: say what Redis said */
        fprintf(out, " redis refused: %.100s;", refusal);
    else
        fprintf(out, " redis %s", st.connected ? "up" : "DOWN");
    fprintf(out, " written %" PRIu64 " pending %" PRIu64 " dropped %" PRIu64, st.written,
            st.pending, st.dropped_full);
}

static int notes(void *ctx, int at_end, FILE *err)
{
    const char *url = tw_store_url(ctx);
    struct tw_store_stats st;

    tw_store_get_stats(ctx, &st);
    const char *why = st.connected ? "Redis failed" : "cannot connect";
    const char *path = strncmp(url, "unix://", 7) == 0 ? strstr(url, "@/") : NULL;
    path = path != NULL ? path + 1 : url + 7; /* after the user part, if any */
    if (at_end && strncmp(url, "unix://", 7) == 0 && access(path, F_OK) != 0)
        why = strerror(errno); /* the socket is gone: say so */
    return tw_sink_carry_notes(&(struct tw_sink_carry){.url = url,
                                                       .path = tw_store_spool_path(ctx),
                                                       .noun = "flow records", .why = why,
                                                       .recovered = st.recovered,
                                                       .kept = st.persisted,
                                                       .lost = st.pending + st.dropped_full},
                               at_end, err);
}

static void metrics(void *ctx, struct tw_sink_metrics *out)
{
    struct tw_store_stats st;

    tw_store_get_stats(ctx, &st);
    snprintf(out->output, sizeof(out->output), "redis-flows");
    tw_sink_metric_add(out, "tapwatch_redis_up", 1, st.connected != 0,
                       "1 while the writer's connection to Redis is up");
    tw_sink_metric_add(out, "tapwatch_records_written_total", 0, st.written,
                       "Flow records acknowledged by the output");
    tw_sink_metric_add(out, "tapwatch_records_pending", 1, st.pending,
                       "Flow records waiting for the output now (memory and spool file)");
    tw_sink_metric_add(out, "tapwatch_records_spooled_total", 0, st.spooled,
                       "Flow records that went through the spool file");
    tw_sink_metric_add(out, "tapwatch_records_spool_file", 1, st.spool_pending,
                       "Flow records in the spool file now");
    tw_sink_metric_add(out, "tapwatch_records_dropped_total", 0, st.dropped_full,
                       "Flow records refused because memory and spool were full");
    tw_sink_metric_add(out, "tapwatch_gap_records_total", 0, st.gaps,
                       "Gap records made (runs of records dropped, in tw:{S}:gaps)");
    tw_sink_metric_add(out, "tapwatch_records_refused_total", 0, st.refused,
                       "Flow records given up after Redis refused them");
    tw_sink_metric_add(out, "tapwatch_redis_reconnects_total", 0, st.reconnects,
                       "Successful reconnections to Redis after a failure");
    tw_sink_metric_add(out, "tapwatch_redis_errors_total", 0, st.errors,
                       "Failed connections, refused batches and spool I/O errors");
    /* Redis's own count (INFO stats, sampled every 10 s): keys it threw away under
     * maxmemory, which may be ours */
    tw_sink_metric_add(out, "tapwatch_redis_evicted_keys_total", 0, st.redis_evicted_keys,
                       "Keys Redis evicted since it started (INFO stats evicted_keys)");
}

static void close_flows(void *ctx)
{
    tw_store_close(ctx);
}

static void tune(void *ctx, const struct tw_sink_tuning *t)
{
    tw_store_tune(ctx, t->batch, t->flush_ms);
}

static const struct tw_sink_ops redis_flows_ops = {
    .name = "redis-flows", .json = 1, .put_flow = put_flow, .put_counters = put_counters,
    .poll = poll_store, .drain = drain, .persist = persist, .stats = stats, .live = live,
    .notes = notes, .close = close_flows, .tune = tune, .metrics = metrics,
};

int tw_sink_redis_flows_open(struct tw_sink *s, const struct tw_store_params *p, char *err,
                             size_t errlen)
{
    struct tw_store *store = tw_store_open(p, err, errlen);

    if (store == NULL)
        return -1;
    *s = (struct tw_sink){.ops = &redis_flows_ops, .ctx = store,
                          .takes = TW_TAKES_UPDATE | TW_TAKES_END | TW_TAKES_COUNTERS};
    return 0;
}
