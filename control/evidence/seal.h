/* seal.h - the seals of the evidence chain (chain.h): signed statements that a run's items
 * first..last chain to a hash, each naming the seal before it, so that removing, changing or
 * reordering anything breaks a signature or a link. Shared by the sensor and the verifier.
 *
 * A seal is one line of text, stored as the value of field <run>:<no, 8 hex> of the hash
 * tw:{S}:seals (control/record/keys.h):
 *
 *   tws1 sensor=<S> run=<run> no=<n> first=<seq> last=<seq> prev_chain=<64 hex>
 *        chain=<64 hex> prev_seal=<64 hex> time=<epoch us> ttl=<s> keep=<s>
 *        long=<seq>,<seq>...|- key=<fingerprint> sig=<128 hex>
 *
 * (one line; a single space between fields, in this order). no counts a run's seals from 1;
 * prev_chain is the chain value of seal no-1 (h(0) for no 1), chain this seal's, over the
 * items first..last (chain.h); prev_seal is the hash of the seal no-1 (64 zeros for no 1);
 * time is the sensor's wall clock when it sealed, ttl the
 * redis.hot_window in force (records and gap records older than time + ttl may have expired),
 * keep the redis.retention (alerts, and the items listed in long, older than time + keep may
 * have: long lists the sequence numbers of the seal's alerts, at most TW_SEAL_LONG_MAX, "-"
 * for none: a sensor seals early rather than list more); key the
 * fingerprint of the signing key (sign_key.h). The signature (Ed25519) and a seal's hash
 * (BLAKE2b-256) are over the line up to, not including, " sig=".
 */
#ifndef TW_EVIDENCE_SEAL_H
#define TW_EVIDENCE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/chain.h"
#include "control/evidence/sign_key.h"

#define TW_SEAL_TEXT_MAX 1024
#define TW_SEAL_LONG_MAX 16 /* long-lived items a seal lists */
#define TW_SEAL_FIELD_LEN 26 /* <run>:<no, 8 hex> */

struct tw_seal {
    char sensor[64];
    char run[TW_CHAIN_RUN_LEN + 1];
    uint64_t no, first, last;
    uint8_t prev_chain[TW_CHAIN_HASH_LEN], chain[TW_CHAIN_HASH_LEN];
    uint8_t prev_seal[TW_CHAIN_HASH_LEN];
    uint64_t time_us;
    uint32_t ttl_s, keep_s;
    uint64_t lng[TW_SEAL_LONG_MAX]; /* the long-lived items (alerts), ascending */
    unsigned nlong;
    char key[TW_SIGN_FPR_LEN + 1];
    uint8_t sig[TW_SIGN_SIG_LEN];
};

/* Signs seal (its sig and key are filled from k) and writes its line into out (NUL-ended).
 * Returns the line's length, or -1 when out is too small. */
int tw_seal_sign(struct tw_seal *seal, const struct tw_sign_key *k, char *out, size_t cap);
/* Parses a line. Returns 0, or -1 when it is not a seal line of this version. */
int tw_seal_parse(const char *text, size_t len, struct tw_seal *seal);
/* 0 when the seal's signature is pk's, else -1. */
int tw_seal_verify(const struct tw_seal *seal, const uint8_t pk[TW_SIGN_PK_LEN]);
/* The seal's hash (what the next seal's prev_seal names). */
void tw_seal_hash(const struct tw_seal *seal, uint8_t h[TW_CHAIN_HASH_LEN]);
/* 1 when item seq of the seal may have expired by now_us: the seal's time + keep for the items
 * it lists as long-lived, + ttl for the others (records, gap records); else 0. */
int tw_seal_item_expired(const struct tw_seal *seal, uint64_t seq, uint64_t now_us);
/* The field name of a seal in tw:{S}:seals, "<run>:<no, 8 hex>" (out: TW_SEAL_FIELD_LEN + 1). */
void tw_seal_field(const struct tw_seal *seal, char *out);

#endif
