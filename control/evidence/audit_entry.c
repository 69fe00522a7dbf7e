/* audit_entry.c - the query audit trail's entries: canonical bytes, hash, signature, checks
 * (see audit_entry.h). */
#include "control/evidence/audit_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define CANON_HEAD "tapwatch audit v1\n"

static const char *const names[TW_AF_COUNT] = {
    "v", "seq", "prev", "kind", "time", "ref", "redis_user", "os_user", "host", "pid",
    "subcommand", "args", "sensors", "rows", "exit", "key", "hash", "sig",
};

const char *tw_audit_field_name(enum tw_audit_field f)
{
    return (unsigned)f < TW_AF_COUNT ? names[f] : "?";
}

int tw_audit_field_of(const char *name, size_t len)
{
    for (int i = 0; i < TW_AF_COUNT; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return i;
    return -1;
}

static const char *val(const struct tw_audit_entry *e, int i)
{
    return e->f[i] != NULL ? e->f[i] : "";
}

int tw_audit_canonical(const struct tw_audit_entry *e, char **out, size_t *len)
{
    size_t n = sizeof(CANON_HEAD) - 1, o;
    char *b;

    for (int i = 0; i < TW_AF_SIGNED; i++)
        n += strlen(names[i]) + strlen(val(e, i)) + 24; /* ':' len ':' '\n' */
    if ((b = malloc(n + 1)) == NULL)
        return -1;
    o = (size_t)snprintf(b, n + 1, "%s", CANON_HEAD);
    for (int i = 0; i < TW_AF_SIGNED; i++) {
        const char *v = val(e, i);
        size_t vl = strlen(v);
        o += (size_t)snprintf(b + o, n + 1 - o, "%s:%zu:", names[i], vl);
        memcpy(b + o, v, vl);
        o += vl;
        b[o++] = '\n';
    }
    b[o] = '\0';
    *out = b;
    *len = o;
    return 0;
}

int tw_audit_hash(const struct tw_audit_entry *e, char hex[TW_AUDIT_HASH_HEX + 1])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    char *c;
    size_t n;

    if (tw_audit_canonical(e, &c, &n) < 0)
        return -1;
    crypto_hash_sha256(h, (const unsigned char *)c, n);
    free(c);
    tw_hex(h, sizeof(h), hex);
    return 0;
}

int tw_audit_seal(struct tw_audit_entry *e, const struct tw_sign_key *k)
{
    uint8_t sig[TW_SIGN_SIG_LEN];
    char *c;
    size_t n;

    e->f[TW_AF_KEY] = k != NULL ? k->fpr : "";
    if (tw_audit_canonical(e, &c, &n) < 0)
        return -1;
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)c, n);
    tw_hex(h, sizeof(h), e->hash_hex);
    e->sig_hex[0] = '\0';
    if (k != NULL) {
        tw_sign(k, c, n, sig);
        tw_hex(sig, sizeof(sig), e->sig_hex);
    }
    free(c);
    e->f[TW_AF_HASH] = e->hash_hex;
    e->f[TW_AF_SIG] = e->sig_hex;
    return 0;
}

static int digits(const char *s)
{
    if (*s == '\0' || strlen(s) > 19)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int hexlen(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

enum tw_audit_check tw_audit_check(const struct tw_audit_entry *e,
                                   const uint8_t (*pks)[TW_SIGN_PK_LEN],
                                   const char (*fprs)[TW_SIGN_FPR_LEN + 1], size_t npk,
                                   int *which)
{
    char hex[TW_AUDIT_HASH_HEX + 1];
    uint8_t sig[TW_SIGN_SIG_LEN];
    const char *key = val(e, TW_AF_KEY), *s = val(e, TW_AF_SIG);
    enum tw_audit_check rc = TW_AUDIT_UNKNOWN_KEY;
    char *c;
    size_t n;

    *which = -1;
    if (strcmp(val(e, TW_AF_V), "1") != 0 || !digits(val(e, TW_AF_SEQ)) ||
        !hexlen(val(e, TW_AF_PREV), TW_AUDIT_HASH_HEX) ||
        !hexlen(val(e, TW_AF_HASH), TW_AUDIT_HASH_HEX))
        return TW_AUDIT_MALFORMED;
    if (tw_audit_hash(e, hex) < 0 || strcmp(hex, val(e, TW_AF_HASH)) != 0)
        return TW_AUDIT_ALTERED;
    if (key[0] == '\0' && s[0] == '\0')
        return TW_AUDIT_UNSIGNED;
    if (!hexlen(s, TW_AUDIT_SIG_HEX) || tw_unhex(s, sig, sizeof(sig)) < 0)
        return TW_AUDIT_MALFORMED;
    if (tw_audit_canonical(e, &c, &n) < 0)
        return TW_AUDIT_MALFORMED;
    for (size_t i = 0; i < npk; i++) {
        if (strcmp(fprs[i], key) != 0)
            continue;
        if (tw_sign_verify(pks[i], c, n, sig) == 0) {
            *which = (int)i;
            rc = TW_AUDIT_OK;
            break;
        }
        rc = TW_AUDIT_BAD_SIG;
    }
    free(c);
    return rc;
}

const char *tw_audit_check_name(enum tw_audit_check c)
{
    switch (c) {
    case TW_AUDIT_OK: return "ok";
    case TW_AUDIT_ALTERED: return "altered";
    case TW_AUDIT_UNSIGNED: return "unsigned";
    case TW_AUDIT_UNKNOWN_KEY: return "unknown key";
    case TW_AUDIT_BAD_SIG: return "bad signature";
    case TW_AUDIT_MALFORMED: return "malformed";
    }
    return "?";
}
