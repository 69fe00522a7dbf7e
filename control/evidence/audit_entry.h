/* audit_entry.h - one entry of the query audit trail (keys.h: tw_key_audit_trail): its fields,
 * the canonical bytes its hash and signature cover, and the checks a verifier makes.
 *
 * An entry is a Redis stream entry whose fields are, in this order (the canonical order):
 *
 *   v           "1", the format
 *   seq         1, 2, 3...: its place in the trail (gap-free while nothing is removed)
 *   prev        hash of entry seq - 1 (64 hex digits; 64 zeros for seq 1)
 *   kind        "query" (written before answering) or "done" (after: rows and exit)
 *   time        epoch microseconds when it was written (the host's clock)
 *   ref         for "done": the seq of its "query" entry; "" for "query"
 *   redis_user  ACL WHOAMI of the connection that asked
 *   os_user     the OS user that ran the program: "name(uid)"
 *   host        gethostname()
 *   pid         the process id
 *   subcommand  "flows", "alerts", "audit"...
 *   args        the command line after the program name, as a JSON array of strings, with
 *               any password cut out of a URL (never a secret: passwords come from files)
 *   sensors     the key namespaces asked, comma-separated ("" when none: sensors, audit)
 *   rows        for "done": rows answered (decimal); "" for "query"
 *   exit        for "done": the exit status (decimal); "" for "query"
 *   key         the fingerprint of the key that signed it (sign_key.h), "" when unsigned
 *
 * and, not covered by the canonical bytes (they are made from them):
 *
 *   hash        SHA-256 of the canonical bytes, 64 hex digits
 *   sig         Ed25519 signature of the canonical bytes, 128 hex digits, "" when unsigned
 *
 * Canonical bytes: "tapwatch audit v1\n", then for each of the 16 fields above in that order
 * its name, ':', the value's length in decimal, ':', the value, '\n'. Lengths make the
 * encoding unambiguous whatever a value holds (newlines, ':' in args).
 */
#ifndef TW_EVIDENCE_AUDIT_ENTRY_H
#define TW_EVIDENCE_AUDIT_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/sign_key.h"

enum tw_audit_field {
    TW_AF_V, TW_AF_SEQ, TW_AF_PREV, TW_AF_KIND, TW_AF_TIME, TW_AF_REF, TW_AF_REDIS_USER,
    TW_AF_OS_USER, TW_AF_HOST, TW_AF_PID, TW_AF_SUBCOMMAND, TW_AF_ARGS, TW_AF_SENSORS,
    TW_AF_ROWS, TW_AF_EXIT, TW_AF_KEY,
    TW_AF_SIGNED, /* the fields above are covered by the hash and the signature */
    TW_AF_HASH = TW_AF_SIGNED, TW_AF_SIG,
    TW_AF_COUNT
};

#define TW_AUDIT_HASH_HEX 64
#define TW_AUDIT_SIG_HEX 128
#define TW_AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* An entry: values borrowed (a reply's strings, the caller's buffers), NULL read as "". */
struct tw_audit_entry {
    const char *f[TW_AF_COUNT];
    /* what tw_audit_seal writes; f[TW_AF_HASH], f[TW_AF_SIG] then point here */
    char hash_hex[TW_AUDIT_HASH_HEX + 1];
    char sig_hex[TW_AUDIT_SIG_HEX + 1];
};

/* The stream field name of a field ("seq"...). */
const char *tw_audit_field_name(enum tw_audit_field f);
/* The field of a stream field name, or -1 when it is none of them. */
int tw_audit_field_of(const char *name, size_t len);

/* The canonical bytes of e into a new buffer (*out, free()) of *len bytes. Returns 0, or -1
 * (out of memory). */
int tw_audit_canonical(const struct tw_audit_entry *e, char **out, size_t *len);

/* SHA-256 of e's canonical bytes as hex into hex (65 bytes). Returns 0, or -1 (out of memory). */
int tw_audit_hash(const struct tw_audit_entry *e, char hex[TW_AUDIT_HASH_HEX + 1]);

/* Fills e's key (k's fingerprint, "" when k is NULL), then its hash and signature (sig ""
 * when k is NULL). Returns 0, or -1 (out of memory). */
int tw_audit_seal(struct tw_audit_entry *e, const struct tw_sign_key *k);

/* What a verifier finds in one entry on its own. */
enum tw_audit_check {
    TW_AUDIT_OK = 0,
    TW_AUDIT_ALTERED,     /* the stored hash is not the hash of its fields */
    TW_AUDIT_UNSIGNED,    /* no signature (hash consistent) */
    TW_AUDIT_UNKNOWN_KEY, /* signed by a key none of the public keys given */
    TW_AUDIT_BAD_SIG,     /* the signature does not verify with the key it names */
    TW_AUDIT_MALFORMED,   /* a field missing, or not of its form (seq, prev, hash, sig) */
};

/* Checks e against npk public keys (pks[i], fprs[i] their fingerprints). *which is set to the
 * index of the key that signed it, or -1. Returns a tw_audit_check. */
enum tw_audit_check tw_audit_check(const struct tw_audit_entry *e,
                                   const uint8_t (*pks)[TW_SIGN_PK_LEN],
                                   const char (*fprs)[TW_SIGN_FPR_LEN + 1], size_t npk,
                                   int *which);

/* Its name for a verifier's finding line ("altered", "unsigned"...). */
const char *tw_audit_check_name(enum tw_audit_check c);

#endif
