/* sink_redis_alerts.c - alerts and per-equipment summaries into Redis: the sink row of the
 * alert/summary writer (alert_writer.h). What is left at exit waits in its hold file. */
#include "control/store/sink.h"

#include <inttypes.h>
#include <stdlib.h>

/* The sink's context is the writer itself: it keeps every figure the notes print. */

static int put_alert(void *ctx, const struct tw_alert *a, const char *json, size_t len)
{
    (void)json; /* the writer sends the alert's fields, not its JSON */
    (void)len;
    return tw_alert_store_put_alert(ctx, a);
}

static int put_summary(void *ctx, const struct tw_summary_item *it)
{
    return tw_alert_store_put_summary(ctx, it);
}

static int put_reached(void *ctx, const struct tw_reached_item *it)
{
    return tw_alert_store_put_reached(ctx, it);
}

/* The rows both alert-writer sinks share (alerts here, statements in
 * sink_redis_statements.c): the writer does the work, the sink only forwards. */
void tw_sink_alert_store_poll(void *ctx, uint64_t now_ms)
{
    tw_alert_store_poll(ctx, now_ms);
}

uint64_t tw_sink_alert_store_drain(void *ctx, uint64_t timeout_ms)
{
    return tw_alert_store_drain(ctx, timeout_ms);
}

void tw_sink_alert_store_persist(void *ctx)
{
    /* also when nothing is left: that removes a hold file the drain emptied */
    tw_alert_store_hold(ctx);
}

void tw_sink_alert_store_close(void *ctx)
{
    tw_alert_store_close(ctx);
}

void tw_sink_alert_store_tune(void *ctx, const struct tw_sink_tuning *t)
{
    tw_alert_store_tune(ctx, t->batch, t->flush_ms);
}

static void seal(void *ctx)
{
    tw_alert_store_seal_summaries(ctx);
}

static void stats(void *ctx, FILE *out)
{
    struct tw_alert_store_stats as;

    tw_alert_store_get_stats(ctx, &as);
    fprintf(out, "  redis alerts         written %" PRIu64 ", summaries %" PRIu64
                 ", not written %" PRIu64 ", dropped (buffer full) %" PRIu64 "\n",
            as.alerts_written, as.summaries_written, as.pending, as.dropped_full);
    if (as.summary_seals || as.summary_seals_lost) /* signing.key (README "Sealed summaries") */
        fprintf(out, "  summary snapshots    sealed %" PRIu64 ", not sealed (buffer full) %" PRIu64
                     "\n", as.summary_seals, as.summary_seals_lost);
    if (as.wait_us || as.wait_resent) /* redis.wait_replicas */
        fprintf(out, "  redis replicas       alerts waited %.1f ms (max %.1f ms), batches resent %"
                     PRIu64 "\n", as.wait_us / 1000.0, as.wait_max_us / 1000.0, as.wait_resent);
}

static int notes(void *ctx, int at_end, FILE *err)
{
    struct tw_alert_store_stats as;

    tw_alert_store_get_stats(ctx, &as);
    /* at the end (after the drain and the hold) pending is what the drain could not write */
    return tw_sink_carry_notes(
        &(struct tw_sink_carry){.url = tw_alert_store_url(ctx),
                                .path = tw_alert_store_hold_path(ctx),
                                .noun = "alerts and summary updates",
                                .recovered = as.recovered, .kept = as.held,
                                .lost = as.pending > as.held ? as.pending - as.held : 0},
        at_end, err);
}

static void metrics(void *ctx, struct tw_sink_metrics *out)
{
    struct tw_alert_store_stats as;

    tw_alert_store_get_stats(ctx, &as);
    snprintf(out->output, sizeof(out->output), "redis-alerts");
    tw_sink_metric_add(out, "tapwatch_redis_up", 1, as.connected != 0,
                       "1 while the writer's connection to Redis is up");
    tw_sink_metric_add(out, "tapwatch_alerts_written_total", 0, as.alerts_written,
                       "Alerts acknowledged by the output");
    tw_sink_metric_add(out, "tapwatch_summaries_written_total", 0, as.summaries_written,
                       "Per-equipment summary updates acknowledged by the output");
    tw_sink_metric_add(out, "tapwatch_alerts_pending", 1, as.pending,
                       "Alerts and summary updates waiting for the output now");
    tw_sink_metric_add(out, "tapwatch_alerts_dropped_total", 0, as.dropped_full,
                       "Alerts and summary updates refused because the buffer was full");
    tw_sink_metric_add(out, "tapwatch_redis_reconnects_total", 0, as.reconnects,
                       "Successful reconnections to Redis after a failure");
    tw_sink_metric_add(out, "tapwatch_redis_errors_total", 0, as.errors,
                       "Failed connections, refused batches and spool I/O errors");
}

static const struct tw_sink_ops redis_alerts_ops = {
    .name = "redis-alerts", .json = 0, .put_alert = put_alert, .put_summary = put_summary,
    .put_reached = put_reached, .seal = seal,
    .poll = tw_sink_alert_store_poll, .drain = tw_sink_alert_store_drain,
    .persist = tw_sink_alert_store_persist, .stats = stats, .notes = notes,
    .close = tw_sink_alert_store_close, .tune = tw_sink_alert_store_tune, .metrics = metrics,
};

int tw_sink_redis_alerts_open(struct tw_sink *s, const struct tw_alert_store_params *p,
                              char *err, size_t errlen)
{
    struct tw_alert_store *store = tw_alert_store_open(p, err, errlen);

    if (store == NULL)
        return -1;
    *s = (struct tw_sink){.ops = &redis_alerts_ops, .ctx = store, .takes = TW_TAKES_ALERTS};
    return 0;
}
