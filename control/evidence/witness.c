/* witness.c - the witness's entries (see witness.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "control/evidence/sign_key.h"
#include "control/evidence/witness.h"

void tw_witness_line_hash(const char *line, size_t len, uint8_t h[TW_CHAIN_HASH_LEN])
{
    unsigned int n = TW_CHAIN_HASH_LEN;

    memset(h, 0, TW_CHAIN_HASH_LEN);
    EVP_Digest(line, len, h, &n, EVP_sha256(), NULL);
}

int tw_witness_from_line(const char *line, size_t len, struct tw_witness_entry *e)
{
    struct tw_seal s;

    if (tw_seal_parse(line, len, &s) != 0)
        return -1;
    memset(e, 0, sizeof(*e));
    memcpy(e->run, s.run, sizeof(e->run));
    e->no = s.no;
    e->time_us = s.time_us;
    tw_witness_line_hash(line, len, e->hash);
    return 0;
}

void tw_witness_field(const struct tw_witness_entry *e, char *field)
{
    if (e->no == 0)
        snprintf(field, TW_WITNESS_FIELD_MAX, "%s:end", e->run);
    else
        snprintf(field, TW_WITNESS_FIELD_MAX, "%s:%08" PRIx64, e->run, e->no & 0xffffffffu);
}

void tw_witness_value(const struct tw_witness_entry *e, char *value)
{
    char hex[2 * TW_CHAIN_HASH_LEN + 1];

    if (e->no == 0) {
        snprintf(value, TW_WITNESS_VALUE_MAX, "%" PRIu64, e->last);
        return;
    }
    tw_hex(e->hash, TW_CHAIN_HASH_LEN, hex);
    snprintf(value, TW_WITNESS_VALUE_MAX, "%s %" PRIu64, hex, e->time_us);
}

/* Digits only (lowercase hex), at most max of them, into *out; decimal without a leading
 * zero and without overflow, so that one number has one text (as tw_witness_value writes). */
static int digits(const char *s, size_t n, int base, size_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > max || (base == 10 && n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
                : base == 16 && s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;
        if (d < 0 || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return -1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

int tw_witness_parse(const char *field, size_t flen, const char *value, size_t vlen,
                     struct tw_witness_entry *e)
{
    char hex[2 * TW_CHAIN_HASH_LEN + 1];
    uint64_t run;

    memset(e, 0, sizeof(*e));
    if (flen < TW_CHAIN_RUN_LEN + 2 || field[TW_CHAIN_RUN_LEN] != ':' ||
        digits(field, TW_CHAIN_RUN_LEN, 16, TW_CHAIN_RUN_LEN, &run) != 0)
        return -1;
    memcpy(e->run, field, TW_CHAIN_RUN_LEN);
    field += TW_CHAIN_RUN_LEN + 1;
    flen -= TW_CHAIN_RUN_LEN + 1;
    if (flen == 3 && memcmp(field, "end", 3) == 0)
        return digits(value, vlen, 10, 10, &e->last) == 0 && e->last > 0 ? 0 : -1;
    if (flen != 8 || digits(field, 8, 16, 8, &e->no) != 0 || e->no == 0)
        return -1;
    if (vlen < 2 * TW_CHAIN_HASH_LEN + 2 || value[2 * TW_CHAIN_HASH_LEN] != ' ' ||
        digits(value + 2 * TW_CHAIN_HASH_LEN + 1, vlen - 2 * TW_CHAIN_HASH_LEN - 1, 10, 20,
               &e->time_us) != 0)
        return -1;
    /* lowercase only: one text per hash, as tw_witness_value writes it */
    if (strspn(value, "0123456789abcdef") < 2 * TW_CHAIN_HASH_LEN)
        return -1;
    memcpy(hex, value, 2 * TW_CHAIN_HASH_LEN);
    hex[2 * TW_CHAIN_HASH_LEN] = '\0';
    return tw_unhex(hex, e->hash, TW_CHAIN_HASH_LEN) == 0 ? 0 : -1;
}
