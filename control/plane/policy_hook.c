/* policy_hook.c - the policy on the control plane (see policy_hook.h). */
#include "control/plane/policy_hook.h"

#include <inttypes.h>
#include <stdlib.h>

struct tw_policy_hook {
    struct tw_policy *policy;   /* the one in use; replaced whole by a reload */
    struct tw_policy_state *state;
    struct tw_silence *silence; /* the silence rules' state, kept across reloads */
    uint64_t report_lag_us;
    struct tw_sinks *sinks;     /* where alerts and summary items go; NULL = nowhere */
    char path[512];
    char geoip_sha256[72];      /* of the GeoIP database(s) in force, "" without one */
    struct tw_policy_hook_stats st;
};

/* cross_border's memory moved: the store keeps it for the next start */
static void on_reached(void *ctx, const char *equipment, const char *what, int64_t day,
                       uint32_t days)
{
    struct tw_policy_hook *h = ctx;
    struct tw_reached_item it = {.day = day, .days = days, .max = TW_REACHED_MAX};

    snprintf(it.equipment, sizeof(it.equipment), "%s", equipment);
    snprintf(it.what, sizeof(it.what), "%s", what);
    tw_sinks_reached(h->sinks, &it);
}

struct tw_policy_hook *tw_policy_hook_open(const struct tw_policy_hook_params *p, char *err,
                                           size_t errlen)
{
    struct tw_policy_hook *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        snprintf(err, errlen, "policy: out of memory");
        return NULL;
    }
    snprintf(h->path, sizeof(h->path), "%s", p->policy_path);
    if ((h->policy = tw_policy_load(p->policy_path, err, errlen)) == NULL)
        goto fail;
    if ((h->state = tw_policy_state_new(p->flows_max)) == NULL) {
        snprintf(err, errlen, "policy: out of memory for the flow state");
        goto fail;
    }
    if ((h->silence = tw_silence_new()) == NULL || tw_silence_bind(h->silence, h->policy) != 0) {
        snprintf(err, errlen, "policy: out of memory for the silence state");
        goto fail;
    }
    h->report_lag_us = p->report_lag_us;
    h->sinks = p->sinks;
    tw_policy_state_on_reached(h->state, on_reached, h);
    h->st.last_reload_ok = 1;
    return h;
fail:
    tw_policy_hook_close(h);
    return NULL;
}

/* Every alert leaves here: counted, and stamped with what decided it (the policy in force,
 * the GeoIP databases), so each alert names the rules it was judged by. */
static void emit(void *ctx, const struct tw_alert *a)
{
    struct tw_policy_hook *h = ctx;
    struct tw_alert stamped = *a;

    h->st.alerts++;
    if (a->kind < TW_ALERT__COUNT)
        h->st.by_kind[a->kind]++;
    snprintf(stamped.policy_sha256, sizeof(stamped.policy_sha256), "%s",
             tw_policy_sha256(h->policy));
    snprintf(stamped.geoip_sha256, sizeof(stamped.geoip_sha256), "%s", h->geoip_sha256);
    tw_sinks_alert(h->sinks, &stamped);
}

void tw_policy_hook_emit(struct tw_policy_hook *h, const struct tw_alert *a)
{
    emit(h, a);
}

void tw_policy_hook_set_geoip_sha256(struct tw_policy_hook *h, const char *hex)
{
    snprintf(h->geoip_sha256, sizeof(h->geoip_sha256), "%s", hex ? hex : "");
}

const char *tw_policy_hook_geoip_sha256(const struct tw_policy_hook *h)
{
    return h->geoip_sha256;
}

void tw_policy_hook_event(void *ctx, const struct tw_flow_record *r)
{
    struct tw_policy_hook *h = ctx;
    struct tw_policy_ends ends;

    tw_policy_evaluate_ends(h->policy, h->state, r, emit, h, &ends);
    tw_silence_activity(h->silence, r);
    if (r->event != TW_EVENT_END || !tw_sinks_takes(h->sinks, TW_TAKES_SUMMARY))
        return;
    /* summaries: the whole flow once, for each end that is equipment */
    for (int client = 1; client >= 0; client--) {
        const char *eq = client ? ends.src : ends.dst;
        struct tw_summary_item it;
        if (eq == NULL)
            continue;
        tw_summary_item_from_record(&it, r, eq, client);
        h->st.summaries++;
        tw_sinks_summary(h->sinks, &it);
    }
}

int tw_policy_hook_reload(struct tw_policy_hook *h, char *err, size_t errlen)
{
    return tw_policy_hook_reload_from(h, h->path, err, errlen);
}

int tw_policy_hook_reload_from(struct tw_policy_hook *h, const char *path, char *err,
                               size_t errlen)
{
    struct tw_policy *p = tw_policy_load(path, err, errlen);

    if (p == NULL) {
        h->st.reload_errors++;
        h->st.last_reload_ok = 0;
        return -1;
    }
    if (tw_silence_bind(h->silence, p) != 0) {
        snprintf(err, errlen, "%s: out of memory for the silence state", path);
        tw_policy_free(p);
        h->st.reload_errors++;
        h->st.last_reload_ok = 0;
        return -1;
    }
    if (path != h->path)
        snprintf(h->path, sizeof(h->path), "%s", path);
    /* the hook runs on this thread only: after this line every event sees the new policy */
    struct tw_policy *old = h->policy;
    h->policy = p;
    tw_policy_free(old);
    h->st.reloads++;
    h->st.last_reload_ok = 1;
    return 0;
}

const struct tw_policy *tw_policy_hook_policy(const struct tw_policy_hook *h)
{
    return h->policy;
}

void tw_policy_hook_get_stats(const struct tw_policy_hook *h, struct tw_policy_hook_stats *out)
{
    struct tw_policy_state_stats ss;

    *out = h->st;
    tw_policy_state_get_stats(h->state, &ss);
    out->evicted = ss.evicted;
    out->reached_forgotten = ss.reached_forgotten;
    out->devices = ss.devices;
    out->devices_evicted = ss.devices_evicted;
}

struct tw_policy_state *tw_policy_hook_state(struct tw_policy_hook *h)
{
    return h->state;
}

void tw_policy_hook_summary(const struct tw_policy_hook *h, FILE *out)
{
    struct tw_policy_hook_stats st;
    int any = 0;

    tw_policy_hook_get_stats(h, &st);
    fprintf(out, "  alerts               %" PRIu64, st.alerts);
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        if (st.by_kind[k]) {
            fprintf(out, "%s%s %" PRIu64, any ? ", " : " (", tw_alert_kind_name(k), st.by_kind[k]);
            any = 1;
        }
    fprintf(out, "%s\n", any ? ")" : "");
    if (st.devices || st.devices_evicted)
        fprintf(out, "  unknown devices      %" PRIu64 " remembered, %" PRIu64
                     " forgotten (table full)\n", st.devices, st.devices_evicted);
    if (h->sinks != NULL)
        tw_sinks_stats(h->sinks, out, TW_TAKES_ALERTS);
    if (st.reached_forgotten)
        fprintf(out, "  cross_border memory  %" PRIu64 " countries/ASNs forgotten (full)\n",
                st.reached_forgotten);
    struct tw_silence_stats ss;
    tw_silence_get_stats(h->silence, &ss);
    if (ss.equipment_silent || ss.mirror_silent)
        fprintf(out, "  silent at the end    %" PRIu64 " equipment%s\n", ss.equipment_silent,
                ss.mirror_silent ? ", the mirror" : "");
    if (st.reloads || st.reload_errors)
        fprintf(out, "  policy reloads       %" PRIu64 " (failed %" PRIu64 ")\n", st.reloads,
                st.reload_errors);
    /* which rules judged this run's alerts (the last policy loaded) */
    fprintf(out, "  policy sha256        %s\n", tw_policy_sha256(h->policy));
    fprintf(out, "  geoip sha256         %s\n", h->geoip_sha256[0] ? h->geoip_sha256 : "-");
}

uint64_t tw_policy_hook_gap_threshold_us(const struct tw_policy_hook *h)
{
    return tw_silence_gap_threshold_us(h->policy);
}

uint64_t tw_policy_hook_clock(void *ctx, const struct tw_silence_clock *clk,
                              const uint64_t (*gaps)[2], unsigned ngaps)
{
    struct tw_policy_hook *h = ctx;
    struct tw_silence_clock c = *clk;

    for (unsigned i = 0; i < ngaps; i++)
        tw_silence_gap(h->silence, gaps[i][0], gaps[i][1], emit, h);
    c.report_lag_us = h->report_lag_us;
    tw_silence_tick(h->silence, &c, emit, h);
    return tw_policy_hook_gap_threshold_us(h);
}

void tw_policy_hook_close(struct tw_policy_hook *h)
{
    if (h == NULL)
        return;
    tw_silence_free(h->silence);
    tw_policy_state_free(h->state);
    tw_policy_free(h->policy);
    free(h);
}
