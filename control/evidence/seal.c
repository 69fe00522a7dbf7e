/* seal.c - seal lines: canonical text, signature, parse (see seal.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "control/evidence/seal.h"

/* The signed part of a seal: everything before " sig=". Returns its length or -1. */
static int seal_body(const struct tw_seal *s, char *out, size_t cap)
{
    char pc[65], c[65], ps[65], lng[TW_SEAL_LONG_MAX * 21 + 2] = "-";
    size_t at = 0;
    int n;

    tw_hex(s->prev_chain, TW_CHAIN_HASH_LEN, pc);
    tw_hex(s->chain, TW_CHAIN_HASH_LEN, c);
    tw_hex(s->prev_seal, TW_CHAIN_HASH_LEN, ps);
    for (unsigned i = 0; i < s->nlong && i < TW_SEAL_LONG_MAX; i++)
        at += (size_t)snprintf(lng + at, sizeof(lng) - at, "%s%" PRIu64, i ? "," : "", s->lng[i]);
    n = snprintf(out, cap,
                 "tws1 sensor=%s run=%s no=%" PRIu64 " first=%" PRIu64 " last=%" PRIu64
                 " prev_chain=%s chain=%s prev_seal=%s time=%" PRIu64 " ttl=%" PRIu32
                 " keep=%" PRIu32 " long=%s key=%s",
                 s->sensor, s->run, s->no, s->first, s->last, pc, c, ps, s->time_us, s->ttl_s,
                 s->keep_s, lng, s->key);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int tw_seal_sign(struct tw_seal *seal, const struct tw_sign_key *k, char *out, size_t cap)
{
    int n;

    memcpy(seal->key, k->fpr, sizeof(seal->key));
    if ((n = seal_body(seal, out, cap)) < 0)
        return -1;
    tw_sign(k, out, (size_t)n, seal->sig);
    if ((size_t)n + 5 + 2 * TW_SIGN_SIG_LEN + 1 > cap)
        return -1;
    memcpy(out + n, " sig=", 5);
    tw_hex(seal->sig, TW_SIGN_SIG_LEN, out + n + 5);
    return n + 5 + 2 * TW_SIGN_SIG_LEN;
}

int tw_seal_verify(const struct tw_seal *seal, const uint8_t pk[TW_SIGN_PK_LEN])
{
    char body[TW_SEAL_TEXT_MAX];
    int n = seal_body(seal, body, sizeof(body));

    return n < 0 ? -1 : tw_sign_verify(pk, body, (size_t)n, seal->sig);
}

void tw_seal_hash(const struct tw_seal *seal, uint8_t h[TW_CHAIN_HASH_LEN])
{
    char body[TW_SEAL_TEXT_MAX];
    int n = seal_body(seal, body, sizeof(body));

    crypto_generichash(h, TW_CHAIN_HASH_LEN, (const uint8_t *)body, n < 0 ? 0 : (size_t)n,
                       NULL, 0);
}

int tw_seal_item_expired(const struct tw_seal *seal, uint64_t seq, uint64_t now_us)
{
    uint32_t life = seal->ttl_s;

    for (unsigned i = 0; i < seal->nlong && i < TW_SEAL_LONG_MAX; i++)
        if (seal->lng[i] == seq)
            life = seal->keep_s;
    return seal->time_us + (uint64_t)life * 1000000 < now_us;
}

void tw_seal_field(const struct tw_seal *seal, char *out)
{
    snprintf(out, TW_SEAL_FIELD_LEN + 1, "%s:%08" PRIx64, seal->run, seal->no & 0xffffffffu);
}

/* Reads "name=value" at *p (value up to the next space or the end). */
static int take(const char **p, const char *end, const char *name, char *val, size_t cap)
{
    size_t nl = strlen(name);
    const char *v, *e;

    if ((size_t)(end - *p) < nl + 1 || memcmp(*p, name, nl) != 0 || (*p)[nl] != '=')
        return -1;
    v = *p + nl + 1;
    for (e = v; e < end && *e != ' '; e++)
        ;
    if ((size_t)(e - v) >= cap || e == v)
        return -1;
    memcpy(val, v, (size_t)(e - v));
    val[e - v] = '\0';
    *p = e < end ? e + 1 : e;
    return 0;
}

static int take_u64(const char **p, const char *end, const char *name, uint64_t *out)
{
    char v[24], *e;

    if (take(p, end, name, v, sizeof(v)) != 0 || v[0] < '0' || v[0] > '9')
        return -1;
    *out = strtoull(v, &e, 10);
    return *e == '\0' ? 0 : -1;
}

static int take_hex(const char **p, const char *end, const char *name, uint8_t *out, size_t n)
{
    char v[2 * TW_SIGN_SIG_LEN + 1];

    return take(p, end, name, v, sizeof(v)) != 0 || tw_unhex(v, out, n) != 0 ? -1 : 0;
}

/* "-" or ascending sequence numbers, comma-separated, at most TW_SEAL_LONG_MAX. */
static int parse_long(const char *v, struct tw_seal *s)
{
    s->nlong = 0;
    if (strcmp(v, "-") == 0)
        return 0;
    while (*v != '\0') {
        char *e;
        if (*v < '0' || *v > '9' || s->nlong == TW_SEAL_LONG_MAX)
            return -1;
        s->lng[s->nlong] = strtoull(v, &e, 10);
        if (s->nlong > 0 && s->lng[s->nlong] <= s->lng[s->nlong - 1])
            return -1;
        s->nlong++;
        if (*e == ',' && e[1] != '\0')
            e++;
        else if (*e != '\0')
            return -1;
        v = e;
    }
    return s->nlong > 0 ? 0 : -1;
}

int tw_seal_parse(const char *text, size_t len, struct tw_seal *s)
{
    const char *p = text, *end = text + len;
    uint64_t ttl, keep;
    char lng[TW_SEAL_LONG_MAX * 21 + 2];

    memset(s, 0, sizeof(*s));
    if (len < 5 || memcmp(p, "tws1 ", 5) != 0)
        return -1;
    p += 5;
    if (take(&p, end, "sensor", s->sensor, sizeof(s->sensor)) != 0 ||
        take(&p, end, "run", s->run, sizeof(s->run)) != 0 || strlen(s->run) != 16 ||
        take_u64(&p, end, "no", &s->no) != 0 || take_u64(&p, end, "first", &s->first) != 0 ||
        take_u64(&p, end, "last", &s->last) != 0 ||
        take_hex(&p, end, "prev_chain", s->prev_chain, TW_CHAIN_HASH_LEN) != 0 ||
        take_hex(&p, end, "chain", s->chain, TW_CHAIN_HASH_LEN) != 0 ||
        take_hex(&p, end, "prev_seal", s->prev_seal, TW_CHAIN_HASH_LEN) != 0 ||
        take_u64(&p, end, "time", &s->time_us) != 0 || take_u64(&p, end, "ttl", &ttl) != 0 ||
        ttl > UINT32_MAX || take_u64(&p, end, "keep", &keep) != 0 || keep > UINT32_MAX ||
        take(&p, end, "long", lng, sizeof(lng)) != 0 || parse_long(lng, s) != 0 ||
        take(&p, end, "key", s->key, sizeof(s->key)) != 0 ||
        take_hex(&p, end, "sig", s->sig, TW_SIGN_SIG_LEN) != 0 || p != end)
        return -1;
    s->ttl_s = (uint32_t)ttl;
    s->keep_s = (uint32_t)keep;
    /* the text must be the canonical one, byte for byte (no other spelling of a number) */
    char body[TW_SEAL_TEXT_MAX];
    int n = seal_body(s, body, sizeof(body));
    if (n < 0 || (size_t)n + 5 + 2 * TW_SIGN_SIG_LEN != len || memcmp(body, text, (size_t)n) != 0)
        return -1;
    return 0;
}
