/* sink_redis_statements.c - completeness statements into Redis: the sink row of an alert
 * writer (alert_writer.h) of their own, opened whenever Redis is (with or without a policy),
 * so that a statement waits in memory and in its hold file redis-statements-<S>.dat through
 * an outage, as alerts do. */
#include "control/store/sink.h"

#include <inttypes.h>
#include <stdlib.h>

static int put_statement(void *ctx, const struct tw_statement *st)
{
    return tw_alert_store_put_statement(ctx, st);
}

static void stats(void *ctx, FILE *out)
{
    struct tw_alert_store_stats as;

    tw_alert_store_get_stats(ctx, &as);
    fprintf(out, "  redis statements     written %" PRIu64 ", not written %" PRIu64
                 ", dropped (buffer full) %" PRIu64 "\n",
            as.statements_written, as.pending, as.dropped_full);
}

static int notes(void *ctx, int at_end, FILE *err)
{
    struct tw_alert_store_stats as;

    tw_alert_store_get_stats(ctx, &as);
    /* statements recovered at start or kept for the next one are said by the summary line
     * only (the operator's lines are about records and alerts); a loss is said */
    if (at_end == 0 || as.pending <= as.held)
        return 0;
    return tw_sink_carry_notes(
        &(struct tw_sink_carry){.url = tw_alert_store_url(ctx),
                                .path = tw_alert_store_hold_path(ctx),
                                .noun = "completeness statements",
                                .recovered = as.recovered, .kept = as.held,
                                .lost = as.pending > as.held ? as.pending - as.held : 0},
        at_end, err);
}

static void metrics(void *ctx, struct tw_sink_metrics *out)
{
    struct tw_alert_store_stats as;

    tw_alert_store_get_stats(ctx, &as);
    snprintf(out->output, sizeof(out->output), "redis-statements");
    tw_sink_metric_add(out, "tapwatch_statements_written_total", 0, as.statements_written,
                       "Completeness statements acknowledged by Redis");
    tw_sink_metric_add(out, "tapwatch_statements_pending", 1, as.pending,
                       "Completeness statements waiting for Redis now");
}

static const struct tw_sink_ops redis_statements_ops = {
    .name = "redis-statements", .json = 0, .put_statement = put_statement,
    .poll = tw_sink_alert_store_poll, .drain = tw_sink_alert_store_drain,
    .persist = tw_sink_alert_store_persist, .stats = stats, .notes = notes,
    .close = tw_sink_alert_store_close, .tune = tw_sink_alert_store_tune, .metrics = metrics,
};

int tw_sink_redis_statements_open(struct tw_sink *s, const struct tw_alert_store_params *p,
                                  char *err, size_t errlen)
{
    struct tw_alert_store_params sp = *p;
    struct tw_alert_store *store;

    sp.hold_name = "redis-statements";
    if ((store = tw_alert_store_open(&sp, err, errlen)) == NULL)
        return -1;
    *s = (struct tw_sink){.ops = &redis_statements_ops, .ctx = store,
                          .takes = TW_TAKES_STATEMENT};
    return 0;
}
