/* evidence_log.h - the sensor's side of the signed evidence chain (control/evidence/chain.h,
 * seal.h): holds the signing key, numbers every item the sensor writes as evidence in the
 * order it emits it, moves the chain on, and makes the seals the flow-record writer sends.
 *
 *   tw_store_put (records, gaps) ─┐
 *   alert writer put (alerts)    ─┼─> tw_evidence_append: seq, h(seq)   (before any spooling)
 *   statements (on_seq, on_statement)─┘  control/plane/statements.h's seams, below
 *   flow writer, every batch and at least once a second: tw_evlog_seal ──> queue of seal lines
 *   ──> HSET tw:{S}:seals <run>:<no> <line> in its next batch (spooled with it in an outage:
 *   the lines left at exit wait in run_dir/evidence-seals-<sensor>.txt for the next start)
 *
 * The secret key stays in this object (wiped at close); only its fingerprint leaves it.
 * Everything runs on the control lcore: no locks.
 */
#ifndef TW_STORE_EVIDENCE_LOG_H
#define TW_STORE_EVIDENCE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/chain.h"
#include "control/evidence/seal.h"
#include "control/evidence/statement.h"

/* Seal lines waiting for Redis. An outage of an hour at one seal a second fits; beyond,
 * seals are made less often (each then covers more items), never dropped. */
#define TW_EVLOG_QUEUE 4096
/* What signing costs in memory (control/plane/budget.c): the queue, and per record of the
 * flow writer's buffer its evidence number and run. */
#define TW_EVLOG_BYTES ((uint64_t)TW_EVLOG_QUEUE * TW_SEAL_TEXT_MAX)
#define TW_EVLOG_BYTES_PER_RECORD 16

struct tw_evlog;

struct tw_evlog_params {
    const char *sensor;    /* the key namespace the items are written under */
    const char *key_path;  /* signing.key */
    uint32_t hot_window_s; /* redis.hot_window, told in every seal (ttl) */
    uint32_t retention_s;  /* redis.retention, told in every seal (keep) */
    const char *run_dir;   /* where unsent seals wait at exit; NULL or "": nowhere */
};

/* Loads the key (refused when group or others may read it) and starts a run (its id: the
 * wall clock in microseconds, 16 hex digits); seal lines an earlier run left in run_dir are
 * queued first. Returns the log, or NULL with one line in err. */
struct tw_evlog *tw_evlog_open(const struct tw_evlog_params *p, char *err, size_t errlen);
void tw_evlog_close(struct tw_evlog *ev);

const char *tw_evlog_run(const struct tw_evlog *ev);
/* The run as a number (the 16 hex digits' value). */
uint64_t tw_evlog_run_id(const struct tw_evlog *ev);
const char *tw_evlog_fingerprint(const struct tw_evlog *ev);

/* The sequence number the next appended item gets (for callers that store it in the item). */
uint64_t tw_evlog_next_seq(const struct tw_evlog *ev);
/* Chains one item whose stored bytes are bytes[0..len) (they carry tw_evlog_next_seq's
 * number and tw_evlog_run, chain.h says how), under kind (chain.h). Returns its sequence
 * number. This is the one entry point for every item: records, gaps, alerts, statements.
 * Items of a kind other than records and gap records are kept redis.retention, not the hot
 * window: their numbers are listed in the seal (seal.h: long), so that verify tells one
 * deleted from one expired; a seal is made at once when its list is full. */
uint64_t tw_evidence_append(struct tw_evlog *ev, char kind, const void *bytes, size_t len);
/* Tags a JSON object with the next sequence number and the run (tw_chain_json_tag) into out
 * and chains it. Returns the tagged length, or -1 (out too small: nothing chained). */
int tw_evlog_append_json(struct tw_evlog *ev, char kind, const char *json, size_t len,
                         char *out, size_t cap, uint64_t *seq);

/* Completeness statements as items of the chain (kind 's'): the seams of
 * control/plane/statements.h, ctx the log. tw_evlog_statement_seq, before the statement is
 * signed: its run is the log's run, seq the number it gets, seq_first..seq_last the items
 * appended since the previous statement (seq_first = seq_last + 1 when none), so that all
 * three are signed. tw_evlog_statement_append then chains its text, exactly as stored (the
 * field `statement` of tw:{S}:statements), which carries its seq and run; nothing may be
 * appended between the two (both run on the control lcore, one after the other). */
void tw_evlog_statement_seq(void *ev, struct tw_statement *st);
void tw_evlog_statement_append(void *ev, const struct tw_statement *st, const char *text,
                               size_t len);

/* 1 when items wait for a seal and the last seal is at least 1 s old (now_ms monotonic). */
int tw_evlog_seal_due(const struct tw_evlog *ev, uint64_t now_ms);
/* Seals the items appended since the last seal (none: nothing). now_ms monotonic. */
void tw_evlog_seal(struct tw_evlog *ev, uint64_t now_ms);

/* The seal queue, for the writer that sends it. unsent: lines not yet in a batch; line(i)
 * the i-th of them (field: TW_SEAL_FIELD_LEN + 1 bytes); sent(n): the next n went into a
 * batch; done(n): the oldest n in flight were answered (written, or given up). */
unsigned tw_evlog_unsent(const struct tw_evlog *ev);
const char *tw_evlog_line(const struct tw_evlog *ev, unsigned i, char *field);
void tw_evlog_sent(struct tw_evlog *ev, unsigned n);
void tw_evlog_done(struct tw_evlog *ev, unsigned n);
/* A witness outside the bank (control/store/witness_writer.h) is told every seal line of
 * this run as it is made, exactly as it is queued for Redis. fn NULL: nobody. */
typedef void (*tw_evlog_seal_fn)(void *ctx, const char *line, size_t len);
void tw_evlog_on_seal(struct tw_evlog *ev, tw_evlog_seal_fn fn, void *ctx);
/* The seals this run made so far (the last one's number). */
uint64_t tw_evlog_seals(const struct tw_evlog *ev);
/* 1 while items wait for a seal. */
int tw_evlog_unsealed(const struct tw_evlog *ev);
/* 1 while items wait for a seal or seals wait to be written. */
int tw_evlog_busy(const struct tw_evlog *ev);
/* At exit: the seal lines not written go to run_dir for the next start. Returns how many were
 * kept, or -1 when they could not be (said in err). */
long tw_evlog_persist(struct tw_evlog *ev, char *err, size_t errlen);

#endif
