/* policy_hook.h - the policy on the control plane: the tw_event_hook that evaluates every flow
 * event, hands alerts and, on END events, the per-equipment summary items to the outputs
 * (control/store/sink.h: --alerts-jsonl, Redis), and swaps in a reloaded policy (SIGHUP)
 * without stopping anything.
 *
 * Everything here runs on the control-plane lcore: the dataplane never waits for it. A reload
 * loads the new policy fully first; only then is the pointer the hook reads replaced (same
 * thread, between two events), so an event is evaluated by the old policy or the new one,
 * never by half of each. The evaluation state (dedupe, daily totals) is kept across reloads.
 */
#ifndef TW_POLICY_HOOK_H
#define TW_POLICY_HOOK_H

#include <stdint.h>
#include <stdio.h>

#include "dataplane/flow_record.h"
#include "control/store/sink.h"
#include "control/policy/policy.h"
#include "control/policy/silence.h"

struct tw_policy_hook_params {
    const char *policy_path;   /* loaded now and on every reload */
    uint32_t flows_max;        /* concurrent equipment flows the dedupe table holds */
    struct tw_sinks *sinks;    /* the outputs alerts and summary items go to (NULL = none);
                                * not owned by the hook */
    uint64_t report_lag_us;    /* active_timeout + idle_timeout: how late a flow's activity
                                * may be heard of (silence.h) */
};

struct tw_policy_hook_stats {
    uint64_t alerts;                    /* emitted */
    uint64_t by_kind[TW_ALERT__COUNT];
    uint64_t summaries;                 /* summary items handed to the outputs */
    uint64_t reloads, reload_errors;
    int last_reload_ok;                 /* 1 when the last reload (or the load at start) worked */
    uint64_t evicted;                   /* dedupe entries pushed out of the full table */
    uint64_t reached_forgotten;         /* cross_border memory entries forgotten (full) */
    uint64_t devices;                   /* unknown devices remembered (one alert a day) */
    uint64_t devices_evicted;           /* ... forgotten to make room: may alert twice a day */
};

struct tw_policy_hook;

/* Loads the policy. Returns the hook, or NULL with a one-line message in err (the policy's
 * "FILE:LINE: ..." error, or no memory). */
struct tw_policy_hook *tw_policy_hook_open(const struct tw_policy_hook_params *p, char *err,
                                           size_t errlen);

/* The tw_event_hook: ctx is the hook. */
void tw_policy_hook_event(void *ctx, const struct tw_flow_record *r);

/* Loads the policy file again and, when it is valid, makes it the one in use. Returns 0, or
 * -1 with the error in err (the old policy stays). */
int tw_policy_hook_reload(struct tw_policy_hook *h, char *err, size_t errlen);

/* The same from another file (the configuration's policy key changed): on success that file
 * is the one later reloads read. */
int tw_policy_hook_reload_from(struct tw_policy_hook *h, const char *path, char *err,
                               size_t errlen);

const struct tw_policy *tw_policy_hook_policy(const struct tw_policy_hook *h);

/* Hands an alert that belongs to no flow event (unknown_device, silent_equipment,
 * equipment_back, mirror_silent, mirror_back: flow_id 0, flow fields empty, guard_period set)
 * to the outputs, counted and stamped as the policy's own alerts are: policy_sha256 and
 * geoip_sha256 are overwritten with those in force. */
void tw_policy_hook_emit(struct tw_policy_hook *h, const struct tw_alert *a);

/* The GeoIP databases in force (hex SHA-256, or "" or NULL for none): stamped on every alert
 * from now on and printed in the summary. */
void tw_policy_hook_set_geoip_sha256(struct tw_policy_hook *h, const char *hex);
const char *tw_policy_hook_geoip_sha256(const struct tw_policy_hook *h);

/* The evaluation state (to seed cross_border's memory at start, reached_load.h). */
struct tw_policy_state *tw_policy_hook_state(struct tw_policy_hook *h);
void tw_policy_hook_get_stats(const struct tw_policy_hook *h, struct tw_policy_hook_stats *out);

/* The silence rules' clock (control/policy/silence.h), called by the control loop every
 * iteration with ctx = the hook: decides equipment and mirror silences up to clk, and turns
 * the ngaps holes found in a replay's packet times (start, end) into mirror_silent and
 * mirror_back. Returns the shortest hole the capture source must report: mirror_silent_after
 * in microseconds, 0 when mirror_silent is disabled. */
uint64_t tw_policy_hook_clock(void *ctx, const struct tw_silence_clock *clk,
                              const uint64_t (*gaps)[2], unsigned ngaps);

/* What tw_policy_hook_clock returns, before the run starts. */
uint64_t tw_policy_hook_gap_threshold_us(const struct tw_policy_hook *h);

/* Prints the alert lines of the end-of-run summary, with those of the outputs that take
 * alerts. */
void tw_policy_hook_summary(const struct tw_policy_hook *h, FILE *out);

/* Frees everything (not the outputs). NULL is fine. */
void tw_policy_hook_close(struct tw_policy_hook *h);

#endif
