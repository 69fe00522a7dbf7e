/* units.c - amounts with a unit suffix (see units.h). */
#include "control/record/units.h"

#include <stdio.h>
#include <string.h>

const struct tw_unit tw_second_units[] = {
    {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {NULL, 0},
};
const struct tw_unit tw_ms_units[] = {
    {"", 1}, {"ms", 1}, {"s", 1000}, {NULL, 0},
};
const struct tw_unit tw_us_units[] = {
    {"", 1}, {"us", 1}, {"ms", 1000}, {"s", 1000000}, {NULL, 0},
};

int tw_parse_amount(const char *text, const struct tw_unit *units, uint32_t *out)
{
    uint64_t n = 0;
    const char *p = text;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > UINT32_MAX)
            return -1;
    }
    for (const struct tw_unit *u = units; u->suffix; u++) {
        if (strcmp(p, u->suffix) == 0) {
            if (n * u->mult > UINT32_MAX)
                return -1;
            *out = (uint32_t)(n * u->mult);
            return 0;
        }
    }
    return -1;
}

void tw_format_amount(uint32_t n, const struct tw_unit *units, char *buf, size_t len)
{
    const struct tw_unit *best = &units[0];

    for (const struct tw_unit *u = units; u->suffix; u++)
        if (u->suffix[0] != '\0' && n != 0 && n % u->mult == 0)
            best = u;
    snprintf(buf, len, "%u%s", n / best->mult, n == 0 ? "" : best->suffix);
}

int tw_parse_duration(const char *text, uint32_t *seconds)
{
    return tw_parse_amount(text, tw_second_units, seconds);
}
