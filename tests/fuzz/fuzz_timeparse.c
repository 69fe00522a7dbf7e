/* fuzz_timeparse.c - libFuzzer target: tw_parse_time (tapwatch-query --since/--until).
 *
 * The input is the text (cut at its first NUL). Beyond "no crash, no sanitizer report" it
 * checks the results against an independent reading of the simple forms:
 *   - "-N[smhd]" must give exactly now - N x unit, or an error when that is before 1970
 *     (computed here in 128 bits, so a wrapped multiplication in the parser shows);
 *   - any accepted time lies between 1970 and the year 33658 (12 digits of epoch seconds);
 *   - an error fills err.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/query/timeparse.h"

#define NOW_US 1772442000000000ull /* 2026-03-02T09:00:00Z */
#define MAX_US 1000000000000000000ull /* 10^12 s */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For "-N[smhd]": 1 and the expected result in *want (or *before_1970 = 1); 0 otherwise. */
static int relative(const char *t, uint64_t now, uint64_t *want, int *before_1970)
{
    unsigned __int128 n = 0, unit;
    size_t i = 1, len = strlen(t);

    if (len < 3 || len > 11 || t[0] != '-')
        return 0;
    for (; i < len - 1; i++) {
        if (t[i] < '0' || t[i] > '9')
            return 0;
        n = n * 10 + (unsigned)(t[i] - '0');
    }
    switch (t[len - 1]) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return 0;
    }
    unsigned __int128 back = n * unit * 1000000u;
    *before_1970 = back > now;
    *want = *before_1970 ? 0 : (uint64_t)(now - back);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char err[256];
    uint64_t out = 0, want;
    int before_1970;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';

    int rc = tw_parse_time(text, NOW_US, &out, err, sizeof(err));
    if (relative(text, NOW_US, &want, &before_1970)) {
        if (before_1970 ? rc == 0 : (rc != 0 || out != want))
            abort();
    } else if (rc == 0) {
        if (out > MAX_US && out != NOW_US)
            abort();
    }
    if (rc != 0 && err[0] == '\0')
        abort();
    free(text);
    return 0;
}
