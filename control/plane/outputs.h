/* outputs.h - the control plane's outputs, opened from the configuration and the options
 * into the list of sinks (control/store/sink.h) the control loop and the policy hook feed:
 *   --flows-jsonl           JSON lines of finished flows       (sink_jsonl.c)
 *   redis.url               flow records and the run's counters (sink_redis_flows.c)
 *   --alerts-jsonl          JSON lines of alerts                (sink_jsonl.c)
 *   redis.url with a policy alerts and summaries                (sink_redis_alerts.c)
 *   --ipfix / ipfix.collector  finished flows to an IPFIX collector (sink_ipfix.c)
 *   alerts_syslog.target    alerts as RFC 5424 syslog messages  (sink_syslog.c)
 *   redis.url               completeness statements             (sink_redis_statements.c)
 *   evidence.witness        the seals' hashes to a witness      (sink_witness.c)
 * One row each in outputs.c; a new output (IPFIX) is one more row.
 */
#ifndef TW_OUTPUTS_H
#define TW_OUTPUTS_H

#include <stddef.h>

#include "control/plane/config.h"
#include "control/store/redis_conn.h"
#include "control/store/sink.h"

struct tw_sensor_info;
struct tw_inventory;
struct tw_evlog;

struct tw_outputs_params {
    const struct tw_config *cfg;
    const struct tw_redis_target *redis; /* redis.url with credentials and TLS (NULL: none) */
    const char *flows_jsonl;  /* --flows-jsonl FILE ("-" = stdout), NULL = off */
    const char *alerts_jsonl; /* --alerts-jsonl FILE, NULL = off (needs a policy) */
    int policy;               /* a policy is loaded: alerts and summaries go to Redis too */
    const char *key_namespace; /* the sensor's keys: "<bank>/<sensor>" or the sensor
                               * (fleet_keys.h); NULL = cfg->sensor */
    const struct tw_sensor_info *registry; /* registered with the flows' counters; NULL: no */
    const struct tw_inventory *inventory; /* the equipment inventory published with them
                                           * (control/store/inventory.h); NULL: none */
    struct tw_evlog *evidence; /* signing.key: the chain both Redis writers feed (evidence_log.h);
                                * NULL: not signing */
    const struct tw_redis_target *witness; /* evidence.witness with its credentials (NULL:
                                            * none): the seals of evidence are witnessed */
};

/* Opens every output the configuration and options name into l (tw_sinks_init first).
 * Returns 0, or -1 with a one-line reason in err ("--flows-jsonl PATH: No such file or
 * directory", a bad Redis URL...); what was opened is closed again. */
int tw_outputs_open(struct tw_sinks *l, const struct tw_outputs_params *p, char *err,
                    size_t errlen);

/* 1 when an output writes to stdout (the summary then goes to stderr). */
int tw_outputs_use_stdout(const struct tw_sinks *l);

#endif
