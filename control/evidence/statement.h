/* statement.h - completeness statements: what the sensor says it watched, dropped and wrote
 * in an interval, signed with its key (sign_key.h).
 *
 *   control/plane/statements.c ──struct tw_statement──> tw_statement_sign (canonical bytes)
 *       ──alert writer (item, hold file)──> XADD tw:{S}:statements statement <json> sig <hex>
 *   tapwatch-query statements ──reads the field `statement`──> tw_statement_check_sig
 *
 * A statement is a fixed-size value without pointers (it travels in the alert writer's ring
 * and hold file); its text is a function of the value alone (tw_statement_to_json), so the
 * writer renders the same bytes that were signed.
 *
 * Canonical bytes: the JSON text tw_statement_to_json writes, exactly as stored in the stream
 * entry's field `statement` (compact, keys in the order below, no spaces, no newline). The
 * signature (field `sig`, 128 hex digits, "" unsigned) is Ed25519 over those bytes; the key's
 * fingerprint is inside them (`key`), so it is signed too. A reader verifies the field as it
 * found it and never renders it again.
 *
 * JSON keys (counters are those of the interval, not of the run, so the statements of a run
 * add up to its summary):
 *   v 1; sensor; run (16 hex: the run's start, epoch microseconds); n (0 = start, then 1, 2 ..
 *   within the run); kind start|interval|reload|stop|clock_step|key_rotation; interval (the configured
 *   evidence.statement_interval, seconds: readers tell a late statement from a missing one
 *   with it); from, to (epoch seconds with
 *   six decimals: the host's wall clock, also in a replay); packets_received, packets_parsed,
 *   packets_dropped, dropped_by_reason {counter name: n, only those not 0}; imissed, ierrors,
 *   rx_nombuf (the NIC and the kernel); tcp_gap_bytes, tcp_acked_bytes, tcp_flows_one_way,
 *   tcp_flows_ended (loss upstream of the sensor, README); flows_started, flows_ended;
 *   records_from, records_to (the records the sensor emitted in the run before the interval and
 *   at its end: records_from + 1 .. records_to are this interval's), alerts_from, alerts_to
 *   (the same for alerts); seq_first, seq_last (the signed log's sequence numbers of the items
 *   emitted in the interval, chain.h: those after the previous statement's and before this
 *   one's; seq_first = seq_last + 1 when there were none), seq (the statement's own number in
 *   the signed log: it is an item of the chain, kind 's', its text as stored; with run, the
 *   chain's run, it is where a verifier finds it, as a record's seq and run are); the three
 *   are null when the sensor does not sign (no signed log); gap_records, records_lost (gap
 *   records the store made and the records they cover); config_sha256, policy_sha256,
 *   geoip_sha256 (hex, "" for none); clock_synced (true/false, adjtimex STA_UNSYNC clear),
 *   clock_offset_us, clock_maxerror_us, clock_esterror_us, clock_step_us (the wall clock's
 *   jump against CLOCK_MONOTONIC; 0 but for kind clock_step); key (signing key fingerprint,
 *   "" when unsigned); previous_key (only in kind key_rotation: the old key's fingerprint).
 *
 * Key rotation (signing.previous_key): right after the start statement, one statement of kind
 * key_rotation, an instant (from = to = the start's to, every counter 0, dropped_by_reason
 * {}), whose text names both keys and which both sign: the new key in `sig`, the old one in
 * the stream field `sig_previous` (128 hex digits). Readers admit the new key from its `from`
 * on (control/query/key_set.h).
 */
#ifndef TW_EVIDENCE_STATEMENT_H
#define TW_EVIDENCE_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/sign_key.h"

enum tw_statement_kind { TW_ST_START, TW_ST_INTERVAL, TW_ST_RELOAD, TW_ST_STOP,
                         TW_ST_CLOCK_STEP, TW_ST_KEY_ROTATION, TW_ST__COUNT };

#define TW_STATEMENT_DROPS 32   /* drop reasons kept (dataplane counters flagged drop) */
#define TW_STATEMENT_JSON_MAX 4096
#define TW_SEQ_NONE UINT64_MAX  /* seq_first/seq_last/seq not known (written as null) */

struct tw_statement {
    uint64_t run_us;
    uint64_t n;
    uint64_t interval_s;   /* evidence.statement_interval in force */
    uint64_t from_us, to_us;
    uint64_t received, parsed, dropped;
    uint64_t imissed, ierrors, rx_nombuf;
    uint64_t tcp_gap_bytes, tcp_acked_bytes, tcp_flows_one_way, tcp_flows_ended;
    uint64_t flows_started, flows_ended;
    uint64_t records_from, records_to, alerts_from, alerts_to;
    uint64_t seq_first, seq_last;  /* TW_SEQ_NONE unsigned (no signed log) */
    uint64_t seq;                  /* its own number in the signed log, TW_SEQ_NONE unsigned */
    uint64_t gap_records, records_lost;
    int64_t clock_offset_us, clock_step_us;
    uint64_t clock_maxerror_us, clock_esterror_us;
    union {
        uint64_t drops[TW_STATEMENT_DROPS]; /* by drop counter, in counters.h order */
        /* kind key_rotation (an instant: no counters, no drops) keeps the old key's part
         * here, so that a statement still fits an alert writer's item (alert_writer.c) */
        struct {
            uint8_t sig_previous[TW_SIGN_SIG_LEN]; /* the old key's signature of the text */
            char previous_key[TW_SIGN_FPR_LEN + 1]; /* the old key's fingerprint */
        } rot;
    };
    uint8_t config_sha[32], policy_sha[32], geoip_sha[32];
    uint8_t has_config, has_policy, has_geoip; /* 0: that hash is "" */
    uint8_t kind;          /* enum tw_statement_kind */
    uint8_t clock_synced;
    uint8_t is_signed;
    uint8_t pad[2];
    char key[TW_SIGN_FPR_LEN + 1]; /* fingerprint, "" unsigned */
    uint8_t pad2[7];
    uint8_t sig[TW_SIGN_SIG_LEN];
};

/* "start", "interval", ... ("unknown" out of range); and back (-1 unknown). */
const char *tw_statement_kind_name(unsigned kind);
int tw_statement_kind_from_name(const char *name);

/* The canonical text (above) of st for sensor into buf. Returns its length, or -1 when buf
 * is too small (TW_STATEMENT_JSON_MAX always suffices) or sensor too long. */
int tw_statement_to_json(const struct tw_statement *st, const char *sensor, char *buf,
                         size_t len);

/* Signs st for sensor with k (NULL: marks it unsigned, key ""). Sets key, sig, is_signed.
 * Returns 0, or -1 when it cannot be rendered. */
int tw_statement_sign(struct tw_statement *st, const char *sensor, const struct tw_sign_key *k);

/* A key_rotation statement (st->kind TW_ST_KEY_ROTATION, its counters 0): its text names the
 * new key (`key`) and the old one (`previous_key`); signed by the new key (sig) and, over the
 * same bytes, by the old one (rot.sig_previous). Returns 0, or -1 when it cannot be rendered. */
int tw_statement_sign_rotation(struct tw_statement *st, const char *sensor,
                               const struct tw_sign_key *new_key,
                               const struct tw_sign_key *old_key);

/* Checks a stored statement: text (the field `statement`, len bytes) against sig_hex (the
 * field `sig`) and pk. Returns 1 verified, 0 unsigned (sig ""), -1 bad signature (or a sig
 * that is not 128 hex digits). */
int tw_statement_check_sig(const char *text, size_t len, const char *sig_hex,
                           const uint8_t pk[TW_SIGN_PK_LEN]);

/* Hex SHA-256 of the file at path into hex (65 bytes); raw into raw (32) when not NULL.
 * Returns 0, or -1 with errno (cannot read). */
int tw_sha256_file(const char *path, uint8_t raw[32], char hex[65]);

/* ---- clock steps ---- */

/* Wall clock against CLOCK_MONOTONIC: step_us is how far the wall clock moved beyond (or
 * short of) the monotonic clock between two checks. */
struct tw_clock_watch {
    uint64_t last_wall_us, last_mono_us;
    int primed;
};
/* Feeds one reading. Returns 1 when |wall delta - mono delta| > threshold_us (a step, its
 * signed size in *step_us, positive = the wall clock jumped forward), else 0. The first call
 * only primes. */
int tw_clock_watch_step(struct tw_clock_watch *w, uint64_t wall_us, uint64_t mono_us,
                        uint64_t threshold_us, int64_t *step_us);

/* The kernel's clock discipline (adjtimex(2)): offset, maxerror, esterror in microseconds,
 * synced = STA_UNSYNC clear and the call did not return TIME_ERROR. Returns 0, or -1 with
 * errno (all zero, not synced). */
int tw_clock_sync_state(int *synced, int64_t *offset_us, uint64_t *maxerror_us,
                        uint64_t *esterror_us);

#endif
