/* outputs.c - the outputs, opened from the configuration and options (see outputs.h). */
#include "control/plane/outputs.h"

#include <stdio.h>

#include "control/store/store.h"
#include "control/store/witness_writer.h"

static int open_flows_jsonl(struct tw_sink *s, const struct tw_outputs_params *p, char *err,
                            size_t errlen)
{
    return tw_sink_jsonl_open(s, p->flows_jsonl, TW_TAKES_END, "--flows-jsonl", err, errlen);
}

static int open_alerts_jsonl(struct tw_sink *s, const struct tw_outputs_params *p, char *err,
                             size_t errlen)
{
    return tw_sink_jsonl_open(s, p->alerts_jsonl, TW_TAKES_ALERT, "--alerts-jsonl", err, errlen);
}

/* What both Redis writers take from the [redis] section. */
static struct tw_writer_params writer_params(const struct tw_outputs_params *p)
{
    const struct tw_config *c = p->cfg;

    return (struct tw_writer_params){
        .url = c->redis.url, .target = p->redis, .sensor = p->key_namespace ? p->key_namespace : c->sensor,
        .retention_s = c->redis.retention_s,
        .batch = c->redis.batch, .flush_ms = c->redis.flush_ms, .run_dir = c->run_dir,
    };
}

static int open_redis_flows(struct tw_sink *s, const struct tw_outputs_params *p, char *err,
                            size_t errlen)
{
    const struct tw_config *c = p->cfg;
    struct tw_store_params sp = {
        .w = writer_params(p), .hot_window_s = c->redis.hot_window_s, .format = c->redis.format,
        .quiet_posts = c->redis.quiet_posts,
        .buffer_records = c->redis.buffer_records, .spool_records = c->redis.spool_file_records,
        .registry = p->registry, .inventory = p->inventory, .evidence = p->evidence,
    };
    return tw_sink_redis_flows_open(s, &sp, err, errlen);
}

static int open_redis_alerts(struct tw_sink *s, const struct tw_outputs_params *p, char *err,
                             size_t errlen)
{
    const struct tw_config *c = p->cfg;
    struct tw_alert_store_params ap = {
        .w = writer_params(p), .guard_ttl_s = c->redis.hot_window_s,
        .buffer_items = c->redis.alert_buffer, .evidence = p->evidence,
    };
    return tw_sink_redis_alerts_open(s, &ap, err, errlen);
}

/* statements are few (one a statement_interval): a small buffer holds an hour's outage many
 * times over, and the hold file keeps the rest */
static int open_redis_statements(struct tw_sink *s, const struct tw_outputs_params *p,
                                 char *err, size_t errlen)
{
    struct tw_alert_store_params ap = {.w = writer_params(p), .buffer_items = 4096};
    ap.w.batch = 16;
    return tw_sink_redis_statements_open(s, &ap, err, errlen);
}

static int open_ipfix(struct tw_sink *s, const struct tw_outputs_params *p, char *err,
                      size_t errlen)
{
    const struct tw_config *c = p->cfg;
    struct tw_ipfix_params ip = {
        .collector = c->ipfix.collector, .observation_domain = c->ipfix.observation_domain,
        .template_interval_s = c->ipfix.template_interval_s, .max_rate = c->ipfix.max_rate,
        .queue = c->ipfix.queue, .mtu = c->ipfix.mtu,
    };
    return tw_sink_ipfix_open(s, &ip, err, errlen);
}

static int open_alerts_syslog(struct tw_sink *s, const struct tw_outputs_params *p, char *err,
                              size_t errlen)
{
    const struct tw_config *c = p->cfg;
    struct tw_syslog_params sp = {.target = c->alerts_syslog.target,
                                  .facility = c->alerts_syslog.facility, .sensor = c->sensor};
    return tw_sink_syslog_open(s, &sp, err, errlen);
}

/* last of the rows: its drain follows the flow writer's, which makes the run's last seal */
static int open_witness(struct tw_sink *s, const struct tw_outputs_params *p, char *err,
                        size_t errlen)
{
    struct tw_witness_params wp = {
        .target = p->witness, .sensor = p->key_namespace ? p->key_namespace : p->cfg->sensor,
        .run_dir = p->cfg->run_dir, .evidence = p->evidence,
    };
    return tw_sink_witness_open(s, &wp, err, errlen);
}

static int has_flows_jsonl(const struct tw_outputs_params *p) { return p->flows_jsonl != NULL; }
static int has_alerts_jsonl(const struct tw_outputs_params *p) { return p->alerts_jsonl != NULL; }
static int has_redis(const struct tw_outputs_params *p) { return p->cfg->redis.url[0] != '\0'; }
static int has_alerts_syslog(const struct tw_outputs_params *p)
{
    return p->policy && p->cfg->alerts_syslog.target[0] != '\0';
}
static int has_redis_alerts(const struct tw_outputs_params *p) { return p->policy && has_redis(p); }
static int has_witness(const struct tw_outputs_params *p)
{
    return p->witness != NULL && p->evidence != NULL;
}
static int has_ipfix(const struct tw_outputs_params *p) { return p->cfg->ipfix.collector[0] != '\0'; }

/* The outputs, in the order the summary prints them (flows first, then alerts). */
static const struct {
    int (*wanted)(const struct tw_outputs_params *p);
    int (*open)(struct tw_sink *s, const struct tw_outputs_params *p, char *err, size_t errlen);
} outputs[] = {
    {has_flows_jsonl, open_flows_jsonl},
    {has_redis, open_redis_flows},
    {has_alerts_jsonl, open_alerts_jsonl},
    {has_redis_alerts, open_redis_alerts},
    {has_ipfix, open_ipfix},
    {has_alerts_syslog, open_alerts_syslog},
    {has_redis, open_redis_statements},
    {has_witness, open_witness},
};

int tw_outputs_open(struct tw_sinks *l, const struct tw_outputs_params *p, char *err,
                    size_t errlen)
{
    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        struct tw_sink s;
        if (!outputs[i].wanted(p))
            continue;
        if (outputs[i].open(&s, p, err, errlen) != 0)
            goto fail;
        if (tw_sinks_add(l, &s) != 0) {
            snprintf(err, errlen, "too many outputs (at most %d)", TW_SINKS_MAX);
            goto fail;
        }
    }
    return 0;
fail:
    tw_sinks_close(l);
    return -1;
}

int tw_outputs_use_stdout(const struct tw_sinks *l)
{
    for (unsigned i = 0; i < l->n; i++)
        if (tw_sink_jsonl_is_stdout(&l->s[i]))
            return 1;
    return 0;
}
