/* sign_key.h - Ed25519 keys of the evidence (libsodium): the sensor's key signs its seals and
 * statements, the query tool's key signs its audit entries; readers hold public keys only.
 *
 * Files (text, one line of base64 after a header line naming what they are):
 *
 *   FILE       "tapwatch ed25519 secret key v1\n" base64(64-byte libsodium secret key) "\n"
 *              mode 0600, owned by the user that runs the program; a file that group or others
 *              may read is refused (one line naming its mode).
 *   FILE.pub   "tapwatch ed25519 public key v1\n" base64(32-byte public key) "\n", mode 0644.
 *
 * A key's fingerprint: the first 16 hex digits of SHA-256(public key); it names the key in
 * seals, statements, the sensor registry and log lines (the key itself never is logged).
 */
#ifndef TW_EVIDENCE_SIGN_KEY_H
#define TW_EVIDENCE_SIGN_KEY_H

#include <stddef.h>
#include <stdint.h>

#define TW_SIGN_PK_LEN 32
#define TW_SIGN_SK_LEN 64
#define TW_SIGN_SIG_LEN 64
#define TW_SIGN_FPR_LEN 16 /* hex digits */

struct tw_sign_key {
    uint8_t pk[TW_SIGN_PK_LEN];
    uint8_t sk[TW_SIGN_SK_LEN];
    char fpr[TW_SIGN_FPR_LEN + 1];
};

/* libsodium's sodium_init, once; 0, or -1 (said in err). Every function below calls it. */
int tw_sign_init(char *err, size_t errlen);

/* Makes a new key pair: path (created, never overwritten: O_EXCL, mode 0600) and path.pub.
 * Returns 0, or -1 with one line in err (nothing left behind). */
int tw_sign_keygen(const char *path, char *err, size_t errlen);

/* Loads a secret key file (refused when group or others may read it, or it is not ours).
 * Returns 0, or -1 with one line in err. Wipe the key with tw_sign_key_wipe after use. */
int tw_sign_key_load(const char *path, struct tw_sign_key *k, char *err, size_t errlen);

/* Loads a public key file; fpr may be NULL. Returns 0, or -1 with one line in err. */
int tw_sign_pub_load(const char *path, uint8_t pk[TW_SIGN_PK_LEN], char fpr[TW_SIGN_FPR_LEN + 1],
                     char *err, size_t errlen);

void tw_sign_key_wipe(struct tw_sign_key *k);
void tw_sign_fingerprint(const uint8_t pk[TW_SIGN_PK_LEN], char fpr[TW_SIGN_FPR_LEN + 1]);

/* Detached signature of msg[0..len). */
void tw_sign(const struct tw_sign_key *k, const void *msg, size_t len, uint8_t sig[TW_SIGN_SIG_LEN]);
/* 0 when sig is pk's signature of msg, -1 when not. */
int tw_sign_verify(const uint8_t pk[TW_SIGN_PK_LEN], const void *msg, size_t len,
                   const uint8_t sig[TW_SIGN_SIG_LEN]);

/* Lowercase hex of n bytes into out (2n + 1 bytes); and back (-1 unless exactly 2n hex digits). */
void tw_hex(const uint8_t *in, size_t n, char *out);
int tw_unhex(const char *in, uint8_t *out, size_t n);

#endif
