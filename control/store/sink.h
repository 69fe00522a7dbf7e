/* sink.h - every output of the control plane behind one small table (Suricata's LogFileCtx,
 * Redis's ae backends): JSON lines (sink_jsonl.c), Redis flow records (sink_redis_flows.c),
 * Redis alerts and summaries (sink_redis_alerts.c), IPFIX to a collector (sink_ipfix.c). A new
 * output is one more file and one more row in control/plane/outputs.c.
 *
 *   control loop ──flow event──> tw_sinks_flow ─┐  encoded to JSON once per event,
 *   policy hook ──alert──────> tw_sinks_alert ─┼─> then handed to each sink that takes it
 *               ──summary item─> tw_sinks_summary┘
 *
 * A sink says what it takes (TW_TAKES_* bits) when it is added; the list skips the others, and
 * encodes a record or an alert only when a sink that takes it reads JSON (ops->json).
 * Everything runs on the control lcore; no op may wait (drain excepted, at exit).
 */
#ifndef TW_SINK_H
#define TW_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/record/alert.h"
#include "control/record/record_json.h"
#include "control/store/alert_writer.h"
#include "dataplane/flow_record.h"

enum {
    TW_TAKES_UPDATE = 1u << 0,   /* flow UPDATE events */
    TW_TAKES_END = 1u << 1,      /* flow END events */
    TW_TAKES_ALERT = 1u << 2,
    TW_TAKES_SUMMARY = 1u << 3,  /* per-equipment summary items (END of equipment flows) */
    TW_TAKES_COUNTERS = 1u << 4, /* the run's counters, every second and at the end */
    TW_TAKES_STATEMENT = 1u << 5, /* completeness statements (control/plane/statements.h) */
    TW_TAKES_SEALS = 1u << 6,     /* nothing from the list: the evidence log hands the witness
                                   * its seals (sink_witness.c); the bit places its summary line */
};
#define TW_TAKES_FLOWS (TW_TAKES_UPDATE | TW_TAKES_END | TW_TAKES_COUNTERS)
#define TW_TAKES_ALERTS (TW_TAKES_ALERT | TW_TAKES_SUMMARY)

/* What a reload may change in a running sink (README "Reloading"): the next batch is made
 * with the new values; batches already made keep theirs. */
struct tw_sink_tuning {
    uint32_t batch;    /* redis.batch: items per pipelined write (clamped to the buffer) */
    uint32_t flush_ms; /* redis.flush_interval */
};
/* A sink's figures for the metrics endpoint (control/plane/metrics_text.c): name/value pairs,
 * each rendered as `name{output="<output>"} value`. Names are full Prometheus names
 * ("tapwatch_records_written_total": _total for counters) and, like help, string literals:
 * the snapshot that carries them is read by another thread after the sink has moved on. */
#define TW_SINK_METRICS_MAX 16
struct tw_sink_metric {
    const char *name;
    const char *help;
    int gauge;     /* 1: a gauge (may go down), 0: a counter */
    uint64_t value;
};
struct tw_sink_metrics {
    char output[32];  /* the output label: "redis-flows", "flows-jsonl" */
    unsigned n;
    struct tw_sink_metric m[TW_SINK_METRICS_MAX];
};
/* Appends one pair (ignored when out is full). */
static inline void tw_sink_metric_add(struct tw_sink_metrics *out, const char *name, int gauge,
                                      uint64_t value, const char *help)
{
    if (out->n < TW_SINK_METRICS_MAX)
        out->m[out->n++] = (struct tw_sink_metric){name, help, gauge, value};
}

/* One output. Ops a sink has no use for are NULL. The put ops return 0, or -1 when the item
 * was refused (buffer full, write error: counted by the sink, and in tw_sinks.refused). */
struct tw_sink_ops {
    const char *name;
    int json; /* 1: put_flow / put_alert read the JSON text (else they get NULL, 0) */
    int (*put_flow)(void *ctx, const struct tw_flow_record *r, const char *json, size_t len);
    int (*put_alert)(void *ctx, const struct tw_alert *a, const char *json, size_t len);
    int (*put_summary)(void *ctx, const struct tw_summary_item *it);
    /* cross_border's memory (taken by the sinks that take summaries and have the op) */
    int (*put_reached)(void *ctx, const struct tw_reached_item *it);
    void (*put_counters)(void *ctx, const char *const *names, const uint64_t *values, size_t n);
    int (*put_statement)(void *ctx, const struct tw_statement *st);
    /* the I/O that is due, without waiting (now_ms monotonic) */
    void (*poll)(void *ctx, uint64_t now_ms);
    /* at exit, before the stop statement: seals what is still open (summary buckets) */
    void (*seal)(void *ctx);
    /* at exit: writes what is queued for at most timeout_ms; returns what is left */
    uint64_t (*drain)(void *ctx, uint64_t timeout_ms);
    /* at exit, after drain: keeps what is left for the next start (spool, hold file) */
    void (*persist)(void *ctx);
    /* prints the sink's lines of the end-of-run summary */
    void (*stats)(void *ctx, FILE *out);
    /* appends the sink's part of the live stats line (" redis up written ...") */
    void (*live)(void *ctx, FILE *out);
    /* prints what the operator must know, one line each without the program name (main
     * logs each line, control/plane/log.h): at_end 0 right after open (an earlier run's items
     * found), 1 after persist (items kept or lost). Returns -1 when items were lost (the run
     * then exits 1), else 0. */
    int (*notes)(void *ctx, int at_end, FILE *err);
    void (*close)(void *ctx);
    /* while running (SIGHUP, control/plane/reload.c): the [redis] keys that can change */
    void (*tune)(void *ctx, const struct tw_sink_tuning *t);
    /* fills out (zeroed by the caller) with the sink's figures: its output label and pairs */
    void (*metrics)(void *ctx, struct tw_sink_metrics *out);
};

struct tw_sink {
    const struct tw_sink_ops *ops;
    void *ctx;
    unsigned takes; /* TW_TAKES_* */
};

#define TW_SINKS_MAX 8

struct tw_sinks {
    struct tw_sink s[TW_SINKS_MAX];
    unsigned n;
    unsigned takes;          /* every sink's takes, or'ed */
    unsigned json_takes;     /* the takes of the sinks that read JSON */
    char sensor[64];         /* names the flow key in alert JSON */
    uint64_t refused;        /* items a sink refused */
    uint64_t encode_errors;  /* records or alerts that could not be encoded (never expected) */
    uint64_t records_out;    /* flow records handed to the sinks that take them (the records
                              * the sensor emitted: statements count them) */
    uint64_t alerts_out;     /* alerts handed to the sinks that take them */
    char json[TW_RECORD_JSON_MAX > TW_ALERT_JSON_MAX ? TW_RECORD_JSON_MAX : TW_ALERT_JSON_MAX];
};

/* Empties the list. sensor names the flow key in alert JSON. */
void tw_sinks_init(struct tw_sinks *l, const char *sensor);
/* Adds a sink (the list owns it from now on: tw_sinks_close closes it). Returns 0, or -1
 * when the list is full (TW_SINKS_MAX; the sink is closed). */
int tw_sinks_add(struct tw_sinks *l, const struct tw_sink *s);
/* 1 when some sink takes any of the TW_TAKES_* bits in mask. */
static inline int tw_sinks_takes(const struct tw_sinks *l, unsigned mask)
{
    return l != NULL && (l->takes & mask) != 0;
}

/* Hand one item to every sink that takes it. The flow record is encoded at most once. */
void tw_sinks_flow(struct tw_sinks *l, const struct tw_flow_record *r);
void tw_sinks_alert(struct tw_sinks *l, const struct tw_alert *a);
void tw_sinks_summary(struct tw_sinks *l, const struct tw_summary_item *it);
void tw_sinks_reached(struct tw_sinks *l, const struct tw_reached_item *it);
void tw_sinks_statement(struct tw_sinks *l, const struct tw_statement *st);
void tw_sinks_counters(struct tw_sinks *l, const char *const *names, const uint64_t *values,
                       size_t n);
void tw_sinks_poll(struct tw_sinks *l, uint64_t now_ms);
/* At exit, before the stop statement: each sink seals what it still holds open (ops->seal). */
void tw_sinks_seal(struct tw_sinks *l);
/* Drains then persists each sink in turn (each gets up to timeout_ms). */
void tw_sinks_drain(struct tw_sinks *l, uint64_t timeout_ms);
/* Summary lines (stats) and live-line parts of the sinks that take any bit of mask. */
void tw_sinks_stats(const struct tw_sinks *l, FILE *out, unsigned mask);
void tw_sinks_live(const struct tw_sinks *l, FILE *out);
/* The figures of up to max sinks into out[] (those without the op are skipped). Returns how
 * many were filled. */
unsigned tw_sinks_metrics(const struct tw_sinks *l, struct tw_sink_metrics *out, unsigned max);
/* Every sink's notes (see the op). Returns -1 when one reported a loss, else 0. */
int tw_sinks_notes(const struct tw_sinks *l, int at_end, FILE *err);
/* Hands the new values to every sink that has a tune op. */
void tw_sinks_tune(struct tw_sinks *l, const struct tw_sink_tuning *t);
/* Closes every sink and empties the list. NULL is fine. */
void tw_sinks_close(struct tw_sinks *l);

/* ---- the rows (one file each) ----------------------------------------------------------- */

/* JSON lines into path ("-" = stdout): finished flows (takes TW_TAKES_END, summary line
 * "flows-jsonl N records") or alerts (TW_TAKES_ALERT, "alerts-jsonl N alerts"). Returns 0,
 * or -1 with "OPTION PATH: reason" in err, option being what names the file
 * ("--flows-jsonl"). */
int tw_sink_jsonl_open(struct tw_sink *s, const char *path, unsigned takes, const char *option,
                       char *err, size_t errlen);
/* 1 when s is a JSON-lines sink writing to stdout (the summary then goes to stderr). */
int tw_sink_jsonl_is_stdout(const struct tw_sink *s);

/* What a Redis row tells the operator about the items it carries across runs, for its notes
 * op (one wording for both writers). */
struct tw_sink_carry {
    const char *url;  /* the Redis the items go to */
    const char *path; /* the file that keeps them across runs (spool, hold file) */
    const char *noun; /* what the items are: "flow records" */
    const char *why;  /* why items were lost, or NULL */
    uint64_t recovered; /* items an earlier run left in path (told at open) */
    uint64_t kept;      /* items left in path for the next start (told at the end) */
    uint64_t lost;      /* items that did not reach Redis and are not kept */
};
/* The notes op of a Redis row: at open (at_end 0) the recovered items, at the end the kept
 * and the lost ones, a line each. Returns -1 when items were lost, else 0. */
int tw_sink_carry_notes(const struct tw_sink_carry *c, int at_end, FILE *err);

struct tw_store_params;
/* Flow records (UPDATE and END) and the run's counters into Redis (store.h). Returns 0, or
 * -1 with a one-line reason in err. */
int tw_sink_redis_flows_open(struct tw_sink *s, const struct tw_store_params *p, char *err,
                             size_t errlen);

/* Alerts and summary items into Redis (alert_writer.h). Same returns. */
int tw_sink_redis_alerts_open(struct tw_sink *s, const struct tw_alert_store_params *p,
                              char *err, size_t errlen);

/* Completeness statements into Redis (tw:{S}:statements): an alert writer of its own, with
 * its own hold file redis-statements-<S>.dat (sink_redis_statements.c). Same returns. */
/* The sink rows of an alert writer (alert_writer.h), shared by the alerts' sink and the
 * statements' (sink_redis_alerts.c): ctx is the struct tw_alert_store. */
void tw_sink_alert_store_poll(void *ctx, uint64_t now_ms);
uint64_t tw_sink_alert_store_drain(void *ctx, uint64_t timeout_ms);
void tw_sink_alert_store_persist(void *ctx);
void tw_sink_alert_store_close(void *ctx);
void tw_sink_alert_store_tune(void *ctx, const struct tw_sink_tuning *t);

int tw_sink_redis_statements_open(struct tw_sink *s, const struct tw_alert_store_params *p,
                                  char *err, size_t errlen);

/* Finished flows to an IPFIX collector over UDP (sink_ipfix.c, ipfix_enc.h). */
#define TW_IPFIX_COLLECTOR_LEN 256
struct tw_ipfix_params {
    const char *collector;        /* HOST:PORT or [IPV6]:PORT */
    uint32_t observation_domain;
    uint32_t template_interval_s; /* templates are sent again this often */
    uint32_t max_rate;            /* messages per second, 0 = unpaced */
    uint32_t queue;               /* messages waiting to be sent, at least 2 */
    uint32_t mtu;                 /* largest message, bytes (TW_IPFIX_MTU_MIN..MAX) */
};
/* Takes TW_TAKES_END; summary line "ipfix N records in M messages ...". Returns 0, or -1
 * with "--ipfix HOST:PORT: reason" in err (a name that does not resolve...). */
int tw_sink_ipfix_open(struct tw_sink *s, const struct tw_ipfix_params *p, char *err,
                       size_t errlen);

/* Alerts to a syslog collector as RFC 5424 messages with structured data (syslog_format.h),
 * one datagram each, never waiting (sink_syslog.c): takes TW_TAKES_ALERT; summary line
 * "alerts-syslog sent N, not sent M". */
struct tw_syslog_params {
    const char *target;   /* "udp://HOST:PORT" or "unix:///path" */
    const char *facility; /* "local0" ... (RFC 5424 names) */
    const char *sensor;
};
/* Returns 0, or -1 with "alerts_syslog.KEY VALUE: reason" in err. */
int tw_sink_syslog_open(struct tw_sink *s, const struct tw_syslog_params *p, char *err,
                        size_t errlen);

/* The hashes of the seals to a witness outside the bank (witness_writer.h, sink_witness.c):
 * takes TW_TAKES_SEALS; summary line "witness seals sent N, pending M, dropped K". Returns 0,
 * or -1 with a one-line reason in err. */
struct tw_witness_params;
int tw_sink_witness_open(struct tw_sink *s, const struct tw_witness_params *p, char *err,
                         size_t errlen);

#endif
