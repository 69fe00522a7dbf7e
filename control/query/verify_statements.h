/* verify_statements.h - `tapwatch-query verify`'s part for the completeness statements
 * (control/evidence/statement.h), items of the signed chain (chain.h: kind 's'):
 *
 *   tq_vst_read    XRANGE tw:{S}:statements: each entry's field `statement` (its text as
 *                  stored, carrying its seq and run) goes to the chain checks as an item
 *                  (hooks->item), so deleted, altered, inserted and reordered statements are
 *                  found as records and alerts are; in the range, its signature (field `sig`)
 *                  is checked against the key accepted at its time (key_set.h, across
 *                  rotations): `bad signature` when it fails (an unsigned statement with a
 *                  sequence number too); a statement without one is
 *                  `inserted`, a value that is not a statement `altered`;
 *   tq_vst_seal    each seal read (the good ones say how far each run's chain reaches);
 *   tq_vst_finish  after the chain checks:
 *                  - the end of each run's chain: its newest good statement was chained at seq
 *                    Q (after seq_last, records_to records and alerts_to alerts emitted); the
 *                    run's good seals must reach Q, else the seals after theirs are `deleted`;
 *                  - `unwatched`: the spans of the checked range that no good statement covers,
 *                    as `flows` says them (coverage.h, tq_unwatched_spans). Findings (exit 3):
 *                    a statement missing within a run, and a run whose statements stop short:
 *                    no stop statement, its last one more than 2 x statement_interval older
 *                    than the newest seal or than now (a cut at the end of the store, or a
 *                    sensor that died or is silent: the evidence cannot tell them apart).
 *                    Told, not errors: before the first statement, between a stop statement and
 *                    the next run's start, after the last stop statement.
 * Every line goes through hooks->finding (errors) or stdout (told).
 */
#ifndef TW_QUERY_VERIFY_STATEMENTS_H
#define TW_QUERY_VERIFY_STATEMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/seal.h"
#include "control/evidence/sign_key.h"
#include "control/query/key_set.h"
#include "control/query/query.h"

struct tq_vst_hooks {
    void *arg;
    /* one chain item (kind 's') for verify's seal checks. Returns 0, or -1 (no memory). */
    int (*item)(void *arg, const char *run, uint64_t seq, char kind, const void *bytes,
                size_t len, const char *where);
    /* one finding line (no newline); run and seq name it for the summary (NULL, 0: none) */
    void (*finding)(void *arg, const char *run, uint64_t seq, const char *line);
};

struct tq_vst;

/* Reads o's sensor's statements and checks each (above). Returns 0 with *out (free it with
 * tq_vst_free), or -1 after saying why (Redis failed, no memory). */
int tq_vst_read(struct tw_rclient *c, const struct tq_opts *o, const struct tq_key_set *ks,
                const struct tq_vst_hooks *hooks, struct tq_vst **out);
/* One seal of the store; good: its signature verified. */
void tq_vst_seal(struct tq_vst *v, const struct tw_seal *s, int good);
/* The end of the chain and the unwatched spans (above), now_us the verifier's clock. */
void tq_vst_finish(struct tq_vst *v, uint64_t now_us);
/* How many statements were read. */
uint64_t tq_vst_count(const struct tq_vst *v);
void tq_vst_free(struct tq_vst *v);

/* The rule for a run's statements stopping short, exposed for tests/unit: 1 when a run whose
 * last statement ended at last_to (interval_us its statement_interval) and that has no stop
 * statement is silent for more than 2 intervals before ref_us (the newest seal or now). */
int tq_vst_stops_short(int has_stop, uint64_t last_to, uint64_t interval_us, uint64_t ref_us);

#endif
