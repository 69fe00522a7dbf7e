/* statements.c - the sensor's completeness statements (see statements.h). */
#include "dataplane/clock.h"
#include "control/plane/statements.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/evidence/sign_key.h"
#include "control/plane/control_loop.h"
#include "control/plane/geoip_enrich.h"
#include "control/plane/log.h"
#include "control/plane/policy_hook.h"
#include "control/policy/policy.h"
#include "control/policy/policy_model.h"
#include "control/record/geoip.h"
#include "control/store/sink.h"
#include "dataplane/counters.h"

#define CLOCK_CHECK_US 1000000u /* the wall clock is compared with the monotonic one this often */

struct tw_statements {
    struct tw_statements_params p;
    char sensor[128];
    struct tw_sign_key key;
    int have_key;
    struct tw_sign_key previous; /* signing.previous_key, until the key_rotation is signed */
    int have_previous;
    uint8_t config_sha[32];
    int has_config;
    uint64_t run_us, n, made, signed_n;
    uint64_t last_wall_us;          /* the last statement's `to` */
    uint64_t last_mono_us;          /* when it was made (pacing) */
    uint64_t last_clock_check_us;
    struct tw_clock_watch clock;
    struct tw_statement_totals prev;
    int started;
};

static uint64_t mono_us(void)
{
    return tw_mono_ns() / 1000u;
}

static void hash_config(struct tw_statements *s)
{
    s->has_config = 0;
    if (s->p.config_path != NULL && s->p.config_path[0] != '\0')
        s->has_config = tw_sha256_file(s->p.config_path, s->config_sha, NULL) == 0;
}

struct tw_statements *tw_statements_open(const struct tw_statements_params *p, char *err,
                                         size_t errlen)
{
    struct tw_statements *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        snprintf(err, errlen, "statements: out of memory");
        return NULL;
    }
    s->p = *p;
    snprintf(s->sensor, sizeof(s->sensor), "%s", p->sensor);
    if (p->key_path != NULL && p->key_path[0] != '\0') {
        char why[256];
        if (tw_sign_key_load(p->key_path, &s->key, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "signing.key: %s", why);
            free(s);
            return NULL;
        }
        s->have_key = 1;
    }
    if (s->have_key && p->previous_key_path != NULL && p->previous_key_path[0] != '\0') {
        char why[256];
        if (tw_sign_key_load(p->previous_key_path, &s->previous, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "signing.previous_key: %s", why);
            tw_sign_key_wipe(&s->key);
            free(s);
            return NULL;
        }
        s->have_previous = 1;
    }
    hash_config(s);
    s->run_us = tw_wall_us();
    return s;
}

void tw_statement_fill(struct tw_statement *st, const struct tw_statement_totals *prev,
                       const struct tw_statement_totals *cur)
{
    /* counters only grow within a run; a source that restarts its own (a re-attached
     * interface) would make a difference negative: that interval says 0 */
#define D(f) (cur->f >= prev->f ? cur->f - prev->f : 0)
    st->received = D(received);
    st->parsed = D(parsed);
    st->dropped = D(dropped);
    st->imissed = D(imissed);
    st->ierrors = D(ierrors);
    st->rx_nombuf = D(rx_nombuf);
    st->tcp_gap_bytes = D(tcp_gap_bytes);
    st->tcp_acked_bytes = D(tcp_acked_bytes);
    st->tcp_flows_one_way = D(tcp_flows_one_way);
    st->tcp_flows_ended = D(tcp_flows_ended);
    st->flows_started = D(flows_started);
    st->flows_ended = D(flows_ended);
    st->gap_records = D(gap_records);
    st->records_lost = D(records_lost);
    for (unsigned i = 0; i < TW_STATEMENT_DROPS; i++)
        st->drops[i] = D(drops[i]);
#undef D
    st->records_from = prev->records;
    st->records_to = cur->records;
    st->alerts_from = prev->alerts;
    st->alerts_to = cur->alerts;
}

static void totals(struct tw_control *c, struct tw_statement_totals *t)
{
    struct tw_source_stats ss;
    struct tw_sink_metrics m[TW_SINKS_MAX];
    unsigned d = 0, nm;

    memset(t, 0, sizeof(*t));
    t->received = tw_control_counter(c, TW_C_RECEIVED);
    t->parsed = tw_control_counter(c, TW_C_PARSED);
    for (unsigned i = 0; i < TW_C__COUNT; i++) {
        if (!tw_counter_is_drop(i))
            continue;
        uint64_t v = tw_control_counter(c, i);
        t->dropped += v;
        if (d < TW_STATEMENT_DROPS)
            t->drops[d++] = v;
    }
    tw_pipeline_source_stats(c->pipeline, &ss);
    t->imissed = ss.imissed;
    t->ierrors = ss.ierrors;
    t->rx_nombuf = ss.rx_nombuf;
    t->tcp_gap_bytes = tw_control_counter(c, TW_C_TCP_GAP_BYTES);
    t->tcp_acked_bytes = tw_control_counter(c, TW_C_TCP_ACKED_BYTES);
    t->tcp_flows_one_way = tw_control_counter(c, TW_C_TCP_FLOWS_ONE_WAY);
    t->tcp_flows_ended = tw_control_counter(c, TW_C_TCP_FLOWS_ENDED);
    t->flows_started = tw_control_counter(c, TW_C_FLOWS_CREATED);
    t->flows_ended = tw_control_counter(c, TW_C_FLOWS_END_IDLE) +
                     tw_control_counter(c, TW_C_FLOWS_END_TCP_CLOSE) +
                     tw_control_counter(c, TW_C_FLOWS_END_EVICTED) +
                     tw_control_counter(c, TW_C_FLOWS_END_EOF) +
                     tw_control_counter(c, TW_C_FLOWS_END_SHUTDOWN);
    if (c->sinks == NULL)
        return;
    t->records = c->sinks->records_out;
    t->alerts = c->sinks->alerts_out;
    /* the store's gap records: its metrics are the only view the control plane has of it */
    nm = tw_sinks_metrics(c->sinks, m, TW_SINKS_MAX);
    for (unsigned i = 0; i < nm; i++) {
        if (strcmp(m[i].output, "redis-flows") != 0)
            continue;
        for (unsigned j = 0; j < m[i].n; j++) {
            if (strcmp(m[i].m[j].name, "tapwatch_gap_records_total") == 0)
                t->gap_records = m[i].m[j].value;
            else if (strcmp(m[i].m[j].name, "tapwatch_records_dropped_total") == 0)
                t->records_lost = m[i].m[j].value;
        }
    }
}

static void hashes(struct tw_statements *s, struct tw_statement *st)
{
    const char *hex;

    memcpy(st->config_sha, s->config_sha, 32);
    st->has_config = (uint8_t)s->has_config;
    if (s->p.policy != NULL) {
        hex = tw_policy_sha256(tw_policy_hook_policy(s->p.policy));
        st->has_policy = hex != NULL && tw_unhex(hex, st->policy_sha, 32) == 0;
    }
    if (s->p.geoip != NULL && tw_geoip_enrich_db(s->p.geoip) != NULL) {
        hex = tw_geoip_sha256(tw_geoip_enrich_db(s->p.geoip));
        st->has_geoip = hex != NULL && tw_unhex(hex, st->geoip_sha, 32) == 0;
    }
}

/* Makes, signs and hands out one statement closing the interval at wall time now_us. */
static void make(struct tw_statements *s, struct tw_control *c, enum tw_statement_kind kind,
                 uint64_t now_us, int64_t step_us)
{
    struct tw_statement st;
    struct tw_statement_totals cur;
    char text[TW_STATEMENT_JSON_MAX];
    int synced, len;

    memset(&st, 0, sizeof(st));
    totals(c, &cur);
    tw_statement_fill(&st, &s->prev, &cur);
    st.run_us = s->run_us;
    st.n = s->n;
    st.interval_s = s->p.interval_s;
    st.kind = (uint8_t)kind;
    /* a start statement covers the moment the run began; after a step back, the interval
     * cannot end before it began: from is clamped */
    st.from_us = kind == TW_ST_START ? now_us : s->last_wall_us;
    st.to_us = now_us;
    if (st.from_us > st.to_us)
        st.from_us = st.to_us;
    st.seq_first = st.seq_last = st.seq = TW_SEQ_NONE;
    st.clock_step_us = step_us;
    hashes(s, &st);
    tw_clock_sync_state(&synced, &st.clock_offset_us, &st.clock_maxerror_us,
                        &st.clock_esterror_us);
    st.clock_synced = (uint8_t)synced;
    if (s->p.on_seq)
        s->p.on_seq(s->p.hook_ctx, &st);
    if (tw_statement_sign(&st, s->sensor, s->have_key ? &s->key : NULL) != 0) {
        tw_log(TW_LOG_ERR, "statement %" PRIu64 ": cannot be written (sensor name)", s->n);
        return;
    }
    s->n++;
    s->made++;
    s->signed_n += st.is_signed;
    s->prev = cur;
    s->last_wall_us = now_us;
    s->last_mono_us = mono_us();
    /* chained first, then handed to its writer: the chain is in emit order, before any
     * spooling (the text is the one the writer renders from st, byte for byte) */
    if (s->p.on_statement &&
        (len = tw_statement_to_json(&st, s->sensor, text, sizeof(text))) >= 0)
        s->p.on_statement(s->p.hook_ctx, &st, text, (size_t)len);
    tw_sinks_statement(s->p.sinks, &st);
}

/* The key_rotation statement (statement.h): an instant at the start's `to`, closing no
 * interval (counters 0), signed by both keys; then the old key is wiped. */
static void rotate(struct tw_statements *s)
{
    struct tw_statement st;
    char text[TW_STATEMENT_JSON_MAX];
    int len;

    memset(&st, 0, sizeof(st));
    tw_statement_fill(&st, &s->prev, &s->prev);
    st.run_us = s->run_us;
    st.n = s->n;
    st.interval_s = s->p.interval_s;
    st.from_us = st.to_us = s->last_wall_us;
    st.seq_first = st.seq_last = TW_SEQ_NONE;
    int synced;
    tw_clock_sync_state(&synced, &st.clock_offset_us, &st.clock_maxerror_us,
                        &st.clock_esterror_us);
    st.clock_synced = (uint8_t)synced;
    st.kind = TW_ST_KEY_ROTATION;
    if (s->p.on_seq)
        s->p.on_seq(s->p.hook_ctx, &st);
    int rc = tw_statement_sign_rotation(&st, s->sensor, &s->key, &s->previous);
    tw_sign_key_wipe(&s->previous);
    s->have_previous = 0;
    if (rc != 0) {
        tw_log(TW_LOG_ERR, "statement %" PRIu64 ": cannot be written (sensor name)", s->n);
        return;
    }
    tw_log(TW_LOG_NOTICE, "key rotation: statement %" PRIu64 " names key %s and previous key "
                          "%s, signed by both; the previous key is wiped from memory", s->n,
           s->key.fpr, st.rot.previous_key);
    s->n++;
    s->made++;
    s->signed_n++;
    tw_sinks_statement(s->p.sinks, &st);
    if (s->p.on_statement &&
        (len = tw_statement_to_json(&st, s->sensor, text, sizeof(text))) >= 0)
        s->p.on_statement(s->p.hook_ctx, &st, text, (size_t)len);
}

void tw_statements_start(struct tw_statements *s, struct tw_control *c)
{
    if (s == NULL)
        return;
    s->started = 1;
    s->last_clock_check_us = mono_us();
    tw_clock_watch_step(&s->clock, tw_wall_us(), s->last_clock_check_us, TW_CLOCK_STEP_US, NULL);
    make(s, c, TW_ST_START, tw_wall_us(), 0);
    if (s->have_previous)
        rotate(s);
}

/* The clock_step alert: the sensor's own, raised whenever a policy is loaded (as the mirror
 * alerts are), unless its rules: section disables it; it is not counted among the policy's
 * rules (tw_policy_rule_count: its section does not need to exist). */
static void clock_alert(struct tw_statements *s, uint64_t now_us, int64_t step_us)
{
    const struct tw_policy *pol;
    struct tw_alert a;

    if (s->p.policy == NULL || (pol = tw_policy_hook_policy(s->p.policy)) == NULL ||
        !pol->rules[TW_ALERT_CLOCK_STEP].enabled)
        return;
    memset(&a, 0, sizeof(a));
    a.record_hour = TW_HOUR_UNKNOWN;
    a.ts_us = now_us;
    a.kind = TW_ALERT_CLOCK_STEP;
    a.severity = pol->rules[TW_ALERT_CLOCK_STEP].severity;
    a.guard_period = now_us / 1000000u;
    snprintf(a.detail, sizeof(a.detail), "the host's wall clock stepped %+.3f s against the "
             "monotonic clock", (double)step_us / 1e6);
    tw_policy_hook_emit(s->p.policy, &a);
}

void tw_statements_tick(struct tw_statements *s, struct tw_control *c)
{
    uint64_t now_mono, now_wall;
    int64_t step;

    if (s == NULL || !s->started)
        return;
    now_mono = mono_us();
    if (now_mono - s->last_clock_check_us >= CLOCK_CHECK_US) {
        now_wall = tw_wall_us();
        s->last_clock_check_us = now_mono;
        if (tw_clock_watch_step(&s->clock, now_wall, now_mono, TW_CLOCK_STEP_US, &step)) {
            tw_log(TW_LOG_WARNING, "the host's wall clock stepped %+.3f s: a clock_step "
                                   "statement closes the interval", (double)step / 1e6);
            make(s, c, TW_ST_CLOCK_STEP, now_wall, step);
            clock_alert(s, now_wall, step);
            return;
        }
    }
    if (now_mono - s->last_mono_us >= (uint64_t)s->p.interval_s * 1000000u)
        make(s, c, TW_ST_INTERVAL, tw_wall_us(), 0);
}

void tw_statements_reload(struct tw_statements *s, struct tw_control *c)
{
    if (s == NULL || !s->started)
        return;
    hash_config(s);
    make(s, c, TW_ST_RELOAD, tw_wall_us(), 0);
}

void tw_statements_stop(struct tw_statements *s, struct tw_control *c)
{
    if (s == NULL || !s->started)
        return;
    make(s, c, TW_ST_STOP, tw_wall_us(), 0);
    s->started = 0;
}

const char *tw_statements_signing(const struct tw_statements *s)
{
    return s != NULL && s->have_key ? s->key.fpr : "";
}

void tw_statements_counts(const struct tw_statements *s, uint64_t *made, uint64_t *signed_n)
{
    *made = s ? s->made : 0;
    *signed_n = s ? s->signed_n : 0;
}

void tw_statements_close(struct tw_statements *s)
{
    if (s == NULL)
        return;
    tw_sign_key_wipe(&s->key);
    tw_sign_key_wipe(&s->previous);
    free(s);
}
