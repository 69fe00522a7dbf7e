/* policy_hook.h - the policy on the control plane: the tw_event_hook that evaluates every flow
 * event, sends alerts to --alerts-jsonl and Redis, feeds the per-equipment summaries on END
 * events, and swaps in a reloaded policy (SIGHUP) without stopping anything.
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
#include "control/store/alert_writer.h"
#include "control/policy/policy.h"

struct tw_policy_hook_params {
    const char *policy_path;   /* loaded now and on every reload */
    const char *sensor;
    const char *alerts_jsonl;  /* file for alerts as JSON lines, "-" = stdout, NULL = off */
    const char *redis_url;     /* NULL or "" = no Redis */
    uint32_t retention_s;
    uint32_t hot_window_s;  /* how long a flow's "already summed" guard lives */
    uint32_t batch, buffer_items, flush_ms;
    uint32_t flows_max;        /* concurrent equipment flows the dedupe table holds */
    const char *run_dir;       /* where alerts left at the end of a run wait (NULL = nowhere) */
};

struct tw_policy_hook_stats {
    uint64_t alerts;                    /* emitted */
    uint64_t by_kind[TW_ALERT__COUNT];
    uint64_t jsonl_written, jsonl_errors;
    uint64_t summaries;                 /* summary items queued */
    uint64_t store_refused;             /* items the Redis buffer could not take */
    uint64_t reloads, reload_errors;
    uint64_t evicted;                   /* dedupe entries pushed out of the full table */
};

struct tw_policy_hook;

/* Loads the policy and opens the outputs. Returns the hook, or NULL with a one-line message
 * in err (the policy's "FILE:LINE: ..." error, or why an output could not be opened). */
struct tw_policy_hook *tw_policy_hook_open(const struct tw_policy_hook_params *p, char *err,
                                           size_t errlen);

/* The tw_event_hook: ctx is the hook. */
void tw_policy_hook_event(void *ctx, const struct tw_flow_record *r);

/* Loads the policy file again and, when it is valid, makes it the one in use. Returns 0, or
 * -1 with the error in err (the old policy stays). */
int tw_policy_hook_reload(struct tw_policy_hook *h, char *err, size_t errlen);

/* Does the Redis I/O that is due (now_ms monotonic). */
void tw_policy_hook_poll(struct tw_policy_hook *h, uint64_t now_ms);

/* Flushes the JSON lines and writes what is queued for Redis for at most timeout_ms. What
 * did not reach Redis then is saved in the hold file for the next start (*held items).
 * Returns the number of items neither written nor saved (0 without Redis). */
uint64_t tw_policy_hook_drain(struct tw_policy_hook *h, uint64_t timeout_ms, uint64_t *held);

/* Items an earlier run left in the hold file, queued first at open (0 without Redis). */
uint64_t tw_policy_hook_recovered(const struct tw_policy_hook *h);

/* The hold file's path ("" without Redis or run_dir). */
const char *tw_policy_hook_hold_path(const struct tw_policy_hook *h);

const struct tw_policy *tw_policy_hook_policy(const struct tw_policy_hook *h);
void tw_policy_hook_get_stats(const struct tw_policy_hook *h, struct tw_policy_hook_stats *out);

/* Prints the alert lines of the end-of-run summary. */
void tw_policy_hook_summary(const struct tw_policy_hook *h, FILE *out);

/* Closes the outputs and frees everything. NULL is fine. */
void tw_policy_hook_close(struct tw_policy_hook *h);

#endif
