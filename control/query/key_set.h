/* key_set.h - the public keys a reader trusts for one sensor's evidence, across key rotations
 * (signing.previous_key: control/evidence/statement.h, kind key_rotation). Shared by
 * `verify` (seals) and `statements` (each statement's signature).
 *
 *   --pubkey OLD.pub --pubkey NEW.pub ──tq_key_set_load──> OLD trusted from the beginning
 *   tw:{S}:rotations, oldest first ──tq_key_set_rotation──> NEW admitted from the rotation's
 *                                                            `from`, OLD retired there
 *   a seal or statement: its `key` fingerprint and time ──tq_key_set_signer──> the key, or none
 *
 * The first key given is trusted from the beginning. A later key is admitted by a valid
 * key_rotation statement of the sensor: its text names the later key (`key`) and an already
 * accepted one (`previous_key`, accepted at the statement's `from`), `sig` is the later key's
 * signature of the stored text and `sig_previous` the previous key's, over the same bytes.
 * From the rotation's `from` on the later key is accepted and the previous one is not (a
 * stolen old key writes no new history): each key is accepted in [from, until). A rotation
 * that says again what an earlier one said (signing.previous_key left in the configuration)
 * changes nothing. Rotations are offered in the order they were written.
 */
#ifndef TQ_KEY_SET_H
#define TQ_KEY_SET_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/sign_key.h"

#define TQ_KEYS_MAX 8

struct tq_key {
    uint8_t pk[TW_SIGN_PK_LEN];
    char fpr[TW_SIGN_FPR_LEN + 1];
    int admitted;              /* the first key, or a valid rotation named it */
    int admitted_by;           /* the index of the key it was rotated from (-1: the first) */
    uint64_t from_us, until_us; /* accepted for what is signed in [from, until) */
};

struct tq_key_set {
    struct tq_key k[TQ_KEYS_MAX];
    size_t n;
};

/* Loads the public key files paths[0..n) (n >= 1, at most TQ_KEYS_MAX), the first trusted.
 * Returns 0, or -1 with one line in err (a file that is not a public key, a key given
 * twice). */
int tq_key_set_load(struct tq_key_set *ks, const char *const *paths, size_t n, char *err,
                    size_t errlen);
/* Adds a key as a file would (the first one added is trusted). Returns 0, or -1 (full, or the
 * key is there already). */
int tq_key_set_add(struct tq_key_set *ks, const uint8_t pk[TW_SIGN_PK_LEN]);

enum tq_rotation {
    TQ_ROT_ADMITTED = 1, /* valid: its key is accepted from its `from` on */
    TQ_ROT_KNOWN = 0,    /* valid, and said nothing new (why is "") */
    TQ_ROT_NOTE = -1,    /* not checked: it names a key not given (why says which) */
    TQ_ROT_BAD = -2,     /* not a valid rotation of this sensor (why says why) */
};

/* Offers one key_rotation as stored: text[0..len) (the field statement), sig and sig_previous
 * (hex, NULL or "" when absent) for sensor. Returns an enum tq_rotation, with one line (no
 * newline) in why for TQ_ROT_NOTE and TQ_ROT_BAD. */
int tq_key_set_rotation(struct tq_key_set *ks, const char *sensor, const char *text, size_t len,
                        const char *sig, const char *sig_previous, char *why, size_t whylen);

/* The key named fpr accepted for what was signed at t_us, or NULL (not given, not admitted by
 * a rotation, before its rotation, or retired by a later one). */
const struct tq_key *tq_key_set_signer(const struct tq_key_set *ks, const char *fpr,
                                       uint64_t t_us);

struct tw_seal;
/* 0 when the seal is signed by the key its `key` names, accepted at its time; else -1. */
int tq_key_set_check_seal(const struct tq_key_set *ks, const struct tw_seal *seal);

/* Checks a stored statement (fields statement, sig, sig_previous): 1 verified (signed by the
 * key accepted at its `to`, and for a key_rotation signed by its previous key too), 0
 * unsigned (sig ""), -1 BAD. */
int tq_key_set_check_statement(const struct tq_key_set *ks, const char *text, size_t len,
                               const char *sig, const char *sig_previous);

struct tw_rclient;
/* Reads sensor's rotations (tw:{S}:rotations, XRANGE, oldest first) and offers each;
 * say(ctx, id, outcome, why) is called for each that is not TQ_ROT_KNOWN or TQ_ROT_ADMITTED
 * (and for those too when they admit a key: why names it). Returns 0, or -1 when Redis failed
 * (said on stderr). */
int tq_key_set_read(struct tq_key_set *ks, struct tw_rclient *c, const char *sensor,
                    void (*say)(void *ctx, const char *id, int outcome, const char *why),
                    void *ctx);

#endif
