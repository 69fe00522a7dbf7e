/* units.h - amounts with a unit suffix ("30s", "5m", "100ms"): durations of the appliance
 * configuration (control/plane/config.c) and of the policy (silent_after,
 * mirror_silent_after: control/policy/policy_load.c), parsed and written one way. */
#ifndef TW_UNITS_H
#define TW_UNITS_H

#include <stddef.h>
#include <stdint.h>

struct tw_unit {
    const char *suffix;
    uint32_t mult;
};

/* Ascending, ended by {NULL, 0}; the first row is the unit of a bare number. */
extern const struct tw_unit tw_second_units[]; /* "", s, m, h, d */
extern const struct tw_unit tw_ms_units[];     /* "", ms, s */
extern const struct tw_unit tw_us_units[];     /* "", us, ms, s */

/* Parses digits followed by one of the suffixes. Returns 0, or -1 on anything else
 * (sign, blank, fraction, unknown suffix, more than 32 bits). */
int tw_parse_amount(const char *text, const struct tw_unit *units, uint32_t *out);

/* Writes n in the largest unit that divides it exactly ("2m", "7d", "90s", "0"). */
void tw_format_amount(uint32_t n, const struct tw_unit *units, char *buf, size_t len);

/* Parses a duration such as "30", "30s", "5m", "2h", "7d" into seconds.
 * Returns 0, or -1 when the text is not a duration or does not fit in 32 bits. */
int tw_parse_duration(const char *text, uint32_t *seconds);

#endif
