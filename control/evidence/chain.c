/* chain.c - the evidence's hash chain (see chain.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "control/evidence/chain.h"

void tw_chain_start(const char *sensor, const char *run, uint8_t h[TW_CHAIN_HASH_LEN])
{
    static const char magic[] = "tapwatch chain v1"; /* with its NUL */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n;

    memset(h, 0, TW_CHAIN_HASH_LEN);
    if (md == NULL)
        return;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, magic, sizeof(magic));
    EVP_DigestUpdate(md, sensor, strlen(sensor) + 1);
    EVP_DigestUpdate(md, run, strlen(run));
    EVP_DigestFinal_ex(md, h, &n);
    EVP_MD_CTX_free(md);
}

int tw_chain_begin(struct tw_chain *c, const uint8_t prev[TW_CHAIN_HASH_LEN])
{
    if (c->md == NULL && (c->md = EVP_MD_CTX_new()) == NULL)
        return -1;
    if (EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
        return -1;
    EVP_DigestUpdate(c->md, prev, TW_CHAIN_HASH_LEN);
    return 0;
}

void tw_chain_add(struct tw_chain *c, char kind, uint64_t seq, const void *bytes, size_t len)
{
    uint8_t head[13];

    head[0] = (uint8_t)kind;
    for (int i = 0; i < 8; i++)
        head[1 + i] = (uint8_t)(seq >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        head[9 + i] = (uint8_t)((uint32_t)len >> (24 - 8 * i));
    EVP_DigestUpdate(c->md, head, sizeof(head));
    EVP_DigestUpdate(c->md, bytes, len);
}

void tw_chain_end(struct tw_chain *c, uint8_t out[TW_CHAIN_HASH_LEN])
{
    unsigned int n;

    EVP_DigestFinal_ex(c->md, out, &n);
}

void tw_chain_free(struct tw_chain *c)
{
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
}

int tw_chain_json_tag(const char *json, size_t len, uint64_t seq, const char *run, char *out,
                      size_t cap)
{
    char tag[TW_CHAIN_TAG_MAX + 1];
    int n;

    if (len == 0 || json[len - 1] != '}')
        return -1;
    /* an empty object gets no leading comma */
    n = snprintf(tag, sizeof(tag), "%s\"seq\":%" PRIu64 ",\"run\":\"%.16s\"}",
                 len == 2 ? "" : ",", seq, run);
    if (n < 0 || (size_t)n >= sizeof(tag) || len - 1 + (size_t)n > cap)
        return -1;
    memmove(out, json, len - 1);
    memcpy(out + len - 1, tag, (size_t)n);
    return (int)(len - 1 + (size_t)n);
}

int tw_chain_json_untag(const char *json, size_t len, uint64_t *seq, char run[17])
{
    static const char run_key[] = ",\"run\":\"";
    static const char seq_key[] = "\"seq\":";
    size_t rk = sizeof(run_key) - 1, sk = sizeof(seq_key) - 1;

    /* ...,"seq":123,"run":"0123456789abcdef"} : 16 hex, quote, brace at the end */
    if (len < rk + 16 + 2 + sk + 1 || json[len - 1] != '}' || json[len - 2] != '"')
        return -1;
    const char *r = json + len - 2 - 16;
    if (memcmp(r - rk, run_key, rk) != 0)
        return -1;
    for (int i = 0; i < 16; i++)
        if (!((r[i] >= '0' && r[i] <= '9') || (r[i] >= 'a' && r[i] <= 'f')))
            return -1;
    const char *end = r - rk, *d = end;
    while (d > json && d[-1] >= '0' && d[-1] <= '9')
        d--;
    if (d == end || end - d > 20 || (size_t)(d - json) < sk || memcmp(d - sk, seq_key, sk) != 0)
        return -1;
    uint64_t v = 0;
    for (const char *p = d; p < end; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && digit > UINT64_MAX % 10))
            return -1; /* more than 64 bits */
        v = v * 10 + digit;
    }
    *seq = v;
    memcpy(run, r, 16);
    run[16] = '\0';
    return 0;
}

long tw_chain_fields(const char *const *fields, const size_t *lens, size_t n, uint8_t *out,
                     size_t cap)
{
    size_t at = 0;

    for (size_t i = 0; i < 2 * n; i++) {
        size_t l = lens[i];
        if (l > UINT32_MAX || cap - at < 4 || cap - at - 4 < l)
            return -1;
        for (int b = 0; b < 4; b++)
            out[at + (size_t)b] = (uint8_t)((uint32_t)l >> (24 - 8 * b));
        memcpy(out + at + 4, fields[i], l);
        at += 4 + l;
    }
    return (long)at;
}
