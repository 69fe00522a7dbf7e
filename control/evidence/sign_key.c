/* sign_key.c - Ed25519 key files and signatures through libsodium (see sign_key.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "control/evidence/sign_key.h"

#define SK_HEADER "tapwatch ed25519 secret key v1\n"
#define PK_HEADER "tapwatch ed25519 public key v1\n"
#define B64 sodium_base64_VARIANT_ORIGINAL

int tw_sign_init(char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return -1;
    }
    return 0;
}

void tw_sign_fingerprint(const uint8_t pk[TW_SIGN_PK_LEN], char fpr[TW_SIGN_FPR_LEN + 1])
{
    uint8_t h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, pk, TW_SIGN_PK_LEN);
    tw_hex(h, TW_SIGN_FPR_LEN / 2, fpr);
}

void tw_hex(const uint8_t *in, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

int tw_unhex(const char *in, uint8_t *out, size_t n)
{
    size_t got;
    const char *end;

    if (strlen(in) != 2 * n || sodium_hex2bin(out, n, in, 2 * n, NULL, &got, &end) != 0 ||
        got != n)
        return -1;
    return 0;
}

/* Writes header + base64(bin) to a new file of mode `mode`. */
static int write_key_file(const char *path, const char *header, const uint8_t *bin, size_t n,
                          mode_t mode, char *err, size_t errlen)
{
    char b64[256], text[320];
    int fd, len;

    sodium_bin2base64(b64, sizeof(b64), bin, n, B64);
    len = snprintf(text, sizeof(text), "%s%s\n", header, b64);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        sodium_memzero(b64, sizeof(b64));
        sodium_memzero(text, sizeof(text));
        return -1;
    }
    /* the umask may have taken bits away, never added: set exactly what is meant */
    int rc = fchmod(fd, mode) == 0 && write(fd, text, (size_t)len) == len && fsync(fd) == 0 ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    sodium_memzero(b64, sizeof(b64));
    sodium_memzero(text, sizeof(text));
    if (rc < 0)
        unlink(path);
    return rc;
}

int tw_sign_keygen(const char *path, char *err, size_t errlen)
{
    struct tw_sign_key k;
    char pub[4096];

    if (tw_sign_init(err, errlen) < 0)
        return -1;
    if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", path) >= sizeof(pub)) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    crypto_sign_keypair(k.pk, k.sk);
    if (write_key_file(path, SK_HEADER, k.sk, TW_SIGN_SK_LEN, 0600, err, errlen) < 0) {
        tw_sign_key_wipe(&k);
        return -1;
    }
    if (write_key_file(pub, PK_HEADER, k.pk, TW_SIGN_PK_LEN, 0644, err, errlen) < 0) {
        unlink(path);
        tw_sign_key_wipe(&k);
        return -1;
    }
    tw_sign_key_wipe(&k);
    return 0;
}

/* Reads a key file: its header must be `header`, its second line base64 of exactly n bytes. */
static int read_key_file(int fd, const char *path, int secret, uint8_t *bin, size_t n,
                         char *err, size_t errlen)
{
    const char *header = secret ? SK_HEADER : PK_HEADER;
    char text[512];
    ssize_t got = read(fd, text, sizeof(text) - 1);
    size_t hl = strlen(header), binlen = 0;
    const char *end;
    int rc = -1;

    if (got < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    text[got] = '\0';
    char *nl = strchr(text + (got >= (ssize_t)hl ? hl : 0), '\n');
    if ((size_t)got <= hl || memcmp(text, header, hl) != 0 || nl == NULL || nl[1] != '\0')
        snprintf(err, errlen, "%s: not a tapwatch %s (its first line must be \"%.*s\")", path,
                 secret ? "secret key" : "public key", (int)hl - 1, header);
    else if (sodium_base642bin(bin, n, text + hl, (size_t)(nl - text) - hl, NULL, &binlen, &end,
                               B64) != 0 || binlen != n || end != nl)
        snprintf(err, errlen, "%s: the key is not %zu bytes of base64", path, n);
    else
        rc = 0;
    sodium_memzero(text, sizeof(text));
    return rc;
}

int tw_sign_key_load(const char *path, struct tw_sign_key *k, char *err, size_t errlen)
{
    struct stat st;
    uint8_t pk[TW_SIGN_PK_LEN];
    int fd, rc;

    if (tw_sign_init(err, errlen) < 0)
        return -1;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "%s: mode %04o is too open: a secret key must be readable by its "
                 "owner only (chmod 600)", path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s: owned by uid %u, not by this user (uid %u)", path,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        close(fd);
        return -1;
    }
    rc = read_key_file(fd, path, 1, k->sk, TW_SIGN_SK_LEN, err, errlen);
    close(fd);
    if (rc < 0)
        return -1;
    /* the public half is the secret key's last 32 bytes; check it is a key at all */
    crypto_sign_ed25519_sk_to_pk(pk, k->sk);
    memcpy(k->pk, pk, sizeof(pk));
    tw_sign_fingerprint(k->pk, k->fpr);
    return 0;
}

int tw_sign_pub_load(const char *path, uint8_t pk[TW_SIGN_PK_LEN], char fpr[TW_SIGN_FPR_LEN + 1],
                     char *err, size_t errlen)
{
    int fd, rc;

    if (tw_sign_init(err, errlen) < 0)
        return -1;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    rc = read_key_file(fd, path, 0, pk, TW_SIGN_PK_LEN, err, errlen);
    close(fd);
    if (rc == 0 && fpr != NULL)
        tw_sign_fingerprint(pk, fpr);
    return rc;
}

void tw_sign_key_wipe(struct tw_sign_key *k)
{
    sodium_memzero(k, sizeof(*k));
}

void tw_sign(const struct tw_sign_key *k, const void *msg, size_t len, uint8_t sig[TW_SIGN_SIG_LEN])
{
    crypto_sign_detached(sig, NULL, msg, len, k->sk);
}

int tw_sign_verify(const uint8_t pk[TW_SIGN_PK_LEN], const void *msg, size_t len,
                   const uint8_t sig[TW_SIGN_SIG_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}
