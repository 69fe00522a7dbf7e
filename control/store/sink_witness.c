/* sink_witness.c - seal hashes to the witness outside the bank: the sink row of the witness
 * writer (witness_writer.h). It takes no item from the list: the evidence log tells it each
 * seal (evidence_log.h); the row gives it the control loop's polls, the drain at exit (after
 * the flow writer's, which makes the last seal), the summary line and the metrics. */
#include "control/store/sink.h"

#include <inttypes.h>

#include "control/store/witness_writer.h"

static void w_poll(void *ctx, uint64_t now_ms) { tw_witness_poll(ctx, now_ms); }

static uint64_t drain(void *ctx, uint64_t timeout_ms) { return tw_witness_drain(ctx, timeout_ms); }

static void persist(void *ctx) { tw_witness_persist(ctx); }

static void close_it(void *ctx) { tw_witness_close(ctx); }

static void stats(void *ctx, FILE *out)
{
    struct tw_witness_stats ws;

    tw_witness_get_stats(ctx, &ws);
    fprintf(out, "  witness seals        sent %" PRIu64 ", pending %" PRIu64 ", dropped %" PRIu64
                 "\n", ws.sent, ws.pending, ws.dropped);
}

static void live(void *ctx, FILE *out)
{
    struct tw_witness_stats ws;

    tw_witness_get_stats(ctx, &ws);
    fprintf(out, " witness %s pending %" PRIu64, ws.connected ? "up" : "DOWN", ws.pending);
}

/* A witness that is down or refuses us is said, never a failed run: the store has
 * everything, and what the witness lacks verify --witness names. */
static int notes(void *ctx, int at_end, FILE *err)
{
    struct tw_witness_stats ws;

    tw_witness_get_stats(ctx, &ws);
    if (!at_end) {
        if (ws.recovered)
            fprintf(err, "%s: %" PRIu64 " seal hashes of an earlier run waited for the witness; "
                         "sending them first\n", tw_witness_path(ctx), ws.recovered);
        return 0;
    }
    if (ws.refusal != NULL)
        fprintf(err, "witness %s refused us: %s\n", tw_witness_url(ctx), ws.refusal);
    if (ws.held)
        fprintf(err, "witness %s did not take %" PRIu64 " seal hashes: they wait in %s; the "
                     "next start sends them first\n", tw_witness_url(ctx), ws.held,
                tw_witness_path(ctx));
    if (ws.pending > ws.held || ws.dropped)
        fprintf(err, "witness %s: %" PRIu64 " seal hashes will never reach it: verify "
                     "--witness names those seals\n", tw_witness_url(ctx),
                ws.pending - ws.held + ws.dropped);
    return 0;
}

static void metrics(void *ctx, struct tw_sink_metrics *out)
{
    struct tw_witness_stats ws;

    tw_witness_get_stats(ctx, &ws);
    snprintf(out->output, sizeof(out->output), "witness");
    tw_sink_metric_add(out, "tapwatch_witness_seals_sent_total", 0, ws.sent,
                       "Seal hashes (and run end markers) the witness acknowledged");
    tw_sink_metric_add(out, "tapwatch_witness_seals_pending", 1, ws.pending,
                       "Seal hashes waiting for the witness now");
    tw_sink_metric_add(out, "tapwatch_witness_seals_dropped_total", 0, ws.dropped,
                       "Seal hashes that will never reach the witness (queue full, refused)");
}

static const struct tw_sink_ops witness_ops = {
    .name = "witness", .poll = w_poll, .drain = drain, .persist = persist, .stats = stats,
    .live = live, .notes = notes, .close = close_it, .metrics = metrics,
};

int tw_sink_witness_open(struct tw_sink *s, const struct tw_witness_params *p, char *err,
                         size_t errlen)
{
    struct tw_witness *w = tw_witness_open(p, err, errlen);

    if (w == NULL)
        return -1;
    *s = (struct tw_sink){.ops = &witness_ops, .ctx = w, .takes = TW_TAKES_SEALS};
    return 0;
}
