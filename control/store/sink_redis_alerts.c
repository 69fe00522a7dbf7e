/* sink_redis_alerts.c - alerts and per-equipment summaries into Redis: the sink row of the
 * alert/summary writer (alert_writer.h). What is left at exit waits in its hold file. */
#include "control/store/sink.h"

#include <inttypes.h>
#include <stdlib.h>

struct redis_alerts {
    struct tw_alert_store *store;
    char url[256];
    uint64_t left;      /* what the drain could not write */
    uint64_t held;      /* of those, what the hold file keeps for the next start */
};

static int put_alert(void *ctx, const struct tw_alert *a, const char *json, size_t len)
{
    struct redis_alerts *r = ctx;

    (void)json; /* the writer sends the alert's fields, not its JSON */
    (void)len;
    return tw_alert_store_put_alert(r->store, a);
}

static int put_summary(void *ctx, const struct tw_summary_item *it)
{
    struct redis_alerts *r = ctx;

    return tw_alert_store_put_summary(r->store, it);
}

static void poll_store(void *ctx, uint64_t now_ms)
{
    struct redis_alerts *r = ctx;

    tw_alert_store_poll(r->store, now_ms);
}

static uint64_t drain(void *ctx, uint64_t timeout_ms)
{
    struct redis_alerts *r = ctx;

    r->left = tw_alert_store_drain(r->store, timeout_ms);
    return r->left;
}

static void persist(void *ctx)
{
    struct redis_alerts *r = ctx;

    /* also when nothing is left: that removes a hold file the drain emptied */
    if (tw_alert_store_hold(r->store, &r->held) != 0)
        r->held = 0;
}

static void stats(void *ctx, FILE *out)
{
    struct redis_alerts *r = ctx;
    struct tw_alert_store_stats as;

    tw_alert_store_get_stats(r->store, &as);
    fprintf(out, "  redis alerts         written %" PRIu64 ", summaries %" PRIu64
                 ", not written %" PRIu64 ", dropped (buffer full) %" PRIu64 "\n",
            as.alerts_written, as.summaries_written, as.pending, as.dropped_full);
}

static int notes(void *ctx, int at_end, FILE *err)
{
    struct redis_alerts *r = ctx;
    struct tw_alert_store_stats as;

    if (!at_end) {
        tw_alert_store_get_stats(r->store, &as);
        if (as.recovered)
            fprintf(err, "tapwatch: %s: %" PRIu64 " alerts and summary updates of an earlier run "
                         "waited for Redis; writing them first\n",
                    tw_alert_store_hold_path(r->store), as.recovered);
        return 0;
    }
    if (r->held)
        fprintf(err, "tapwatch: Redis %s did not come back: %" PRIu64 " alerts and summary "
                     "updates wait in %s; the next start writes them first\n",
                r->url, r->held, tw_alert_store_hold_path(r->store));
    if (r->left <= r->held)
        return 0;
    fprintf(err, "tapwatch: Redis %s: %" PRIu64 " alerts and summary updates did not reach Redis\n",
            r->url, r->left - r->held);
    return -1;
}

static void close_alerts(void *ctx)
{
    struct redis_alerts *r = ctx;

    tw_alert_store_close(r->store);
    free(r);
}

static const struct tw_sink_ops redis_alerts_ops = {
    .name = "redis-alerts", .json = 0, .put_alert = put_alert, .put_summary = put_summary,
    .poll = poll_store, .drain = drain, .persist = persist, .stats = stats, .notes = notes,
    .close = close_alerts,
};

int tw_sink_redis_alerts_open(struct tw_sink *s, const struct tw_alert_store_params *p,
                              char *err, size_t errlen)
{
    struct redis_alerts *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(err, errlen, "redis: out of memory");
        return -1;
    }
    snprintf(r->url, sizeof(r->url), "%s", p->w.url);
    if ((r->store = tw_alert_store_open(p, err, errlen)) == NULL) {
        free(r);
        return -1;
    }
    *s = (struct tw_sink){.ops = &redis_alerts_ops, .ctx = r, .takes = TW_TAKES_ALERTS};
    return 0;
}
