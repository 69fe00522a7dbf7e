/* statements.h - the sensor's completeness statements (control/evidence/statement.h): every
 * evidence.statement_interval, at start, at stop, at every reload, and when the host's wall
 * clock steps.
 *
 *   control loop ──tick (each turn)──> interval due? clock stepped? ──> make one:
 *       counters since the last statement (pipeline, source, events), records and alerts
 *       handed to the outputs (tw_sinks.records_out / alerts_out), the Redis store's gap
 *       records (its metrics), hashes in force, adjtimex ──sign──> tw_sinks_statement
 *                                                            └──> on_statement (the hook)
 *
 * Time: statements use the host's wall clock (CLOCK_REALTIME) and are paced by
 * CLOCK_MONOTONIC, also in a replay (--pcap): a replay says when the sensor read the file,
 * not the packets' times; it writes its start, its interval statements as it goes (a fast
 * replay may have none) and its stop. A clock step (the wall clock moving more than
 * TW_CLOCK_STEP_US away from the monotonic clock between two checks, a second apart) closes
 * the interval with a statement of kind clock_step and raises a clock_step alert when a
 * policy is loaded.
 *
 * The hooks: the signed log (control/store/evidence_log.h) takes every statement as it is
 * made, in the order the sensor emits it, before it goes to its writer (before any spooling):
 * on_seq, called before the statement is signed, fills run (the chain's), seq_first, seq_last
 * and seq, so they are signed too; on_statement, after signing, chains its text (kind 's').
 * Without a signed log (no signing.key) both are NULL: seq_first, seq_last, seq are null.
 */
#ifndef TW_STATEMENTS_H
#define TW_STATEMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/statement.h"

#define TW_CLOCK_STEP_US 1000000u /* 1 s */

struct tw_control;
struct tw_policy_hook;
struct tw_geoip_enrich;
struct tw_sinks;

struct tw_statements_params {
    const char *sensor;        /* the key namespace (names the stream and the statement) */
    uint32_t interval_s;       /* evidence.statement_interval */
    const char *config_path;   /* hashed at start and at every reload; NULL = none */
    const char *key_path;      /* signing.key; "" or NULL = unsigned */
    const char *previous_key_path; /* signing.previous_key: the key rotated from ("" or NULL
                                    * none): signs the key_rotation statement, then wiped */
    struct tw_policy_hook *policy; /* its policy's hash, and the clock_step alert; NULL none */
    struct tw_geoip_enrich *geoip; /* its databases' hash; NULL none */
    struct tw_sinks *sinks;
    /* the signed log's seams (statements.h above); NULL = none */
    void (*on_seq)(void *ctx, struct tw_statement *st);
    void (*on_statement)(void *ctx, const struct tw_statement *st, const char *text, size_t len);
    void *hook_ctx;
};

struct tw_statements;

/* Loads the key (when named) and hashes the configuration. Returns the maker, or NULL with
 * one line in err (a key file refused, no memory). */
struct tw_statements *tw_statements_open(const struct tw_statements_params *p, char *err,
                                         size_t errlen);
/* The run begins (statement n 0, kind start; with signing.previous_key, n 1 is the
 * key_rotation signed by both keys, and the old key is wiped). */
void tw_statements_start(struct tw_statements *s, struct tw_control *c);
/* Every control-loop turn: an interval statement when one is due, a clock_step one when the
 * wall clock stepped. NULL is fine. */
void tw_statements_tick(struct tw_statements *s, struct tw_control *c);
/* A reload went through: the configuration is hashed again, and a statement of kind reload
 * closes the interval. NULL is fine. */
void tw_statements_reload(struct tw_statements *s, struct tw_control *c);
/* The packets are over (before the outputs drain): kind stop. NULL is fine. */
void tw_statements_stop(struct tw_statements *s, struct tw_control *c);
/* The signing key's fingerprint, "" when unsigned. */
const char *tw_statements_signing(const struct tw_statements *s);
/* How many statements were made and how many signed. */
void tw_statements_counts(const struct tw_statements *s, uint64_t *made, uint64_t *signed_n);
/* Wipes the key and frees. NULL is fine. */
void tw_statements_close(struct tw_statements *s);

/* Fills st's interval counters from the run's totals now (cur) against those at the last
 * statement (prev), exposed for tests/unit/test_statements.c. */
struct tw_statement_totals {
    uint64_t received, parsed, dropped, imissed, ierrors, rx_nombuf;
    uint64_t tcp_gap_bytes, tcp_acked_bytes, tcp_flows_one_way, tcp_flows_ended;
    uint64_t flows_started, flows_ended, records, alerts, gap_records, records_lost;
    uint64_t drops[TW_STATEMENT_DROPS];
};
void tw_statement_fill(struct tw_statement *st, const struct tw_statement_totals *prev,
                       const struct tw_statement_totals *cur);

#endif
