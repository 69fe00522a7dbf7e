/* coverage.h - what an answer cannot vouch for, said on stderr (stdout stays the answer that
 * scripts parse): `flows` and `alerts` call tq_coverage_warn before answering, and every
 * subcommand reports a stored item it cannot read with tq_warn_invalid instead of skipping it
 * in silence. One line each, "tapwatch-query: warning: ...":
 *
 *   gap        a gap record (tw:{S}:gaps: records the sensor dropped, keys.h) whose time span
 *              (from .. until, packet time) overlaps the asked range
 *   unwatched  a time span with no completeness statement (control/evidence/statement.h,
 *              tw:{S}:statements) overlapping the asked range:
 *                - between two statements of one run that do not meet (a statement is
 *                  missing: each begins where the one before ended);
 *                - between two runs (or after a run that ended without a stop statement)
 *                  when more than 2 x statement_interval passed between the two;
 *                - --since before the first statement;
 *                - --until after the last one: after a stop statement, or more than
 *                  2 x statement_interval after the last one of a run not stopped.
 *              Statements are in wall-clock time, the asked range in packet time: the same
 *              on a live sensor; a replay (--pcap) of older packets is not covered by any
 *              statement of its time, and says so when a range asks for it.
 *   invalid    a record, alert or statement that is not valid JSON (or not a record): its key
 *              and field (or stream ID), and it is left out of the answer.
 * A sensor without any statement (written before they existed) gets no unwatched line. The
 * statements read are those written since --since (all without it), at most 20000 (a
 * fortnight at 60 s): beyond, the newest only, said in one line.
 */
#ifndef TW_QUERY_COVERAGE_H
#define TW_QUERY_COVERAGE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "control/query/query.h"

/* Parses text (len bytes) as one JSON object taking the whole text. Returns it (put it with
 * json_object_put), or NULL when it is not one. */
json_object *tq_json_parse(const char *text, size_t len);

/* "tapwatch-query: warning: <key> <field>: <why>, left out of the answer" on stderr. */
void tq_warn_invalid(const char *key, const char *field, const char *why);

/* The gap and unwatched lines of o's sensor and range (above). Returns 0, or -1 after saying
 * why (Redis failed). */
int tq_coverage_warn(struct tw_rclient *c, const struct tq_opts *o);

/* ---- unwatched spans: one definition, for `flows`/`alerts` (stderr) and `verify` ---- */

/* What a statement covers, read from its JSON (tq_span_of). */
struct tq_span_st {
    uint64_t from, to, interval_us;
    uint64_t seq; /* its number in the signed chain, 0 none (verify names it) */
    char run[20];
    int stop;
};

/* Why a span is unwatched (above, in this order). */
enum tq_unwatched_why {
    TQ_UW_BEFORE_FIRST, /* --since before the first statement */
    TQ_UW_MISSING,      /* two statements of one run do not meet */
    TQ_UW_STOPPED,      /* between two runs, the first ended with a stop statement */
    TQ_UW_NO_STOP,      /* between two runs, the first ended without one */
    TQ_UW_AFTER_STOP,   /* --until after the last statement, a stop statement */
    TQ_UW_SILENT,       /* after the last statement of a run not stopped */
};
/* The reason as the lines say it ("a completeness statement is missing", ...). */
const char *tq_unwatched_text(enum tq_unwatched_why why);

/* Fills t from a statement's JSON (from, to, interval, run, kind; seq when a number). */
void tq_span_of(json_object *j, struct tq_span_st *t);

/* Called once per unwatched span [from, to] (clipped to the range); st is the statement
 * before the span (after it, for TQ_UW_BEFORE_FIRST). */
typedef void (*tq_unwatched_fn)(void *arg, uint64_t from, uint64_t to,
                                enum tq_unwatched_why why, const struct tq_span_st *st);
/* Sorts s[0..n) by `to` and calls fn for each span of o's range (since/until) that no
 * statement covers, as listed above; now_us is the reader's clock (the future is not
 * unwatched yet); truncated: the oldest statements were not read (no TQ_UW_BEFORE_FIRST).
 * n 0 (a sensor from before statements): no call. */
void tq_unwatched_spans(struct tq_span_st *s, size_t n, const struct tq_opts *o,
                        uint64_t now_us, int truncated, tq_unwatched_fn fn, void *arg);

#endif
