/* metrics_collect.c - the control loop fills and publishes the metrics snapshot (see
 * metrics_collect.h). */
#include "control/plane/metrics_collect.h"

#include <string.h>

#include "control/plane/control_loop.h"
#include "control/plane/geoip_enrich.h"
#include "dataplane/iface.h"

void tw_metrics_collect(struct tw_control *c, const struct tw_metrics_feed *f,
                        struct tw_metrics_snapshot *out)
{
    struct tw_source_stats ss;
    unsigned used, size;

    memset(out, 0, sizeof(*out));
    /* last to first: a worker counts a packet received before it counts it parsed or dropped,
     * so reading received last keeps a snapshot taken under traffic from showing more parsed
     * and dropped than received (the counters are plain per-worker stores: best effort) */
    for (unsigned i = TW_C__COUNT; i-- > 0;)
        out->counters[i] = tw_control_counter(c, i);
    tw_pipeline_source_stats(c->pipeline, &ss);
    out->imissed = ss.imissed;
    out->ierrors = ss.ierrors;
    out->rx_nombuf = ss.rx_nombuf;
    out->active_flows = tw_pipeline_active_flows(c->pipeline);
    out->link_downs = c->link.downs;
    out->link_ups = c->link.ups;
    out->link_removals = c->link.removals;
    out->link_up = c->link.state == TW_LINK_UP ? 1 : c->link.state == TW_LINK_UNKNOWN ? -1 : 0;
    tw_pipeline_rings(c->pipeline, &used, &size);
    out->ring_used = used;
    out->ring_size = size;
    memcpy(out->events, c->events, sizeof(out->events));
    out->n_sinks = tw_sinks_metrics(c->sinks, out->sinks, TW_SINKS_MAX);
    if (f->policy != NULL) {
        struct tw_policy_hook_stats ps;
        tw_policy_hook_get_stats(f->policy, &ps);
        out->policy = 1;
        memcpy(out->alerts_by_kind, ps.by_kind, sizeof(out->alerts_by_kind));
        out->summaries = ps.summaries;
        out->reloads = ps.reloads;
        out->reload_errors = ps.reload_errors;
        out->last_reload_ok = ps.last_reload_ok;
        snprintf(out->policy_sha256, sizeof(out->policy_sha256), "%s",
                 tw_policy_sha256(tw_policy_hook_policy(f->policy)));
        snprintf(out->geoip_sha256, sizeof(out->geoip_sha256), "%s",
                 tw_policy_hook_geoip_sha256(f->policy));
    }
    if (tw_geoip_enrich_db(c->geoip) != NULL) {
        struct tw_geoip_enrich_stats gs;
        tw_geoip_enrich_get_stats(c->geoip, &gs);
        out->geoip = 1;
        out->geoip_records = gs.records;
        out->geoip_cache_hits = gs.cache_hits;
        out->geoip_lookups = gs.db.lookups;
        out->geoip_errors = gs.db.errors;
        out->geoip_refused = gs.db.rejected;
    }
    out->version = f->version;
    out->start_time_s = f->start_time_s;
}

void tw_metrics_feed_tick(struct tw_metrics_feed *f, struct tw_control *c, uint64_t now_ns,
                          int final)
{
    if (!final && f->last_ns != 0 && now_ns - f->last_ns < TW_METRICS_PERIOD_NS)
        return;
    tw_metrics_collect(c, f, &f->snap);
    /* a reader holding the board: try again next iteration rather than wait */
    if (tw_metrics_board_publish(f->board, &f->snap, final) == 0)
        f->last_ns = now_ns;
}
