/* chain.h - the hash chain of the evidence: what the sensor writes, in the order it emits it,
 * shared by the sensor (control/store/evidence_log.c) and the verifier (tapwatch-query verify).
 *
 * Every item of a run gets the next sequence number (1, 2, ...), and each seal (seal.h)
 * covers the items first..last since the seal before it with one hash:
 *
 *   h(0)     = SHA-256( "tapwatch chain v1" 0x00 | sensor | 0x00 | run (16 hex) )
 *   chain(k) = SHA-256( chain(k-1) | for seq = first..last:
 *                                     kind (1 byte) | seq (u64 BE) | len (u32 BE) | bytes )
 *
 * with chain(0) = h(0): each seal's hash names the one before, so the seals of a run form a
 * chain of every item in order; every field is fixed-size or length-prefixed, so no two item
 * lists hash the same bytes.
 *
 * The bytes are exactly what is stored, so a verifier recomputes the chain from Redis alone:
 *
 *   kind 'r'  a flow record version: its JSON text as stored in the record frame, which ends
 *             with ,"seq":<seq>,"run":"<run>"} (tw_chain_json_tag)
 *   kind 'g'  a gap record: its JSON text in tw:{S}:gaps, ending the same way
 *   kind 'a'  an alert: its stream entry, every field and value in stream order, each as
 *             len (u32 BE) | bytes (tw_chain_fields); the entry has fields seq and run
 *   kind 's'  a completeness statement (statement.h): its JSON text as stored in the field
 *             `statement` of tw:{S}:statements; the text has keys "run" (the chain's run)
 *             and "seq" (its number), inside what its own signature covers, rather than a
 *             tag at the end (the text is signed as a whole, and already names its run)
 *   kind 'u'  a summary snapshot (sum_snapshot.h): what one run added to a summary bucket
 *             since its previous snapshot of it, as the canonical text stored in field
 *             <run>:<seq> of tw:{S}:sum:<E>:<h|d>:<n>:seals, ending with the line
 *             seq=<seq> run=<run>. A later snapshot of the same bucket (a late flow) is
 *             another delta and another field: nothing is superseded, so no number goes
 *             missing; like alerts, snapshots are long-lived (listed in the seal's long, kept
 *             redis.retention), and a verifier sums a bucket's snapshots to check its keys
 *   other kinds: whatever tw_evidence_append's caller stores
 *
 * SHA-256 through OpenSSL, streamed over a seal's items (one Init/Final a seal, not an item):
 * measured on this 2-core machine (SHA-NI) for a 573-byte record, 0.40-0.51 us against 1.05-1.30
 * us for libsodium's BLAKE2b (crypto_generichash) and 1.7-2.0 us for its portable SHA-256, the
 * same streamed; a hash per item (Init/Final each) cost 0.76, 1.1 and 1.7-2.4 us.
 */
#ifndef TW_EVIDENCE_CHAIN_H
#define TW_EVIDENCE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define TW_CHAIN_HASH_LEN 32
#define TW_CHAIN_RUN_LEN 16 /* hex digits */
/* the longest tag tw_chain_json_tag appends: ,"seq":<20 digits>,"run":"<16 hex>"} (53) */
#define TW_CHAIN_TAG_MAX 56

enum {
    TW_ITEM_RECORD = 'r',
    TW_ITEM_GAP = 'g',
    TW_ITEM_ALERT = 'a',
    TW_ITEM_STATEMENT = 's',
    TW_ITEM_SUMMARY = 'u',
};

/* h(0) of a sensor's run (run: 16 hex digits). */
void tw_chain_start(const char *sensor, const char *run, uint8_t h[TW_CHAIN_HASH_LEN]);

/* The hash of one seal's items, fed in order. */
struct tw_chain {
    void *md; /* OpenSSL's EVP_MD_CTX */
};
/* Starts a seal's hash after prev (chain(k-1), or h(0)). Returns 0, or -1 (no memory). */
int tw_chain_begin(struct tw_chain *c, const uint8_t prev[TW_CHAIN_HASH_LEN]);
/* Adds item seq of kind, its stored bytes[0..len). */
void tw_chain_add(struct tw_chain *c, char kind, uint64_t seq, const void *bytes, size_t len);
/* The chain value of the items added since tw_chain_begin; c must be begun again to reuse. */
void tw_chain_end(struct tw_chain *c, uint8_t out[TW_CHAIN_HASH_LEN]);
void tw_chain_free(struct tw_chain *c);

/* Copies a JSON object json[0..len) (ending with '}') into out with the tag
 * ,"seq":<seq>,"run":"<run>"} in place of its closing brace. Returns the new length, or -1
 * when out (cap bytes) is too small or json does not end with '}'. */
int tw_chain_json_tag(const char *json, size_t len, uint64_t seq, const char *run, char *out,
                      size_t cap);
/* Reads the tag back from the end of a stored JSON text. Returns 0 with *seq and run (17
 * bytes), or -1 when the text does not end with a tag. */
int tw_chain_json_untag(const char *json, size_t len, uint64_t *seq, char run[17]);

/* The canonical bytes of n field/value pairs (fields[2i], fields[2i+1], lengths in lens):
 * each as len (u32 BE) | bytes. Returns the length written into out, or -1 when out (cap
 * bytes) is too small. */
long tw_chain_fields(const char *const *fields, const size_t *lens, size_t n, uint8_t *out,
                     size_t cap);

#endif
