/* chain.h - the hash chain of the evidence: what the sensor writes, in the order it emits it,
 * shared by the sensor (control/store/evidence_log.c) and the verifier (tapwatch-query verify).
 *
 * Every item of a run gets the next sequence number (1, 2, ...) and moves the chain on:
 *
 *   h(0)   = BLAKE2b-256( "tapwatch chain v1" 0x00 | sensor | 0x00 | run (16 hex) )
 *   h(seq) = BLAKE2b-256( h(seq-1) | kind (1 byte) | seq (u64 BE) | len (u32 BE) | bytes )
 *
 * The bytes are exactly what is stored, so a verifier recomputes the chain from Redis alone:
 *
 *   kind 'r'  a flow record version: its JSON text as stored in the record frame, which ends
 *             with ,"seq":<seq>,"run":"<run>"} (tw_chain_json_tag)
 *   kind 'g'  a gap record: its JSON text in tw:{S}:gaps, ending the same way
 *   kind 'a'  an alert: its stream entry, every field and value in stream order, each as
 *             len (u32 BE) | bytes (tw_chain_fields); the entry has fields seq and run
 *   other kinds: whatever tw_evidence_append's caller stores (statements: 's')
 *
 * BLAKE2b (libsodium's crypto_generichash) rather than SHA-256: measured in the README
 * ("Evidence"), it costs the control lcore about a third of libsodium's portable SHA-256 a
 * record.
 */
#ifndef TW_EVIDENCE_CHAIN_H
#define TW_EVIDENCE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define TW_CHAIN_HASH_LEN 32
#define TW_CHAIN_RUN_LEN 16 /* hex digits */
/* the longest tag tw_chain_json_tag appends: ,"seq":<20 digits>,"run":"<16 hex>"} */
#define TW_CHAIN_TAG_MAX 48

enum { TW_ITEM_RECORD = 'r', TW_ITEM_GAP = 'g', TW_ITEM_ALERT = 'a', TW_ITEM_STATEMENT = 's' };

/* h(0) of a sensor's run (run: 16 hex digits). */
void tw_chain_start(const char *sensor, const char *run, uint8_t h[TW_CHAIN_HASH_LEN]);
/* h = h(seq) from h = h(seq-1) and the item. */
void tw_chain_step(uint8_t h[TW_CHAIN_HASH_LEN], char kind, uint64_t seq, const void *bytes,
                   size_t len);

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
