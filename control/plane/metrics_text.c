/* metrics_text.c - Prometheus text format from a snapshot (see metrics_text.h). */
#include "control/plane/metrics_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/flow_record.h"

/* Appends to a buffer that may be too small: what does not fit is counted, not written. */
struct out {
    char *buf;
    size_t len, used;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = o->used < o->len ? o->len - o->used : 0;

    va_start(ap, fmt);
    int n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used += (size_t)n;
}

static void put_char(struct out *o, char c)
{
    if (o->used + 1 < o->len) {
        o->buf[o->used] = c;
        o->buf[o->used + 1] = '\0';
    }
    o->used++;
}

/* A label value (\\ \" \n escaped, as the format says) or, help=1, a HELP text (\\ \n). */
static void put_escaped(struct out *o, const char *s, int help)
{
    for (; *s; s++) {
        if (*s == '\\' || (*s == '"' && !help)) {
            put_char(o, '\\');
            put_char(o, *s);
        } else if (*s == '\n') {
            put_char(o, '\\');
            put_char(o, 'n');
        } else {
            put_char(o, *s);
        }
    }
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s ", name);
    put_escaped(o, help, 1);
    put(o, "\n# TYPE %s %s\n", name, type);
}

/* name{label="value"} v, or name v when label is NULL */
static void sample(struct out *o, const char *name, const char *label, const char *value,
                   uint64_t v)
{
    put(o, "%s", name);
    if (label != NULL) {
        put(o, "{%s=\"", label);
        put_escaped(o, value, 0);
        put(o, "\"}");
    }
    put(o, " %" PRIu64 "\n", v);
}

/* ---- the dataplane counters --------------------------------------------------------------- */

/* Which family counter i belongs to: its name, label and label value (NULL: no label). */
struct counter_family {
    const char *name, *help, *label, *value;
};

static void counter_family(unsigned i, struct counter_family *f)
{
    const char *n = tw_counter_name(i);

    *f = (struct counter_family){NULL, NULL, NULL, NULL};
    if (tw_counter_is_drop(i)) {
        *f = (struct counter_family){"tapwatch_packets_dropped_total",
                                     "Packets dropped by the dataplane, by reason", "reason", n};
    } else if (i == TW_C_RECEIVED || i == TW_C_PARSED) {
        *f = (struct counter_family){"tapwatch_packets_total",
                                     "Packets received and parsed (received = parsed + dropped)",
                                     "stage", n};
    } else if (strncmp(n, "flows_end_", 10) == 0) {
        *f = (struct counter_family){"tapwatch_flows_ended_total", "Flows ended, by reason",
                                     "reason", n + 10};
    } else if (i == TW_C_FLOWS_CLASSIFIED || i == TW_C_FLOWS_GUESSED || i == TW_C_FLOWS_UNKNOWN) {
        *f = (struct counter_family){"tapwatch_ndpi_flows_total",
                                     "Flows by nDPI's result: classified, guessed or unknown",
                                     "result", n + 6};
    }
}

/* Families with a label, each once, in the order the list first names them. */
static void labelled_counters(struct out *o, const struct tw_metrics_snapshot *s)
{
    const char *done[TW_C__COUNT];
    unsigned n_done = 0;

    for (unsigned i = 0; i < TW_C__COUNT; i++) {
        struct counter_family f;
        unsigned k;

        counter_family(i, &f);
        if (f.name == NULL)
            continue;
        for (k = 0; k < n_done && strcmp(done[k], f.name) != 0; k++)
            ;
        if (k < n_done)
            continue;
        done[n_done++] = f.name;
        family(o, f.name, "counter", f.help);
        for (unsigned j = i; j < TW_C__COUNT; j++) {
            struct counter_family g;
            counter_family(j, &g);
            if (g.name != NULL && strcmp(g.name, f.name) == 0)
                sample(o, g.name, g.label, g.value, s->counters[j]);
        }
    }
}

/* The rest: tapwatch_<name>_total, one family each. */
static void plain_counters(struct out *o, const struct tw_metrics_snapshot *s)
{
    for (unsigned i = 0; i < TW_C__COUNT; i++) {
        struct counter_family f;
        char name[96], help[128];

        counter_family(i, &f);
        if (f.name != NULL)
            continue;
        snprintf(name, sizeof(name), "tapwatch_%s_total", tw_counter_name(i));
        snprintf(help, sizeof(help), "Dataplane counter %s (dataplane/counters.h)",
                 tw_counter_name(i));
        family(o, name, "counter", help);
        sample(o, name, NULL, NULL, s->counters[i]);
    }
}

/* ---- the outputs' pairs, grouped by name across sinks --------------------------------------- */

static int seen_before(const struct tw_metrics_snapshot *s, unsigned si, unsigned mi)
{
    const char *name = s->sinks[si].m[mi].name;

    for (unsigned i = 0; i <= si; i++)
        for (unsigned j = 0; j < (i == si ? mi : s->sinks[i].n); j++)
            if (strcmp(s->sinks[i].m[j].name, name) == 0)
                return 1;
    return 0;
}

static void sink_metrics(struct out *o, const struct tw_metrics_snapshot *s)
{
    for (unsigned si = 0; si < s->n_sinks; si++)
        for (unsigned mi = 0; mi < s->sinks[si].n; mi++) {
            const struct tw_sink_metric *m = &s->sinks[si].m[mi];
            if (seen_before(s, si, mi))
                continue;
            family(o, m->name, m->gauge ? "gauge" : "counter", m->help);
            for (unsigned i = si; i < s->n_sinks; i++)
                for (unsigned j = 0; j < s->sinks[i].n; j++)
                    if (strcmp(s->sinks[i].m[j].name, m->name) == 0)
                        sample(o, m->name, "output", s->sinks[i].output, s->sinks[i].m[j].value);
        }
}

size_t tw_metrics_render(const struct tw_metrics_snapshot *s, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    static const char *const event_names[4] = {NULL, "classified", "update", "end"};

    if (len)
        buf[0] = '\0';
    family(&o, "tapwatch_build_info", "gauge", "tapwatch's version; the value is always 1");
    sample(&o, "tapwatch_build_info", "version", s->version ? s->version : "", 1);
    family(&o, "tapwatch_process_start_time_seconds", "gauge",
           "Start time of the process since the epoch, in seconds");
    put(&o, "tapwatch_process_start_time_seconds %.3f\n", s->start_time_s);

    labelled_counters(&o, s);
    family(&o, "tapwatch_source_packets_lost_total", "counter",
           "Packets the capture source lost below tapwatch (NIC, kernel, packet pool)");
    sample(&o, "tapwatch_source_packets_lost_total", "reason", "imissed", s->imissed);
    sample(&o, "tapwatch_source_packets_lost_total", "reason", "ierrors", s->ierrors);
    sample(&o, "tapwatch_source_packets_lost_total", "reason", "rx_nombuf", s->rx_nombuf);
    plain_counters(&o, s);
    family(&o, "tapwatch_link_events_total", "counter",
           "Changes of the watched interface: link down, link up, removal");
    sample(&o, "tapwatch_link_events_total", "event", "down", s->link_downs);
    sample(&o, "tapwatch_link_events_total", "event", "up", s->link_ups);
    sample(&o, "tapwatch_link_events_total", "event", "removed", s->link_removals);
    if (s->link_up >= 0) {
        family(&o, "tapwatch_link_up", "gauge", "1 while the watched interface's link is up");
        sample(&o, "tapwatch_link_up", NULL, NULL, (uint64_t)s->link_up);
    }

    family(&o, "tapwatch_flows_active", "gauge", "Flows in the workers' flow tables");
    sample(&o, "tapwatch_flows_active", NULL, NULL, s->active_flows);
    family(&o, "tapwatch_flow_events_total", "counter",
           "Flow events the control plane handled, by kind");
    for (unsigned k = TW_EVENT_CLASSIFIED; k <= TW_EVENT_END; k++)
        sample(&o, "tapwatch_flow_events_total", "kind", event_names[k], s->events[k]);
    family(&o, "tapwatch_event_ring_used_events", "gauge",
           "Flow events waiting in the workers' rings");
    sample(&o, "tapwatch_event_ring_used_events", NULL, NULL, s->ring_used);
    family(&o, "tapwatch_event_ring_size_events", "gauge",
           "Capacity of the workers' event rings, in events");
    sample(&o, "tapwatch_event_ring_size_events", NULL, NULL, s->ring_size);

    sink_metrics(&o, s);

    if (s->policy) {
        family(&o, "tapwatch_alerts_total", "counter", "Alerts the policy raised, by kind");
        for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
            sample(&o, "tapwatch_alerts_total", "kind", tw_alert_kind_name(k),
                   s->alerts_by_kind[k]);
        family(&o, "tapwatch_policy_summaries_total", "counter",
               "Per-equipment summary items handed to the outputs");
        sample(&o, "tapwatch_policy_summaries_total", NULL, NULL, s->summaries);
        family(&o, "tapwatch_policy_reloads_total", "counter",
               "Policy reloads (SIGHUP), by result");
        sample(&o, "tapwatch_policy_reloads_total", "result", "success", s->reloads);
        sample(&o, "tapwatch_policy_reloads_total", "result", "failure", s->reload_errors);
        family(&o, "tapwatch_policy_last_reload_success", "gauge",
               "1 when the last policy load or reload worked");
        sample(&o, "tapwatch_policy_last_reload_success", NULL, NULL, s->last_reload_ok != 0);
        /* what alerts are stamped with: a change of file shows as a new series */
        family(&o, "tapwatch_policy_info", "gauge",
               "SHA-256 of the policy file in force; the value is always 1");
        sample(&o, "tapwatch_policy_info", "sha256", s->policy_sha256, 1);
        family(&o, "tapwatch_geoip_info", "gauge",
               "SHA-256 of the GeoIP databases in force (empty without); the value is always 1");
        sample(&o, "tapwatch_geoip_info", "sha256", s->geoip_sha256, 1);
    }
    if (s->geoip) {
        family(&o, "tapwatch_geoip_records_total", "counter",
               "Flow events given countries and ASNs");
        sample(&o, "tapwatch_geoip_records_total", NULL, NULL, s->geoip_records);
        family(&o, "tapwatch_geoip_cache_hits_total", "counter",
               "Of those, answered from the per-flow cache");
        sample(&o, "tapwatch_geoip_cache_hits_total", NULL, NULL, s->geoip_cache_hits);
        family(&o, "tapwatch_geoip_lookups_total", "counter",
               "Addresses looked up in the GeoIP databases");
        sample(&o, "tapwatch_geoip_lookups_total", NULL, NULL, s->geoip_lookups);
        family(&o, "tapwatch_geoip_errors_total", "counter",
               "Lookups a database could not answer (left unknown)");
        sample(&o, "tapwatch_geoip_errors_total", NULL, NULL, s->geoip_errors);
        family(&o, "tapwatch_geoip_refused_answers_total", "counter",
               "Database answers that were not a country code or a 32-bit ASN (left unknown)");
        sample(&o, "tapwatch_geoip_refused_answers_total", NULL, NULL, s->geoip_refused);
    }
    return o.used;
}
