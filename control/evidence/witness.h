/* witness.h - what the sensor tells a witness outside the bank about each seal (seal.h), and
 * how the verifier reads it back. Shared by the sensor (control/store/witness_writer.c) and
 * tapwatch-query verify --witness (control/query/verify_witness.c).
 *
 * The witness is a Redis the regulator runs. The sensor may only add fields to one hash of its
 * own there (HSETNX: a field, once set, cannot be overwritten; its ACL user may not read or
 * delete), so what the witness got stays as it got it even if the bank, which runs the sensor
 * host and holds its signing key, later rewrites and re-signs the store's history:
 *
 *   tw:witness:{<ns>}            hash, ns the sensor's key namespace (<bank>/<sensor> or
 *                                <sensor>, control/record/fleet_keys.h)
 *     <run>:<no, 8 hex>  ->  "<sha256 of the seal line, 64 hex> <seal time, epoch us>"
 *     <run>:end          ->  "<last seal no, decimal>"   the run ended with that seal
 *
 * The field of a seal is its field in tw:{S}:seals (tw_seal_field). The hash is SHA-256 of
 * the seal line exactly as it is stored there (signature included). Nothing else goes to the
 * witness: no record, no address, no count.
 */
#ifndef TW_EVIDENCE_WITNESS_H
#define TW_EVIDENCE_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/chain.h"
#include "control/evidence/seal.h"

#define TW_WITNESS_FIELD_MAX 32  /* "<run>:<no, 8 hex>" (26) or "<run>:end" (20) */
#define TW_WITNESS_VALUE_MAX 96  /* "<64 hex> <20 digits>" */

/* One entry as sent: a seal's hash, or (no 0) the end of a run after seal `last`. */
struct tw_witness_entry {
    char run[TW_CHAIN_RUN_LEN + 1];
    uint64_t no;      /* the seal's number; 0: the run's end marker */
    uint64_t time_us; /* the seal's time; end marker: 0 */
    uint64_t last;    /* end marker: the run's last seal number */
    uint8_t hash[TW_CHAIN_HASH_LEN];
};

/* SHA-256 of a stored seal line. */
void tw_witness_line_hash(const char *line, size_t len, uint8_t h[TW_CHAIN_HASH_LEN]);
/* The entry of a seal line (parsed for its run, no and time). Returns 0, or -1 when the line
 * is not a seal line. */
int tw_witness_from_line(const char *line, size_t len, struct tw_witness_entry *e);
/* The entry's field and value as stored on the witness (field: TW_WITNESS_FIELD_MAX bytes,
 * value: TW_WITNESS_VALUE_MAX). */
void tw_witness_field(const struct tw_witness_entry *e, char *field);
void tw_witness_value(const struct tw_witness_entry *e, char *value);
/* Parses a field and its value back (both from the witness: hostile). Returns 0, or -1 when
 * they are not an entry's. */
int tw_witness_parse(const char *field, size_t flen, const char *value, size_t vlen,
                     struct tw_witness_entry *e);

#endif
