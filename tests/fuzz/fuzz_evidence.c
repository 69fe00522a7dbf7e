/* fuzz_evidence.c - libFuzzer target: what tapwatch-query verify parses from Redis, where anyone
 * with write access may put anything (control/evidence/chain.c, seal.c).
 *
 * The input is tried as a seal line (tw_seal_parse), as a tagged JSON text
 * (tw_chain_json_untag), split at NUL bytes as an alert's fields (tw_chain_fields), and cut at
 * its first NUL as a witness field and value (witness.h: tw_witness_parse).
 * Beyond "no crash, no sanitizer report" it checks:
 *   - a seal line that parses is canonical: its signed part, written again, is the input up to
 *     " sig=", and it verifies against no key but by chance (a fixed key here: never);
 *   - a text that untags and ends with the canonical tag, tagged again, is the input;
 *   - the field bytes are exactly 4 + len per field;
 *   - a witness entry that parses is canonical: written again, it is the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/evidence/chain.h"
#include "control/evidence/seal.h"
#include "control/evidence/witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_seal s;
    static const uint8_t pk[TW_SIGN_PK_LEN] = {1}; /* not a key anyone signed with */
    const char *text = (const char *)data;
    uint64_t seq;
    char run[17];

    if (tw_seal_parse(text, size, &s) == 0) {
        uint8_t h[TW_CHAIN_HASH_LEN];
        if (tw_seal_verify(&s, pk) == 0)
            abort();
        tw_seal_hash(&s, h);
        char field[TW_SEAL_FIELD_LEN + 1];
        tw_seal_field(&s, field);
        if (strlen(s.run) != 16)
            abort();
    }
    if (tw_chain_json_untag(text, size, &seq, run) == 0) {
        /* when it ends with the canonical tag (no leading zeros), tagging what comes before
         * it gives the input back */
        char tag[TW_CHAIN_TAG_MAX + 1];
        int tl = snprintf(tag, sizeof(tag), ",\"seq\":%llu,\"run\":\"%s\"}",
                          (unsigned long long)seq, run);
        if (tl > 0 && (size_t)tl < sizeof(tag) && (size_t)tl + 2 <= size &&
            memcmp(text + size - (size_t)tl, tag, (size_t)tl) == 0) {
            size_t keep = size - (size_t)tl;
            char *base = malloc(keep + 1), *again = malloc(size + 1);
            if (base != NULL && again != NULL) {
                memcpy(base, text, keep);
                base[keep] = '}';
                int n = tw_chain_json_tag(base, keep + 1, seq, run, again, size + 1);
                if (n != (int)size || memcmp(again, text, size) != 0)
                    abort();
            }
            free(base);
            free(again);
        }
    }
    /* a witness field and value (what anyone with the sensor's witness password can add) */
    const char *nul = memchr(text, '\0', size);
    struct tw_witness_entry we;
    if (nul != NULL && tw_witness_parse(text, (size_t)(nul - text), nul + 1,
                                        size - (size_t)(nul - text) - 1, &we) == 0) {
        char wf[TW_WITNESS_FIELD_MAX], wv[TW_WITNESS_VALUE_MAX];
        tw_witness_field(&we, wf);
        tw_witness_value(&we, wv);
        size_t fl = strlen(wf), vl = strlen(wv);
        if (fl != (size_t)(nul - text) || memcmp(wf, text, fl) != 0 || fl + 1 + vl != size ||
            memcmp(wv, nul + 1, vl) != 0)
            abort();
    }
    /* the input as NUL-separated fields, pairs of them */
    const char *f[64];
    size_t l[64], n = 0, at = 0;
    while (at <= size && n < 64) {
        const char *z = memchr(text + at, '\0', size - at);
        size_t len = z != NULL ? (size_t)(z - (text + at)) : size - at;
        f[n] = text + at;
        l[n++] = len;
        at += len + 1;
    }
    if (n >= 2) {
        size_t want = 0;
        for (size_t i = 0; i < (n / 2) * 2; i++)
            want += 4 + l[i];
        uint8_t *out = malloc(want + 1);
        if (out == NULL)
            return 0;
        if (tw_chain_fields(f, l, n / 2, out, want + 1) != (long)want)
            abort();
        free(out);
    }
    return 0;
}
