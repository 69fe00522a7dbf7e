/* metrics_telemetry.c - the "/tapwatch/counters" telemetry command (see metrics_telemetry.h). */
#include "control/plane/metrics_telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

/* DPDK's callback has no context argument: the one board of the process. */
static struct tw_metrics_board *board;

static void add(struct rte_tel_data *d, const char *name, uint64_t v)
{
    rte_tel_data_add_dict_u64(d, name, v); /* past 256 entries DPDK refuses: left out */
}

static int counters_cmd(const char *cmd, const char *params, struct rte_tel_data *d)
{
    static const char *const event_names[4] = {"", "events_classified", "events_update",
                                               "events_end"};
    struct tw_metrics_snapshot *s = malloc(sizeof(*s));
    char name[RTE_TEL_MAX_STRING_LEN];

    (void)cmd;
    (void)params;
    rte_tel_data_start_dict(d);
    if (s == NULL || tw_metrics_board_read(board, s) != 0) {
        free(s);
        return 0; /* nothing published yet: an empty dict */
    }
    for (unsigned i = 0; i < TW_C__COUNT; i++)
        add(d, tw_counter_name(i), s->counters[i]);
    add(d, "imissed", s->imissed);
    add(d, "ierrors", s->ierrors);
    add(d, "rx_nombuf", s->rx_nombuf);
    add(d, "flows_active", s->active_flows);
    add(d, "event_ring_used", s->ring_used);
    add(d, "event_ring_size", s->ring_size);
    for (unsigned k = 1; k < 4; k++)
        add(d, event_names[k], s->events[k]);
    for (unsigned i = 0; i < s->n_sinks; i++)
        for (unsigned j = 0; j < s->sinks[i].n; j++) {
            const char *n = s->sinks[i].m[j].name;
            if (strncmp(n, "tapwatch_", 9) == 0)
                n += 9;
            snprintf(name, sizeof(name), "%s.%s", s->sinks[i].output, n);
            add(d, name, s->sinks[i].m[j].value);
        }
    if (s->policy) {
        for (unsigned k = 0; k < TW_ALERT__COUNT; k++) {
            snprintf(name, sizeof(name), "alerts.%s", tw_alert_kind_name(k));
            add(d, name, s->alerts_by_kind[k]);
        }
        add(d, "policy_reloads", s->reloads);
        add(d, "policy_reload_errors", s->reload_errors);
    }
    free(s);
    return 0;
}

int tw_metrics_telemetry_register(struct tw_metrics_board *b)
{
    board = b;
    return rte_telemetry_register_cmd(TW_TELEMETRY_CMD, counters_cmd,
                                      "tapwatch's counters (the figures of /metrics)") == 0
               ? 0 : -1;
}
